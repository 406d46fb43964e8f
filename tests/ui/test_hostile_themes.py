"""Hostile theme files and an unwritable config folder (issue 17, items 3, 12, 13): a theme with a
bad CSS variable, deep nesting or a pipe is skipped with a note, never ends the app (at start or
when picked with t), and --model opens a file even where settings cannot be saved."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.theme import Theme

from gpufit.persist import settings as settings_module
from gpufit.ui.themes import load_themes, shipped_themes_dir

BAD_VARIABLE = ('name = "{name}"\nprimary = "#123456"\n'
                '[variables]\n"block-cursor-background" = "notacolour"\n')


def _notes(app) -> str:
    return " ".join(str(note.message) for note in app._notifications)


@pytest.mark.parametrize(("text", "problem"), [
    (BAD_VARIABLE.format(name="mine"), "block-cursor-background"),
    ('name = "mine"\nprimary = "#123456"\n[variables]\n"block-cursor-text-style" = "blink!"\n',
     "text style"),
    ('name = "mine"\nprimary = "#123456"\n[variables]\n"a b" = "red"\n', "variable name"),
    ("x = " + "[" * 498 + "]" * 498, "nested"),
])
def test_a_bad_theme_file_is_skipped_with_its_reason(tmp_path: Path, text: str,
                                                    problem: str) -> None:
    (tmp_path / "mine.toml").write_text(text)
    loaded = load_themes([tmp_path])
    assert loaded.themes == []
    [note] = loaded.problems
    assert "mine.toml" in note and problem in note


def test_good_variables_are_kept(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        'name = "mine"\nprimary = "#123456"\n[variables]\n"block-cursor-background" = "#FF0000"\n'
        '"block-cursor-text-style" = "bold"\n"link-style-hover" = "bold not underline"\n')
    [theme] = load_themes([tmp_path]).themes
    assert theme.variables["block-cursor-background"] == "#FF0000"


def test_a_theme_pipe_is_skipped_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.toml")
    loaded = load_themes([tmp_path])
    assert "pipe.toml" in loaded.problems[0] and "regular file" in loaded.problems[0]


async def test_a_bad_theme_named_like_the_default_does_not_stop_the_app(
        build_app, tmp_path: Path) -> None:
    user = tmp_path / "themes"
    user.mkdir()
    (user / "dark.toml").write_text(BAD_VARIABLE.format(name="gpufit-dark"))
    app = build_app(theme_dirs=[shipped_themes_dir(), user])
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.is_running and app.theme == "gpufit-dark"
        assert app.current_theme.variables.get("block-cursor-background") != "notacolour"
        assert "dark.toml" in _notes(app)


async def test_a_remembered_bad_theme_falls_back_with_a_note(build_app, tmp_path: Path,
                                                            settings_path: Path) -> None:
    user = tmp_path / "themes"
    user.mkdir()
    (user / "mine.toml").write_text(BAD_VARIABLE.format(name="mine"))
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings_path.write_text('theme = "mine"\n')
    app = build_app(theme_dirs=[shipped_themes_dir(), user])
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.is_running and app.theme == "gpufit-dark"
        assert "'mine' is not available" in _notes(app)


async def test_picking_a_theme_textual_cannot_apply_keeps_the_app_running(build_app) -> None:
    app = build_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        # As if a file theme slipped past the load-time check: the app must still refuse it.
        app.register_theme(Theme(name="broken", primary="#123456",
                                 variables={"block-cursor-background": "notacolour"}))
        app._file_themes.add("broken")
        app.theme = "broken"
        await pilot.pause()
        assert app.is_running and app.theme == "gpufit-dark"
        assert "'broken'" in _notes(app)


def test_model_file_opens_when_settings_cannot_be_saved(build_app, monkeypatch) -> None:
    def refuse(target: Path, data: bytes) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(target))

    monkeypatch.setattr(settings_module, "write_atomic", refuse)
    joined: list[object] = []
    imported = SimpleNamespace(join=joined.append, path=Path("/models/tiny.gguf"),
                               spec=SimpleNamespace(id="llama-3.1-8b"), quant_id="Q4_K_M",
                               notes=[])
    app = build_app(imported_model=imported)
    assert joined and app.settings.settings.recent_model_files == ("/models/tiny.gguf",)
    assert any(os.strerror(errno.EROFS) in note for note in app._notes)


async def test_f_opens_a_model_when_settings_cannot_be_saved(build_app, tmp_path: Path,
                                                             monkeypatch) -> None:
    from gguf import LlamaFileType
    from model_files import LLAMA_METADATA, llama_tensors, write_gguf
    from ui_helpers import NARROW, main_screen, wait_until

    from gpufit.core.catalog import load_catalog
    from gpufit.ui.screens.open_model import OpenModelDialog

    path = tmp_path / "Tiny-Llama-Q4_K_M.gguf"
    write_gguf(path, "llama", LLAMA_METADATA, llama_tensors(), LlamaFileType.MOSTLY_Q4_K_M)
    monkeypatch.setenv("GPUFIT_DATA_DIR", str(tmp_path / "data"))

    def full(target: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    monkeypatch.setattr(settings_module, "write_atomic", full)
    app = build_app(catalog=load_catalog())
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, OpenModelDialog))
        await pilot.press(*str(path), "enter")
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: screen.model_id.startswith("local-"), rounds=200)
        assert app.is_running
        assert os.strerror(errno.ENOSPC) in _notes(app)
