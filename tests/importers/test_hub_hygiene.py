"""The Hub client is loaded only when a Hub model is looked up: never by the CLI or the app."""

from __future__ import annotations

import subprocess
import sys

_LOADED = ("import sys; {imports}; "
           "print(','.join(sorted(m for m in sys.modules "
           "if m.split('.')[0] in ('huggingface_hub', 'httpx2', 'httpx'))))")


def _loaded(imports: str) -> str:
    done = subprocess.run([sys.executable, "-c", _LOADED.format(imports=imports)],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_cli_the_app_and_the_hub_module_do_not_import_the_client() -> None:
    assert _loaded("import gpufit.cli, gpufit.cli_hub, gpufit.ui.app, gpufit.importers.hub, "
                   "gpufit.importers.hub_fetch, gpufit.importers.hub_cache") == ""


def test_a_catalog_report_does_not_import_the_client() -> None:
    code = ("import contextlib, io; from gpufit.cli import main; "
            "out = io.StringIO(); "
            "stack = contextlib.redirect_stdout(out); stack.__enter__(); "
            "main(['report', '--gpu', 'rtx-4090', '--model', 'meta-llama/Llama-3.1-8B-Instruct', "
            "'--quant', 'Q4_K_M']); stack.__exit__(None, None, None)")
    assert _loaded(code) == ""


def test_a_lookup_does_import_it() -> None:
    # The check above can fail: a lookup (here refused at once, offline) loads the client.
    code = ("import os; os.environ['HF_ENDPOINT'] = 'http://127.0.0.1:9'; "
            "from gpufit.importers.hub_fetch import HubConnection; "
            "exec('try:\\n HubConnection(\"a/b\", 1.0).listing(None)\\nexcept Exception: pass')")
    assert "huggingface_hub" in _loaded(code).split(",")


def test_the_running_app_does_not_import_the_client() -> None:
    # Start the app headless, let it paint and settle, then look at what it loaded.
    code = ("import asyncio\n"
            "from gpufit.ui.app import make_app\n"
            "async def run():\n"
            "    app = make_app()\n"
            "    async with app.run_test(size=(80, 24)) as pilot:\n"
            "        for _ in range(5):\n"
            "            await pilot.pause()\n"
            "asyncio.run(run())")
    assert _loaded(f"exec({code!r})") == ""
