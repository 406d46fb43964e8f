"""Reports as files: `gpufit-report-<model>-<quant>.md` / `.json`, written where the user is."""

from __future__ import annotations

import re
from pathlib import Path

from textual.widget import Widget

from gpufit.core.assess import Assessment
from gpufit.core.report import to_json, to_markdown

FORMATS = ("markdown", "json")


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


def write_report(result: Assessment, kind: str, directory: Path | None = None) -> Path:
    """Write the report and return its absolute path (OSError is the caller's to report)."""
    path = report_path(result, kind, directory)
    path.write_text(report_text(result, kind), encoding="utf-8")
    return path.resolve()


def export(widget: Widget, result: Assessment | None, kind: str, *,
           clipboard: bool = False) -> None:
    """Save the report (and, with `clipboard`, copy the Markdown via OSC 52, which often does
    not survive SSH: hence the file too); every outcome is a notification."""
    if result is None:
        widget.notify("No estimate yet.", severity="warning")
        return
    if clipboard:
        widget.app.copy_to_clipboard(report_text(result, "markdown"))
    try:
        path = write_report(result, kind)
    except OSError as error:
        widget.notify(str(error), title="Could not save the report", severity="error")
        return
    if clipboard:
        widget.notify(f"Copied as Markdown (if your terminal allows OSC 52); also saved to {path}",
                      title="Report copied", timeout=8)
    else:
        widget.notify(str(path), title=f"Saved {'JSON' if kind == 'json' else 'Markdown'} report",
                      timeout=8)
