"""Side-by-side comparison of a pinned setup and the current one, and the run-hints dialog.

Both are read-only views of `Assessment`s the main screen already has: nothing is
estimated here, so every figure is the one the result pane and the report show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from gpufit.core.assess import Assessment
from gpufit.core.plans import energy_basis_text, money
from gpufit.core.report import VERDICT_WORDS
from gpufit.core.run_hints import RunHint
from gpufit.ui.format import rate, seconds, short_gpu_name, size


def _setup(result: Assessment) -> str:
    hardware = result.estimate.hardware
    gpu = short_gpu_name(hardware.gpu.name)
    return f"{hardware.count} × {gpu}" if hardware.count > 1 else gpu


def _joules(result: Assessment) -> str:
    if result.energy is None:
        return "—"  # no GPU-only rate to charge energy to
    return f"{result.energy.joules_per_token:.2f} {energy_basis_text(result)}"


def _cost(result: Assessment) -> str:
    if result.energy is None:
        return "—"
    if result.energy.cost_per_million_tokens is None:
        return "set a price ($)"
    return money(result.energy.cost_per_million_tokens, result.currency)


def comparison_rows(pinned: Assessment, current: Assessment,
                    units: str) -> list[tuple[str, str, str]]:
    """(what, pinned, current) for every figure worth comparing."""
    figures: list[tuple[str, Callable[[Assessment], str]]] = [
        ("model", lambda r: r.estimate.model.name),
        ("quant", lambda r: r.estimate.quant.id),
        ("hardware", _setup),
        ("workload", lambda r: f"{r.estimate.workload.context_tokens:,} × "
                               f"{r.estimate.workload.sequences} · {r.estimate.workload.engine}"),
        ("verdict", lambda r: VERDICT_WORDS[r.verdict]),
        ("needs", lambda r: size(r.estimate.memory.total_bytes, units)),
        ("available", lambda r: size(r.estimate.memory.available_bytes, units)),
        ("headroom", lambda r: size(r.estimate.memory.headroom_bytes, units)),
        ("weights", lambda r: size(r.estimate.memory.weights_bytes, units)),
        ("KV cache", lambda r: size(r.estimate.memory.kv_cache_bytes, units)),
        ("decode tok/s", lambda r: rate(r.estimate.speed.decode_tokens_per_s)),
        ("all seqs tok/s", lambda r: rate(r.estimate.speed.aggregate_decode_tokens_per_s)),
        ("prefill tok/s", lambda r: rate(r.estimate.speed.prefill_tokens_per_s)),
        ("TTFT", lambda r: seconds(r.estimate.speed.time_to_first_token_s)),
        ("max context", lambda r: f"{r.estimate.max_context_tokens:,}"),
        ("board power", lambda r: f"{r.estimate.hardware.gpu.tdp_watts * r.estimate.hardware.count:,.0f} W"),
        ("J/token", _joules),
        ("cost / M tokens", _cost),
    ]
    return [(name, value(pinned), value(current)) for name, value in figures]


class CompareScreen(ModalScreen[None]):
    """The pinned setup beside the current one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,c", "dismiss", "close", id="gpufit.compare-close"),
    ]

    def __init__(self, pinned: Assessment, current: Assessment, units: str) -> None:
        super().__init__(classes="dialog-screen")
        self._rows = comparison_rows(pinned, current, units)

    def compose(self) -> ComposeResult:
        """One table: what, pinned, current."""
        with Vertical(classes="dialog compare-dialog") as box:
            box.border_title = "Compare: pinned (p) and current"
            box.border_subtitle = "Esc closes"
            yield DataTable(cursor_type="row", zebra_stripes=True, id="compare-table")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("figure", width=max(len(name) for name, _p, _c in self._rows) + 2)
        table.add_columns("pinned", "current")
        for name, pinned, current in self._rows:
            # A mark, not only bold, so differences read without colour too.
            marker = "" if pinned == current else " ≠"
            table.add_row(Text(name + marker), Text(pinned), Text(current))  # never markup
        table.focus()


class RunHintsScreen(ModalScreen[None]):
    """The command lines that reproduce the estimate; l / v copy one (OSC 52)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,u", "dismiss", "close", id="gpufit.run-close"),
        Binding("l", "copy('llama.cpp')", "copy llama.cpp", id="gpufit.run-copy-llama"),
        Binding("v", "copy('vllm')", "copy vLLM", id="gpufit.run-copy-vllm"),
    ]

    def __init__(self, hints: tuple[RunHint, ...]) -> None:
        super().__init__(classes="dialog-screen")
        self._hints = hints

    def compose(self) -> ComposeResult:
        """Each engine's command and its notes."""
        with VerticalScroll(classes="dialog run-dialog") as box:
            box.border_title = "How to run it"
            box.border_subtitle = "l / v copy · Esc closes"
            for hint in self._hints:
                yield Static(Content.styled(hint.engine, "bold $text-primary"))
                yield Static(Content.styled(hint.command, "bold"), classes="run-command")
                for note in hint.notes:
                    yield Static(Content.assemble(("! ", "$text-warning"), note))
        yield Footer(compact=True, show_command_palette=False)

    def action_copy(self, engine: str) -> None:
        """Copy one engine's command to the clipboard (the terminal's, over SSH too)."""
        hint = next((hint for hint in self._hints if hint.engine == engine), None)
        if hint is None:
            return
        self.app.copy_to_clipboard(hint.command)
        self.notify(f"Copied the {engine} command (OSC 52).", title="Run hint")
