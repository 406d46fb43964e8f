"""The host dialog: system RAM and its bandwidth (for CPU offload), the price per GPU-hour and
the currency that price (and every cost) is in.

RAM is typed and shown in the screen's units (GiB by default, as `free -h` and the panes show
it; GB after `g`) and kept in settings.toml as `ram_gb`, decimal GB. Empty means "not set": RAM
is then read from the OS, bandwidth takes the platform default, and
no cost is shown. A value that is not a positive number, or a currency that is empty or longer
than 8 characters, is refused with a message naming the field; nothing is saved until every
field is valid. A line under the fields shows the price as every surface will show it.
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

from gpufit.core.plans import DEFAULT_CURRENCY, currency_problem, money
from gpufit.core.specs import GB
from gpufit.ui.format import size, unit_bytes
from gpufit.ui.widgets.text_box import TextBox

FIELDS = (
    ("ram_gb", "System RAM, {units}", "empty: read from the OS"),
    ("ram_bandwidth_gbps", "RAM bandwidth, GB/s", "empty: platform default"),
    ("price_per_gpu_hour", "Price per GPU-hour", "empty: no cost shown"),
)
CURRENCY_FIELD = ("currency", "Currency", "a code or symbol: USD, EUR, $, €")
"""Beside the price it qualifies; text, not a number, so it is checked by its own rule."""

HostValues = dict[str, float | str | None]


def parse_host_values(texts: dict[str, str], kept_currency: str = DEFAULT_CURRENCY,
                      units: str = "GB") -> tuple[HostValues, list[str]]:
    """Each number field as a positive number or None (empty), the currency as its text;
    problems name the field (and, for the currency, what settings.toml keeps). RAM is typed in
    `units` and returned in decimal GB, as settings.toml keeps it."""
    values: HostValues = {}
    problems: list[str] = []
    labels = {key: label.format(units=units) for key, label, _hint in FIELDS}
    for key, text in texts.items():
        if key == CURRENCY_FIELD[0]:
            problem = currency_problem(text)
            if problem is None:
                values[key] = text.strip()
            else:
                problems.append(f"{CURRENCY_FIELD[1]}: {text.strip()!r} {problem}; "
                                f"settings.toml keeps {kept_currency}")
            continue
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
        values[key] = value * unit_bytes(units) / GB if key == "ram_gb" else value
    return values, problems


def price_preview(texts: dict[str, str]) -> str:
    """'2.50 USD per GPU-hour', as the result pane and reports will show the price; what is
    missing or wrong otherwise."""
    values, problems = parse_host_values(texts)
    price, currency = values.get("price_per_gpu_hour"), values.get(CURRENCY_FIELD[0])
    if problems or not isinstance(currency, str):
        return "Not valid yet: " + "; ".join(problems)
    if not isinstance(price, float):
        return f"No price, so no cost is shown; costs would be in {currency}."
    return f"Price {money(price, currency)} per GPU-hour; every cost is shown in {currency}."


class HostDialog(ModalScreen[HostValues | None]):
    """Three optional numbers and the price's currency; Enter saves, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "cancel", id="gpufit.host-cancel"),
    ]

    def __init__(self, current: HostValues, detected_ram_bytes: int | None,
                 units: str = "GB") -> None:
        super().__init__(classes="dialog-screen")
        self._current = current
        self._detected = detected_ram_bytes
        self._units = units
        self._shown: dict[str, str] = {}
        """What each number box showed on opening (a value shown rounded and left alone is
        kept as it was, not as rounded)."""

    def compose(self) -> ComposeResult:
        """A labelled input per field and a line saying what the OS reports."""
        with Vertical(classes="dialog host-dialog") as box:
            box.border_title = "Host RAM and price"
            box.border_subtitle = "Enter saves · Esc cancels"
            for key, label, hint in FIELDS:
                value = self._current.get(key)
                if key == "ram_gb" and isinstance(value, float | int):
                    value = round(value * GB / unit_bytes(self._units), 6)  # kept in GB
                self._shown[key] = "" if value is None else f"{value:g}"
                with Horizontal(classes="host-row"):
                    yield Label(f"{label.format(units=self._units):<22}")
                    yield TextBox(self._shown[key], placeholder=hint,
                                compact=True, id=key, validators=[Number(minimum=0.000001)],
                                valid_empty=True)
            key, label, hint = CURRENCY_FIELD
            with Horizontal(classes="host-row"):
                yield Label(f"{label:<22}")
                yield TextBox(str(self._current.get(key) or DEFAULT_CURRENCY), placeholder=hint,
                            compact=True, id=key)
            detected = (f"The OS reports {size(self._detected, self._units)} of RAM."
                        if self._detected else "The OS did not report the RAM size.")
            yield Static(detected + " Prices are yours: gpufit has none built in.",
                         classes="host-note")
            yield Static(id="host-price", classes="host-note", markup=False)  # a typed currency
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(f"#{FIELDS[0][0]}", Input).focus()
        self._changed()

    def _texts(self) -> dict[str, str]:
        """What each field holds now."""
        return {key: self.query_one(f"#{key}", Input).value
                for key, _label, _hint in (*FIELDS, CURRENCY_FIELD)}

    @on(Input.Changed)
    def _changed(self) -> None:
        self.query_one("#host-price", Static).update(price_preview(self._texts()))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        kept = str(self._current.get(CURRENCY_FIELD[0]) or DEFAULT_CURRENCY)
        values, problems = parse_host_values(self._texts(), kept, self._units)
        if problems:
            self.notify("; ".join(problems), title="Not saved", severity="error")
            return
        texts = self._texts()
        for key, shown in self._shown.items():
            if texts[key] == shown:
                values[key] = self._current.get(key)
        self.dismiss(values)
