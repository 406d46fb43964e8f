"""Model pane: every model with its parameters (total/active), dense or MoE, and max context.

Models on this machine come first ("On this machine"), then Hub lookups and opened files, then
the catalog; the filter takes words, facets and fuzzy words (`gpufit.ui.model_filter`), Enter
on an `org/name` no row answers to asks the Hugging Face Hub, and `S` cycles the sort order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache

from textual.content import Content
from textual.message import Message

from gpufit.core.catalog import Catalog
from gpufit.core.specs import ModelSpec
from gpufit.core.tensors import parameter_count
from gpufit.ui.format import params, tokens
from gpufit.ui.messages import HubLookupRequested, ModelChosen
from gpufit.ui.model_filter import ModelFacts, compact, compile_query
from gpufit.ui.widgets.picker import PickerPane, Row
from gpufit.ui.widgets.updates import set_border_subtitle

SORTS = ("catalog", "size", "newest", "fit")
"""Model orders `S` cycles through: catalog order, largest first, newest first, best fit
first (fits with the most headroom, on the setup's hardware and quant)."""
GROUPS = {"local": "On this machine", "hub": "Hugging Face Hub", "file": "Opened files",
          "catalog": "Catalog"}


@cache
def _counts(model: ModelSpec) -> tuple[int, int]:
    return parameter_count(model)


def model_details(model: ModelSpec) -> str:
    """'8.0B dense · 128k ctx' or '141B/39B MoE · 64k ctx' (total/active)."""
    total, active = _counts(model)
    shape = f"{params(total)}/{params(active)} MoE" if model.is_moe else f"{params(total)} dense"
    # Short enough for an 80-column picker: where the model was read from.
    origin = "" if model.file_weights is None else (
        " · GGUF" if model.file_weights.format == "gguf" else " · HF")
    return f"{shape} · {tokens(model.max_context_tokens)} ctx{origin}"


class ModelPane(PickerPane):
    """Pick a model; each row shows its name over its size, shape and context."""

    def __init__(self, catalog: Catalog, *, id: str = "model", selected: str = "",
                 fit_headroom: Callable[[ModelSpec], float] | None = None) -> None:
        super().__init__("2 Model", "/ filter or org/name ⏎",
                         id=id, selected=selected)
        self._catalog = catalog
        self._local: dict[str, str] = {}
        """Model id → store name (`ollama:qwen3:32b`) of the models on this machine."""
        self._hub: set[str] = set()
        self._facts_cache: dict[str, tuple[ModelSpec, ModelFacts]] = {}
        self._fit_headroom = fit_headroom
        self.sort = "catalog"
        self._status = ""

    def set_local(self, names: dict[str, str]) -> None:
        """The models a local scan found (id → store name); shown first."""
        self._local = dict(names)
        self._facts_cache.clear()
        if self.is_mounted:
            self.rebuild()

    def mark_hub(self, model_id: str) -> None:
        """A model read from the Hub (listed under its own heading)."""
        self._hub.add(model_id)
        self._facts_cache.pop(model_id, None)

    def set_status(self, text: str) -> None:
        """One line under the pane: what the local scan or a Hub lookup is doing or found."""
        self._status = text
        self._show_subtitle()

    def cycle_sort(self) -> str:
        """Next sort order; returns its name."""
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._show_subtitle()
        self.rebuild()
        return self.sort

    def _show_subtitle(self) -> None:
        parts = [self._status] if self._status else []
        if self.sort != "catalog":
            parts.append(f"sorted by {self.sort}")
        set_border_subtitle(self, " · ".join(parts))

    def source_of(self, model: ModelSpec) -> str:
        """local, hub, file or catalog."""
        if model.id in self._local:
            return "local"
        if model.id in self._hub:
            return "hub"
        return "file" if model.file_weights is not None else "catalog"

    def _facts(self, model: ModelSpec) -> ModelFacts:
        # Every keystroke in the filter asks for every model's facts: build each once, until
        # the model (a re-import replaces it) or its source changes.
        hit = self._facts_cache.get(model.id)
        if hit is not None and hit[0] is model:
            return hit[1]
        facts = self._build_facts(model)
        self._facts_cache[model.id] = (model, facts)
        return facts

    def _build_facts(self, model: ModelSpec) -> ModelFacts:
        total, _active = _counts(model)
        text = " ".join((model.id, model.name, model.family, model.architecture,
                         "moe" if model.is_moe else "dense", *model.aliases,
                         self._local.get(model.id, "")))
        return ModelFacts(text.casefold(), compact(model.name), total, model.max_context_tokens,
                          model.is_moe, self.source_of(model), model.uses)

    def _ordered(self, models: list[ModelSpec]) -> list[ModelSpec]:
        if self.sort == "size":
            return sorted(models, key=lambda model: -_counts(model)[0])
        if self.sort == "newest":
            return sorted(models, key=lambda model: model.released or "", reverse=True)
        if self.sort == "fit" and self._fit_headroom is not None:
            headroom = self._fit_headroom
            # Those that fit first, the largest model among them first (most use of the card).
            return sorted(models, key=lambda model: (headroom(model) < 0, -_counts(model)[0]))
        return models

    def visible_rows(self) -> list[Row]:
        """Rows matching every word (facets, words; fuzzy words only when nothing matches)."""
        query = self.filter_input.value if self.is_mounted else ""
        models = list(self._catalog.models.values())
        facts = {model.id: self._facts(model) for model in models}
        strict = compile_query(query)
        shown = [model for model in models if strict(facts[model.id])]
        if not shown and query.strip():
            fuzzy = compile_query(query, fuzzy=True)
            shown = [model for model in models if fuzzy(facts[model.id])]
        grouped = len({facts[model.id].source for model in models}) > 1
        rows: list[Row] = []
        for source in GROUPS:
            members = [model for model in shown if facts[model.id].source == source]
            for model in self._ordered(members):
                rows.append(self._row(model, GROUPS[source] if grouped else None,
                                      facts[model.id]))
        return rows

    def rows(self) -> Iterable[Row]:
        """Every row (unfiltered), in display order."""
        return [self._row(model, None, self._facts(model))
                for model in self._catalog.models.values()]

    def _row(self, model: ModelSpec, group: str | None, facts: ModelFacts) -> Row:
        details = model_details(model)
        store = self._local.get(model.id)
        if store is not None and store != model.name:
            details = f"{store} · {details}"
        prompt = Content.assemble((model.name, "bold"), "\n", (details, "dim"))
        return Row(model.id, prompt, facts.text, group)

    def chosen(self, row_id: str) -> Message:
        """Moving in the list chooses a model."""
        return ModelChosen(row_id)

    def filter_entered(self, text: str) -> None:
        """Enter on `org/name` that no model answers to exactly asks the Hub."""
        text = text.strip()
        folded = f" {text.casefold()} "
        known = any(folded in f" {self._facts(model).text} "
                    for model in self._catalog.models.values())
        if "/" in text and not known:
            self.post_message(HubLookupRequested(text))
