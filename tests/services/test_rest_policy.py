"""The REST policy's parts on their own: the token bucket's rate, the breaker's states, the
Retry-After header in both forms, and per-request timeouts against the simulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import httpx2
import pytest
from tastytrade.order import InstrumentType, Leg, LimitOrder, OrderAction

from tastytui.config import RestSettings
from tastytui.services.breaker import CircuitBreaker
from tastytui.services.broker import Broker, Credentials, Endpoint
from tastytui.services.errors import BrokerUnavailable
from tastytui.services.health import BreakerState, Health
from tastytui.services.http import ResilientTransport, RestPolicy
from tastytui.services.ratelimit import TokenBucket
from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN
from tastytui.sim.server import SimServer


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# ------------------------------------------------------------------ token bucket


def test_the_default_rate_is_two_requests_a_second() -> None:
    assert RestSettings().rate == 2.0 and RestPolicy().rate == 2.0


async def test_bucket_lets_a_burst_through_then_paces_at_the_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeTime()
    bucket = TokenBucket(2.0, 4.0, monotonic=fake.monotonic)
    monkeypatch.setattr("tastytui.services.ratelimit.asyncio.sleep", fake.sleep)
    start = fake.now
    for _ in range(10):
        await bucket.acquire()
    # Four from the burst, then six more at two a second: three seconds in all.
    assert fake.now - start == pytest.approx(3.0)
    assert fake.sleeps == pytest.approx([0.5] * 6)
    assert bucket.waiting == 0


async def test_bucket_refills_while_idle_but_never_beyond_its_capacity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeTime()
    bucket = TokenBucket(2.0, 4.0, monotonic=fake.monotonic)
    monkeypatch.setattr("tastytui.services.ratelimit.asyncio.sleep", fake.sleep)
    for _ in range(4):
        await bucket.acquire()
    fake.now += 60.0  # a long pause refills only the capacity
    for _ in range(4):
        await bucket.acquire()
    assert fake.sleeps == []
    await bucket.acquire()
    assert fake.sleeps == pytest.approx([0.5])


def test_bucket_refuses_a_zero_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)


# ------------------------------------------------------------------ breaker


def test_breaker_opens_after_the_threshold_then_probes_and_closes() -> None:
    fake = FakeTime()
    changes: list[BreakerState] = []
    breaker = CircuitBreaker(3, 10.0, monotonic=fake.monotonic, on_change=changes.append)
    for _ in range(2):
        breaker.record_failure("HTTP 500")
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_failure("HTTP 502")
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    assert breaker.retry_in() == pytest.approx(10.0)
    fake.now += 10.0
    assert breaker.allow() and breaker.state is BreakerState.HALF_OPEN  # one probe
    breaker.record_failure("HTTP 503")  # the probe failed: open again, full cooldown
    assert breaker.state is BreakerState.OPEN and breaker.retry_in() == pytest.approx(10.0)
    fake.now += 10.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0
    assert changes == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(3, 10.0)
    breaker.record_failure("a")
    breaker.record_failure("b")
    breaker.record_success()
    breaker.record_failure("c")
    breaker.record_failure("d")
    assert breaker.state is BreakerState.CLOSED


# ------------------------------------------------------------------ Retry-After


def _transport(wall: Callable[[], float]) -> ResilientTransport:
    policy = RestPolicy(max_retry_after=30.0)
    return ResilientTransport(
        httpx2.AsyncHTTPTransport(),
        None,
        policy,
        Health(),
        wall=wall,  # type: ignore[arg-type]
    )


def _throttled(value: str) -> httpx2.Response:
    return httpx2.Response(429, headers={"Retry-After": value})


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    now = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
    transport = _transport(now.timestamp)
    assert 3.0 <= transport._retry_after(_throttled("3"), 0) <= 3.25
    in_five = format_datetime(now + timedelta(seconds=5), usegmt=True)
    assert 5.0 <= transport._retry_after(_throttled(in_five), 0) <= 5.25
    past = format_datetime(now - timedelta(seconds=5), usegmt=True)
    assert transport._retry_after(_throttled(past), 0) <= 0.25
    assert transport._retry_after(_throttled("3600"), 0) == 30.0  # capped
    assert transport._retry_after(_throttled("soon"), 0) <= transport.policy.backoff_max


# ------------------------------------------------------------------ timeouts on the wire


@pytest.fixture
async def slow_broker(sim: SimServer) -> AsyncIterator[Broker]:
    policy = RestPolicy(
        rate=100.0, burst=100.0, timeout=0.3, read_retries=2, backoff_base=0.01, backoff_max=0.02
    )
    endpoint = Endpoint(
        "sim", sim.base_url, sim.streamer_url, Credentials(SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN)
    )
    async with Broker(endpoint, policy, Health()) as broker:
        await broker.login()
        yield broker


async def timed(call: Awaitable[object]) -> float:
    started = time.monotonic()
    await call
    return time.monotonic() - started


async def test_a_read_that_times_out_is_retried_and_answered(
    sim: SimServer, slow_broker: Broker
) -> None:
    account = slow_broker.accounts[0]
    sim.control.http_fault(None, count=1, delay=1.0, path_prefix="/accounts/5WT00001/balances")
    elapsed = await timed(account.get_balances(slow_broker.session))
    assert elapsed < 1.0, "the first attempt was cut at the timeout, not waited out"
    assert slow_broker.transport.retries == 1


async def test_an_order_post_that_times_out_is_not_retried(
    sim: SimServer, slow_broker: Broker
) -> None:
    account = slow_broker.accounts[0]
    sim.control.http_fault(None, count=1, delay=0.6, path_prefix="/accounts/", method="POST")
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
        external_identifier="timeout-probe-1",
    )
    with pytest.raises(BrokerUnavailable, match="did not answer"):
        await account.place_order(slow_broker.session, order, dry_run=False)
    assert slow_broker.transport.retries == 0

    # The simulator still processed the slow POST: exactly one order carries the identifier.
    def placed() -> list[object]:
        return [
            o
            for o in sim.exchange.ledger.orders.values()
            if o.external_identifier == "timeout-probe-1"
        ]

    async with asyncio.timeout(5):
        while not placed():
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    assert len(placed()) == 1
