"""The exchange: every piece of simulator state, and the loop that moves the market."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from tastytui.domain.clock import NEW_YORK
from tastytui.sim.auth import AuthServer
from tastytui.sim.calendar import TradingCalendar
from tastytui.sim.config import MarketHours, SimConfig
from tastytui.sim.engine import Engine
from tastytui.sim.faults import Faults
from tastytui.sim.ledger import Ledger
from tastytui.sim.market import MarketModel
from tastytui.sim.universe import synthetic_underlyings

log = logging.getLogger(__name__)


class StreamSession(Protocol):
    """A connected WebSocket client the fault API can drop."""

    async def drop(self) -> None: ...


class AlertSink(Protocol):
    """An account-streamer connection that receives pushes for its accounts."""

    def wants(self, account_number: str) -> bool: ...

    def push(self, message: dict[str, Any]) -> None: ...

    async def drop(self) -> None: ...


class StepSignal:
    """Wakes every waiter when the tape advances (one broadcast per step, no queue growth)."""

    def __init__(self) -> None:
        self.step = 0
        self._event = asyncio.Event()

    def fire(self, step: int) -> None:
        self.step = step
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_after(self, step: int) -> int:
        while self.step <= step:
            await self._event.wait()
        return self.step


class Exchange:
    """Market, ledger, matching engine, auth and faults, wired together."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.clock = config.clock
        today = self.clock.now().astimezone(NEW_YORK).date()
        self.calendar = TradingCalendar(today)
        self.ledger = Ledger(config.state_path, config.seed, self.clock)
        self.market = MarketModel(
            config.seed,
            self.clock,
            tick_interval=config.tick_interval,
            volatility_scale=config.volatility_scale,
            calendar=self.calendar,
            start_prices=self.ledger.saved_prices(),
            extra=synthetic_underlyings(config.extra_underlyings),
        )
        self.auth = AuthServer(config, self.clock)
        self.faults = Faults(config.seed)
        self.steps = StepSignal()
        self.dxlink_sessions: set[StreamSession] = set()
        self.alert_sinks: set[AlertSink] = set()
        self.engine = Engine(self)
        self.base_url = ""
        self._stopping = False

    # ------------------------------------------------------------ market

    def market_state(self) -> str:
        """'Open' always, unless the simulator follows the NYSE calendar."""
        if self.config.market_hours is MarketHours.ALWAYS:
            return "Open"
        return self.calendar.state(self.clock.now())

    def is_market_open(self) -> bool:
        return self.market_state() == "Open"

    def step_once(self) -> None:
        """Advance the tape one step and let the engine react (fills, expirations)."""
        self.market.advance()
        self.engine.on_step()
        self.steps.fire(self.market.step)

    async def run(self) -> None:
        """The market loop: one step per ``tick_interval`` while the tape is live."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        save_every = max(1, int(5.0 / self.config.tick_interval))
        while not self._stopping:
            if self.config.live_tape:
                try:
                    self.step_once()
                except Exception:  # a bug in one step must not stop the market
                    log.exception("market step failed")
                if self.market.step % save_every == 0:
                    self.ledger.save_prices(self.market.prices())
            else:
                self.engine.on_step()
            next_at += self.config.tick_interval
            delay = next_at - loop.time()
            if delay < -1.0:  # fell far behind (suspended laptop): do not replay the backlog
                next_at = loop.time()
                delay = 0.0
            await asyncio.sleep(max(0.0, delay))

    # ------------------------------------------------------------ streams

    def publish(self, account_number: str, kind: str, payload: dict[str, Any]) -> None:
        """Push an account-streamer notification to every connection watching the account."""
        message = {"type": kind, "data": payload, "timestamp": self._millis()}
        for sink in list(self.alert_sinks):
            if sink.wants(account_number):
                sink.push(message)

    def _millis(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    async def drop_streams(self, dxlink: bool = True, account: bool = True) -> int:
        """Drop connected streaming clients without a goodbye (a network failure)."""
        sessions: list[StreamSession] = []
        if dxlink:
            sessions.extend(self.dxlink_sessions)
            self.faults.count("dxlink_drop")
        if account:
            sessions.extend(self.alert_sinks)
            self.faults.count("account_stream_drop")
        for session in sessions:
            with contextlib.suppress(Exception):
                await session.drop()
        return len(sessions)

    async def close(self) -> None:
        if self._stopping:  # already closed: stopping a server twice is harmless
            return
        self._stopping = True
        await self.drop_streams()
        self.ledger.save_prices(self.market.prices())
        self.ledger.close()
