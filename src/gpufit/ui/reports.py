"""Reports as files: `gpufit-report-<model>-<quant>.md` / `.json`, saved where the user says.

`y`, `m` and `x` ask for the file's path first (over SSH the directory the app started in is
often `$HOME` or a repository), prefilled with the folder used last in this app session (else
the current directory); the full path is shown before and after writing, and an existing file
is only replaced after a yes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Static

from gpufit.core.assess import Assessment
from gpufit.core.report import to_json, to_markdown
from gpufit.ui.widgets.text_box import TextBox

FORMATS = ("markdown", "json")
LAST_DIRECTORY_ATTRIBUTE = "report_directory"
"""The app attribute holding the folder of the last report saved in this session."""


def report_text(result: Assessment, kind: str) -> str:
    """The Markdown report or the JSON contract: the same renderers `gpufit-tui report` uses,
    over the same assessment the result pane shows."""
    if kind == "json":
        return to_json(result)
    return to_markdown(result)


def report_path(result: Assessment, kind: str, directory: Path | None = None) -> Path:
    """`<directory or cwd>/gpufit-report-<model>-<quant>.<md|json>`, safe for any file system."""
    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"

    suffix = ".json" if kind == "json" else ".md"
    name = f"gpufit-report-{safe(result.estimate.model.id)}-{safe(result.estimate.quant.id)}"
    return (directory or Path.cwd()) / f"{name}{suffix}"


def write_report(result: Assessment, kind: str, directory: Path | None = None,
                 path: Path | None = None) -> Path:
    """Write the report (to `path`, else the default name in `directory`) and return its
    absolute path (OSError is the caller's to report)."""
    target = path or report_path(result, kind, directory)
    target.write_text(report_text(result, kind), encoding="utf-8")
    return target.resolve()


def last_directory(app: App[object]) -> Path | None:
    """The folder this app saved its last report to, if any."""
    directory = getattr(app, LAST_DIRECTORY_ATTRIBUTE, None)
    return directory if isinstance(directory, Path) else None


def chosen_path(text: str, default_name: str) -> Path:
    """The path typed: `~` expanded, relative to the current directory, and a folder (an
    existing one, or text ending in /) gets the default file name."""
    path = Path(text.strip()).expanduser()
    if text.strip().endswith(("/", "\\")) or path.is_dir():
        path = path / default_name
    return path.absolute()


class SaveReportDialog(ModalScreen[Path | None]):
    """Where to save a report: one path box, prefilled; Enter saves, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "cancel", id="gpufit.save-report-cancel"),
    ]

    def __init__(self, title: str, default: Path) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._default = default

    def compose(self) -> ComposeResult:
        """The full default path, editable."""
        with Vertical(classes="dialog save-report-dialog") as box:
            box.border_title = self._title
            box.border_subtitle = "Enter saves · Esc cancels"
            yield Static("Save to (a folder keeps the file name; ~ is your home):",
                         classes="open-model-hint")
            yield TextBox(str(self._default), id="report-path", select_on_focus=False)

    @on(Input.Submitted, "#report-path")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.notify("Type a path to save to.", severity="warning")
            return
        self.dismiss(chosen_path(event.value, self._default.name))


def export(widget: Widget, result: Assessment | None, kind: str, *,
           clipboard: bool = False) -> None:
    """Copy (with `clipboard`: the Markdown via OSC 52, which often does not survive SSH) and
    save the report where the user says; every outcome is a notification."""
    if result is None:
        widget.notify("No estimate yet.", severity="warning")
        return
    if clipboard:
        widget.app.copy_to_clipboard(report_text(result, "markdown"))
    app = widget.app
    default = report_path(result, kind, last_directory(app)).absolute()
    label = "JSON" if kind == "json" else "Markdown"

    def save(path: Path | None) -> None:
        if path is None:
            if clipboard:
                widget.notify("Copied as Markdown (if your terminal allows OSC 52); not saved.",
                              title="Report copied", timeout=6)
            return
        if path.exists():
            from gpufit.ui.screens.profiles import Confirm

            app.push_screen(Confirm(f"{path} exists. Replace it?"),
                            lambda yes: _write(widget, result, kind, path, clipboard)
                            if yes else widget.notify("Nothing saved.", timeout=4))
            return
        _write(widget, result, kind, path, clipboard)

    app.push_screen(SaveReportDialog(f"Save the {label} report", default), save)


def _write(widget: Widget, result: Assessment, kind: str, path: Path, clipboard: bool) -> None:
    try:
        written = write_report(result, kind, path=path)
    except OSError as error:
        widget.notify(f"{path}: {error.strerror or error}", title="Could not save the report",
                      severity="error", timeout=10)
        return
    setattr(widget.app, LAST_DIRECTORY_ATTRIBUTE, written.parent)
    if clipboard:
        widget.notify(f"Copied as Markdown (if your terminal allows OSC 52); also saved to "
                      f"{written}", title="Report copied", timeout=8)
    else:
        widget.notify(str(written),
                      title=f"Saved {'JSON' if kind == 'json' else 'Markdown'} report", timeout=8)
