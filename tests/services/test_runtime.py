"""The whole service container on the simulator, its jobs running as the console runs them:
start-up reconciliation, one health state, and recovery when every stream is dropped at once
(DXLink subscriptions and the account subscription restored, the book re-synced)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from tastytrade.order import MarketOrder

from tastytui.config import Config
from tastytui.domain.clock import OffsetClock
from tastytui.services.events import ReconcileEvent
from tastytui.services.health import BreakerState, LinkState
from tastytui.services.reconcile import FindingKind
from tastytui.services.runtime import Services, endpoint_for, run_jobs
from tastytui.sim.config import SIM_MARGIN_ACCOUNT
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START, SimFactory
from tests.sim.simkit import BTO, leg


async def eventually(condition: Callable[[], object], within: float = 15.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.02)


@pytest.fixture
async def running(
    make_sim: SimFactory, tmp_path: Path
) -> AsyncIterator[tuple[SimServer, Services]]:
    sim = await make_sim(tick_interval=0.05)
    config = Config()
    config.rest.rate = 100.0
    config.rest.burst = 100.0
    name, profile = config.active("sim")
    endpoint = endpoint_for(name, profile, sim_url=sim.base_url)
    services = await Services.connect(
        config, name, profile, endpoint, clock=OffsetClock(SIM_START), state_dir=tmp_path
    )
    services.dxlink.backoff_base = 0.05  # reconnect quickly in the test
    jobs = asyncio.create_task(run_jobs(services))
    try:
        yield sim, services
    finally:
        jobs.cancel()
        await asyncio.gather(jobs, return_exceptions=True)
        await services.close()


def flowing(services: Services, symbols: set[str]) -> Callable[[], bool]:
    seen: set[str] = set()
    services.store.drain_dirty()

    def check() -> bool:
        seen.update(services.store.drain_dirty())
        return symbols <= seen

    return check


async def test_start_up_reconciles_and_health_shows_every_link(
    running: tuple[SimServer, Services],
) -> None:
    _, services = running
    health = services.health
    await eventually(lambda: services.reconciler.runs >= 1)
    await eventually(lambda: health.snapshot.account_stream is LinkState.UP)
    services.dxlink.subscribe("test", ["Quote"], ["SPY", "QQQ"])
    await eventually(flowing(services, {"SPY", "QQQ"}))
    snap = health.snapshot
    assert snap.rest is LinkState.UP and snap.dxlink is LinkState.UP
    assert snap.breaker is BreakerState.CLOSED
    assert snap.token_expires_at is not None and snap.auth_problem is None
    assert snap.last_reconcile_at is not None and snap.orders_halted is None
    assert services.accounts.held(SIM_MARGIN_ACCOUNT), "the book was loaded at start-up"


async def test_dropping_every_stream_recovers_subscriptions_and_resyncs_the_book(
    running: tuple[SimServer, Services],
) -> None:
    sim, services = running
    reconciled: list[ReconcileEvent] = []
    services.events.subscribe(reconciled.append, ReconcileEvent)
    symbols = {"SPY", "QQQ", "AAPL"}
    services.dxlink.subscribe("board", ["Quote", "Trade"], sorted(symbols))
    await eventually(lambda: services.account_stream.connected.is_set())
    await eventually(flowing(services, symbols))
    await eventually(lambda: services.accounts.held(SIM_MARGIN_ACCOUNT))

    victim = services.accounts.held(SIM_MARGIN_ACCOUNT)[0].symbol
    sim.control.close_position_silently(SIM_MARGIN_ACCOUNT, victim)
    assert await sim.control.drop_streams() == 2  # one DXLink, one account streamer

    await eventually(lambda: services.dxlink.reconnects >= 1 and services.dxlink.connected)
    await eventually(lambda: services.account_stream.reconnects >= 1)
    await eventually(lambda: services.account_stream.connected.is_set())
    await eventually(flowing(services, symbols))  # every subscription is back
    assert set(services.dxlink.subscriptions()) >= {
        (k, s) for k in ("Quote", "Trade") for s in symbols
    }

    def vanished() -> list[str]:
        return [f.symbol for f in services.reconciler.findings if f.kind is FindingKind.VANISHED]

    # Nothing pushed the closure: only the re-sync after the reconnect can find it.
    await eventually(lambda: vanished() == [victim])
    assert services.health.snapshot.orders_halted is not None
    assert any(e.halted for e in reconciled)

    # Pushes flow on the new account-stream connection.
    account = services.accounts.sdk_account(SIM_MARGIN_ACCOUNT)
    placed = await account.place_order(
        services.broker.session, MarketOrder(legs=[leg("F", BTO, 1)]), dry_run=False
    )
    await eventually(
        lambda: (
            (o := services.accounts.order(placed.order.id, SIM_MARGIN_ACCOUNT)) is not None
            and o.status.value == "Filled"
        )
    )
    snap = services.health.snapshot
    assert snap.dxlink is LinkState.UP and snap.account_stream is LinkState.UP
