"""Fault injection: every fault, and what the unmodified SDK sees when it fires.

The second half drives the same faults through the HTTP control API under ``/_sim/``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from httpx2.websockets import WebSocketNetworkError
from tastytrade import Account, AlertStreamer, Session
from tastytrade.order import LimitOrder, MarketOrder, OrderStatus
from tastytrade.utils import TastytradeError

from tastytui.sim.config import SIM_MARGIN_ACCOUNT
from tastytui.sim.server import SimServer
from tests.conftest import SimFactory, sdk_session
from tests.sim.simkit import (
    BTO,
    account_stream,
    bearer,
    holdings,
    leg,
    margin_account,
    nets,
    put_vertical,
    raw_client,
    running_sim,
    until_status,
)


@pytest.fixture
async def fsim(make_sim: SimFactory) -> SimServer:
    return await make_sim(live_tape=False, tick_interval=0.05)


@pytest.fixture
async def fsession(fsim: SimServer) -> AsyncIterator[Session]:
    async with sdk_session(fsim) as s:
        yield s


# Faults that leave nothing behind (consumed, or cleared) share one simulator; the fixture
# checks that each of those tests really left no fault pending.
SHARED = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_sim() -> AsyncIterator[SimServer]:
    async with running_sim(live_tape=False, tick_interval=0.05) as sim:
        yield sim


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_session(shared_sim: SimServer) -> AsyncIterator[Session]:
    async with sdk_session(shared_sim) as s:
        yield s


@pytest_asyncio.fixture(loop_scope="module")
async def ssim(shared_sim: SimServer) -> AsyncIterator[SimServer]:
    yield shared_sim
    assert shared_sim.control.state()["pending-http-faults"] == 0, "a test left a fault behind"
    assert not shared_sim.control.state()["stale-symbols"]


@pytest_asyncio.fixture(loop_scope="module")
async def ssession(ssim: SimServer, shared_session: Session) -> Session:
    return shared_session


# ---------------------------------------------------------------- auth faults


async def test_expired_tokens_401_until_a_forced_refresh(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    refreshes = fsim.control.state()["token-refreshes"]
    fsim.control.expire_tokens()
    with pytest.raises(TastytradeError, match="token_expired"):
        await account.get_balances(fsession)
    assert fsim.control.state()["token-refreshes"] == refreshes  # the SDK did not refresh
    await fsession.refresh(force=True)
    assert (await account.get_balances(fsession)).account_number == SIM_MARGIN_ACCOUNT


async def test_revoked_grant_breaks_calls_and_refreshes(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    fsim.control.revoke_grant()
    with pytest.raises(TastytradeError, match="token_invalid"):
        await account.get_positions(fsession)
    with pytest.raises(TastytradeError, match="invalid_grant"):
        await fsession.refresh(force=True)


# ---------------------------------------------------------------- HTTP status faults


@SHARED
async def test_next_n_requests_fail_with_the_chosen_status(
    ssim: SimServer, ssession: Session
) -> None:
    account = await margin_account(ssession)
    for status, code in (
        (401, "token_invalid"),
        (429, "too_many_requests"),
        (500, "internal_server_error"),
        (503, "service_unavailable"),
    ):
        ssim.control.http_fault(status, count=2, path_prefix="/accounts")
        for _ in range(2):
            with pytest.raises(TastytradeError, match=code):
                await account.get_balances(ssession)
        assert (await account.get_balances(ssession)).account_number == SIM_MARGIN_ACCOUNT
    assert ssim.control.state()["injected"]["http_503"] == 2


@SHARED
async def test_429_carries_retry_after(ssim: SimServer) -> None:
    ssim.control.http_fault(429, count=1, retry_after=3)
    async with raw_client(ssim) as client:
        throttled = await client.get("/customers/me/accounts")
        after = await client.get("/customers/me/accounts", headers=await bearer(client))
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"
    assert throttled.json()["error"]["code"] == "too_many_requests"
    assert after.status_code == 200


@SHARED
async def test_faults_can_target_a_method_and_path(ssim: SimServer, ssession: Session) -> None:
    account = await margin_account(ssession)
    ssim.control.http_fault(500, count=1, path_prefix="/accounts/", method="POST")
    await account.get_balances(ssession)  # a GET passes untouched
    legs = put_vertical(ssim)
    with pytest.raises(TastytradeError, match="internal_server_error"):
        await account.place_order(ssession, LimitOrder(legs=legs, price=Decimal("1")))


async def _fault_pattern(sim: SimServer) -> list[int]:
    sim.control.http_fault(503, fraction=0.5, path_prefix="/customers")
    async with raw_client(sim) as client:
        headers = await bearer(client)
        return [
            (await client.get("/customers/me/accounts", headers=headers)).status_code
            for _ in range(24)
        ]


async def test_fractional_faults_are_deterministic_under_the_seed(make_sim: SimFactory) -> None:
    first = await _fault_pattern(await make_sim(seed=3))
    again = await _fault_pattern(await make_sim(seed=3))
    other = await _fault_pattern(await make_sim(seed=4))
    assert first == again
    assert set(first) == {200, 503}
    assert first != other


@SHARED
async def test_delay_fault_slows_one_call_by_about_the_delay(
    ssim: SimServer, ssession: Session
) -> None:
    account = await margin_account(ssession)
    ssim.control.http_fault(None, delay=0.4, path_prefix="/accounts/5WT00001/balances")
    timings = []
    for _ in range(2):
        started = time.monotonic()
        await account.get_balances(ssession)
        timings.append(time.monotonic() - started)
    assert 0.4 <= timings[0] < 1.4
    assert timings[1] < 0.3


# ---------------------------------------------------------------- stream and ledger faults


@SHARED
async def test_dropping_account_streams_ends_the_sdk_streamer(
    ssim: SimServer, ssession: Session
) -> None:
    account = await margin_account(ssession)
    streamer = AlertStreamer(ssession)
    streamer.base_url = ssim.streamer_url
    with pytest.raises(ExceptionGroup) as info:
        async with streamer:
            await streamer.subscribe_accounts([account])
            assert await ssim.control.drop_streams(dxlink=False, account=True) == 1
            await asyncio.sleep(5)  # the streamer's task group cancels this
    assert info.group_contains(WebSocketNetworkError, depth=2)
    # The simulator itself is fine: a new streamer connects.
    async with account_stream(ssim, ssession, [account]):
        assert ssim.control.state()["account-sessions"] == 1


async def test_silent_close_removes_the_position_without_any_push(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    cash_before = (await account.get_balances(fsession)).cash_balance
    mark = Decimal(repr(round(fsim.exchange.market.mark("AAPL"), 4)))
    legs = put_vertical(fsim)
    async with account_stream(fsim, fsession, [account]) as pushes:
        fsim.control.close_position_silently(SIM_MARGIN_ACCOUNT, "AAPL")
        # A sentinel: its pushes arrive after anything the silent close might have pushed.
        sentinel = await account.place_order(
            fsession,
            LimitOrder(legs=legs, price=nets(fsim, legs).beyond_mid),
            dry_run=False,
        )
        await pushes.status(sentinel.order.id, OrderStatus.LIVE)
    assert pushes.positions == [] and pushes.balances == []
    assert {o.id for o in pushes.orders} == {sentinel.order.id}
    assert "AAPL" not in holdings(await account.get_positions(fsession))
    cash_after = (await account.get_balances(fsession)).cash_balance
    assert cash_after - cash_before == (mark * 100).quantize(Decimal("0.01"))
    closed = await account.get_history(fsession, page_offset=None, symbol="AAPL")
    assert closed[0].transaction_sub_type == "Forced Disposition"


async def test_silent_close_of_a_short_option_debits_the_cash(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    short = next(
        p for p in await account.get_positions(fsession) if p.quantity_direction == "Short"
    )
    cash_before = (await account.get_balances(fsession)).cash_balance
    fsim.control.close_position_silently(SIM_MARGIN_ACCOUNT, short.symbol)
    assert short.symbol not in holdings(await account.get_positions(fsession))
    assert (await account.get_balances(fsession)).cash_balance < cash_before


async def test_fill_model_faults_delay_and_split_fills(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    legs = put_vertical(fsim, quantity=2)
    order = LimitOrder(legs=legs, price=nets(fsim, legs).at_natural)
    async with account_stream(fsim, fsession, [account]) as pushes:
        fsim.control.set_fill_model("partial")
        split = await account.place_order(fsession, order, dry_run=False)
        await pushes.status(split.order.id, OrderStatus.FILLED)
        fsim.control.set_fill_model("delayed", delay=0.3)
        started = time.monotonic()
        late = await account.place_order(fsession, order, dry_run=False)
        await pushes.status(late.order.id, OrderStatus.FILLED)
        waited = time.monotonic() - started
    assert [len(one.fills or []) for one in pushes.of(split.order.id)[-1].legs] == [2, 2]
    assert 0.3 <= waited < 1.3


# ---------------------------------------------------------------- the HTTP control API


async def _control(sim: SimServer, method: str, path: str, body: Any = None) -> httpx.Response:
    async with raw_client(sim) as client:
        return await client.request(method, f"/_sim/{path}", json=body)


@SHARED
async def test_control_state(ssim: SimServer) -> None:
    response = await _control(ssim, "GET", "state")
    state = response.json()["data"]
    assert response.status_code == 200
    assert state["fill-model"] == "mid" and state["market-state"] == "Open"
    assert state["pending-http-faults"] == 0


async def test_control_reset_restores_the_starting_book(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    start = holdings(await account.get_positions(fsession))
    placed = await account.place_order(
        fsession, MarketOrder(legs=[leg("F", BTO, 10)]), dry_run=False
    )
    await until_status(fsession, account, placed.order.id, OrderStatus.FILLED)
    assert holdings(await account.get_positions(fsession)) != start
    assert (await _control(fsim, "POST", "reset")).status_code == 200
    assert holdings(await account.get_positions(fsession)) == start
    history = await account.get_order_history(fsession, page_offset=None)
    assert placed.order.id not in {o.id for o in history}


async def test_control_close_silently(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    response = await _control(
        fsim, "POST", "positions/close-silently", {"account": SIM_MARGIN_ACCOUNT, "symbol": "AAPL"}
    )
    assert response.status_code == 200
    assert "AAPL" not in holdings(await account.get_positions(fsession))
    missing = await _control(
        fsim, "POST", "positions/close-silently", {"account": SIM_MARGIN_ACCOUNT, "symbol": "AAPL"}
    )
    assert missing.status_code == 404
    bad = await _control(fsim, "POST", "positions/close-silently", {"symbol": "AAPL"})
    assert bad.status_code == 400


async def test_control_expire_tokens(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    assert (await _control(fsim, "POST", "tokens/expire")).status_code == 200
    with pytest.raises(TastytradeError, match="token_expired"):
        await account.get_balances(fsession)


@SHARED
async def test_control_expire_quote_tokens(ssim: SimServer) -> None:
    async with raw_client(ssim) as client:
        issued = await client.get("/api-quote-tokens", headers=await bearer(client))
    token = issued.json()["data"]["token"]
    assert ssim.exchange.auth.is_valid_quote_token(token)
    assert (await _control(ssim, "POST", "quote-tokens/expire")).status_code == 200
    assert not ssim.exchange.auth.is_valid_quote_token(token)


async def test_control_revoke_and_restore_grant(fsim: SimServer, fsession: Session) -> None:
    assert (await _control(fsim, "POST", "grant/revoke")).status_code == 200
    with pytest.raises(TastytradeError, match="create a new personal grant"):
        await fsession.refresh(force=True)
    assert (await _control(fsim, "POST", "grant/restore")).status_code == 200
    await fsession.refresh(force=True)
    assert await Account.get(fsession)


@SHARED
async def test_control_http_fault_and_clear(ssim: SimServer, ssession: Session) -> None:
    account = await margin_account(ssession)
    response = await _control(
        ssim,
        "POST",
        "faults/http",
        {"status": 503, "fraction": 1.0, "path-prefix": "/accounts", "retry-after": 2},
    )
    assert response.json()["data"]["state"]["pending-http-faults"] == 1
    for _ in range(3):  # a fraction fault stays until cleared
        with pytest.raises(TastytradeError, match="service_unavailable"):
            await account.get_balances(ssession)
    assert (await _control(ssim, "DELETE", "faults/http")).status_code == 200
    await account.get_balances(ssession)
    invalid = await _control(ssim, "POST", "faults/http", {"status": 200})
    assert invalid.status_code == 400 and "4xx or 5xx" in invalid.json()["error"]["message"]


@SHARED
async def test_control_drop_streams(ssim: SimServer, ssession: Session) -> None:
    account = await margin_account(ssession)
    streamer = AlertStreamer(ssession)
    streamer.base_url = ssim.streamer_url
    with pytest.raises(ExceptionGroup):
        async with streamer:
            await streamer.subscribe_accounts([account])
            response = await _control(ssim, "POST", "streams/drop", {"which": "account"})
            assert response.json()["data"]["result"] == 1
            await asyncio.sleep(5)
    bad = await _control(ssim, "POST", "streams/drop", {"which": "everything"})
    assert bad.status_code == 400


@SHARED
async def test_control_stale_symbols(ssim: SimServer) -> None:
    await _control(ssim, "POST", "symbols/stale", {"symbol": "SPY"})
    assert ssim.control.state()["stale-symbols"] == ["SPY"]
    await _control(ssim, "POST", "symbols/stale", {"symbol": "SPY", "stale": False})
    assert ssim.control.state()["stale-symbols"] == []
    assert (await _control(ssim, "POST", "symbols/stale", {})).status_code == 400


@SHARED
async def test_control_market_step(ssim: SimServer) -> None:
    before = ssim.exchange.market.prices()
    response = await _control(ssim, "POST", "market/step", {"steps": 3})
    assert response.json()["data"]["result"] == 3
    assert ssim.exchange.market.prices() != before


async def test_control_reject_next_order(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    await _control(fsim, "POST", "orders/reject-next", {"reason": "Exchange halted"})
    placed = await account.place_order(
        fsession, MarketOrder(legs=[leg("F", BTO, 1)]), dry_run=False
    )
    rejected = await until_status(fsession, account, placed.order.id, OrderStatus.REJECTED)
    assert rejected.reject_reason == "Exchange halted"


async def test_control_fill_model(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    assert (await _control(fsim, "POST", "fill-model", {"model": "never"})).status_code == 200
    placed = await account.place_order(
        fsession, MarketOrder(legs=[leg("F", BTO, 1)]), dry_run=False
    )
    await until_status(fsession, account, placed.order.id, OrderStatus.LIVE)
    for _ in range(3):
        fsim.exchange.engine.on_step()
    assert (await account.get_order(fsession, placed.order.id)).status == OrderStatus.LIVE
    bad = await _control(fsim, "POST", "fill-model", {"model": "sometimes"})
    assert bad.status_code == 400 and "cross, mid, touch" in bad.json()["error"]["message"]
    await _control(fsim, "POST", "fill-model", {"model": "mid"})
    await until_status(fsession, account, placed.order.id, OrderStatus.FILLED)


def _public_address() -> str | None:
    """A non-loopback address of this machine, if it has one."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


async def test_control_api_refuses_remote_clients(make_sim: SimFactory) -> None:
    address = _public_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    sim = await make_sim(host=address, allow_remote=True)
    async with raw_client(sim) as client:
        refused = await client.post("/_sim/reset")
        trading = await client.get("/customers/me/accounts", headers=await bearer(client))
    assert refused.status_code == 403
    assert "loopback" in refused.json()["error"]["message"]
    assert trading.status_code == 200  # --allow-remote opens the trading API only
