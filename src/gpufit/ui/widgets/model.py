"""Model pane: every catalog model with its parameters (total/active), dense or MoE, and max context."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from textual.content import Content
from textual.message import Message

from gpufit.core.catalog import Catalog
from gpufit.core.specs import ModelSpec
from gpufit.core.tensors import parameter_count
from gpufit.ui.format import params, tokens
from gpufit.ui.messages import ModelChosen
from gpufit.ui.widgets.picker import PickerPane, Row


@cache
def _counts(model: ModelSpec) -> tuple[int, int]:
    return parameter_count(model)


def model_details(model: ModelSpec) -> str:
    """'8.0B dense · 128k ctx' or '141B/39B MoE · 64k ctx' (total/active)."""
    total, active = _counts(model)
    shape = f"{params(total)}/{params(active)} MoE" if model.is_moe else f"{params(total)} dense"
    # Short enough for an 80-column picker: where the model was read from.
    origin = "" if model.file_weights is None else (
        " · GGUF" if model.file_weights.format == "gguf" else " · HF folder")
    return f"{shape} · {tokens(model.max_context_tokens)} ctx{origin}"


class ModelPane(PickerPane):
    """Pick a model; each row shows its name over its size, shape and context."""

    def __init__(self, catalog: Catalog, *, id: str = "model", selected: str = "") -> None:
        super().__init__("2 Model", "/ filter models", id=id, selected=selected)
        self._catalog = catalog

    def rows(self) -> Iterable[Row]:
        """Catalog order (families stay together there)."""
        for model in self._catalog.models.values():
            prompt = Content.assemble(
                (model.name, "bold"), "\n", (model_details(model), "dim"))
            haystack = " ".join((model.id, model.name, model.family, model.architecture,
                                 "moe" if model.is_moe else "dense", *model.aliases))
            yield Row(model.id, prompt, haystack.casefold())

    def chosen(self, row_id: str) -> Message:
        """Moving in the list chooses a model."""
        return ModelChosen(row_id)
