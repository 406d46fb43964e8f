"""Quant pane: every quantization with its effective bits per weight and, live, fit and decode speed."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.content import Content
from textual.message import Message
from textual.reactive import var
from textual.widgets import Static

from gpufit.core.assess import Assessment
from gpufit.core.catalog import Catalog
from gpufit.core.estimate import Estimate
from gpufit.core.specs import QuantSpec
from gpufit.ui.format import rate
from gpufit.ui.messages import QuantChosen
from gpufit.ui.widgets.picker import PickerPane, Row

ID_WIDTH = 10
# Word + mark + colour: the word alone must carry the meaning (NO_COLOR, colour blindness).
FIT_MARKS: dict[str, tuple[str, str]] = {
    "fits": ("✓ fits", "$text-success"),
    "tight": ("~ tight", "$text-warning"),
    "does-not-fit": ("✗ no", "$text-error"),
    "unsupported": ("- n/a", "$foreground-muted"),
}
LEGEND = "n/a: the engine cannot run it (e switches engine)"


HEADER = f"{'quant':<{ID_WIDTH}} {'bpw':>5} {'fit':<7} {'tok/s':>5}"


def quant_prompt(quant: QuantSpec, row: Estimate | None, engine: str) -> Content:
    """One fixed-width row: id, effective bpw, fit mark, decode tok/s; a quant the engine
    cannot run says "n/a" in words (dim too, but never colour or strikethrough alone)."""
    supported = engine in quant.engines
    bits = row.weights.bits_per_weight if row else quant.default_bits_per_weight
    name_style = "" if supported else "dim"
    parts: list[str | tuple[str, str]] = [
        (f"{quant.id:<{ID_WIDTH}}", name_style), f" {bits:5.2f} "]
    if row is None:
        parts.append(("  …", "dim"))
        return Content.assemble(*parts)
    verdict = row.verdict if supported else "unsupported"
    word, style = FIT_MARKS[verdict]
    speed_style = "" if verdict in ("fits", "tight") else "dim"
    parts += [(f"{word:<7}", style), (f" {rate(row.speed.decode_tokens_per_s):>5}", speed_style)]
    return Content.assemble(*parts)


class QuantPane(PickerPane):
    """Pick a quantization; rows update with every estimate."""

    result: var[Assessment | None] = var(None, init=False)
    """The latest estimate (bound to the main screen)."""
    engine: var[str] = var("llama.cpp", init=False)
    """The chosen engine: quants it cannot run are struck through."""

    def __init__(self, catalog: Catalog, *, id: str = "quant", selected: str = "") -> None:
        super().__init__("3 Quant", "/ filter quants", id=id, selected=selected)
        self._catalog = catalog

    def compose_above_list(self) -> ComposeResult:
        """A column header between the filter and the list."""
        head = Static(Content.styled(HEADER, "$foreground-muted bold"), classes="column-head")
        head.tooltip = LEGEND
        yield head

    def _rows_by_quant(self) -> dict[str, Estimate]:
        if self.result is None:
            return {}
        return {row.quant.id: row for row in self.result.quant_rows}

    def rows(self) -> Iterable[Row]:
        """Catalog order: most bits first."""
        estimates = self._rows_by_quant()
        for quant in self._catalog.quants.values():
            prompt = quant_prompt(quant, estimates.get(quant.id), self.engine)
            haystack = " ".join((quant.id, quant.name, quant.format, *quant.engines,
                                 *quant.aliases))
            yield Row(quant.id, prompt, haystack.casefold())

    def chosen(self, row_id: str) -> Message:
        """Moving in the list chooses a quant."""
        return QuantChosen(row_id)

    def watch_result(self, result: Assessment | None) -> None:
        self._refresh_prompts()
        unsupported = any(self.engine not in quant.engines for quant in self._catalog.quants.values())
        self.border_subtitle = "n/a: engine can't run it" if unsupported else ""

    def watch_engine(self, engine: str) -> None:
        self._refresh_prompts()

    def _refresh_prompts(self) -> None:
        """Replace prompts in place, so the highlight and scroll position stay put."""
        if not self.is_mounted:
            return
        option_list = self.option_list
        estimates = self._rows_by_quant()
        for option in option_list.options:
            quant = self._catalog.quants.get(option.id or "")
            if quant is not None:
                option_list.replace_option_prompt(
                    quant.id, quant_prompt(quant, estimates.get(quant.id), self.engine))
