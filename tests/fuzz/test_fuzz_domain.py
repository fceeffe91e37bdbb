"""Fuzzing the order domain: hostile tickets, prices, quantities, quotes and symbols.

Whatever a user types or a broker sends, validation and pricing either accept it or refuse it
with a :class:`TicketError` that names the field and says what to do — never another exception
(a ``decimal`` signal, an ``OverflowError``, a ``KeyError`` …), and anything accepted obeys the
rules (a finite price on the grid, whole positive quantities).  Symbol parsers raise only
:class:`SymbolError`; tick schedules only :class:`TickError`.

Volume: see ``EXAMPLES`` (examples per target; the report quotes them).
"""

from __future__ import annotations

import decimal
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType, TimeInForce
from tastytui.domain.symbols import (
    OptionSymbol,
    OptionType,
    SymbolError,
    is_option_symbol,
    normalize_equity,
    parse_occ,
    parse_option,
    parse_streamer,
)
from tastytui.domain.ticket import (
    LegQuote,
    PriceMode,
    Ticket,
    TicketError,
    auto_price,
    mid_price,
    natural_price,
    validate,
)
from tastytui.domain.ticks import NICKEL_DIME, PENNY_ALL, PENNY_PILOT, TickError, TickSchedule
from tastytui.services.orders import build_sdk_order, describe_ticket, fingerprint, payoff_for

D = Decimal
TODAY = date(2026, 11, 18)
#: Examples per fuzz target (kept small enough for the suite to stay fast).
EXAMPLES = {
    "tickets": 1500,
    "pricing": 800,
    "symbols": 2000,
    "ticks": 1000,
}

# ------------------------------------------------------------------ hostile values

#: Every kind of Decimal: NaN, signalling NaN, ±Infinity, −0, huge and tiny exponents.
wild_decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            D("NaN"),
            D("sNaN"),
            D("-sNaN"),
            D("Infinity"),
            D("-Infinity"),
            D("-0"),
            D("1E+999999"),
            D("-1E+999999"),
            D("1E-999999"),
            D("9" * 60),
            D("0.000000000000000000000000000001"),
            D("1e9"),
        ]
    ),
    st.integers(-(10**30), 10**30).map(D),
    st.decimals(min_value=-50, max_value=50, places=2),
)
quantities = st.one_of(st.integers(1, 5).map(D), wild_decimals)
hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "[bold]SPY[/]",
            "\x1b]52;c;ZXZpbA==\x07",
            "SPY\x00",
            "BRK/B",
            "spy",
            "A" * 5000,
            ".SPY261218P",
            ".SPY261318C600",
            "SPY   261218C0060000",
            "SPY   261218X00600000",
            "SPY   261231C99999999",
            "SP Y  261218C00600000",
        ]
    ),
)


def _occ(root: str, when: date, kind: str, strike_millis: int) -> str:
    return f"{root:<6}{when:%y%m%d}{kind}{strike_millis:08d}"


#: OCC-shaped symbols, mostly well formed, sometimes corrupted in one place.
occ_symbols = st.builds(
    _occ,
    st.sampled_from(["SPY", "QQQ", "SPXW", "A", "BRKB1"]),
    st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    st.sampled_from(["C", "P"]),
    st.integers(0, 99_999_999),
)
symbols = st.one_of(occ_symbols, occ_symbols.map(lambda s: s.replace(" ", "")), hostile_text)
legs = st.builds(
    Leg,
    st.sampled_from(list(InstrumentType)),
    symbols,
    st.sampled_from(list(OrderAction)),
    quantities,
)
tickets = st.builds(
    Ticket,
    st.lists(legs, min_size=0, max_size=6).map(tuple),
    st.sampled_from(list(OrderType)),
    st.one_of(st.none(), wild_decimals),
    st.sampled_from(list(TimeInForce)),
    st.one_of(st.none(), st.dates(date(2000, 1, 1), date(2100, 1, 1))),
)
schedules = st.sampled_from([PENNY_ALL, PENNY_PILOT, NICKEL_DIME])
positions = st.dictionaries(symbols, wild_decimals, max_size=6)
quotes_for = st.builds(LegQuote, wild_decimals, wild_decimals)


def _listed(option: OptionSymbol) -> bool:
    return option.expiration >= TODAY and option.strike % 5 == 0


def _check_message(exc: TicketError) -> None:
    assert str(exc).strip(), "a refusal must say what is wrong"
    assert ":" in str(exc), f"a refusal must say how to fix it: {exc}"
    assert exc.field, "a refusal names the field to fix"


# ------------------------------------------------------------------ validation


