"""Wiring: every service for one profile, and the long-running jobs that keep them current.

The console, the chat and the command line all use this one container.  It owns no event loop:
``jobs()`` returns the coroutines (token refresh, breaker probe, DXLink, account stream, fill
polling, reconciliation, staleness) and the caller runs them — the console as Textual workers,
tests and scripts as asyncio tasks — and cancels them on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tastytui.config import Config, Profile
from tastytui.domain.clock import Clock, SystemClock
from tastytui.paths import data_dir
from tastytui.secrets import CLIENT_SECRET, REFRESH_TOKEN, SecretStore
from tastytui.services.account_stream import AccountStream
from tastytui.services.accounts import AccountService
from tastytui.services.broker import Broker, Credentials, Endpoint
from tastytui.services.dxlink import DxLinkClient, quote_token_provider
from tastytui.services.errors import SecretsError
from tastytui.services.events import EventBus
from tastytui.services.fills import FillTracker
from tastytui.services.health import Health
from tastytui.services.http import RestPolicy
from tastytui.services.journal import Journal
from tastytui.services.orders import OrderService
from tastytui.services.quotes import QuoteStore
from tastytui.services.reconcile import BookStore, Reconciler
from tastytui.services.risk import RiskGuard

log = logging.getLogger(__name__)

Job = Callable[[], Coroutine[Any, Any, None]]


def endpoint_for(
    name: str,
    profile: Profile,
    *,
    sim_url: str | None = None,
    secrets: SecretStore | None = None,
) -> Endpoint:
    """The endpoint and credentials of a profile (the simulator's are built in)."""
    if name == "sim":
        from tastytui.sim.config import (
            ACCOUNT_STREAMER_PATH,
            SIM_CLIENT_SECRET,
            SIM_REFRESH_TOKEN,
        )

        base = (profile.api_url or sim_url or "").rstrip("/")
        if not base:
            raise SecretsError("the sim profile needs a running simulator (none was started)")
        streamer = profile.streamer_url or base.replace("http", "ws", 1) + ACCOUNT_STREAMER_PATH
        return Endpoint(name, base, streamer, Credentials(SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN))
    store = secrets or SecretStore()
    secret = store.get(name, CLIENT_SECRET)
    refresh = store.get(name, REFRESH_TOKEN)
    if not secret or not refresh:
        raise SecretsError(
            f"no saved login for the {name} profile: run `tastytui login --profile {name}` "
            f"(or set TASTYTUI_{name.upper()}_CLIENT_SECRET and "
            f"TASTYTUI_{name.upper()}_REFRESH_TOKEN for this shell)"
        )
    return Endpoint(
        name,
        profile.api_url,
        profile.streamer_url,
        Credentials(secret, refresh),
        is_test=name == "cert",
    )


@dataclass
class Services:
    config: Config
    profile_name: str
    profile: Profile
    endpoint: Endpoint
    clock: Clock
    health: Health
    events: EventBus
    broker: Broker
    store: QuoteStore
    dxlink: DxLinkClient
    accounts: AccountService
    journal: Journal
    risk: RiskGuard
    fills: FillTracker
    orders: OrderService
    account_stream: AccountStream
    reconciler: Reconciler
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @classmethod
    async def connect(
        cls,
        config: Config,
        profile_name: str,
        profile: Profile,
        endpoint: Endpoint,
        *,
        clock: Clock | None = None,
        state_dir: Path | None = None,
    ) -> Services:
        """Log in and build every service; raises a ServiceError that says how to fix it."""
        clock = clock or SystemClock()
        health = Health()
        events = EventBus()
        rest = config.rest
        policy = RestPolicy(
            rate=rest.rate,
            burst=rest.burst,
            timeout=rest.timeout,
            read_retries=rest.read_retries,
            breaker_threshold=rest.breaker_threshold,
            breaker_cooldown=rest.breaker_cooldown,
        )
        stack = contextlib.AsyncExitStack()
        broker = await stack.enter_async_context(Broker(endpoint, policy, health))
        try:
            await broker.login()
        except BaseException:
            await stack.aclose()
            raise
        store = QuoteStore(clock)
        dxlink = DxLinkClient(
            quote_token_provider(broker.session),
            store,
            health,
            clock,
            watchdog=config.streaming.watchdog,
        )
        accounts = AccountService(
            broker,
            store,
            events,
            clock,
            beta_symbol=config.ui.beta_symbol,
            stale_after=config.streaming.stale_after,
        )
        accounts.choose(profile.account)
        directory = state_dir or data_dir()
        journal = Journal(directory / f"journal-{profile_name}.sqlite3", clock=clock)
        stack.callback(journal.close)
        risk = RiskGuard(profile.risk)
        fills = FillTracker(broker, journal, events, clock, profile=profile_name)
        orders = OrderService(
            broker, journal, risk, accounts, events, clock, profile_name, fills=fills
        )
        book = BookStore(directory / f"book-{profile_name}.sqlite3")
        stack.callback(book.close)
        reconciler = Reconciler(
            accounts,
            events,
            health,
            clock,
            profile=profile_name,
            store=book,
            resolve_orders=orders.resolve_unknown,
            interval=config.reconcile.interval,
        )
        stream = AccountStream(
            broker,
            accounts,
            health,
            on_order=fills.on_order,
            on_connected=reconciler.after_reconnect,
        )
        fills.resume()
        return cls(
            config,
            profile_name,
            profile,
            endpoint,
            clock,
            health,
            events,
            broker,
            store,
            dxlink,
            accounts,
            journal,
            risk,
            fills,
            orders,
            stream,
            reconciler,
            stack,
        )

    def jobs(self) -> dict[str, Job]:
        """Name → coroutine factory for every long-running job."""
        return {
            "token": self.broker.keep_token_fresh,
            "breaker-probe": self.broker.probe_while_open,
            "dxlink": self.dxlink.run,
            "account-stream": self.account_stream.run,
            "fill-polling": self.fills.run_polling,
            "reconcile": self.reconciler.run,
            "staleness": self._watch_staleness,
        }

    async def _watch_staleness(self, interval: float = 1.0) -> None:
        """Count subscribed symbols older than ``stale_after`` for the health bar."""
        after = self.config.streaming.stale_after
        while True:
            await asyncio.sleep(interval)
            watched = {sym for kind, sym in self.dxlink.subscriptions() if kind != "Candle"}
            self.health.update(stale_symbols=len(self.store.stale_symbols(after, watched)))

    async def close(self) -> None:
        await self._stack.aclose()


async def run_jobs(services: Services) -> None:
    """Run every job as an asyncio task until cancelled (scripts and tests)."""
    async with asyncio.TaskGroup() as group:
        for name, job in services.jobs().items():
            group.create_task(job(), name=name)
