"""The main screen's model files: open a GGUF or Hugging Face folder (`f`) and save the
imported model into the user catalog (`a`) so it is in the picker next time.

An imported model joins the session's catalog at once and is chosen at the file's own quant,
where its weights are the file's exact tensor sizes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpufit.core.specs import ModelSpec
    from gpufit.importers.model_import import ImportedModel
    from gpufit.ui.screens.main import MainScreen


class ImportController:
    """Opens model files into the screen's catalog and setup, and keeps them."""

    def __init__(self, screen: MainScreen) -> None:
        self._screen = screen

    def open_file(self) -> None:
        """Ask for a model path (with completion and the recent files), then load it."""
        # The readers and the dialog load on first use, not at start-up.
        from gpufit.ui.screens.open_model import OpenModelDialog

        screen = self._screen
        dialog = OpenModelDialog(screen.catalog.quants,
                                 screen.gpufit_app.settings.settings.recent_model_files)
        screen.app.push_screen(dialog, self._model_file_opened)

    def _model_file_opened(self, imported: ImportedModel | None) -> None:
        if imported is None:
            return
        self._screen.gpufit_app.settings.remember_model_file(str(imported.path.expanduser().resolve()))
        self.add_model(imported)
        weights = imported.file_weights
        message = (f"{weights.format.upper()} {weights.label}: {weights.breakdown.total_bytes / 1e9:,.2f} "
                   f"GB of weights in {len(weights.paths)} file(s), exact. a saves it to your "
                   "catalog.")
        for note in imported.notes:
            message += f"\n• {note}"
        self._screen.notify(message, title=f"Opened {imported.spec.name}", timeout=10)

    def add_model(self, imported: ImportedModel) -> None:
        """Put the model in this session's catalog and choose it at the file's own quant."""
        from gpufit.ui.widgets.model import ModelPane
        from gpufit.ui.widgets.quant import QuantPane

        screen = self._screen
        if imported.join(screen.catalog):
            screen.query_one(QuantPane).rebuild()
        model_pane = screen.query_one(ModelPane)
        # A filter that hides the new model would move the highlight to another row, which
        # chooses that model: clear it first, so the list shows (and keeps) the opened file.
        model_pane.clear_filter()
        screen.change_setup(model_id=imported.spec.id, quant_id=imported.quant_id)
        model_pane.rebuild()

    def keep(self) -> str | None:
        """If the model on screen was opened from a file, save it into the user catalog too, so
        a profile or session naming it reopens it; says where, or None if there was nothing to
        keep (a catalog model) or it could not be written."""
        from gpufit.persist.user_catalog import save_imported_model

        model = self._screen.catalog.models.get(self._screen.model_id)
        if model is None or not _imported(model):
            return None
        try:
            saved = save_imported_model(model)
        except OSError:
            return None
        return f"{model.name} is kept in {_home_relative(saved.path)} so the profile reopens it."

    def save(self) -> None:
        """Save the chosen imported model into the user catalog (replacing its older entry)."""
        from gpufit.persist.user_catalog import save_imported_model

        screen = self._screen
        model = screen.catalog.models.get(screen.model_id)
        if model is None or not _imported(model):
            screen.notify("Choose a model opened from a file first (f opens one).",
                        severity="warning")
            return
        try:
            saved = save_imported_model(model)
        except OSError as error:
            screen.notify(f"Could not save {model.name}: {error}", severity="error", timeout=10)
            return
        verb = "Replaced" if saved.replaced else "Saved"
        text = f"{verb} {model.name} in {_home_relative(saved.path)}; it is in the picker from now on."
        if saved.moved_aside is not None:
            text += f" The old file could not be read and was kept as {saved.moved_aside.name}."
        screen.notify(text, title="Model saved", timeout=10)


def _imported(model: ModelSpec) -> bool:
    """A model opened from a file (this session or saved): only those carry a file's weights."""
    return model.file_weights is not None


def _home_relative(path: Path) -> str:
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)
