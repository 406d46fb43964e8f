"""Pilot tests of the app around the panes: help, palette, themes, settings, reports, failures."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Static
from ui_helpers import NARROW, WIDE, main_screen, wait_until

from gpufit.service import compute
from gpufit.ui import commands
from gpufit.ui.app import GpufitApp
from gpufit.ui.pilot import settle
from gpufit.ui.reports import SaveReportDialog
from gpufit.ui.screens.help import HelpScreen
from gpufit.ui.screens.main import MainScreen
from gpufit.ui.screens.profiles import Confirm
from gpufit.ui.themes import shipped_themes_dir


def notes(app: GpufitApp) -> list[str]:
    """Text of every notification the app has raised."""
    return [f"{note.title} {note.message}" for note in app._notifications]


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "140x45"])
async def test_question_mark_opens_help_listing_every_binding(build_app, size):
    app = build_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = "\n".join(str(static.render()) for static in app.screen.query(Static))
        for command in commands.COMMANDS:
            assert command.help in text
        assert "Quit the app" in text or "quit" in text  # Textual's own bindings too
        keys = [str(static.render()) for static in app.screen.query(".help-key")]
        split = [key.split() for key in keys]  # keys of one action share a line
        assert any("j" in line for line in split) and any("k" in line for line in split)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_every_binding_has_an_id_and_a_description():
    bindings = commands.bindings()
    ids = [binding.id for binding in bindings]
    assert all(ids) and len(ids) == len(set(ids))
    assert all(binding.description for binding in bindings)
    keys = [binding.key for binding in bindings]
    assert len(keys) == len(set(keys))


async def test_theme_switch_through_the_palette_is_remembered(build_app, settings_path):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert app.theme == "gpufit-dark"
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"gpufit-light")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await wait_until(pilot, lambda: palette._list_visible)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.theme == "gpufit-light")
    assert tomllib.loads(settings_path.read_text(encoding="utf-8"))["theme"] == "gpufit-light"
    again = build_app()
    async with again.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert again.theme == "gpufit-light"


async def test_palette_offers_the_report_commands(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for wanted in ("Switch theme", "Copy report as Markdown",
                       "Save report as Markdown file", "Save report as JSON file"):
            assert wanted in titles


async def test_starts_with_a_broken_theme_file(build_app, tmp_path, settings_path):
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n',
                                        encoding="utf-8")
    (themes / "garbage.toml").write_text("this is [not toml", encoding="utf-8")
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text('theme = "broken"\n', encoding="utf-8")
    app = build_app(theme_dirs=[shipped_themes_dir(), themes])
    async with app.run_test(size=NARROW, notifications=True) as pilot:
        await settle(pilot)
        assert app.theme == "gpufit-dark"  # the default, not a crash
        raised = "\n".join(notes(app))
        assert "broken.toml" in raised and "garbage.toml" in raised
        assert "'broken' is not available" in raised
        assert main_screen(pilot).result is not None


async def test_unreadable_settings_are_moved_aside(build_app, settings_path):
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text("theme = = nonsense", encoding="utf-8")
    app = build_app()
    async with app.run_test(size=NARROW, notifications=True) as pilot:
        await settle(pilot)
        assert app.theme == "gpufit-dark"
        assert any("moved it to settings.toml.corrupt-" in note for note in notes(app))
    assert list(settings_path.parent.glob("settings.toml.corrupt-*"))


async def test_report_files_and_clipboard(build_app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = build_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        for key in ("m", "x", "y"):  # each asks where, prefilled with the current directory
            await pilot.press(key)
            await wait_until(pilot, lambda: isinstance(app.screen, SaveReportDialog))
            await pilot.press("enter")
            if key == "y":  # the Markdown file `m` wrote is only replaced after a yes
                await wait_until(pilot, lambda: isinstance(app.screen, Confirm))
                await pilot.press("y")
            await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.pause()
        markdown = tmp_path / "gpufit-report-llama-3.1-8b-Q4_K_M.md"
        data = json.loads((tmp_path / "gpufit-report-llama-3.1-8b-Q4_K_M.json").read_text())
        assert markdown.read_text().startswith("# Llama 3.1 8B at Q4_K_M on ")
        assert data["verdict"] == "fits" and data["workload"]["context_tokens"] == 8192
        assert app.clipboard == markdown.read_text()
        assert any(str(markdown) in note for note in notes(app))


async def test_a_failing_estimate_is_a_notification_not_a_crash(build_app):
    calls: list[str] = []

    def flaky(request, catalog):
        calls.append(request.setup.model_id)
        if request.setup.model_id == "llama-3.1-70b":
            raise RuntimeError("simulated estimator bug")
        return compute(request, catalog)

    app = build_app(estimate_worker=flaky)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("2", "j")
        await settle(pilot)
        assert app.is_running
        assert any("simulated estimator bug" in note for note in notes(app))
        await pilot.press("j")
        await settle(pilot)
        screen = main_screen(pilot)
        assert screen.result is not None and screen.result.setup.model_id == "llama-3.1-405b"


async def test_catalog_issues_are_notified(catalog, settings_path):
    from dataclasses import replace

    from gpufit.core.catalog import CatalogIssue
    from gpufit.ui.app import make_app

    broken = replace(catalog, issues=[CatalogIssue("gpus.toml", "x", "memory_mib", "bad")])
    app = make_app(catalog=broken, settings_path=settings_path,
                   theme_dirs=[shipped_themes_dir()])
    async with app.run_test(size=NARROW, notifications=True) as pilot:
        await settle(pilot)
        assert any("memory_mib" in note for note in notes(app))


async def test_works_without_colour(build_app, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert app.no_color
        screen = main_screen(pilot)
        assert "FITS" in str(screen.query_one("#verdict").render())
        await pilot.press("2", "j")
        await settle(pilot)
        assert "DOES NOT FIT" in str(screen.query_one("#verdict").render())


async def test_default_settings_path_is_under_the_config_dir(catalog):
    from gpufit.persist import paths
    from gpufit.ui.app import make_app

    app = make_app(catalog=catalog)
    assert app.settings.path == paths.config_dir() / "settings.toml"
    assert Path(app.settings.path).parent.name == "config"


async def test_an_empty_catalog_is_reported_not_fatal(settings_path):
    from gpufit.core.catalog import Catalog
    from gpufit.ui.app import make_app

    app = make_app(catalog=Catalog(), settings_path=settings_path,
                   theme_dirs=[shipped_themes_dir()])
    async with app.run_test(size=NARROW, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("3", "j", "right_square_bracket", "plus", "question_mark")
        await settle(pilot)
        assert app.is_running
        assert any("nothing to estimate" in note for note in notes(app))


async def test_bindings_are_remappable_from_settings(build_app, settings_path):
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings_path.write_text('[keymap]\n"gpufit.help" = "f2"\n', encoding="utf-8")
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "140x45"])
async def test_footer_fits_the_width_and_the_rest_is_shown_with_its_key(build_app, size):
    from gpufit.ui.widgets.footer import KeyFooter

    app = build_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(KeyFooter)
        shown = {key.key for key in footer.shown}
        assert {"question_mark", "q", "slash", "ctrl+p"} <= shown
        drawn = footer.render().plain
        assert len(drawn) <= size[0] and drawn.rstrip().endswith("^p palette")
        for key in footer.shown:  # each key shown is drawn whole
            assert (f"{key.key_display} {key.description}" if key.group is None
                    else f"{key.key_display}") in drawn
        wide_only = {command.key for command in commands.COMMANDS
                     if not command.narrow and command.show}
        if size == NARROW:
            assert not shown & wide_only
            # What the narrow footer leaves out is labelled with its key where it acts.
            screen_text = "\n".join(str(static.render()) for static in app.screen.query(Static))
            assert "(v)" in screen_text and "(e)" in screen_text
        else:
            assert wide_only <= shown
