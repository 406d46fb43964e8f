"""The host dialog: system RAM and its bandwidth (for CPU offload) and the price per GPU-hour.

Empty means "not set": RAM is then read from the OS, bandwidth takes the platform default, and
no cost is shown. A value that is not a positive number is refused with a message naming the
field; nothing is saved until every field is valid.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import Number
from textual.widgets import Footer, Input, Label, Static

FIELDS = (
    ("ram_gb", "System RAM, GB", "empty: read from the OS"),
    ("ram_bandwidth_gbps", "RAM bandwidth, GB/s", "empty: platform default"),
    ("price_per_gpu_hour", "Price per GPU-hour", "empty: no cost shown"),
)

HostValues = dict[str, float | None]


def parse_host_values(texts: dict[str, str]) -> tuple[HostValues, list[str]]:
    """Each field as a positive number or None (empty); problems name the field."""
    values: HostValues = {}
    problems: list[str] = []
    labels = {key: label for key, label, _hint in FIELDS}
    for key, text in texts.items():
        text = text.strip()
        if not text:
            values[key] = None
            continue
        try:
            value = float(text)
        except ValueError:
            problems.append(f"{labels[key]}: {text!r} is not a number")
            continue
        if not value > 0 or value == float("inf"):
            problems.append(f"{labels[key]}: must be greater than 0")
            continue
        values[key] = value
    return values, problems


class HostDialog(ModalScreen[HostValues | None]):
    """Three optional numbers; Enter saves, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "cancel", id="gpufit.host-cancel"),
    ]

    def __init__(self, current: HostValues, detected_ram_bytes: int | None) -> None:
        super().__init__(classes="dialog-screen")
        self._current = current
        self._detected = detected_ram_bytes

    def compose(self) -> ComposeResult:
        """A labelled input per field and a line saying what the OS reports."""
        with Vertical(classes="dialog host-dialog") as box:
            box.border_title = "Host RAM and price"
            box.border_subtitle = "Enter saves · Esc cancels"
            for key, label, hint in FIELDS:
                value = self._current.get(key)
                with Horizontal(classes="host-row"):
                    yield Label(f"{label:<22}")
                    yield Input("" if value is None else f"{value:g}", placeholder=hint,
                                compact=True, id=key, validators=[Number(minimum=0.000001)],
                                valid_empty=True)
            detected = ("The OS reports " + f"{self._detected / 1e9:,.1f} GB of RAM."
                        if self._detected else "The OS did not report the RAM size.")
            yield Static(detected + " Prices are yours: gpufit has none built in.",
                         classes="host-note")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(f"#{FIELDS[0][0]}", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        texts = {key: self.query_one(f"#{key}", Input).value for key, _label, _hint in FIELDS}
        values, problems = parse_host_values(texts)
        if problems:
            self.notify("; ".join(problems), title="Not saved", severity="error")
            return
        self.dismiss(values)
