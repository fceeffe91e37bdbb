"""The order pipeline on the real path: OrderService → SDK → simulator over loopback.

The rig below is a small ``OrderContext`` over the unmodified SDK (what the account service
provides in the app), a journal in a temporary dir and a fill tracker polling fast.  The tape is
frozen so the prices the tests compute stay valid while an order travels.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tastytrade.instruments import NestedOptionChain
from tastytrade.market_data import get_market_data_by_type
from tastytrade.order import InstrumentType as SdkInstrumentType
from tastytrade.order import PlacedOrder

from tastytui.config import RiskLimits
from tastytui.domain.chain import ChainExpiration, ChainStrike, OptionChain
from tastytui.domain.clock import Clock, ManualClock, OffsetClock, new_york_today
from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType
from tastytui.domain.symbols import parse_occ
from tastytui.domain.ticket import MAX_QUANTITY, LegQuote, PriceMode, Ticket, TicketError
from tastytui.domain.ticks import TickSchedule
from tastytui.services.broker import Broker, Credentials, Endpoint, guarded
from tastytui.services.errors import (
    BrokerRejected,
    BrokerUnavailable,
    CircuitOpen,
    ServiceError,
)
from tastytui.services.events import EventBus, Level, Notice, OrderEvent
from tastytui.services.fills import FillTracker, Schedule, sdk_account
from tastytui.services.health import BreakerState, Health
from tastytui.services.http import RestPolicy
from tastytui.services.journal import Journal, JournalEntry, JournalState
from tastytui.services.orders import (
    OrderNotPlaced,
    OrderRefused,
    OrderService,
    Review,
    build_sdk_order,
    describe_review,
)
from tastytui.services.risk import RiskContext, RiskGuard
from tastytui.sim.config import (
    SIM_CLIENT_SECRET,
    SIM_MARGIN_ACCOUNT,
    SIM_REFRESH_TOKEN,
    FillModel,
)
from tastytui.sim.ledger import Order as SimOrder
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START, SimFactory
from tests.sim.simkit import call, put

D = Decimal
ACCOUNT = SIM_MARGIN_ACCOUNT
S = JournalState
BTO, STO = OrderAction.BUY_TO_OPEN, OrderAction.SELL_TO_OPEN
FAST_POLICY = RestPolicy(
    rate=200,
    burst=200,
    timeout=5,
    read_retries=1,
    backoff_base=0.01,
    backoff_max=0.02,
    breaker_threshold=3,
    breaker_cooldown=60,
)


# ------------------------------------------------------------------------------ the rig


def chain_from_sdk(symbol: str, roots: Sequence[NestedOptionChain]) -> OptionChain:
    expirations = []
    for root in roots:
        for exp in root.expirations:
            strikes = tuple(
                ChainStrike(row.strike_price, parse_occ(row.call), parse_occ(row.put))
                for row in sorted(exp.strikes, key=lambda r: r.strike_price)
            )
            expirations.append(
                ChainExpiration(
                    root.root_symbol,
                    exp.expiration_date,
                    exp.expiration_type,
                    exp.settlement_type,
                    strikes,
                )
            )
    expirations.sort(key=lambda e: (e.expiration, e.root))
    schedule = TickSchedule.from_wire(
        [{"value": t.value, "threshold": t.threshold} for t in roots[0].tick_sizes]
    )
    return OptionChain(symbol, tuple(expirations), schedule)


class SimOrderContext:
    """An ``OrderContext`` over the SDK and the simulator (the app's AccountService's role)."""

    def __init__(self, broker: Broker, clock: Clock) -> None:
        self.broker = broker
        self.clock = clock
        self.day_pnl = D(0)
        self.earnings: dict[str, Any] = {}
        self._chains: dict[str, OptionChain] = {}
        self.book: dict[int, PlacedOrder] = {}

    def apply_order(self, order: PlacedOrder) -> None:
        self.book[order.id] = order

    async def refresh_orders(self, number: str) -> list[PlacedOrder]:
        sdk = await sdk_account(self.broker, number)
        return await guarded(sdk.get_live_orders(self.broker.session), "read live orders")

    async def positions_map(self, account: str) -> dict[str, Decimal]:
        sdk = await sdk_account(self.broker, account)
        rows = await guarded(sdk.get_positions(self.broker.session), "read positions")
        return {
            p.symbol: -p.quantity if p.quantity_direction == "Short" else p.quantity for p in rows
        }

    async def chain(self, underlying: str) -> OptionChain:
        if underlying not in self._chains:
            roots = await guarded(NestedOptionChain.get(self.broker.session, underlying), "chain")
            self._chains[underlying] = chain_from_sdk(underlying, roots)
        return self._chains[underlying]

    async def tick_schedule(self, underlying: str) -> TickSchedule:
        return (await self.chain(underlying)).tick_schedule

    async def leg_quotes(self, symbols: Sequence[str]) -> dict[str, LegQuote]:
        options = [s for s in symbols if len(s) == 21]
        equities = [s for s in symbols if len(s) != 21]
        rows = await guarded(
            get_market_data_by_type(
                self.broker.session, options=options or None, equities=equities or None
            ),
            "read quotes",
        )
        return {
            r.symbol: LegQuote(r.bid, r.ask)
            for r in rows
            if r.bid is not None and r.ask is not None
        }

    async def risk_context(self, account: str) -> RiskContext:
        sdk = await sdk_account(self.broker, account)
        balances = await guarded(sdk.get_balances(self.broker.session), "read balances")
        rows = await guarded(sdk.get_positions(self.broker.session), "read positions")
        held: dict[str, Decimal] = {}
        for p in rows:
            lots = (
                p.quantity
                if p.instrument_type == SdkInstrumentType.EQUITY_OPTION
                else (p.quantity / 100)
            )
            held[p.underlying_symbol] = held.get(p.underlying_symbol, D(0)) + lots
        return RiskContext(
            account=account,
            net_liq=balances.net_liquidating_value,
            derivative_buying_power=balances.derivative_buying_power,
            day_pnl=self.day_pnl,
            today=new_york_today(self.clock),
            contracts_by_underlying=held,
            earnings=self.earnings,
        )


@dataclass
class Rig:
    sim: SimServer
    broker: Broker
    journal: Journal
    events: EventBus
    context: SimOrderContext
    service: OrderService
    clock: Clock
    notices: list[Notice] = field(default_factory=list)
    order_events: list[OrderEvent] = field(default_factory=list)

    @property
    def fills(self) -> FillTracker:
        return self.service.fills

    def sim_orders(self, identifier: str) -> list[SimOrder]:
        """Orders the simulator holds with this external identifier (duplicates show here)."""
        ledger = self.sim.exchange.ledger
        return [o for o in ledger.orders.values() if o.external_identifier == identifier]

    def sim_order_count(self) -> int:
        return len(self.sim.exchange.ledger.orders)

    def vertical(self, quantity: int = 1) -> Ticket:
        """A short SPY put vertical a few strikes below the money (a credit spread)."""
        return Ticket(
            (
                Leg(InstrumentType.EQUITY_OPTION, put(self.sim, "SPY", -4).occ, STO, D(quantity)),
                Leg(InstrumentType.EQUITY_OPTION, put(self.sim, "SPY", -8).occ, BTO, D(quantity)),
            )
        )

    def state(self, intent: str) -> JournalState:
        entry = self.journal.by_intent(intent)
        assert entry is not None
        return entry.state

    def journal_sent(self, review: Review, *, sent: bool = True) -> JournalEntry:
        """An intent journalled as sent (``sent``: else only written) by a POST of our own."""
        entry = self.journal.record_intent(
            profile="sim",
            account=ACCOUNT,
            source="keys",
            ticket=review.ticket,
            fingerprint=review.fingerprint,
            description=review.description,
            underlying="SPY",
        )
        if sent:
            self.journal.mark_sent(entry.intent_id)
        return entry

    def texts(self, level: Level | None = None) -> list[str]:
        return [n.text for n in self.notices if level is None or n.level is level]


async def until(predicate: Callable[[], object], within: float = 15.0, what: str = "") -> None:
    """Wait until ``predicate()`` is truthy (fails the test after ``within`` seconds)."""
    async with asyncio.timeout(within):
        # Journal rows have no change signal to wait on: poll them briefly.
        while not predicate():
            await asyncio.sleep(0.02)
    assert predicate(), what


def fast_schedule(elapsed: float) -> float:
    return 0.1


@asynccontextmanager
async def order_rig(
    make_sim: SimFactory,
    path: Path,
    *,
    limits: RiskLimits | None = None,
    clock: Clock | None = None,
    schedule: Schedule = fast_schedule,
    polling: bool = True,
    resolve_delays: Sequence[float] = (0.02, 0.05, 0.1),
    **sim_overrides: Any,
) -> AsyncIterator[Rig]:
    """A simulator, a logged-in broker, a journal in ``path`` and an OrderService on them."""
    sim_overrides.setdefault("live_tape", False)
    sim_overrides.setdefault("tick_interval", 0.05)
    if "fill_model" in sim_overrides:
        sim_overrides["fill_model"] = FillModel(sim_overrides["fill_model"])
    sim = await make_sim(**sim_overrides)
    clock = clock or OffsetClock(SIM_START)
    endpoint = Endpoint(
        profile="sim",
        api_url=sim.base_url,
        streamer_url=sim.streamer_url,
        credentials=Credentials(SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN),
    )
    broker = Broker(endpoint, replace(FAST_POLICY), Health())
    async with broker:
        await broker.login()
        journal = Journal(path / "journal.sqlite3", clock=clock)
        events = EventBus()
        context = SimOrderContext(broker, clock)
        fills = FillTracker(broker, journal, events, clock, schedule=schedule)
        service = OrderService(
            broker,
            journal,
            RiskGuard(limits or RiskLimits()),
            context,
            events,
            clock,
            "sim",
            fills=fills,
            resolve_delays=resolve_delays,
        )
        rig = Rig(sim, broker, journal, events, context, service, clock)
        events.subscribe(rig.notices.append, Notice)
        events.subscribe(rig.order_events.append, OrderEvent)
        worker = asyncio.create_task(fills.run_polling()) if polling else None
        try:
            yield rig
        finally:
            if worker is not None:
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
            journal.close()


class LoseAnswers(httpx2.AsyncBaseTransport):
    """Around the real transport: counts order POSTs; the first one reaches the simulator
    (which processes it) but its answer is replaced by a 502 or a read timeout."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, failure: str | None) -> None:
        self.inner = inner
        self.failure = failure
        self.order_posts = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/orders"):
            self.order_posts += 1
            if self.failure is not None and self.order_posts == 1:
                await response.aread()
                await response.aclose()
                if self.failure == "timeout":
                    raise httpx2.ReadTimeout("the answer was lost", request=request)
                body = {"error": {"code": "bad_gateway", "message": "Bad gateway"}}
                return httpx2.Response(502, json=body, request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def intercept(rig: Rig, failure: str | None = None) -> LoseAnswers:
    transport = LoseAnswers(rig.broker.transport._inner, failure)
    rig.broker.transport._inner = transport
    return transport


@pytest.fixture
async def rig(make_sim: SimFactory, tmp_path: Path) -> AsyncIterator[Rig]:
    async with order_rig(make_sim, tmp_path) as r:
        yield r


# ------------------------------------------------------------------------------ review → send


async def test_vertical_goes_out_as_one_order_and_the_journal_follows_it_to_filled(
    rig: Rig,
) -> None:
    ticket = rig.vertical()
    review = await rig.service.review(ticket, ACCOUNT, price_mode=PriceMode.NATURAL)
    assert review.sendable, review.problems
    assert review.ticket.price == review.natural and review.natural is not None
    assert review.natural > 0, "a short put vertical is a credit"
    before = rig.sim_order_count()

    sent = await rig.service.send(review)

    (order,) = rig.sim_orders(sent.intent_id)  # ONE order at the broker ...
    assert rig.sim_order_count() == before + 1
    assert order.id == sent.order_id
    assert [(leg.symbol, leg.action.value) for leg in order.legs] == [
        (leg.symbol, leg.action.value) for leg in ticket.legs
    ]  # ... carrying both legs
    assert order.price == review.ticket.price
    await until(lambda: rig.state(sent.intent_id) is S.FILLED, what="the fill is journalled")
    states = rig.journal.states(sent.intent_id)
    assert states[:3] == [S.INTENT, S.SENT, S.ACCEPTED] and states[-1] is S.FILLED
    entry = rig.journal.by_intent(sent.intent_id)
    assert entry is not None and entry.broker_id == sent.order_id and entry.filled_quantity == 1
    assert any(t.startswith(f"Filled: #{sent.order_id}") for t in rig.texts(Level.INFO))
    assert [e.status for e in rig.order_events][-1] == "Filled"
    assert not rig.fills.is_tracking(sent.order_id), "a terminal status stops the tracking"


async def test_the_book_holds_a_sent_order_before_anyone_hears_of_it(rig: Rig) -> None:
    # A pane told of the order must find it in the book, not read it back from the broker.
    known_at_event: list[bool] = []
    rig.events.subscribe(
        lambda e: known_at_event.append(e.order_id in rig.context.book), OrderEvent
    )
    review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
    sent = await rig.service.send(review)
    assert rig.context.book[sent.order_id] is sent.order
    assert known_at_event and all(known_at_event)


async def test_market_order_for_stock(rig: Rig) -> None:
    ticket = Ticket((Leg(InstrumentType.EQUITY, "SPY", BTO, D(5)),), order_type=OrderType.MARKET)
    review = await rig.service.review(ticket, ACCOUNT)
    assert review.ticket.price is None and review.natural is not None and review.natural < 0
    assert review.payoff is not None and review.payoff.max_loss == -review.natural * 5
    sent = await rig.service.send(review)
    await until(lambda: rig.state(sent.intent_id) is S.FILLED)


async def test_a_rejected_order_is_journalled_with_the_reason_and_surfaced(rig: Rig) -> None:
    review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
    rig.sim.control.reject_next_order("Exchange halted trading in SPY options")
    sent = await rig.service.send(review)
    await until(lambda: rig.state(sent.intent_id) is S.REJECTED)
    entry = rig.journal.by_intent(sent.intent_id)
    assert entry is not None and entry.reject_reason == "Exchange halted trading in SPY options"
    assert any(
        "Rejected" in t and "Exchange halted trading in SPY options" in t
        for t in rig.texts(Level.ERROR)
    )
    rejected = [e for e in rig.order_events if e.status == "Rejected"]
    assert rejected and rejected[0].reject_reason == "Exchange halted trading in SPY options"


async def test_a_4xx_on_the_post_is_rejected_with_the_brokers_reason(rig: Rig) -> None:
    review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
    rig.sim.control.http_fault(422, count=1, path_prefix=f"/accounts/{ACCOUNT}/orders")
    before = rig.sim_order_count()
    with pytest.raises(BrokerRejected, match="HTTP 422") as caught:
        await rig.service.send(review)
    (entry,) = rig.journal.recent(1)
    assert entry.state is S.REJECTED and "HTTP 422" in (entry.reject_reason or "")
    assert rig.sim_order_count() == before
    assert any(str(caught.value) in t for t in rig.texts(Level.ERROR))


# ------------------------------------------------------------------------------ lost answers


async def test_5xx_before_the_broker_processed_it_is_reported_not_placed_never_duplicated(
    rig: Rig,
) -> None:
    review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
    wire = intercept(rig)  # count POSTs only
    rig.sim.control.http_fault(502, count=1, path_prefix="/accounts/", method="POST")
    before = rig.sim_order_count()

    with pytest.raises(OrderNotPlaced, match="Not placed") as caught:
        await rig.service.send(review)

    assert "Nothing was sent twice" in str(caught.value)
    assert wire.order_posts == 1, "the POST is never retried"
    assert rig.sim.exchange.faults.injected.get("http_502") == 1
    assert rig.sim_order_count() == before
    (entry,) = rig.journal.recent(1)
    assert entry.state is S.UNKNOWN, "left for reconciliation"
    assert rig.sim_orders(entry.intent_id) == []
    assert any("Not placed" in t for t in rig.texts(Level.ERROR))
    # Reconciliation settles it: not found after the grace period → never placed.
    lines = await rig.service.resolve_unknown(grace=0)
    assert lines == [
        f"{review.description} ({entry.intent_id}): not placed (not found among "
        "the broker's orders)"
    ]
    assert rig.state(entry.intent_id) is S.NOT_SENT
    assert wire.order_posts == 1


@pytest.mark.parametrize("failure", ["502", "timeout"])
async def test_answer_lost_after_the_broker_processed_it_is_found_not_duplicated(
    rig: Rig, failure: str
) -> None:
    review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
    wire = intercept(rig, failure)
    before = rig.sim_order_count()

    sent = await rig.service.send(review)

    assert sent.recovered
    assert wire.order_posts == 1, "the POST is never retried"
    (order,) = rig.sim_orders(sent.intent_id)
    assert order.id == sent.order_id and rig.sim_order_count() == before + 1
    await until(lambda: rig.state(sent.intent_id) is S.FILLED)
    states = rig.journal.states(sent.intent_id)
    assert states[:4] == [S.INTENT, S.SENT, S.UNKNOWN, S.ACCEPTED]
    texts = rig.texts()
    assert any("checking whether it was placed" in t for t in texts)
    assert any(t.startswith(f"Placed: #{sent.order_id}") for t in texts)
    assert any(t.startswith(f"Filled: #{sent.order_id}") for t in texts)


async def test_breaker_open_refuses_the_send_and_journals_not_sent(rig: Rig) -> None:
    review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
    rig.sim.control.http_fault(503, count=50, path_prefix=f"/accounts/{ACCOUNT}/balances")
    sdk = await sdk_account(rig.broker, ACCOUNT)
    for _ in range(5):
        with pytest.raises(BrokerUnavailable):
            await guarded(sdk.get_balances(rig.broker.session), "read balances")
        if rig.broker.transport.breaker.state is BreakerState.OPEN:
            break
    assert rig.broker.transport.breaker.state is BreakerState.OPEN
    rig.sim.control.clear_http_faults()
    wire = intercept(rig)

    with pytest.raises(CircuitOpen, match="Orders are paused") as caught:
        await rig.service.send(review)

    assert "HTTP 503" in str(caught.value) and "Nothing was sent" in str(caught.value)
    (entry,) = rig.journal.recent(1)
    assert entry.state is S.NOT_SENT and "Orders are paused" in (entry.detail or "")
    assert rig.journal.states(entry.intent_id) == [S.INTENT, S.NOT_SENT]
    assert wire.order_posts == 0 and rig.sim_orders(entry.intent_id) == []


async def test_orders_halted_by_reconciliation_refuse_opening_orders(rig: Rig) -> None:
    review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
    rig.broker.health.update(orders_halted="a position was closed without notice")
    with pytest.raises(OrderRefused, match="halted: a position was closed without notice"):
        await rig.service.send(review)
    (entry,) = rig.journal.recent(1)
    assert entry.state is S.NOT_SENT and rig.sim_orders(entry.intent_id) == []


# ------------------------------------------------------------------------------ what may be sent


async def test_a_ticket_changed_after_review_cannot_be_sent(rig: Rig) -> None:
    review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
    bigger = review.ticket.with_quantity(2)
    cheaper = review.ticket.with_price(review.ticket.price + D("0.05"))  # type: ignore[operator]
    before = rig.sim_order_count()
    for tampered in (replace(review, ticket=bigger), replace(review, ticket=cheaper)):
        with pytest.raises(OrderRefused, match="changed after it was reviewed"):
            await rig.service.send(tampered)
    with pytest.raises(OrderRefused, match="changed after it was reviewed"):
        await rig.service.send(review, ticket=bigger)
    with pytest.raises(OrderRefused, match="changed after it was reviewed"):
        await rig.service.send(replace(review, account="5WT00002"))
    assert rig.journal.recent() == [] and rig.sim_order_count() == before
    # The unchanged review still goes, exactly once.
    sent = await rig.service.send(review, ticket=review.ticket)
    with pytest.raises(OrderRefused, match="already sent"):
        await rig.service.send(review)
    assert len(rig.sim_orders(sent.intent_id)) == 1
    assert len(rig.journal.recent()) == 1


async def test_a_stale_review_must_be_redone(make_sim: SimFactory, tmp_path: Path) -> None:
    clock = ManualClock(SIM_START)
    async with order_rig(make_sim, tmp_path, clock=clock) as rig:
        review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
        clock.advance(121)
        with pytest.raises(OrderRefused, match="121 s old"):
            await rig.service.send(review)
        assert rig.journal.recent() == []
        fresh = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
        clock.advance(119)
        await rig.service.send(fresh)


async def test_mid_pricing_rounds_to_the_tick(rig: Rig) -> None:
    review = await rig.service.review(rig.vertical(), ACCOUNT)
    assert review.price_mode is PriceMode.MID and review.mid is not None
    price = review.ticket.price
    assert price is not None and price == price.quantize(D("0.01"))
    assert abs(price - review.mid) <= D("0.005")


async def test_describe_review_shows_what_where_cost_and_verdict(rig: Rig) -> None:
    review = await rig.service.review(rig.vertical(2), ACCOUNT, price_mode=PriceMode.NATURAL)
    lines = describe_review(review)
    assert lines[0].startswith("2× SPY") and "Short put vertical" in lines[0]
    assert "account 5WT00001" in lines[0]
    assert lines[1].startswith("  Sell to Open 2 SPY") and lines[2].startswith("  Buy to Open 2")
    assert lines[3].startswith("Limit ") and "credit (natural) · Day" in lines[3]
    assert any(line.startswith("Buying power -$") and "fees -$" in line for line in lines)
    assert any(line.startswith("Max profit $") and "breakeven" in line for line in lines)
    assert lines[-1] == "Risk: within your limits — ready to send"


def unheld_put(rig: Rig) -> str:
    """A listed SPY put the margin account holds no position in."""
    held = {p.symbol for p in rig.sim.exchange.ledger.account_positions(ACCOUNT) if p.quantity}
    for offset in range(-3, -30, -1):
        contract = put(rig.sim, "SPY", offset, dte=45).occ
        if contract not in held:
            return contract
    raise AssertionError("every put is held")


async def test_dry_run_errors_block_the_send(rig: Rig) -> None:
    contract = unheld_put(rig)

    async def stale_positions(account: str) -> dict[str, Decimal]:
        return {contract: D(1)}  # an out-of-date cache: the broker holds none

    rig.context.positions_map = stale_positions  # type: ignore[method-assign]
    ticket = Ticket(
        (Leg(InstrumentType.EQUITY_OPTION, contract, OrderAction.SELL_TO_CLOSE, D(1)),),
        price=D("0.05"),
    )
    review = await rig.service.review(ticket, ACCOUNT, price_mode=PriceMode.CUSTOM)
    assert review.verdict.allowed and not review.sendable
    assert any("invalid_position_effect" in e for e in review.errors)
    assert any(line.startswith("Error: ") for line in describe_review(review))
    with pytest.raises(OrderRefused, match="preview reported"):
        await rig.service.send(review)
    assert rig.journal.recent() == []


async def test_closing_more_than_held_is_refused_before_the_broker_is_asked(rig: Rig) -> None:
    contract = unheld_put(rig)
    ticket = Ticket(
        (Leg(InstrumentType.EQUITY_OPTION, contract, OrderAction.SELL_TO_CLOSE, D(1)),),
        price=D("0.05"),
    )
    with pytest.raises(TicketError, match="no long position to close") as caught:
        await rig.service.review(ticket, ACCOUNT, price_mode=PriceMode.CUSTOM)
    assert caught.value.field == "action"


# ------------------------------------------------------------------------------ risk


async def test_risk_limits_refuse_through_review_and_send(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    limits = RiskLimits(max_contracts_per_order=3)
    async with order_rig(make_sim, tmp_path, limits=limits) as rig:
        review = await rig.service.review(rig.vertical(2), ACCOUNT, price_mode=PriceMode.NATURAL)
        assert not review.sendable
        assert review.verdict.rule == "max_contracts_per_order"
        assert review.verdict.message == "max_contracts_per_order: 4 contracts > limit 3"
        assert describe_review(review)[-1] == (
            "Refused by risk limit max_contracts_per_order: 4 contracts > limit 3"
        )
        with pytest.raises(OrderRefused, match="4 contracts > limit 3"):
            await rig.service.send(review)
        assert rig.journal.recent() == []
        ok = await rig.service.review(rig.vertical(1), ACCOUNT, price_mode=PriceMode.NATURAL)
        assert ok.sendable, ok.problems


async def test_a_naked_call_is_undefined_risk_and_refused(rig: Rig) -> None:
    ticket = Ticket((Leg(InstrumentType.EQUITY_OPTION, call(rig.sim, "SPY", 6).occ, STO, D(1)),))
    review = await rig.service.review(ticket, ACCOUNT, price_mode=PriceMode.NATURAL)
    assert review.payoff is not None and review.payoff.max_loss is None
    assert review.verdict.rule == "max_loss_per_trade"
    assert "undefined risk" in review.verdict.message


async def test_daily_loss_limit_through_review(rig: Rig) -> None:
    rig.context.day_pnl = D(-3000)
    review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
    assert review.verdict.rule == "daily_loss_limit"
    assert "-$3,000.00" in review.verdict.message


# ------------------------------------------------------------------------------ replace


async def test_replace_reprices_a_working_order_through_a_new_review(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    async with order_rig(make_sim, tmp_path, fill_model="never") as rig:
        first = await rig.service.send(await rig.service.review(rig.vertical(), ACCOUNT))
        await until(lambda: rig.state(first.intent_id) is S.WORKING)
        old_price = rig.sim.exchange.ledger.orders[first.order_id].price
        assert old_price is not None

        with pytest.raises(TicketError, match="tick"):
            await rig.service.replace(ACCOUNT, first.order_id, price=old_price + D("0.005"))
        review = await rig.service.replace(ACCOUNT, first.order_id, price=old_price - D("0.05"))
        assert review.replaces == first.order_id and review.sendable, review.problems
        assert describe_review(review)[0].startswith(f"Replace #{first.order_id}: ")
        second = await rig.service.send(review)

        assert second.replaced == first.order_id and second.order_id != first.order_id
        old = rig.sim.exchange.ledger.orders[first.order_id]
        assert old.status.value == "Cancelled" and old.replacing_order_id == second.order_id
        (new,) = rig.sim_orders(second.intent_id)
        assert new.price == old_price - D("0.05") and new.replaces_order_id == first.order_id
        await until(lambda: rig.state(first.intent_id) is S.CANCELLED)
        await until(lambda: rig.state(second.intent_id) is S.WORKING)
        assert any(t.startswith(f"Replaced: #{first.order_id}") for t in rig.texts())
        old_entry = rig.journal.by_intent(first.intent_id)
        assert old_entry is not None and "replaced by order" in (old_entry.detail or "")

        again = await rig.service.replace(ACCOUNT, second.order_id, re_mid=True)
        assert again.price_mode is PriceMode.MID
        with pytest.raises(OrderRefused, match="Cancelled and can no longer be replaced"):
            await rig.service.replace(ACCOUNT, first.order_id, re_mid=True)
        with pytest.raises(ServiceError, match="either a new price or re-mid"):
            await rig.service.replace(ACCOUNT, second.order_id)


# ------------------------------------------------------------------------------ restart


async def test_restart_resolves_a_sent_intent_by_its_external_identifier(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    async with order_rig(make_sim, tmp_path, polling=False) as rig:
        review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)

        def journal_sent(sent: bool = True) -> str:
            return rig.journal_sent(review, sent=sent).intent_id

        # The POST went out and the process died before the answer came back …
        reached = journal_sent()
        sdk = await sdk_account(rig.broker, ACCOUNT)
        await sdk.place_order(
            rig.broker.session, build_sdk_order(review.ticket, reached), dry_run=False
        )
        # … and another intent died before its POST left the machine.
        lost = journal_sent()
        # … and one stopped between writing its intent and sending it.
        interrupted = journal_sent(sent=False)
        rig.journal.close()
        before = rig.sim_order_count()

        # Restart: a new journal on the same file, a new broker session, a new service.
        endpoint = rig.broker.endpoint
        async with Broker(endpoint, replace(FAST_POLICY), Health()) as broker:
            await broker.login()
            clock = rig.clock  # the same wall clock the first run used
            with Journal(tmp_path / "journal.sqlite3", clock=clock) as journal:
                events = EventBus()
                notices: list[Notice] = []
                events.subscribe(notices.append, Notice)
                service = OrderService(
                    broker,
                    journal,
                    RiskGuard(RiskLimits()),
                    SimOrderContext(broker, clock),
                    events,
                    clock,
                    "sim",
                )
                assert [e.intent_id for e in journal.unresolved("sim")] == [reached, lost]

                lines = await service.resolve_unknown(grace=0)

                (order,) = rig.sim_orders(reached)
                assert rig.sim_order_count() == before, "nothing was sent again"
                assert lines[0].endswith("not placed (interrupted before it was sent)")
                assert lines[1].endswith(f"placed as order #{order.id} (Filled)")
                assert lines[2].endswith("not placed (not found among the broker's orders)")
                entry = journal.by_intent(reached)
                assert entry is not None and entry.broker_id == order.id
                assert entry.state is S.FILLED
                for never in (lost, interrupted):
                    assert journal.by_intent(never).state is S.NOT_SENT  # type: ignore[union-attr]
                assert rig.sim_orders(lost) == [] and rig.sim_orders(interrupted) == []
                assert any(t.startswith(f"Filled: #{order.id}") for t in (n.text for n in notices))
                assert journal.unresolved("sim") == []
                assert await service.resolve_unknown(grace=0) == []


async def test_resolve_unknown_waits_out_the_grace_period(rig: Rig) -> None:
    review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
    entry = rig.journal_sent(review)
    (line,) = await rig.service.resolve_unknown(grace=3600)
    assert line.endswith("not found yet; checking again at the next reconciliation")
    assert rig.state(entry.intent_id) is S.SENT


class CountOrderReads(httpx2.AsyncBaseTransport):
    """Around the real transport: the order reads that went out (path and query)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.reads: list[str] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and "/orders" in request.url.path:
            self.reads.append(f"{request.url.path}?{request.url.query.decode()}")
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("written", ["today", "yesterday"])
async def test_an_unresolved_intent_is_searched_in_history_only_if_written_before_today(
    rig: Rig, written: str
) -> None:
    # A busy day's history is thousands of orders, 50 a page: the day's orders (orders/live)
    # hold every order of the trading day, so history is read only for older intents.
    review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
    today = rig.clock.now()
    if written == "yesterday":
        rig.journal.clock = ManualClock(today - timedelta(days=1))
    entry = rig.journal_sent(review)
    rig.journal.clock = rig.clock
    wire = CountOrderReads(rig.broker.transport._inner)
    rig.broker.transport._inner = wire

    (line,) = await rig.service.resolve_unknown(grace=0)

    assert line.endswith("not placed (not found among the broker's orders)")
    paths = [r.split("?")[0] for r in wire.reads]
    assert any(p.endswith("/orders/live") for p in paths), "the day's orders are read"
    history = [r for r, p in zip(wire.reads, paths, strict=True) if p.endswith("/orders")]
    if written == "today":
        assert history == []
    else:
        (read,) = history  # from ten minutes before the intent was written, not the whole day
        since = (entry.created_at - timedelta(minutes=10)).strftime("%Y-%m-%d")
        assert "start-at=" in read and since in unquote(read)


# ------------------------------------------------------------------------------ property


QUANTITIES = st.one_of(
    st.integers(1, 3).map(Decimal),
    st.integers(-2, 0).map(Decimal),
    st.decimals(min_value=-3, max_value=3, places=1),
    st.sampled_from([D("NaN"), D("Infinity"), D("-Infinity"), D("1e9")]),
)
PRICES = st.one_of(
    st.decimals(min_value=-30, max_value=30, places=2),
    st.decimals(min_value=-30, max_value=30, places=3),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([D("0"), D("-0"), D("1e12"), D("0.001"), D("NaN")]),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(quantity=QUANTITIES, price=PRICES)
async def test_review_never_sends_invalid_input_and_always_explains(
    rig: Rig, quantity: Decimal, price: Decimal
) -> None:
    legs = tuple(replace(leg, quantity=quantity) for leg in rig.vertical().legs)
    ticket = Ticket(legs, price=price)
    before = rig.sim_order_count()
    grid = rig.sim.exchange.market.tick_schedule("SPY")
    valid_quantity = (
        quantity.is_finite() and 0 < quantity <= MAX_QUANTITY and quantity == int(quantity)
    )
    valid_price = price.is_finite() and abs(price) < D(10**9) and grid.is_on_grid(price)
    review: Review | None = None
    try:
        review = await rig.service.review(ticket, ACCOUNT, price_mode=PriceMode.CUSTOM)
    except (TicketError, ServiceError) as exc:
        assert str(exc).strip(), "every refusal says why"
        assert not (valid_quantity and valid_price) or isinstance(exc, ServiceError)
    else:
        assert valid_quantity and valid_price, f"accepted an invalid ticket: {ticket}"
        if not review.sendable:
            with pytest.raises(OrderRefused):
                await rig.service.send(review)
    assert rig.sim_order_count() == before, "a review never places an order"
    assert all(e.state is S.NOT_SENT for e in rig.journal.recent())


def test_rig_start_is_the_simulators_day() -> None:
    assert new_york_today(OffsetClock(SIM_START)) == datetime(2026, 11, 18, tzinfo=UTC).date()
