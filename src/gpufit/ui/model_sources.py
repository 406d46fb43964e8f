"""Where the model picker's non-catalog models come from: the models already on this machine
(a background scan of the Hugging Face cache, Ollama, LM Studio, llama.cpp's cache and the
user's folders) and any Hugging Face Hub repo the user types as `org/name` in the filter.

Both run in worker threads, so the first frame never waits for them (the scan starts after
the first verdict); the scan reads headers
only (and a warm scan hits its cache), and the Hub is asked only when the user asks. Every
model found joins the session's catalog with its file's exact weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from gpufit.ui.widgets.model import ModelPane
from gpufit.ui.widgets.quant import QuantPane

if TYPE_CHECKING:
    from gpufit.core.specs import ModelSpec, QuantSpec
    from gpufit.importers.hub import HubModel
    from gpufit.importers.stores import LocalScan
    from gpufit.ui.screens.main import MainScreen

LocalScanner = Callable[["Mapping[str, QuantSpec]"], "LocalScan"]
"""Scans this machine for models, reading them with the given quants (the CLI passes one bound
to the settings' folders and --models-dir)."""


class ModelSources:
    """Runs the local scan and Hub lookups for the screen and files their models."""

    def __init__(self, screen: MainScreen, scanner: LocalScanner | None,
                 hub_timeout_s: float) -> None:
        self._screen = screen
        self._scanner = scanner
        self._hub_timeout_s = hub_timeout_s
        self.last_scan: LocalScan | None = None
        self._started = False

    def headroom(self, model: ModelSpec) -> float:
        """Memory left over running `model` on the setup's hardware, quant and workload (for
        sorting by fit); -inf when the setup's parts cannot be resolved."""
        from gpufit.core.assess import resolve_parts
        from gpufit.core.estimate import estimate
        from gpufit.core.setup import SetupError

        screen = self._screen
        setup = screen.setup
        try:
            hardware, _model, quant = resolve_parts(
                setup, screen.catalog, {option.key: option for option in screen.detected})
        except SetupError:
            return float("-inf")
        return estimate(model, quant, hardware, setup.workload_for(model)).memory.headroom_bytes

    @property
    def pane(self) -> ModelPane:
        """The model picker these sources fill."""
        return self._screen.query_one(ModelPane)

    # -- this machine -------------------------------------------------------------------

    def start(self) -> None:
        """The session's first scan, once: called when the first estimate has ended, so the
        scan's thread does not share the interpreter with the first frame or first verdict."""
        if self._scanner is not None and not self._started:
            self._started = True
            self.scan()

    def scan(self) -> None:
        """Look for models on this machine in the background (again, for a rescan)."""
        if self._scanner is None:
            self._screen.notify("Looking for local models is off in this session.",
                                severity="warning")
            return
        self.pane.set_status("looking for models on this machine…")
        self._screen.run_worker(self._scan_in_thread, thread=True, exclusive=True,
                                group="local-scan", name="scan local models",
                                exit_on_error=False)

    def _scan_in_thread(self) -> None:
        assert self._scanner is not None
        scan = self._scanner(self._screen.catalog.quants)
        self._screen.app.call_from_thread(self._scanned, scan)

    def _scanned(self, scan: LocalScan) -> None:
        screen = self._screen
        self.last_scan = scan
        new_quant = False
        for model in scan.models:
            new_quant |= model.imported.join(screen.catalog)
        if new_quant:
            screen.query_one(QuantPane).rebuild()
        pane = self.pane
        pane.set_local({model.imported.spec.id: model.name for model in scan.models})
        pane.set_status(scan.status)
        if scan.problems:
            screen.notify("\n".join(scan.problems[:3]), title="Models on this machine",
                          severity="warning", timeout=8)

    # -- the Hub --------------------------------------------------------------------------

    def lookup(self, text: str) -> bool:
        """Look `text` up on the Hub if it is an `org/name` reference; False if it is not."""
        from gpufit.importers.hub import parse_hub_ref

        ref = parse_hub_ref(text)
        if ref is None:
            return False
        self.pane.set_status(f"asking the Hub for {ref.repo_id}…")
        self._screen.notify(f"Reading {ref.repo_id}'s config and headers from the Hugging Face "
                            f"Hub (timeout {self._hub_timeout_s:g} s per request)…",
                            title="Hub lookup", timeout=4)

        def run() -> None:
            self._lookup_in_thread(text, ref.repo_id)

        self._screen.run_worker(run, thread=True, exclusive=True, group="hub",
                                name=f"Hub lookup of {ref.repo_id}", exit_on_error=False)
        return True

    def _lookup_in_thread(self, text: str, repo_id: str) -> None:
        from gpufit.importers.errors import ModelImportError
        from gpufit.importers.hub import hub_model_for

        app = self._screen.app

        def progress(what: str, done: int, total: int) -> None:
            app.call_from_thread(self.pane.set_status, f"Hub: {what} ({done}/{total})")

        try:
            found = hub_model_for(text, self._screen.catalog.quants,
                                  timeout_s=self._hub_timeout_s, progress=progress)
        except ModelImportError as error:
            app.call_from_thread(self._failed, repo_id, str(error))
            return
        app.call_from_thread(self._found, found)

    def _failed(self, repo_id: str, message: str) -> None:
        self.pane.set_status(f"Hub lookup of {repo_id} failed")
        self._screen.notify(message, title="Hub lookup failed", severity="error", timeout=12)

    def _found(self, found: HubModel) -> None:
        screen = self._screen
        self.pane.mark_hub(found.imported.spec.id)
        screen.imports.add_model(found.imported)
        weights = found.imported.file_weights.breakdown.total_bytes
        text = (f"{found.file_format.upper()}, {weights / 1e9:,.2f} GB of weights, exact "
                f"(fetched {found.bytes_fetched / 1e6:,.2f} MB of headers"
                f"{'; from the cache' if not found.bytes_fetched else ''}). a saves it.")
        if found.choices:
            offered = ", ".join(f"{choice.label} {choice.size_bytes / 1e9:,.1f} GB"
                                for choice in found.choices[:8])
            text += f"\nThe repo offers {offered}; type {found.repo_id}:QUANT to read another."
        self.pane.set_status(f"{found.repo_id} read from the Hub")
        screen.notify(text, title=f"Hub: {found.repo_id}", timeout=12)
