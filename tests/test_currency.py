"""The currency of prices and costs: its setting (kept, refused, round-tripped with unknown
keys), the `--currency` flag, and the same money text on every surface of one assessment.

Expected strings are written out by hand from the rule in docs/estimation.md ("a code follows
the number, a symbol leads it; two decimals, more below 0.10"), not taken from the renderer.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from gpufit import cli
from gpufit.core.assess import Assessment, HostInputs, assess
from gpufit.core.catalog import Catalog
from gpufit.core.plans import money
from gpufit.core.report import to_dict, to_json, to_markdown, to_text
from gpufit.core.setup import Setup
from gpufit.persist.settings import SettingsStore
from gpufit.ui.screens.compare import comparison_rows
from gpufit.ui.screens.host import parse_host_values, price_preview
from gpufit.ui.screens.serving import summary
from gpufit.ui.widgets.result import plans

# The README's serving example: it fits, so it has an energy figure and a cost.
SETUP = Setup(gpu_id="a100-80gb-sxm", model_id="mixtral-8x7b", quant_id="AWQ-INT4",
              engine="vllm", prompt_tokens=1000, output_tokens=200)
FLAGS = ["--gpu", "a100-80gb-sxm", "--model", "mixtral-8x7b", "--quant", "AWQ-INT4",
         "--engine", "vllm", "--prompt-tokens", "1000", "--output-tokens", "200",
         "--price-per-gpu-hour", "2"]


@pytest.fixture(autouse=True)
def no_ram_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads the OS's RAM; the assessments built here have none, so both agree."""
    monkeypatch.setattr("gpufit.detect.host.system_ram_bytes", lambda: None)


def assessed(catalog: Catalog, currency: str, price: float | None = 2.0) -> Assessment:
    return assess(SETUP, catalog, host=HostInputs(currency=currency), price_per_gpu_hour=price)


def settings_file() -> Path:
    return Path(os.environ["GPUFIT_CONFIG_DIR"]) / "settings.toml"


# money: one rule


@pytest.mark.parametrize(("amount", "currency", "text"), [
    (47.5321, "USD", "47.53 USD"),
    (1234.5, "EUR", "1,234.50 EUR"),
    (47.5321, "€", "€47.53"),
    (3.0, "R$", "R$3.00"),
    (12.0, "kr", "12.00 kr"),
    (0.0421, "USD", "0.042 USD"),
    (0.00421, "$", "$0.0042"),
    (0.0, "USD", "0.00 USD"),
])
def test_money_puts_codes_after_and_symbols_before(amount: float, currency: str,
                                                   text: str) -> None:
    assert money(amount, currency) == text


# the setting


def test_currency_round_trips_and_keeps_unknown_keys() -> None:
    path = settings_file()
    path.parent.mkdir(parents=True)
    path.write_text('future_flag = true\ncurrency = "EUR"\nprice_per_gpu_hour = 2.5\n'
                    '[plugins]\nname = "x"\n', encoding="utf-8")
    store = SettingsStore(path)
    assert store.settings.currency == "EUR" and store.problems == []
    store.update(currency="€")
    saved = tomllib.loads(path.read_text(encoding="utf-8"))
    assert saved == {"future_flag": True, "currency": "€", "price_per_gpu_hour": 2.5,
                     "plugins": {"name": "x"}}
    assert SettingsStore(path).settings.currency == "€"


def test_an_untouched_default_currency_is_not_written() -> None:
    store = SettingsStore(settings_file())
    assert store.settings.currency == "USD"
    store.update(theme="gpufit-light")
    assert "currency" not in tomllib.loads(settings_file().read_text(encoding="utf-8"))


@pytest.mark.parametrize("value", ['""', '"   "', '"DOLLARS!!"', '"E\\tR"', "3"])
def test_a_bad_currency_in_the_file_is_named_and_the_default_used(value: str) -> None:
    path = settings_file()
    path.parent.mkdir(parents=True)
    path.write_text(f"currency = {value}\nkeep_me = 1\n", encoding="utf-8")
    store = SettingsStore(path)
    assert store.settings.currency == "USD"
    assert len(store.problems) == 1
    assert "settings.toml: currency" in store.problems[0] and "USD" in store.problems[0]
    # Another change leaves the user's (rejected) value where it was.
    store.update(theme="gpufit-light")
    saved = tomllib.loads(path.read_text(encoding="utf-8"))
    assert saved["currency"] == tomllib.loads(f"v = {value}")["v"] and saved["keep_me"] == 1


def test_a_bad_currency_is_refused_and_the_old_one_kept() -> None:
    store = SettingsStore(settings_file())
    store.update(currency="EUR")
    with pytest.raises(ValueError, match=r"currency '' must not be empty.*settings\.toml keeps EUR"):
        store.update(currency="")
    with pytest.raises(ValueError, match="at most 8 characters"):
        store.update(currency="EURO-DOLLAR")
    assert store.settings.currency == "EUR"
    assert tomllib.loads(settings_file().read_text(encoding="utf-8"))["currency"] == "EUR"


def test_the_core_refuses_a_currency_no_surface_could_show() -> None:
    with pytest.raises(ValueError, match="currency"):
        HostInputs(currency="\n")


# every surface of one assessment


