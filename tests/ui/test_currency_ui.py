"""The currency in the app: set in the host dialog (`$`) beside the price, saved with the
user's other keys kept, and shown in the result pane and the JSON export of the same result."""

from __future__ import annotations

import json
import tomllib

from textual.widgets import Input, Static
from ui_helpers import WIDE, main_screen, open_host_dialog, wait_until

from gpufit.core.plans import money
from gpufit.ui.pilot import settle
from gpufit.ui.reports import report_text


async def test_currency_set_in_the_host_dialog_reaches_the_pane_and_the_export(
        build_app, settings_path):
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text('price_per_gpu_hour = 2.0\nfuture_flag = "kept"\n', encoding="utf-8")
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        screen.gpu_id, screen.model_id, screen.quant_id = "rtx-4090", "llama-3.1-8b", "Q4_K_M"
        await settle(pilot)
        dialog = await open_host_dialog(pilot)
        currency = dialog.query_one("#currency", Input)
        assert currency.value == "USD"  # the default, shown where the price is set
        currency.value = "EUR"
        await pilot.pause()
        assert "2.00 EUR per GPU-hour" in str(dialog.query_one("#host-price", Static).render())
        currency.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.result is not None
                         and screen.result.currency == "EUR", rounds=300)
        await settle(pilot)
        saved = tomllib.loads(settings_path.read_text(encoding="utf-8"))
        assert saved == {"price_per_gpu_hour": 2.0, "future_flag": "kept", "currency": "EUR"}
        energy = screen.result.energy
        assert energy is not None and energy.cost_per_million_tokens is not None
        cost = money(energy.cost_per_million_tokens, "EUR")
        figures = str(screen.query_one("#figures", Static).render())
        assert f"{cost} per M tokens" in figures
        assert f"{cost} per M tokens at 2.00 EUR per GPU-hour" in report_text(screen.result,
                                                                              "markdown")
        assert json.loads(report_text(screen.result, "json"))["energy"]["currency"] == "EUR"


async def test_a_bad_currency_is_not_saved(build_app, settings_path):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        dialog = await open_host_dialog(pilot)
        currency = dialog.query_one("#currency", Input)
        currency.value = "NOT-A-CURRENCY"
        currency.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog  # still open: nothing saved
        assert "at most 8 characters" in str(dialog.query_one("#host-price", Static).render())
        assert not settings_path.exists()
        assert app.settings.settings.currency == "USD"
