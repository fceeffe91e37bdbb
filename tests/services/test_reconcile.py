"""Reconciliation finds what the broker changed without telling us — within one cycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from tastytui.domain.clock import OffsetClock
from tastytui.services.accounts import AccountService
from tastytui.services.broker import Broker, Credentials, Endpoint
from tastytui.services.events import EventBus, Notice, ReconcileEvent
from tastytui.services.health import Health
from tastytui.services.http import RestPolicy
from tastytui.services.reconcile import BookStore, FindingKind, Reconciler
from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_MARGIN_ACCOUNT, SIM_REFRESH_TOKEN
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START

POLICY = RestPolicy(rate=100.0, burst=100.0, backoff_base=0.01)


@pytest.fixture
async def accounts(sim: SimServer) -> AsyncIterator[AccountService]:
    endpoint = Endpoint(
        "sim", sim.base_url, sim.streamer_url, Credentials(SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN)
    )
    async with Broker(endpoint, POLICY, Health()) as broker:
        await broker.login()
        service = AccountService(broker, None, EventBus(), OffsetClock(SIM_START))
        service.choose(SIM_MARGIN_ACCOUNT)
        yield service


def reconciler(accounts: AccountService, store: BookStore) -> Reconciler:
    return Reconciler(
        accounts,
        accounts.events,
        accounts.broker.health,
        accounts.clock,
        profile="sim",
        store=store,
    )


async def test_first_run_adopts_the_broker_book_without_findings(
    accounts: AccountService,
) -> None:
    rec = reconciler(accounts, BookStore(None))
    assert await rec.reconcile("start-up") == []
    assert len(accounts.held(SIM_MARGIN_ACCOUNT)) == 10
    assert accounts.broker.health.snapshot.last_reconcile_at is not None


async def test_silent_closure_is_found_and_halts_new_orders(
    sim: SimServer, accounts: AccountService
) -> None:
    notices: list[Notice] = []
    accounts.events.subscribe(notices.append, Notice)
    rec = reconciler(accounts, BookStore(None))
    await rec.reconcile("start-up")
    victim = accounts.held(SIM_MARGIN_ACCOUNT)[0].symbol
    sim.control.close_position_silently(SIM_MARGIN_ACCOUNT, victim)
    found = await rec.reconcile("timer")
    assert [(f.kind, f.symbol) for f in found] == [(FindingKind.VANISHED, victim)]
    assert rec.halted is not None and "halted" in rec.halted
    assert accounts.broker.health.snapshot.orders_halted == rec.halted
    assert any("halted" in n.text for n in notices)
    assert victim not in {p.symbol for p in accounts.held(SIM_MARGIN_ACCOUNT)}
    rec.resume_orders()
    assert accounts.broker.health.snapshot.orders_halted is None


async def test_unknown_position_is_adopted_and_quantity_taken_from_the_broker(
    sim: SimServer, accounts: AccountService
) -> None:
    events: list[ReconcileEvent] = []
    accounts.events.subscribe(events.append, ReconcileEvent)
    rec = reconciler(accounts, BookStore(None))
    await rec.reconcile("start-up")
    ledger = sim.exchange.ledger
    book = ledger.positions[SIM_MARGIN_ACCOUNT]
    stock = book["AAPL"]
    ledger.save_position(replace(stock, quantity=Decimal(60)))
    ledger.save_position(replace(stock, symbol="F", underlying="F", quantity=Decimal(200)))
    found = await rec.reconcile("timer")
    kinds = {(f.kind, f.symbol, f.broker) for f in found}
    assert (FindingKind.QUANTITY, "AAPL", Decimal(60)) in kinds
    assert (FindingKind.ADOPTED, "F", Decimal(200)) in kinds
    assert rec.halted is None, "adoption and quantity changes do not halt orders"
    held = {p.symbol: p.quantity for p in accounts.held(SIM_MARGIN_ACCOUNT)}
    assert held["AAPL"] == 60 and held["F"] == 200
    assert any(e.account == SIM_MARGIN_ACCOUNT and e.findings for e in events)


async def test_changes_while_not_running_are_found_at_start_up(
    sim: SimServer, accounts: AccountService, tmp_path: Path
) -> None:
    path = tmp_path / "book.sqlite3"
    await reconciler(accounts, BookStore(path)).reconcile("start-up")
    victim = accounts.held(SIM_MARGIN_ACCOUNT)[-1].symbol
    sim.control.close_position_silently(SIM_MARGIN_ACCOUNT, victim)
    # A fresh process: nothing cached, only the persisted book.
    fresh = AccountService(accounts.broker, None, EventBus(), accounts.clock)
    fresh.choose(SIM_MARGIN_ACCOUNT)
    found = await reconciler(fresh, BookStore(path)).reconcile("start-up")
    assert [(f.kind, f.symbol) for f in found] == [(FindingKind.VANISHED, victim)]
    assert (path.stat().st_mode & 0o777) == 0o600


async def test_the_loop_runs_on_its_interval_on_demand_and_survives_a_failed_run(
    sim: SimServer, accounts: AccountService
) -> None:
    import asyncio

    resolved: list[str] = []

    async def resolve() -> list[str]:
        return list(resolved)

    rec = Reconciler(
        accounts,
        accounts.events,
        accounts.broker.health,
        accounts.clock,
        profile="sim",
        store=BookStore(None),
        resolve_orders=resolve,
        interval=0.2,
    )

    async def until(condition: object) -> None:
        async with asyncio.timeout(10):
            while not condition():  # type: ignore[operator]
                await asyncio.sleep(0.01)

    task = asyncio.create_task(rec.run())
    try:
        await until(lambda: rec.runs >= 2)  # start-up, then the timer
        # A failing run is reported and the loop goes on.
        sim.control.http_fault(503, fraction=1.0, path_prefix="/accounts/")
        await until(lambda: "reconciliation" in (accounts.broker.health.snapshot.last_error or ""))
        sim.control.clear_http_faults()
        runs = rec.runs
        await until(lambda: rec.runs > runs)
        # Unknown order outcomes resolved on the way become findings.
        resolved.append("Short put vertical (i-1): placed as order #7 (Filled)")
        await until(lambda: any(f.kind is FindingKind.ORDER_RESOLVED for f in rec.findings))
        # A trigger (e.g. after a reconnect) runs at once, not at the next interval.
        rec.interval = 3600.0
        await until(lambda: rec._wake.is_set() is False and rec.runs > runs + 2)
        runs = rec.runs
        await asyncio.sleep(0.3)  # now waiting out the hour
        assert rec.runs in (runs, runs + 1)
        runs = rec.runs
        rec.trigger()
        await until(lambda: rec.runs > runs)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    kinds = [(f.kind, f.detail) for f in rec.findings]
    assert (FindingKind.ORDER_RESOLVED, resolved[0]) in kinds
