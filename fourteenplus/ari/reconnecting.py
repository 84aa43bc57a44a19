"""The ARI app across reconnections: `fourteenplus run` keeps one of these for its lifetime.

Each ARI connection gets its own `App`; what outlives a connection is here: the
configuration in force and whether we are stopping. It reconnects with back-off when
Asterisk goes away (0.5 → 10 s); a connection that dies at once counts as a failure.
"""

from __future__ import annotations

import logging
import time

import anyio

from .. import sdnotify
from ..config import Service
from ..session import CallServices
from .app import App
from .client import AriError, AriSettings, connect

log = logging.getLogger("fourteenplus.run")
BACKOFF_S = (0.5, 1, 2, 5, 10)
STABLE_S = 10.0  # a connection that lasted this long resets the back-off


class ReconnectingApp:
    def __init__(self, service: Service, services: CallServices):
        self.service = service
        self.services = services
        self.app: App | None = None
        self.draining = False

    def stop_taking_calls(self) -> None:
        self.draining = True
        if self.app:
            self.app.stop_taking_calls()

    def calls_in_progress(self) -> int:
        return len(self.app.calls) if self.app else 0

    async def use(self, service: Service) -> None:
        self.service = service
        if self.app:
            self.app.service = service

    def connected(self) -> bool:
        return self.app is not None

    async def serve(self) -> None:
        settings = AriSettings.of(self.service.asterisk)
        metrics = self.services.metrics
        if metrics:
            metrics.ari_connected(False)
            metrics.ready_when("ari", self.connected)
        announced = False
        failures = 0
        while True:
            connected_at = None
            try:
                async with connect(settings) as ari:
                    connected_at = time.monotonic()
                    self.app = App(self.service, self.services, ari)
                    if self.draining:
                        self.app.stop_taking_calls()
                    if metrics:
                        metrics.ari_connected(True)
                    if not announced:
                        sdnotify.ready()
                        announced = True
                    else:
                        log.info("reconnected to ARI")
                    try:
                        await self.app.run()
                    finally:
                        self.app = None
                        if metrics:
                            metrics.ari_connected(False)
                log.warning("ARI connection closed")
            except (AriError, OSError) as exc:
                log.warning("ARI not reachable (%s)", exc, exc_info=log.isEnabledFor(logging.DEBUG))
            # A connection that fails right after it is made counts as a failure too:
            # otherwise a fault on every connect would retry at full speed for ever.
            if connected_at is not None and time.monotonic() - connected_at > STABLE_S:
                failures = 0
            delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
            failures += 1
            log.info("connecting to ARI again in %s s", delay)
            await anyio.sleep(delay)
