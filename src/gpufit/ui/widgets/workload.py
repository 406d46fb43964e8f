"""Workload bar: context tokens, concurrent sequences, KV-cache type and engine, on one line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import var
from textual.validation import Integer
from textual.widgets import Input, Label, Static

from gpufit.core.engines import ENGINES, FLASH_ATTENTION_CHOICES
from gpufit.core.setup import MAX_SEQUENCES, MIN_CONTEXT_TOKENS
from gpufit.core.specs import KV_CACHE_DTYPES
from gpufit.ui.messages import WorkloadChanged
from gpufit.ui.widgets.text_box import TextBox
from gpufit.ui.widgets.typed import settle, typed_value

T = TypeVar("T")


def cycle(values: Sequence[T], current: T) -> T:
    """The value after `current`, wrapping around (the first if `current` is unknown)."""
    if current not in values:
        return values[0]
    return values[(values.index(current) + 1) % len(values)]


class Choice(Static):
    """A label that cycles through values when clicked (the keys do the same)."""

    def __init__(self, command_id: str, *, id: str) -> None:
        super().__init__(id=id, classes="choice")
        self._command_id = command_id

    def show(self, name: str, value: str) -> None:
        """'KV f16 (v)', with the key in force now (a remapped one too)."""
        from gpufit.ui.commands import key_for

        key = key_for(self.app, self._command_id) if self.is_attached else ""
        hint = (f" ({key})", "$foreground-muted") if key else ""
        self.update(Content.assemble(f"{name} ", (value, "bold"), hint))


class WorkloadBar(Horizontal):
    """How the model is run; every change is reported with `WorkloadChanged`."""

    context_tokens: var[int] = var(8192, init=False)
    """Context tokens per sequence (bound to the main screen)."""
    context_ceiling: var[int] = var(4 * 131072, init=False)
    """Largest context accepted: 4 × the model's maximum."""
    sequences: var[int] = var(1, init=False)
    """Concurrent sequences."""
    kv_cache_dtype: var[str] = var("f16", init=False)
    """KV-cache element type."""
    engine: var[str] = var("llama.cpp", init=False)
    """Inference engine."""
    flash_attention: var[str] = var("auto", init=False)
    """Flash attention: auto, on or off."""

    def compose(self) -> ComposeResult:
        """Context, sequences, KV type, engine."""
        yield Label("Context", classes="field-label")
        yield TextBox(str(self.context_tokens), type="integer", compact=True, id="context",
                    validators=[self._context_validator()],
                    tooltip="Context tokens per sequence ([ halves, ] doubles)")
        yield Label("tok  Seqs", classes="field-label")
        yield TextBox(str(self.sequences), type="integer", compact=True, id="sequences",
                    validators=[Integer(minimum=1, maximum=MAX_SEQUENCES)],
                    tooltip="Concurrent sequences sharing the GPU")
        yield Choice("kv-dtype", id="kv-dtype")
        yield Choice("engine", id="engine")
        yield Choice("flash-attention", id="flash-attention")

    def _context_validator(self) -> Integer:
        return Integer(minimum=MIN_CONTEXT_TOKENS, maximum=self.context_ceiling)

    def on_mount(self) -> None:
        self.query_one("#kv-dtype", Choice).show("KV", self.kv_cache_dtype)
        self.query_one("#engine", Choice).show("Engine", self.engine)
        self.query_one("#flash-attention", Choice).show("FA", self.flash_attention)

    def _sync(self, selector: str, value: int, *, force: bool = False) -> None:
        if not self.is_mounted:
            return
        box = self.query_one(selector, Input)
        # A focused box belongs to the user: never rewrite what they are typing.
        if (force or not box.has_focus) and box.value.strip() != str(value):
            box.value = str(value)

    @on(Input.Blurred)
    def _left_box(self, event: Input.Blurred) -> None:
        """Leaving a box shows the value in force; a refused entry is named in a notification."""
        event.stop()
        self._settle(event.input)
        self._sync("#context", self.context_tokens, force=True)
        self._sync("#sequences", self.sequences, force=True)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Entering a box: remember the value in use, for a refused entry to return to."""
        self._before = (self.context_tokens, self.sequences)

    def _settle(self, box: Input) -> None:
        # Before any focus (a box settled by a test or a click) the value in use is "before".
        context, sequences = getattr(self, "_before", (self.context_tokens, self.sequences))
        if box.id == "context" and settle(box, str(context), "Context") \
                and context != self.context_tokens:
            self.post_message(WorkloadChanged(context_tokens=context))
        elif box.id == "sequences" and settle(box, str(sequences), "Seqs") \
                and sequences != self.sequences:
            self.post_message(WorkloadChanged(sequences=sequences))

    @on(Input.Submitted)
    async def _submitted(self, event: Input.Submitted) -> None:
        """Enter leaves the box for the list on show, as Enter in the hardware boxes does (so
        the next digit typed is not appended to the number)."""
        event.stop()
        self._settle(event.input)
        await self.run_action("screen.leave_input")

    def watch_context_tokens(self, tokens: int) -> None:
        self._sync("#context", tokens)

    def watch_context_ceiling(self) -> None:
        if self.is_mounted:
            box = self.query_one("#context", Input)
            box.validators = [self._context_validator()]
            box.validate(box.value)

    def watch_sequences(self, sequences: int) -> None:
        self._sync("#sequences", sequences)

    def watch_kv_cache_dtype(self, dtype: str) -> None:
        if self.is_mounted:
            self.query_one("#kv-dtype", Choice).show("KV", dtype)

    def watch_engine(self, engine: str) -> None:
        if self.is_mounted:
            self.query_one("#engine", Choice).show("Engine", engine)

    def watch_flash_attention(self, choice: str) -> None:
        if self.is_mounted:
            self.query_one("#flash-attention", Choice).show("FA", choice)

    @on(Input.Changed, "#context")
    def _context_typed(self, event: Input.Changed) -> None:
        if (value := typed_value(event)) is not None:
            self.post_message(WorkloadChanged(context_tokens=int(value)))

    @on(Input.Changed, "#sequences")
    def _sequences_typed(self, event: Input.Changed) -> None:
        if (value := typed_value(event)) is not None:
            self.post_message(WorkloadChanged(sequences=int(value)))

    @on(events.Click, "#kv-dtype")
    def _kv_clicked(self) -> None:
        self.post_message(WorkloadChanged(
            kv_cache_dtype=cycle(KV_CACHE_DTYPES, self.kv_cache_dtype)))

    @on(events.Click, "#engine")
    def _engine_clicked(self) -> None:
        self.post_message(WorkloadChanged(engine=cycle(ENGINES, self.engine)))

    @on(events.Click, "#flash-attention")
    def _flash_clicked(self) -> None:
        self.post_message(WorkloadChanged(
            flash_attention=cycle(FLASH_ATTENTION_CHOICES, self.flash_attention)))
