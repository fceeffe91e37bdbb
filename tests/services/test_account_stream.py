"""The account stream survives drops: it reconnects, re-syncs over REST (reconciliation finds
what changed while it was away) and pushes flow again on the new connection — also when the
access token died meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from tastytrade.order import MarketOrder, PlacedOrder

from tastytui.domain.clock import OffsetClock
from tastytui.services.account_stream import AccountStream
from tastytui.services.accounts import AccountService
from tastytui.services.broker import Broker, Credentials, Endpoint
from tastytui.services.events import EventBus
from tastytui.services.health import Health, HealthSnapshot, LinkState
from tastytui.services.http import RestPolicy
from tastytui.services.reconcile import BookStore, FindingKind, Reconciler
from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_MARGIN_ACCOUNT, SIM_REFRESH_TOKEN
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START, SimFactory
from tests.sim.simkit import BTO, leg

POLICY = RestPolicy(rate=100.0, burst=100.0, backoff_base=0.01, backoff_max=0.05)


@dataclass
class StreamRig:
    sim: SimServer
    broker: Broker
    accounts: AccountService
    reconciler: Reconciler
    stream: AccountStream
    pushed: list[PlacedOrder] = field(default_factory=list)
    states: list[LinkState] = field(default_factory=list)


async def eventually(condition: Callable[[], object], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.02)


@pytest.fixture
async def rig(make_sim: SimFactory) -> AsyncIterator[StreamRig]:
    sim = await make_sim(live_tape=False, tick_interval=0.05)
    endpoint = Endpoint(
        "sim", sim.base_url, sim.streamer_url, Credentials(SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN)
    )
    health = Health()
    async with Broker(endpoint, POLICY, health) as broker:
        await broker.login()
        clock = OffsetClock(SIM_START)
        events = EventBus()
        accounts = AccountService(broker, None, events, clock)
        accounts.choose(SIM_MARGIN_ACCOUNT)
        reconciler = Reconciler(
            accounts, events, health, clock, profile="sim", store=BookStore(None)
        )
        stream = AccountStream(
            broker,
            accounts,
            health,
            on_connected=reconciler.after_reconnect,
            backoff_max=0.3,
        )
        handle = StreamRig(sim, broker, accounts, reconciler, stream)
        stream.on_order = handle.pushed.append

        def note(snapshot: HealthSnapshot) -> None:
            if not handle.states or handle.states[-1] is not snapshot.account_stream:
                handle.states.append(snapshot.account_stream)

        health.subscribe(note)
        task = asyncio.create_task(stream.run())
        try:
            await eventually(lambda: stream.connected.is_set() and reconciler.runs == 1)
            yield handle
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert health.snapshot.account_stream is LinkState.OFF


async def fill_stock(rig: StreamRig, symbol: str = "F") -> int:
    account = rig.accounts.sdk_account(SIM_MARGIN_ACCOUNT)
    placed = await account.place_order(
        rig.broker.session, MarketOrder(legs=[leg(symbol, BTO, 1)]), dry_run=False
    )
    return placed.order.id


async def test_a_drop_reconnects_resyncs_and_pushes_flow_again(rig: StreamRig) -> None:
    held = {p.symbol for p in rig.accounts.held(SIM_MARGIN_ACCOUNT)}
    victim = sorted(held)[0]
    # While the stream is down something changes at the broker without any push.
    rig.sim.control.close_position_silently(SIM_MARGIN_ACCOUNT, victim)
    assert await rig.sim.control.drop_streams(dxlink=False, account=True) == 1

    await eventually(lambda: rig.stream.reconnects == 1 and rig.stream.connected.is_set())
    await eventually(lambda: rig.reconciler.runs == 2)
    assert rig.states[-3:] == [LinkState.DOWN, LinkState.CONNECTING, LinkState.UP]
    found = [(f.kind, f.symbol) for f in rig.reconciler.findings]
    assert (FindingKind.VANISHED, victim) in found, "the re-sync found the silent change"
    assert victim not in {p.symbol for p in rig.accounts.held(SIM_MARGIN_ACCOUNT)}

    # The account subscription is restored: a fill now arrives as pushes only.
    before = {p.symbol: p.quantity for p in rig.accounts.held(SIM_MARGIN_ACCOUNT)}
    order_id = await fill_stock(rig)
    await eventually(
        lambda: (o := rig.accounts.order(order_id)) is not None and o.status.value == "Filled"
    )
    assert any(o.id == order_id for o in rig.pushed)
    await eventually(
        lambda: (
            {p.symbol: p.quantity for p in rig.accounts.held(SIM_MARGIN_ACCOUNT)}.get("F")
            == before.get("F", 0) + 1
        )
    )
    assert rig.reconciler.runs == 2, "the fill came by push, not by another REST re-sync"


async def test_a_token_that_died_while_disconnected_is_refreshed_on_reconnect(
    rig: StreamRig,
) -> None:
    refreshes = rig.sim.exchange.auth.refresh_count
    rig.sim.control.expire_tokens()  # server-side: the SDK still thinks its token is good
    await rig.sim.control.drop_streams(dxlink=False, account=True)

    await eventually(lambda: rig.stream.connected.is_set() and rig.reconciler.runs >= 2)
    assert rig.sim.exchange.auth.refresh_count > refreshes
    order_id = await fill_stock(rig)
    await eventually(lambda: any(o.id == order_id for o in rig.pushed))
    assert rig.broker.health.snapshot.account_stream is LinkState.UP


async def test_a_revoked_grant_is_reported_with_the_fix(rig: StreamRig) -> None:
    rig.sim.control.revoke_grant()
    await rig.sim.control.drop_streams(dxlink=False, account=True)
    await eventually(lambda: rig.broker.health.snapshot.auth_problem is not None)
    problem = rig.broker.health.snapshot.auth_problem
    assert problem is not None and "tastytui login --profile sim" in problem
    assert not rig.stream.connected.is_set()
    rig.sim.control.restore_grant()
    await eventually(lambda: rig.stream.connected.is_set(), within=15.0)


def _stream_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tastytui.services.account_stream"]


async def test_a_dead_token_is_renewed_and_tried_again_without_backing_off(
    rig: StreamRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="tastytui.services.account_stream")
    rig.stream.backoff_max = 30.0  # as in the console: backing off would show
    sessions = rig.stream.sessions
    rig.sim.control.expire_tokens()  # server-side: the SDK still thinks its token is good
    await rig.sim.control.drop_streams(dxlink=False, account=True)

    await eventually(lambda: rig.stream.sessions > sessions and rig.stream.connected.is_set())
    lines = _stream_log(caplog)
    # The drop waits the first step (0.5 s), the refusal none: the token is renewed and the
    # next attempt made at once.
    assert sum("refused the token" in line and "renewed it" in line for line in lines) == 1
    waits = [line for line in lines if "reconnecting in" in line]
    assert len(waits) == 1 and "reconnecting in 0.5 s" in waits[0], lines


async def test_a_server_that_keeps_refusing_is_retried_with_backoff(
    rig: StreamRig, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level("WARNING", logger="tastytui.services.account_stream")
    auth = rig.sim.exchange.auth
    monkeypatch.setattr(auth, "is_valid_access_token", lambda token: False)
    await rig.sim.control.drop_streams(dxlink=False, account=True)

    def refusals() -> list[str]:
        return [line for line in _stream_log(caplog) if "invalid-auth-token" in line]

    await eventually(lambda: len(refusals()) >= 4)
    renewed_at_once = [line for line in refusals() if "renewed it" in line]
    assert len(renewed_at_once) == 1, "only the first refusal is retried without a wait"
    assert all("reconnecting in" in line for line in refusals()[1:4])
    assert not rig.stream.connected.is_set()

    monkeypatch.undo()
    await eventually(lambda: rig.stream.connected.is_set(), within=15.0)
