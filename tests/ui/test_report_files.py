"""Report files (issue 18, item 19): `y`, `m` and `x` ask where, remember the folder for the
session, show the full path and never overwrite without a yes."""

from __future__ import annotations

from textual.widgets import Input, Static
from ui_helpers import NARROW, wait_until

from gpufit.ui.app import GpufitApp
from gpufit.ui.pilot import settle
from gpufit.ui.reports import SaveReportDialog
from gpufit.ui.screens.main import MainScreen
from gpufit.ui.screens.profiles import Confirm


def notes(app: GpufitApp) -> list[str]:
    """Text of every notification the app has raised."""
    return [f"{note.title} {note.message}" for note in app._notifications]


def screen_text(app: GpufitApp) -> str:
    """Everything the Static widgets of the top screen render."""
    return "\n".join(str(static.render()) for static in app.screen.query(Static))


async def test_reports_ask_where_remember_the_folder_and_never_overwrite(build_app, tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "reports"
    target.mkdir()
    app = build_app()
    async with app.run_test(size=NARROW, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveReportDialog))
        box = app.screen.query_one("#report-path", Input)
        assert box.value == str(tmp_path / "gpufit-report-llama-3.1-8b-Q4_K_M.md")
        box.value = f"{target}/"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        saved = target / "gpufit-report-llama-3.1-8b-Q4_K_M.md"
        assert saved.read_text().startswith("# Llama 3.1 8B at Q4_K_M")
        assert any(str(saved) in note for note in notes(app))
        # The next report starts in the folder used last.
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveReportDialog))
        assert app.screen.query_one("#report-path", Input).value == \
            str(target / "gpufit-report-llama-3.1-8b-Q4_K_M.json")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert not (target / "gpufit-report-llama-3.1-8b-Q4_K_M.json").exists()
        # An existing file is kept unless the user says yes.
        saved.write_text("mine", encoding="utf-8")
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveReportDialog))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm))
        assert str(saved) in screen_text(app)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert saved.read_text() == "mine"
