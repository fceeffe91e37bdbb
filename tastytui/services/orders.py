"""The order pipeline shared by the keys, the chat and the command line.

``review`` turns a ticket into an immutable :class:`Review`: validate (domain rules, the chain,
positions, the tick grid) → price (mid rounded to the tick, natural or the user's) → a dry-run at
the broker (buying power, fees, warnings, errors) → payoff (max profit/loss, breakevens) → the
risk guard.  The review carries a fingerprint of exactly what would be sent.

``send`` refuses anything the review did not allow, a changed ticket and a stale review, then
journals the intent *before* ONE multi-leg POST that carries the intent id as its
external identifier.  An ambiguous outcome (5xx, timeout, dropped connection) is never retried:
the order is looked up by that identifier in live orders and history, and reported as placed or
as not placed.  Accepted orders go to the :class:`FillTracker`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Protocol

from tastytrade import Account
from tastytrade.order import InstrumentType as SdkInstrumentType
from tastytrade.order import Leg as SdkLeg
from tastytrade.order import LimitOrder, MarketOrder, OrderTimeInForce, PlacedOrder
from tastytrade.order import OrderAction as SdkOrderAction

from tastytui.domain import strategies
from tastytui.domain.chain import OptionChain
from tastytui.domain.clock import NEW_YORK, Clock, new_york_today
from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType, TimeInForce
from tastytui.domain.payoff import PayoffError, PayoffLeg, PayoffSummary, analyze, from_ticket
from tastytui.domain.symbols import OptionSymbol, format_strike, parse_option
from tastytui.domain.ticket import (
    WEEKLY_ROOTS,
    LegQuote,
    PriceMode,
    Ticket,
    TicketError,
    auto_price,
    mid_price,
    multiplier,
    natural_price,
    validate,
)
from tastytui.domain.ticks import STOCK, TickSchedule
from tastytui.services.broker import Broker, guarded
from tastytui.services.errors import (
    AmbiguousOrder,
    BrokerRejected,
    CircuitOpen,
    ServiceError,
)
from tastytui.services.events import EventBus, Level, Notice
from tastytui.services.fills import (
    FillTracker,
    Sleep,
    filled_units,
    is_terminal_status,
    price_text,
    sdk_account,
)
from tastytui.services.health import BreakerState
from tastytui.services.journal import SOURCES, Journal, JournalEntry, JournalState
from tastytui.services.risk import RiskContext, RiskGuard, RiskVerdict, money

log = logging.getLogger(__name__)

#: A review older than this must be redone: prices and buying power move.
MAX_REVIEW_AGE = 120.0
#: Pauses before each look-up of an order whose answer was lost (backoff, ~7.5 s in all).
RESOLVE_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
#: An unresolved intent not found at the broker after this long was never placed.
RESOLVE_GRACE = 120.0
#: The regular session's open (New York): the trading day has surely begun by then.
SESSION_OPEN = time(9, 30)
#: How far this machine's clock may be ahead of the broker's when searching order history.
CLOCK_SKEW = timedelta(minutes=10)
_SUPPORTED_TYPES = (OrderType.LIMIT, OrderType.MARKET)


class OrderRefused(ServiceError):
    """The order was not sent: the review did not allow it, is stale, or the ticket changed."""


class OrderNotPlaced(AmbiguousOrder):
    """The broker's answer was lost and the order is not among the account's orders."""


class OrderContext(Protocol):
    """What the order service needs from the account side (the AccountService implements it)."""

    async def positions_map(self, account: str) -> dict[str, Decimal]:
        """Symbol (OCC or ticker) → signed quantity held."""
        ...

    async def chain(self, underlying: str) -> OptionChain: ...

    async def leg_quotes(self, symbols: Sequence[str]) -> dict[str, LegQuote]:
        """Live bid/ask keyed by the symbols asked for (missing keys = no quote)."""
        ...

    async def risk_context(self, account: str) -> RiskContext: ...

    async def tick_schedule(self, underlying: str) -> TickSchedule: ...

    def apply_order(self, order: PlacedOrder) -> None:
        """The broker's word on one order (a POST's or a read's answer) for the order book."""
        ...

    async def refresh_orders(self, number: str) -> list[PlacedOrder]:
        """The account's orders of the trading day (working or not), read now."""
        ...