def test_every_surface_shows_the_same_cost_in_the_same_currency(catalog: Catalog) -> None:
    result = assessed(catalog, "EUR")
    energy = result.energy
    assert energy is not None and energy.cost_per_million_tokens is not None
    cost = money(energy.cost_per_million_tokens, "EUR")
    assert cost.endswith(" EUR")
    pane = plans(result, "GiB").plain
    assert f"{cost} per M tokens" in pane
    priced = f"{cost} per M tokens at 2.00 EUR per GPU-hour"
    assert priced in to_markdown(result)
    assert priced in to_text(result)
    assert priced in summary(result).plain
    report = to_dict(result)
    assert report["energy"]["currency"] == "EUR"
    assert report["energy"]["price_per_gpu_hour"] == 2.0
    rows = {name: (pinned, current) for name, pinned, current in
            comparison_rows(assessed(catalog, "$"), result, "GiB")}
    assert rows["cost / M tokens"] == (money(energy.cost_per_million_tokens, "$"), cost)
    assert rows["cost / M tokens"][0].startswith("$")


def test_without_a_price_the_json_still_names_the_currency(catalog: Catalog) -> None:
    result = assessed(catalog, "CHF", price=None)
    energy = json.loads(to_json(result))["energy"]
    assert energy["cost_per_million_tokens"] is None and energy["currency"] == "CHF"
    assert "CHF" not in to_markdown(result)  # no cost, so no money to label
    assert "set a price: $" in plans(result, "GiB").plain


# the CLI


def test_currency_flag_reaches_every_report_format(catalog: Catalog,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", *FLAGS, "--currency", "€", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["energy"]["currency"] == "€"
    assert "costs are in" not in err  # the user named one: nothing to explain
    assert cli.main(["report", *FLAGS, "--currency", "€", "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    cost = money(report["energy"]["cost_per_million_tokens"], "€")
    assert f"{cost} per M tokens at €2.00 per GPU-hour" in markdown
    # The same document the app's export writes for this setup in this currency.
    assert report == json.loads(to_json(assessed(catalog, "€")))


def test_report_takes_the_saved_currency_and_says_how_to_set_one(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", *FLAGS, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["energy"]["currency"] == "USD"
    assert "costs are in USD, the default; --currency" in err and "settings.toml" in err
    SettingsStore(settings_file()).update(currency="kr")
    assert cli.main(["report", *FLAGS, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["energy"]["currency"] == "kr" and err == ""


def test_report_names_a_bad_saved_currency_and_uses_the_default(
        capsys: pytest.CaptureFixture[str]) -> None:
    settings_file().parent.mkdir(parents=True)
    settings_file().write_text('currency = ""\n', encoding="utf-8")
    assert cli.main(["report", *FLAGS, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["energy"]["currency"] == "USD"
    assert "settings.toml: currency = ''" in err
    assert settings_file().read_text(encoding="utf-8") == 'currency = ""\n'  # only read


@pytest.mark.parametrize("value", ["", "   ", "TOO-LONG-1", "a\tb"])
def test_a_bad_currency_flag_exits_2_naming_it(value: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["report", *FLAGS, "--currency", value])
    assert exit_info.value.code == 2
    assert "--currency" in capsys.readouterr().err


# the host dialog's parsing


def test_host_dialog_refuses_a_bad_currency_naming_the_field_and_what_is_kept() -> None:
    values, problems = parse_host_values({"price_per_gpu_hour": "2", "currency": "  "}, "EUR")
    assert "currency" not in values
    assert problems == ["Currency: '' must not be empty (a code or symbol such as USD, EUR, "
                        "$ or €); settings.toml keeps EUR"]
    values, problems = parse_host_values({"price_per_gpu_hour": "2", "currency": " € "})
    assert values == {"price_per_gpu_hour": 2.0, "currency": "€"} and problems == []


def test_host_dialog_previews_the_price_as_the_reports_show_it() -> None:
    assert price_preview({"price_per_gpu_hour": "2.5", "currency": "EUR"}) == \
        "Price 2.50 EUR per GPU-hour; every cost is shown in EUR."
    assert "costs would be in $" in price_preview({"price_per_gpu_hour": "", "currency": "$"})
    assert "must not be empty" in price_preview({"price_per_gpu_hour": "2", "currency": ""})


def test_report_uses_the_host_the_app_saved_unless_a_flag_overrides(
        catalog: Catalog, capsys: pytest.CaptureFixture[str]) -> None:
    # What `$` in the app saves; the app assesses with it, so report must too (one truth).
    SettingsStore(settings_file()).update(price_per_gpu_hour=2.0, currency="EUR", ram_gb=64.0,
                                          ram_bandwidth_gbps=50.0)
    flags = [flag for flag in FLAGS if flag not in ("--price-per-gpu-hour", "2")]
    assert cli.main(["report", *flags, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    as_the_app = assess(SETUP, catalog, host=HostInputs(64 * 10**9, 50.0, "EUR"),
                        price_per_gpu_hour=2.0)
    assert json.loads(out) == json.loads(to_json(as_the_app))
    assert "price 2 per GPU-hour (--price-per-gpu-hour overrides)" in err
    assert "RAM 64 GB (--ram-gb overrides)" in err
    assert cli.main(["report", *flags, "--price-per-gpu-hour", "3", "--ram-gb", "32",
                     "--format", "json"]) == 0
    out, err = capsys.readouterr()
    flagged = assess(SETUP, catalog, host=HostInputs(32 * 10**9, 50.0, "EUR"),
                     price_per_gpu_hour=3.0)
    assert json.loads(out) == json.loads(to_json(flagged))
    assert "price" not in err and "RAM 64" not in err
