"""Running the console against the simulator in tests, snapshots and the screenshot script.

The simulator runs in its own thread and event loop, so the app can run in whatever loop the
caller uses (pytest-asyncio's, or pytest-textual-snapshot's own).  Deterministic set-up for
pictures: a frozen tape (``live_tape=False``), a manual clock and a fixed seed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from textual.pilot import Pilot

from tastytui.config import Config, load
from tastytui.domain.clock import Clock, ManualClock
from tastytui.services.runtime import endpoint_for
from tastytui.sim.config import SimConfig
from tastytui.sim.server import SimServer
from tastytui.ui.app import TastyApp
from tastytui.ui.connect import EndpointConnector
from tastytui.ui.toasts import NoticeSlot

#: Wednesday 2026-11-18, 10:30 in New York: market open, stable expirations.
PICTURE_TIME = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
T = TypeVar("T")


class SimThread:
    """A SimServer in a background thread: ``with SimThread(config) as sim: sim.base_url``."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.server: SimServer | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> SimThread:
        self._thread.start()
        self.server = self.call(self._start())
        return self

    async def _start(self) -> SimServer:
        server = SimServer(self.config)
        await server.start()
        return server

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, fn: Callable[[], T]) -> T:
        """Run a plain function on the simulator's loop (control calls are not thread-safe)."""

        async def wrapper() -> T:
            return fn()

        return self.call(wrapper())

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url


def picture_sim_config(**overrides: Any) -> SimConfig:
    """A simulator whose screen never changes: frozen tape, manual clock, seed 7."""
    clock = overrides.pop("clock", None) or ManualClock(PICTURE_TIME)
    return SimConfig(seed=7, clock=clock, live_tape=False, **overrides)


def test_config(tmp_path: Path, text: str = "") -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load(path, {})


def make_app(
    base_url: str,
    tmp_path: Path,
    *,
    clock: Clock | None = None,
    theme: str | None = None,
    config_text: str = "",
    low_bandwidth: bool | None = None,
) -> TastyApp:
    config = test_config(tmp_path, config_text)
    if theme is not None:
        config.ui.theme = theme
    _, profile = config.active("sim")
    endpoint = endpoint_for("sim", profile, sim_url=base_url)
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    connector = EndpointConnector(config, "sim", endpoint, clock=clock, state_dir=state)
    return TastyApp(config, "sim", connector=connector, clock=clock, low_bandwidth=low_bandwidth)


async def wait_ready(pilot: Pilot[Any], timeout: float = 20.0) -> None:
    """Until every link is up, the first reconciliation ran and the panes had quotes."""
    app = pilot.app
    assert isinstance(app, TastyApp)
    async with asyncio.timeout(timeout):
        while True:
            services = app.services
            if services is not None and services.health.snapshot.ready:
                break
            await pilot.pause(0.05)
    # Let panes load their data (their workers are short) and the quote flush run a few times.
    await pilot.pause(0.5)
    await settle(pilot)


async def until(pilot: Pilot[Any], check: Callable[[], bool], timeout: float = 30.0) -> None:
    """Until ``check()`` holds (what a user would see), or fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not check():
            await pilot.pause(0.05)


def shown_notices(app: Any) -> list[NoticeSlot]:
    """The notifications on the active screen, oldest first."""
    return [slot for slot in app.screen.query(NoticeSlot) if slot.display]


async def settle(pilot: Pilot[Any]) -> None:
    """Until the short-lived workers (data loads, reviews) finish and a few flushes ran."""
    busy = [w for w in pilot.app.workers if w.group != "services" and not w.is_finished]
    for worker in busy:
        await worker.wait()
    await pilot.pause(0.3)
