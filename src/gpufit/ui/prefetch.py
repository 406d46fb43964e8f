"""Estimating the models beside the model-list cursor before the keypress that reaches them.

A model's first assessment types every weight tensor for every quant (the quant table), about
10–40 ms; later ones come from the core's caches in ~3 ms. Once a result is on screen, the
models a `j` or `k` would reach next are assessed in the estimate thread, so moving through
the list is answered from cache. Nothing is shown from a prefetch and a real request cancels
one still waiting (`EstimateService.prefetch`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from gpufit.core.setup import SetupError
from gpufit.service import EstimateService
from gpufit.ui.widgets.model import ModelPane

if TYPE_CHECKING:
    from gpufit.ui.screens.main import MainScreen

WARMED_LIMIT = 150
"""Models remembered as warm; below the core's breakdown cache (20,000 model × quant pairs),
so a model remembered here is still cached there."""


class NeighbourPrefetch:
    """Asks the service to assess the list neighbours of the current model, once each."""

    def __init__(self, screen: MainScreen, service: EstimateService) -> None:
        self._screen = screen
        self._service = service
        self._warmed: dict[str, None] = {}
        """Model ids already assessed this session (insertion order: oldest first)."""

    def _remember(self, model_id: str) -> None:
        self._warmed[model_id] = None
        if len(self._warmed) > WARMED_LIMIT:
            del self._warmed[next(iter(self._warmed))]

    def after_result(self) -> None:
        """The current result is painted: warm the models above and below the cursor."""
        screen = self._screen
        if not screen.is_mounted:
            return
        self._remember(screen.setup.model_id)
        request = screen.request()
        requests = []
        for model_id in screen.query_one(ModelPane).neighbours():
            if model_id in self._warmed:
                continue
            try:
                setup = replace(request.setup, model_id=model_id, context_tokens=None)
            except SetupError:
                continue
            self._remember(model_id)
            requests.append(replace(request, setup=setup))
        if requests:
            self._service.prefetch(requests)