@settings(
    max_examples=EXAMPLES["tickets"],
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(ticket=tickets, held=positions, schedule=schedules)
def test_validation_refuses_clearly_or_accepts_only_valid_tickets(
    ticket: Ticket, held: dict[str, Decimal], schedule: TickSchedule
) -> None:
    try:
        validate(
            ticket,
            today=TODAY,
            chain_lookup=_listed,
            positions=held,
            tick_schedule=schedule,
        )
    except TicketError as exc:
        _check_message(exc)
        return
    # Accepted: every rule holds, and what would be sent can be built and described.
    assert 1 <= len(ticket.legs) <= 4
    for leg in ticket.legs:
        assert leg.quantity.is_finite() and leg.quantity > 0
        assert leg.quantity == leg.quantity.to_integral_value()
    if ticket.price is not None:
        assert ticket.price.is_finite() and schedule.is_on_grid(ticket.price)
    assert ticket.quantity >= 1
    fingerprint(ticket, "5WT00001")
    describe_ticket(ticket, ticket.underlying())
    if ticket.order_type is OrderType.MARKET or (
        ticket.order_type is OrderType.LIMIT and ticket.price is not None
    ):
        order = build_sdk_order(ticket, external_identifier="tt-fuzz")
        assert len(order.legs) == len(ticket.legs)


# ------------------------------------------------------------------ pricing


@settings(
    max_examples=EXAMPLES["pricing"],
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    ticket=tickets,
    quotes=st.lists(quotes_for, min_size=6, max_size=6),
    schedule=schedules,
    mode=st.sampled_from(list(PriceMode)),
)
# Found by CI: a custom price that is not a number reached the payoff.
@example(
    ticket=Ticket(
        legs=(Leg(InstrumentType.EQUITY, "SPY", OrderAction.BUY_TO_OPEN, Decimal(1)),),
        order_type=OrderType.LIMIT,
        price=Decimal("NaN"),
    ),
    quotes=[LegQuote(Decimal(0), Decimal(1))] * 6,
    schedule=PENNY_ALL,
    mode=PriceMode.CUSTOM,
)
def test_pricing_never_crashes_and_lands_on_the_grid(
    ticket: Ticket, quotes: list[LegQuote], schedule: TickSchedule, mode: PriceMode
) -> None:
    by_symbol = {leg.symbol: quote for leg, quote in zip(ticket.legs, quotes, strict=False)}
    try:
        natural = natural_price(ticket, by_symbol)
        mid = mid_price(ticket, by_symbol)
        price = auto_price(ticket, by_symbol, schedule, mode)
    except TicketError as exc:
        _check_message(exc)
        return
    assert natural.is_finite() and mid.is_finite()
    if mode is not PriceMode.CUSTOM:
        assert price.is_finite() and schedule.is_on_grid(price)
    # The payoff of whatever was priced is computed or declined, never a crash.
    try:
        payoff_for(ticket, price, by_symbol)
    except (TicketError, ValueError) as exc:  # PayoffError is a ValueError
        assert str(exc).strip()


@settings(max_examples=300, deadline=None)
@given(ticket=tickets, size=st.one_of(st.integers(-3, 10**6), wild_decimals))
# Found by the fuzzer: a 1:142,858 ratio times 7 passed the per-leg limit unchecked.
@example(
    ticket=Ticket(
        legs=(
            Leg(InstrumentType.EQUITY, "SPY", OrderAction.BUY_TO_OPEN, Decimal(1)),
            Leg(InstrumentType.EQUITY, "QQQ", OrderAction.BUY_TO_OPEN, Decimal(142858)),
        )
    ),
    size=7,
)
def test_resizing_a_ticket_refuses_what_is_not_a_whole_positive_size(
    ticket: Ticket, size: int | Decimal
) -> None:
    try:
        resized = ticket.with_quantity(size)
    except TicketError as exc:
        _check_message(exc)
        return
    assert len(resized.legs) == len(ticket.legs)
    assert not ticket.legs or resized.quantity == size


# ------------------------------------------------------------------ symbols


@settings(max_examples=EXAMPLES["symbols"], deadline=None)
@given(text=symbols)
def test_symbol_parsers_raise_only_symbol_errors(text: str) -> None:
    for parse in (parse_option, parse_occ, parse_streamer):
        try:
            option = parse(text)
        except SymbolError as exc:
            assert str(exc).strip()
            continue
        # A parsed contract survives the round trip through both wire forms.
        assert parse_occ(option.occ) == option
        assert parse_streamer(option.streamer) == option
        assert is_option_symbol(option.occ) and is_option_symbol(option.streamer)
    try:
        ticker = normalize_equity(text)
    except SymbolError as exc:
        assert "ticker" in str(exc) or "symbol" in str(exc)
    else:
        assert ticker == ticker.strip().upper() and 1 <= len(ticker) <= 8


@settings(max_examples=500, deadline=None)
@given(
    root=st.text(max_size=8),
    when=st.dates(date(1990, 1, 1), date(2150, 1, 1)),
    kind=st.sampled_from(list(OptionType)),
    strike=wild_decimals,
)
def test_building_a_contract_refuses_impossible_ones(
    root: str, when: date, kind: OptionType, strike: Decimal
) -> None:
    try:
        option = OptionSymbol(root, when, kind, strike)
    except (SymbolError, decimal.InvalidOperation):
        return
    if when.year < 2000 or when.year > 2099:
        return  # the wire forms carry two-digit years
    assert parse_option(option.occ) == option


# ------------------------------------------------------------------ tick schedules

tick_entries = st.lists(
    st.dictionaries(
        st.sampled_from(["value", "threshold", "junk"]),
        st.one_of(st.none(), hostile_text, wild_decimals.map(str), st.floats()),
        max_size=3,
    ),
    max_size=4,
)


@settings(max_examples=EXAMPLES["ticks"], deadline=None)
@given(entries=tick_entries, price=wild_decimals, ticks=st.integers(-50, 50))
def test_tick_schedules_from_the_wire_refuse_garbage_and_round_onto_their_grid(
    entries: list[dict[str, object]], price: Decimal, ticks: int
) -> None:
    try:
        schedule = TickSchedule.from_wire(entries)  # type: ignore[arg-type]
    except TickError as exc:
        assert str(exc).strip()
        schedule = PENNY_PILOT
    if not price.is_finite() or abs(price) > 10**9:
        return  # validation refuses such prices before anything rounds them
    rounded = schedule.round(price)
    assert schedule.is_on_grid(rounded)
    nudged = schedule.nudge(price, ticks)
    assert schedule.is_on_grid(nudged)
    if price:
        assert nudged == 0 or (nudged > 0) == (rounded > 0) or rounded == 0


def test_the_volumes_add_up() -> None:
    """The fuzzing volume quoted in the report (the pure targets here)."""
    assert sum(EXAMPLES.values()) >= 5000
    assert TODAY + timedelta(days=1) > TODAY
