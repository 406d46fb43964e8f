"""The "open model file" dialog: a path box that completes paths, and the recent files.

Tab (or →) takes the completion; Enter reads the file in a worker thread (headers only, well
under a second even for a 100 GB GGUF) and closes with the imported model. A file that cannot
be read keeps the dialog open with the reason under the box, so the path can be corrected.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from gpufit.core.specs import QuantSpec
from gpufit.importers.errors import ModelImportError
from gpufit.importers.model_import import ImportedModel, import_model
from gpufit.persist.settings import SettingsStore
from gpufit.ui.widgets.text_box import TextBox

MODEL_SUFFIXES = (".gguf", ".safetensors", ".json")


def path_completion(value: str) -> str | None:
    """`value` completed as far as the directory listing allows (None if nothing matches).

    Folders complete with a trailing slash; files other than models are not offered."""
    if not value:
        return None
    expanded = os.path.expanduser(value)
    folder, prefix = os.path.split(expanded)
    try:
        names = sorted(entry.name + ("/" if entry.is_dir() else "")
                       for entry in os.scandir(folder or ".")
                       if entry.name.startswith(prefix)
                       and (prefix.startswith(".") or not entry.name.startswith("."))
                       and (entry.is_dir() or entry.name.endswith(MODEL_SUFFIXES)))
    except OSError:
        return None
    if not names:
        return None
    common = os.path.commonprefix(names)  # noqa: RUF071 - a string prefix is what completes
    if len(common) <= len(prefix):
        return None
    return value + common[len(prefix):]


class PathSuggester(Suggester):
    """Suggests the rest of a path from the file system (never cached: folders change)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        """The completed path, shown greyed after the cursor."""
        return path_completion(value)


class OpenModelDialog(ModalScreen[ImportedModel | None]):
    """Type or pick a model path; Enter opens it, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "cancel", id="gpufit.open-model-cancel"),
        # Not a priority binding: the path box handles the keys typed before Tab first, so a
        # fast typist's (or a paste's) Tab completes the whole path.
        Binding("tab", "complete", "complete path", id="gpufit.open-model-complete"),
    ]

    def __init__(self, quants: Mapping[str, QuantSpec], recent: tuple[str, ...]) -> None:
        super().__init__(classes="dialog-screen")
        self._quants = quants
        self._recent = recent

    def compose(self) -> ComposeResult:
        """The path box, what went wrong (if anything), then the recent files."""
        with Vertical(classes="dialog open-model-dialog") as box:
            box.border_title = "Open model file"
            box.border_subtitle = "Tab completes · Enter opens · Esc cancels"
            yield Static("A .gguf file (any part of a split one) or a Hugging Face folder "
                         "(config.json + safetensors).", classes="open-model-hint")
            yield TextBox(placeholder="/path/to/model.gguf", id="model-path", compact=True,
                        suggester=PathSuggester())
            yield Static("", id="open-model-problem", markup=False)  # quotes the typed path
            if self._recent:
                yield Static("Recent", classes="open-model-recent-title")
                yield OptionList(*(Option(Content(path), id=f"recent-{index}")  # not markup
                                   for index, path in enumerate(self._recent)),
                                 id="recent-models", compact=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#model-path", Input).focus()

    def action_complete(self) -> None:
        """Take the suggested completion (Tab), or move between the box and the list."""
        box = self.query_one("#model-path", Input)
        if box.has_focus:
            completed = path_completion(box.value)
            if completed is not None:
                box.value = completed
                box.cursor_position = len(completed)
                return
            if self._recent:
                self.query_one("#recent-models", OptionList).focus()
            return
        box.focus()

    @on(Input.Submitted, "#model-path")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self._open(event.value.strip())

    @on(OptionList.OptionSelected, "#recent-models")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self._open(str(event.option.prompt))

    def _open(self, text: str) -> None:
        self.query_one("#open-model-problem", Static).update(f"Reading {text} …")
        self._import(text)

    @work(thread=True, exclusive=True, group="import", exit_on_error=False)
    def _import(self, text: str) -> None:
        try:
            imported = import_model(Path(text), self._quants)
        except ModelImportError as error:
            self.app.call_from_thread(self._failed, str(error))
            return
        self.app.call_from_thread(self._opened, imported)

    def _opened(self, imported: ImportedModel) -> None:
        # Remembered here so that a read-only or full config folder is a warning, never a crash
        # (the store keeps the list for this session; the caller's own remember then no-ops).
        settings = getattr(self.app, "settings", None)
        if isinstance(settings, SettingsStore):
            warning = settings.remember_model_file(str(imported.path.expanduser().resolve()))
            if warning:
                self.app.notify(warning, title="Recent files", severity="warning", timeout=10)
        self.dismiss(imported)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A reader bug must not crash the app: show it like any unreadable file."""
        if event.state == WorkerState.ERROR:
            self._failed(f"Could not read the model: {event.worker.error}")

    def _failed(self, message: str) -> None:
        self.query_one("#open-model-problem", Static).update(message)
        self.query_one("#model-path", Input).focus()
