"""The resilient REST layer against the simulator's fault injection, through the real SDK."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from tastytrade import Account
from tastytrade.order import InstrumentType, Leg, LimitOrder, OrderAction

from tastytui.services.broker import Broker, Credentials, Endpoint
from tastytui.services.errors import (
    AuthError,
    BrokerUnavailable,
    CircuitOpen,
    GrantRevoked,
    RateLimited,
)
from tastytui.services.health import BreakerState, Health, LinkState
from tastytui.services.http import RestPolicy
from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN
from tastytui.sim.server import SimServer

FAST = RestPolicy(
    rate=200.0,
    burst=200.0,
    timeout=5.0,
    read_retries=3,
    backoff_base=0.01,
    backoff_max=0.05,
    breaker_threshold=4,
    breaker_cooldown=0.3,
)


def endpoint(sim: SimServer, secret: str = SIM_CLIENT_SECRET) -> Endpoint:
    return Endpoint(
        profile="sim",
        api_url=sim.base_url,
        streamer_url=sim.streamer_url,
        credentials=Credentials(secret, SIM_REFRESH_TOKEN),
    )


@pytest.fixture
async def broker(sim: SimServer) -> AsyncIterator[Broker]:
    async with Broker(endpoint(sim), FAST, Health()) as b:
        await b.login()
        yield b


async def test_login_lists_accounts_and_marks_rest_up(broker: Broker) -> None:
    assert [a.account_number for a in broker.accounts] == ["5WT00001", "5WT00002"]
    assert broker.health.snapshot.rest is LinkState.UP
    assert broker.health.snapshot.token_expires_at is not None


async def test_expired_tokens_mid_session_are_invisible_to_the_caller(
    sim: SimServer, broker: Broker
) -> None:
    account = broker.accounts[0]
    before = sim.exchange.auth.refresh_count
    for _ in range(3):
        sim.control.expire_tokens()
        balance = await account.get_balances(broker.session)
        assert balance.account_number == account.account_number
    assert sim.exchange.auth.refresh_count == before + 3
    assert broker.transport.forced_refreshes == 3


async def test_forced_401s_trigger_one_refresh_and_one_retry(
    sim: SimServer, broker: Broker
) -> None:
    sim.control.http_fault(401, count=1, path_prefix="/accounts/")
    positions = await broker.accounts[0].get_positions(broker.session)
    assert positions, "the seeded book has positions"
    assert broker.transport.forced_refreshes == 1


async def test_concurrent_401s_share_a_single_refresh(sim: SimServer, broker: Broker) -> None:
    sim.control.expire_tokens()
    account = broker.accounts[0]
    results = await asyncio.gather(*(account.get_balances(broker.session) for _ in range(5)))
    assert len(results) == 5
    assert broker.transport.forced_refreshes == 1


async def test_revoked_grant_says_how_to_fix_it(sim: SimServer, broker: Broker) -> None:
    sim.control.revoke_grant()
    with pytest.raises(GrantRevoked) as caught:
        await broker.accounts[0].get_balances(broker.session)
    assert "tastytui login --profile sim" in str(caught.value)
    assert broker.health.snapshot.auth_problem is not None


async def test_wrong_client_secret_is_an_auth_error_at_login(sim: SimServer) -> None:
    async with Broker(endpoint(sim, secret="not-the-secret"), FAST, Health()) as b:
        with pytest.raises(AuthError) as caught:
            await b.login()
    assert "client secret" in str(caught.value)
    assert "not-the-secret" not in str(caught.value)


async def test_429_storm_is_absorbed_and_every_request_answered(
    sim: SimServer, broker: Broker
) -> None:
    sim.control.http_fault(429, count=8, retry_after=0.02, path_prefix="/accounts/")
    account = broker.accounts[0]
    answers = await asyncio.gather(
        *(account.get_balances(broker.session) for _ in range(4)),
        *(account.get_positions(broker.session) for _ in range(4)),
    )
    assert len(answers) == 8
    assert broker.transport.retries >= 8


async def test_endless_429_gives_up_with_a_rate_limit_error(sim: SimServer, broker: Broker) -> None:
    sim.control.http_fault(429, fraction=1.0, retry_after=0.0, path_prefix="/accounts/")
    with pytest.raises(RateLimited):
        await broker.accounts[0].get_balances(broker.session)


async def test_retry_after_is_honoured(sim: SimServer, broker: Broker) -> None:
    sim.control.http_fault(429, count=1, retry_after=0.4, path_prefix="/accounts/")
    started = time.monotonic()
    await broker.accounts[0].get_balances(broker.session)
    assert time.monotonic() - started >= 0.4


async def test_reads_are_retried_through_5xx(sim: SimServer, broker: Broker) -> None:
    sim.control.http_fault(503, count=2, path_prefix="/accounts/")
    balance = await broker.accounts[0].get_balances(broker.session)
    assert balance.net_liquidating_value > 0


async def test_order_post_is_never_retried_on_5xx(sim: SimServer, broker: Broker) -> None:
    account = broker.accounts[0]
    sim.control.http_fault(502, count=1, path_prefix="/accounts/", method="POST")
    order = LimitOrder(
        legs=[
            Leg(
                instrument_type=InstrumentType.EQUITY,
                symbol="F",
                action=OrderAction.BUY_TO_OPEN,
                quantity=1,
            )
        ],
        price=Decimal("-5.00"),
    )
    before = len(sim.exchange.ledger.orders)
    with pytest.raises(BrokerUnavailable) as caught:
        await account.place_order(broker.session, order, dry_run=False)
    assert caught.value.status == 502
    assert len(sim.exchange.ledger.orders) == before, "no order may be sent twice or blindly"
    assert broker.transport.retries == 0


async def test_breaker_opens_refuses_orders_then_closes_when_healthy(
    sim: SimServer, broker: Broker
) -> None:
    account = broker.accounts[0]
    sim.control.http_fault(500, fraction=1.0, path_prefix="/accounts/")
    with pytest.raises(BrokerUnavailable):
        await account.get_balances(broker.session)
    assert broker.transport.breaker.state is BreakerState.OPEN
    assert broker.health.snapshot.breaker is BreakerState.OPEN
    order = LimitOrder(
        legs=[
            Leg(
                instrument_type=InstrumentType.EQUITY,
                symbol="F",
                action=OrderAction.BUY_TO_OPEN,
                quantity=1,
            )
        ],
        price=Decimal("-5.00"),
    )
    with pytest.raises(CircuitOpen) as caught:
        await account.place_order(broker.session, order, dry_run=False)
    assert "Orders are paused" in str(caught.value)
    sim.control.clear_http_faults()
    prober = asyncio.create_task(broker.probe_while_open(interval=0.05))
    try:
        async with asyncio.timeout(5):
            while broker.transport.breaker.state is not BreakerState.CLOSED:
                await asyncio.sleep(0.05)
    finally:
        prober.cancel()
    assert broker.health.snapshot.breaker is BreakerState.CLOSED
    placed = await account.place_order(broker.session, order, dry_run=False)
    assert placed.order.id > 0


async def test_token_keeper_refreshes_before_expiry(make_sim: object) -> None:
    sim = await make_sim(token_lifetime=125)  # type: ignore[operator]
    async with Broker(endpoint(sim), FAST, Health()) as b:
        await b.login()
        first = b.session.session_token
        keeper = asyncio.create_task(b.keep_token_fresh(margin=124.0))
        try:
            async with asyncio.timeout(5):
                while b.session.session_token == first:
                    await asyncio.sleep(0.05)
        finally:
            keeper.cancel()
        assert await Account.get(b.session)


async def test_transport_errors_become_unavailable(broker: Broker) -> None:
    broker.session._client.base_url = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(BrokerUnavailable) as caught:
        await broker.accounts[0].get_balances(broker.session)
    assert "did not answer" in str(caught.value)