# ----------------------------------------------------------------------------- review


def fingerprint(ticket: Ticket, account: str, replaces: int | None = None) -> str:
    """A hash of exactly what would be sent: account, legs, quantities, type, price, TIF."""

    def num(value: Decimal | None) -> str | None:
        return None if value is None else format(value.normalize(), "f")

    body = {
        "account": account,
        "replaces": replaces,
        "order-type": ticket.order_type.value,
        "price": num(ticket.price),
        "time-in-force": ticket.time_in_force.value,
        "gtd-date": None if ticket.gtd_date is None else ticket.gtd_date.isoformat(),
        "legs": [
            [leg.instrument_type.value, leg.symbol, leg.action.value, num(leg.quantity)]
            for leg in ticket.legs
        ],
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Review:
    """The outcome of reviewing a ticket: what would be sent and what it would do."""

    review_id: str
    account: str
    source: str
    ticket: Ticket
    price_mode: PriceMode
    underlying: str
    description: str
    natural: Decimal | None
    mid: Decimal | None
    #: Change in buying power from the dry-run (negative = uses buying power).
    bp_change: Decimal | None
    new_buying_power: Decimal | None
    #: Total fees from the dry-run (negative = paid).
    fees: Decimal | None
    warnings: tuple[str, ...]
    errors: tuple[str, ...]
    payoff: PayoffSummary | None
    verdict: RiskVerdict
    fingerprint: str
    created_at: datetime
    created_mono: float
    #: The broker order id this review would replace (None for a new order).
    replaces: int | None = None

    @property
    def sendable(self) -> bool:
        return self.verdict.allowed and not self.errors

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the order cannot be sent, as sentences (empty when it can)."""
        out = [f"tastytrade: {e}" for e in self.errors]
        if not self.verdict.allowed:
            out.append(f"risk limit {self.verdict.message}")
        return tuple(out)


@dataclass(frozen=True, slots=True)
class SentOrder:
    """An order the broker has: its id, its status when we learnt it, and how we learnt it."""

    intent_id: str
    account: str
    order_id: int
    status: str
    order: PlacedOrder
    #: True when the POST's answer was lost and the order was found by its intent id.
    recovered: bool = False
    replaced: int | None = None


def _option_legs(ticket: Ticket) -> list[OptionSymbol]:
    return [
        parse_option(leg.symbol)
        for leg in ticket.legs
        if leg.instrument_type is InstrumentType.EQUITY_OPTION
    ]


def describe_ticket(ticket: Ticket, underlying: str) -> str:
    """'2× SPY Dec 18 Short put vertical 665/660 (bull, credit)' or 'SPY Long 100 shares'."""
    legs: list[strategies.StrategyLeg] = []
    for leg in ticket.legs:
        option = (
            parse_option(leg.symbol)
            if leg.instrument_type is InstrumentType.EQUITY_OPTION
            else None
        )
        legs.append((option, leg.signed_quantity))
    label = strategies.describe(legs)
    options = _option_legs(ticket)
    if not options:
        return f"{underlying} {label}"
    when = ""
    expirations = {o.expiration for o in options}
    if len(expirations) == 1:
        when = f" {next(iter(expirations)):%b %d}"
    return f"{ticket.quantity}× {underlying}{when} {label}"


def _leg_text(leg: Leg) -> str:
    if leg.instrument_type is InstrumentType.EQUITY_OPTION:
        option = parse_option(leg.symbol)
        kind = "call" if option.is_call else "put"
        name = f"{option.root} {option.expiration} {format_strike(option.strike)} {kind}"
    else:
        name = leg.symbol
    return f"{leg.action.value} {leg.quantity} {name}"


def describe_review(review: Review) -> list[str]:
    """Compact lines for the review screen and the chat: what, price, cost, risk, verdict."""
    ticket = review.ticket
    head = review.description
    if review.replaces is not None:
        head = f"Replace #{review.replaces}: {head}"
    lines = [f"{head} · account {review.account}"]
    lines.extend(f"  {_leg_text(leg)}" for leg in ticket.legs)
    terms = f"{ticket.order_type.value} {price_text(ticket.price)}"
    if ticket.order_type is OrderType.LIMIT:
        terms += f" ({review.price_mode.value})"
    terms += f" · {ticket.time_in_force.value}"
    if ticket.gtd_date is not None:
        terms += f" until {ticket.gtd_date}"
    if review.natural is not None and review.mid is not None:
        terms += f" · natural {price_text(review.natural)} · mid {price_text(review.mid)}"
    lines.append(terms)
    costs = []
    if review.bp_change is not None:
        costs.append(f"buying power {money(review.bp_change)}")
    if review.fees is not None:
        costs.append(f"fees {money(review.fees)}")
    if costs:
        text = " · ".join(costs)
        lines.append(text[:1].upper() + text[1:])
    if review.payoff is not None:
        payoff = review.payoff
        profit = "unlimited" if payoff.max_profit is None else money(payoff.max_profit)
        loss = "unlimited" if payoff.max_loss is None else money(payoff.max_loss)
        text = f"Max profit {profit} · max loss {loss}"
        if payoff.breakevens:
            text += " · breakeven " + ", ".join(f"{b:.2f}" for b in payoff.breakevens)
        lines.append(text)
    lines.extend(f"Warning: {w}" for w in review.warnings)
    lines.extend(f"Error: {e}" for e in review.errors)
    if review.sendable:
        lines.append("Risk: within your limits — ready to send")
    elif not review.verdict.allowed:
        lines.append(f"Refused by risk limit {review.verdict.message}")
    else:
        lines.append("Cannot be sent: tastytrade's preview reported errors")
    return lines


def build_sdk_order(
    ticket: Ticket, external_identifier: str | None = None
) -> LimitOrder | MarketOrder:
    """The SDK order for a validated ticket (13.x: a negative price is a debit, as ours)."""
    legs = [
        SdkLeg(
            instrument_type=SdkInstrumentType(leg.instrument_type.value),
            symbol=leg.symbol,
            action=SdkOrderAction(leg.action.value),
            quantity=int(leg.quantity),
        )
        for leg in ticket.legs
    ]
    tif = OrderTimeInForce(ticket.time_in_force.value)
    if ticket.order_type is OrderType.MARKET:
        return MarketOrder(
            legs=legs,
            time_in_force=tif,
            gtc_date=ticket.gtd_date,
            external_identifier=external_identifier,
        )
    if ticket.order_type is not OrderType.LIMIT or ticket.price is None:
        raise TicketError(
            f"{ticket.order_type.value} orders are not supported yet: use a limit or market order",
            field="order_type",
        )
    return LimitOrder(
        legs=legs,
        time_in_force=tif,
        gtc_date=ticket.gtd_date,
        external_identifier=external_identifier,
        price=ticket.price,
    )


def payoff_for(
    ticket: Ticket, price: Decimal | None, quotes: Mapping[str, LegQuote]
) -> PayoffSummary | None:
    """Max profit/loss of ``ticket`` filled at ``price`` (per unit, credit +); None if unknown.

    Only the total entry cost shifts the P&L, so leg prices start at the mids (zero without a
    quote) and one leg absorbs the difference to the order's price.
    """
    if price is None or not price.is_finite() or not ticket.legs:
        return None
    entries: dict[str, Decimal] = {}
    for leg in ticket.legs:
        quote = quotes.get(leg.symbol)
        entries[leg.symbol] = (quote.bid + quote.ask) / 2 if quote is not None else Decimal(0)
    unit = max(multiplier(leg.instrument_type) for leg in ticket.legs)
    target = -price * unit * ticket.quantity  # dollars paid (+) or received (−)
    cost = sum(
        (
            leg.signed_quantity * multiplier(leg.instrument_type) * entries[leg.symbol]
            for leg in ticket.legs
        ),
        Decimal(0),
    )
    residual = target - cost
    if residual:
        weights = sorted(
            ticket.legs,
            key=lambda leg: -abs(leg.quantity * multiplier(leg.instrument_type)),
        )
        for leg in weights:
            weight = leg.signed_quantity * multiplier(leg.instrument_type)
            adjusted = entries[leg.symbol] + residual / weight
            if adjusted >= 0:
                entries[leg.symbol] = adjusted
                break
        else:
            return None
    try:
        legs: list[PayoffLeg] = from_ticket(ticket, entries)
        strikes = [leg.strike for leg in legs if leg.strike is not None]
        spot = max(strikes) if strikes else Decimal(0)
        return analyze(legs, spot)
    except PayoffError:
        return None


# ----------------------------------------------------------------------------- the service


class OrderService:
    """Review, send, replace and cancel orders; resolve orders whose outcome is unknown."""

    def __init__(
        self,
        broker: Broker,
        journal: Journal,
        risk_guard: RiskGuard,
        context: OrderContext,
        events: EventBus,
        clock: Clock,
        profile: str,
        *,
        fills: FillTracker | None = None,
        max_review_age: float = MAX_REVIEW_AGE,
        resolve_delays: Sequence[float] = RESOLVE_DELAYS,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.broker = broker
        self.journal = journal
        self.risk = risk_guard
        self.context = context
        self.events = events
        self.clock = clock
        self.profile = profile
        self.fills = fills or FillTracker(broker, journal, events, clock, profile=profile)
        self.max_review_age = max_review_age
        self.resolve_delays = tuple(resolve_delays)
        self._sleep = sleep
        self._sent_reviews: set[str] = set()

    async def _account(self, number: str) -> Account:
        return await sdk_account(self.broker, number)

    async def _place(self, sdk: Account, order: LimitOrder | MarketOrder) -> PlacedOrder:
        """ONE live POST of the whole (multi-leg) order."""
        # Two calls so the type checker picks the SDK's overload for each order class.
        if isinstance(order, LimitOrder):
            return (await sdk.place_order(self.broker.session, order, dry_run=False)).order
        return (await sdk.place_order(self.broker.session, order, dry_run=False)).order

    # ------------------------------------------------------------------ review

    async def review(
        self,
        ticket: Ticket,
        account: str,
        *,
        price_mode: PriceMode = PriceMode.MID,
        source: str = "keys",
    ) -> Review:
        """Validate, price, preview and risk-check ``ticket`` for ``account``.

        Raises :class:`TicketError` (naming the field to fix) for a ticket that cannot be sent
        at all, and a :class:`ServiceError` when the broker cannot be asked; otherwise returns a
        Review — which may still refuse the order (``sendable`` is False and ``problems`` says
        why).
        """
        return await self._review(ticket, account, price_mode, source, None)

    async def _review(
        self,
        ticket: Ticket,
        account: str,
        price_mode: PriceMode,
        source: str,
        replaces: int | None,
    ) -> Review:
        if source not in SOURCES:
            raise ServiceError(f"unknown order source {source!r}: use one of {', '.join(SOURCES)}")
        if ticket.order_type not in _SUPPORTED_TYPES:
            raise TicketError(
                f"{ticket.order_type.value} orders are not supported yet: "
                "use a limit or market order",
                field="order_type",
            )
        today = new_york_today(self.clock)
        underlying = ticket.underlying(WEEKLY_ROOTS)
        has_option = any(leg.instrument_type is InstrumentType.EQUITY_OPTION for leg in ticket.legs)
        chain = await self.context.chain(underlying) if has_option else None
        schedule = await self.context.tick_schedule(underlying) if has_option else STOCK
        # Held positions only matter for closing legs (validation checks them against holdings).
        closing = any(not leg.action.is_opening for leg in ticket.legs)
        positions = await self.context.positions_map(account) if closing else None
        lookup = chain.contains if chain is not None else None

        def check(candidate: Ticket) -> None:
            validate(
                candidate,
                today=today,
                chain_lookup=lookup,
                positions=positions,
                tick_schedule=schedule,
                root_to_underlying=WEEKLY_ROOTS,
            )

        # Everything but the price first: pricing a malformed ticket would mislead.
        check(replace(ticket, order_type=OrderType.MARKET, price=None))
        quotes = await self.context.leg_quotes([leg.symbol for leg in ticket.legs])
        natural: Decimal | None
        mid: Decimal | None
        try:
            natural, mid = natural_price(ticket, quotes), mid_price(ticket, quotes)
        except TicketError:
            natural = mid = None
        priced = ticket
        if ticket.order_type is OrderType.LIMIT and price_mode is not PriceMode.CUSTOM:
            priced = ticket.with_price(auto_price(ticket, quotes, schedule, price_mode))
        check(priced)

        sdk = await self._account(account)
        preview = await guarded(
            sdk.place_order(self.broker.session, build_sdk_order(priced), dry_run=True),
            "preview the order",
        )
        effect = preview.buying_power_effect
        fees = preview.fee_calculation.total_fees if preview.fee_calculation else None
        payoff = payoff_for(priced, priced.price if priced.price is not None else natural, quotes)
        ctx = await self.context.risk_context(account)
        verdict = self.risk.check(
            priced, ctx, bp_change=effect.change_in_buying_power, payoff=payoff
        )
        return Review(
            review_id=uuid.uuid4().hex,
            account=account,
            source=source,
            ticket=priced,
            price_mode=price_mode,
            underlying=underlying,
            description=describe_ticket(priced, underlying),
            natural=natural,
            mid=mid,
            bp_change=effect.change_in_buying_power,
            new_buying_power=effect.new_buying_power,
            fees=fees,
            warnings=tuple(m.message for m in preview.warnings or ()),
            errors=tuple(f"{m.message} ({m.code})" for m in preview.errors or ()),
            payoff=payoff,
            verdict=verdict,
            fingerprint=fingerprint(priced, account, replaces),
            created_at=self.clock.now(),
            created_mono=self.clock.monotonic(),
            replaces=replaces,
        )

    # ------------------------------------------------------------------ send

    def _check_sendable(self, review: Review, ticket: Ticket | None) -> None:
        if review.review_id in self._sent_reviews:
            raise OrderRefused(
                "this review was already sent: review the ticket again to send another order"
            )
        if fingerprint(review.ticket, review.account, review.replaces) != review.fingerprint or (
            ticket is not None
            and fingerprint(ticket, review.account, review.replaces) != review.fingerprint
        ):
            raise OrderRefused(
                "the ticket changed after it was reviewed: review it again before sending"
            )
        if not review.verdict.allowed:
            raise OrderRefused(f"not sent — refused by risk limit {review.verdict.message}")
        if review.errors:
            raise OrderRefused(
                "not sent — tastytrade's preview reported: " + "; ".join(review.errors)
            )
        age = self.clock.monotonic() - review.created_mono
        if age > self.max_review_age:
            raise OrderRefused(
                f"the review is {age:.0f} s old (limit {self.max_review_age:.0f} s): prices and "
                "buying power move — review the ticket again"
            )

    def _breaker_message(self) -> str | None:
        breaker = self.broker.transport.breaker
        if breaker.state is BreakerState.CLOSED:
            return None
        return (
            f"Orders are paused: tastytrade failed {breaker.failures} times in a row "
            f"(last: {breaker.last_failure or 'repeated failures'}). Nothing was sent; orders "
            f"resume when tastytrade answers again (next probe in {breaker.retry_in():.0f} s)."
        )

    def _pre_post_checks(self, review: Review, intent: str) -> LimitOrder | MarketOrder:
        """The last checks before the POST; returns the order to send."""
        halted = self.broker.health.snapshot.orders_halted
        if halted and review.ticket.is_opening:
            raise OrderRefused(
                f"Not sent — new orders are halted: {halted} (closing orders are still allowed)"
            )
        breaker = self._breaker_message()
        if breaker is not None:
            raise CircuitOpen(breaker)
        return build_sdk_order(review.ticket, external_identifier=intent)

    async def send(self, review: Review, *, ticket: Ticket | None = None) -> SentOrder:
        """Send a reviewed order once (``ticket``: what the user confirmed, if the caller has it).

        Raises :class:`OrderRefused` before anything is journalled or sent when the review does
        not allow it; :class:`CircuitOpen` (journalled NOT_SENT) while the breaker is open;
        :class:`BrokerRejected` (journalled REJECTED) with the broker's reason;
        :class:`OrderNotPlaced` / :class:`AmbiguousOrder` when the answer was lost and the order
        could not be found / the broker could not be asked.
        """
        self._check_sendable(review, ticket)
        self._sent_reviews.add(review.review_id)  # before any await: a double press sends once
        try:
            sdk = await self._account(review.account)
        except BaseException:
            self._sent_reviews.discard(review.review_id)  # nothing happened: may be retried
            raise
        entry = self.journal.record_intent(
            profile=self.profile,
            account=review.account,
            source=review.source,
            ticket=review.ticket,
            fingerprint=review.fingerprint,
            description=review.description,
            underlying=review.underlying,
            replaces_order_id=review.replaces,
        )
        intent = entry.intent_id
        try:
            order = self._pre_post_checks(review, intent)
        except BaseException as exc:
            # Refused before the POST: the intent must not stay open.
            self.journal.mark_not_sent(intent, str(exc) or type(exc).__name__)
            if isinstance(exc, CircuitOpen):
                self.events.publish(Notice(Level.ERROR, str(exc)))
            raise
        self.journal.mark_sent(intent)
        try:
            if review.replaces is None:
                placed = await guarded(self._place(sdk, order), "place the order")
            else:
                placed = await guarded(
                    sdk.replace_order(self.broker.session, review.replaces, order),
                    f"replace order #{review.replaces}",
                )
        except CircuitOpen as exc:
            self.journal.mark_not_sent(intent, str(exc))
            self.events.publish(Notice(Level.ERROR, str(exc)))
            raise
        except BrokerRejected as exc:
            self.journal.mark_rejected(intent, str(exc))
            self.events.publish(Notice(Level.ERROR, f"Rejected: {review.description}: {exc}"))
            raise
        except ServiceError as exc:
            self.journal.mark_unknown(intent, f"no answer: {exc}")
            return await self._settle_lost_answer(entry, review, str(exc))
        except BaseException as exc:
            # Cancelled mid-POST, or a bug: the order may exist; reconciliation resolves it.
            self.journal.mark_unknown(intent, f"interrupted: {type(exc).__name__}")
            raise
        self.journal.mark_accepted(intent, placed.id, placed.status.value, filled_units(placed))
        # In the book before anyone hears of it: a pane told of the order must not re-read it.
        self.context.apply_order(placed)
        self._note_replaced(review, placed.id)
        self.fills.track(intent, placed)
        self.events.publish(
            Notice(
                Level.INFO,
                f"Sent: #{placed.id} {review.description} @ {price_text(review.ticket.price)}",
            )
        )
        return SentOrder(
            intent,
            review.account,
            placed.id,
            placed.status.value,
            placed,
            replaced=review.replaces,
        )

    def _note_replaced(self, review: Review, new_id: int) -> None:
        if review.replaces is None:
            return
        old = self.journal.by_broker_id(review.replaces, self.profile)
        if old is not None:
            self.journal.note(old.intent_id, f"replaced by order #{new_id}")

    async def _settle_lost_answer(
        self, entry: JournalEntry, review: Review, cause: str
    ) -> SentOrder:
        """The POST's answer was lost: find the order by its intent id, never send it again."""
        intent = entry.intent_id
        self.events.publish(
            Notice(
                Level.WARNING,
                f"No answer from tastytrade for {review.description} ({cause}); "
                "checking whether it was placed — it will not be sent again",
            )
        )
        checked = 0
        last_error: ServiceError | None = None
        found: PlacedOrder | None = None
        for delay in self.resolve_delays:
            await self._sleep(delay)
            try:
                found = await self._find_by_intent(entry)
            except ServiceError as exc:
                last_error = exc
                continue
            checked += 1
            if found is not None:
                break
        if found is None and checked == 0:
            message = (
                f"Could not confirm whether {review.description} was placed: {last_error}. "
                f"Check your orders before sending it again; reconciliation keeps checking "
                f"intent {intent}."
            )
            self.events.publish(Notice(Level.ERROR, message))
            raise AmbiguousOrder(message)
        if found is None:
            self.journal.note(
                intent, f"not found at the broker after {checked} checks; left for reconciliation"
            )
            message = (
                f"Not placed: {review.description}. tastytrade did not answer ({cause}) and the "
                f"order is not among your orders after {checked} checks. Nothing was sent twice; "
                f"reconciliation keeps checking intent {intent}."
            )
            self.events.publish(Notice(Level.ERROR, message))
            raise OrderNotPlaced(message)
        self._adopt(intent, found, "found by its external identifier after a lost answer")
        self._note_replaced(review, found.id)
        self.events.publish(
            Notice(
                Level.INFO,
                f"Placed: #{found.id} {review.description} (confirmed after a lost answer)",
            )
        )
        return SentOrder(
            intent,
            review.account,
            found.id,
            found.status.value,
            found,
            recovered=True,
            replaced=review.replaces,
        )

    def _adopt(self, intent: str, found: PlacedOrder, how: str) -> None:
        """Record the broker id of a found order and let the tracker report its status."""
        self.journal.transition(intent, JournalState.ACCEPTED, broker_id=found.id, detail=how)
        self.context.apply_order(found)
        self.fills.track(intent, found)

    async def _find_by_intent(self, entry: JournalEntry) -> PlacedOrder | None:
        """The broker's order carrying this intent id, or None.

        tastytrade's ``orders/live`` holds every order created or updated during the trading
        day, in any status; it is read through the account's book, which parses only orders
        that changed since its last read.  The order history (50 a page: a busy day's is
        thousands of orders, ~90 ms a page here) is searched only for an intent written before
        today's session opened, and only from shortly before it was written.
        """
        live = await self.context.refresh_orders(entry.account)
        found = _with_identifier(live, entry.intent_id)
        opened = datetime.combine(new_york_today(self.clock), SESSION_OPEN, NEW_YORK)
        if found is not None or entry.created_at >= opened:
            return found
        sdk = await self._account(entry.account)
        history = await guarded(
            sdk.get_order_history(
                self.broker.session, start_at=entry.created_at - CLOCK_SKEW, page_offset=None
            ),
            "read order history",
        )
        return _with_identifier(history, entry.intent_id)

    async def resolve_unknown(self, *, grace: float = RESOLVE_GRACE) -> list[str]:
        """Resolve every SENT/UNKNOWN intent of this profile from the broker's orders.

        Found → recorded with its broker id and tracked (its fill is reported).  Not found and
        older than ``grace`` seconds → NOT_SENT (it was never placed); so are intents whose
        POST never left (still INTENT).  ``grace`` protects an order still in flight from
        another tastytui on the same journal.  Returns one line per intent for the
        reconciliation report.  Never sends anything.
        """
        lines: list[str] = []
        for entry in self.journal.interrupted(self.profile):
            # Stopped between writing the intent and sending it: nothing left the machine.
            if (self.clock.now() - entry.created_at).total_seconds() >= grace:
                self.journal.mark_not_sent(entry.intent_id, "interrupted before it was sent")
                lines.append(
                    f"{entry.description} ({entry.intent_id}): not placed (interrupted before "
                    "it was sent)"
                )
        for entry in self.journal.unresolved(self.profile):
            what = f"{entry.description} ({entry.intent_id})"
            try:
                found = await self._find_by_intent(entry)
            except ServiceError as exc:
                lines.append(f"{what}: outcome still unknown — {exc}")
                continue
            if found is not None:
                self._adopt(entry.intent_id, found, "found by its external identifier")
                lines.append(f"{what}: placed as order #{found.id} ({found.status.value})")
                continue
            age = (self.clock.now() - entry.created_at).total_seconds()
            if age >= grace:
                self.journal.mark_not_sent(
                    entry.intent_id, "not found among the broker's orders: never placed"
                )
                lines.append(f"{what}: not placed (not found among the broker's orders)")
            else:
                lines.append(f"{what}: not found yet; checking again at the next reconciliation")
        return lines

    # ------------------------------------------------------------------ replace and cancel

    async def replace(
        self,
        account: str,
        order_id: int,
        *,
        price: Decimal | None = None,
        re_mid: bool = False,
        source: str = "keys",
    ) -> Review:
        """Review a new price for a working limit order (send the Review with :meth:`send`).

        ``price`` is the new signed price (credit +) and must be on the tick grid; ``re_mid``
        prices it at the current mid instead.  The replacement keeps the order's legs (its
        remaining quantities), type and time in force.
        """
        if (price is None) == (not re_mid):
            raise ServiceError("to replace an order give either a new price or re-mid, not both")
        sdk = await self._account(account)
        current = await guarded(
            sdk.get_order(self.broker.session, order_id), f"read order #{order_id}"
        )
        status = current.status.value
        if is_terminal_status(status) or not current.editable:
            raise OrderRefused(f"order #{order_id} is {status} and can no longer be replaced")
        if current.order_type.value != OrderType.LIMIT.value:
            raise OrderRefused(
                f"order #{order_id} is a {current.order_type.value} order: only limit orders "
                "can be re-priced"
            )
        legs = tuple(
            Leg(
                InstrumentType(leg.instrument_type.value),
                leg.symbol,
                OrderAction(leg.action.value),
                Decimal(
                    leg.remaining_quantity
                    if leg.remaining_quantity is not None
                    else leg.quantity or 0
                ),
            )
            for leg in current.legs
        )
        ticket = Ticket(
            legs=legs,
            order_type=OrderType.LIMIT,
            price=price,
            time_in_force=TimeInForce(current.time_in_force.value),
            gtd_date=current.gtc_date,
        )
        mode = PriceMode.MID if re_mid else PriceMode.CUSTOM
        return await self._review(ticket, account, mode, source, order_id)

    async def cancel(self, account: str, order_id: int) -> PlacedOrder:
        """Cancel a working order; returns the order as the broker reports it afterwards."""
        entry = self.journal.by_broker_id(order_id, self.profile)
        if entry is not None:
            self.journal.note(entry.intent_id, "cancel requested")
        sdk = await self._account(account)
        lost: ServiceError | None = None
        try:
            await guarded(
                sdk.delete_order(self.broker.session, order_id), f"cancel order #{order_id}"
            )
        except CircuitOpen as exc:
            if entry is not None:
                self.journal.note(entry.intent_id, f"cancel not sent: {exc}")
            raise
        except BrokerRejected as exc:
            if entry is not None:
                self.journal.note(entry.intent_id, f"cancel refused: {exc}")
            raise
        except ServiceError as exc:
            lost = exc  # the cancel may or may not have arrived: read the order to know
        placed = await guarded(
            sdk.get_order(self.broker.session, order_id), f"read order #{order_id}"
        )
        self.context.apply_order(placed)
        self.fills.on_order(placed)
        if (
            lost is not None
            and not is_terminal_status(placed.status.value)
            and (placed.status.value != "Cancel Requested")
        ):
            raise AmbiguousOrder(
                f"the cancel of order #{order_id} may not have reached tastytrade ({lost}); "
                f"the order is still {placed.status.value}: cancel it again"
            )
        return placed


def _with_identifier(orders: Sequence[PlacedOrder], identifier: str) -> PlacedOrder | None:
    matches = [o for o in orders if o.external_identifier == identifier]
    return min(matches, key=lambda o: o.id) if matches else None
