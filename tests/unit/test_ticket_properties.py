"""Property tests of ticket validation: whatever ``validate`` accepts obeys every rule of the
order issue (whole positive quantities, listed unexpired contracts, no duplicate legs, closing
legs within the held position, the price on the tick grid), and a valid ticket spoiled in one
way is refused for exactly that reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType
from tastytui.domain.symbols import OptionSymbol, OptionType, parse_occ
from tastytui.domain.ticket import Ticket, TicketError, validate
from tastytui.domain.ticks import NICKEL_DIME, PENNY_ALL, PENNY_PILOT, TickSchedule

D = Decimal
TODAY = date(2025, 11, 18)
#: The listed "chain": Fridays from a week ago to two months out, strikes 600..700 by 5.
FRIDAYS = [date(2025, 11, 14) + timedelta(weeks=n) for n in range(10)]
STRIKES = [D(600 + 5 * n) for n in range(21)]
LISTED = {
    OptionSymbol("SPY", when, kind, strike).occ
    for when in FRIDAYS
    for kind in OptionType
    for strike in STRIKES
}


def listed(option: OptionSymbol) -> bool:
    return option.occ in LISTED


contracts = st.builds(
    OptionSymbol,
    st.just("SPY"),
    # The expired Friday and an unlisted date last: hypothesis favours early elements.
    st.sampled_from([*FRIDAYS[1:], FRIDAYS[0], date(2025, 11, 22)]),
    st.sampled_from(list(OptionType)),
    st.sampled_from([*STRIKES, D("602.5")]),  # one unlisted strike
)
# Mostly valid input, with every kind of mistake mixed in, so both branches are exercised.
good_quantities = st.integers(1, 5).map(D)
bad_quantities = st.sampled_from([D(0), D(-1), D("1.5"), D("NaN")])
quantities = st.sampled_from(["good"] * 9 + ["bad"]).flatmap(
    lambda kind: good_quantities if kind == "good" else bad_quantities
)
actions = st.sampled_from(
    [OrderAction.BUY_TO_OPEN, OrderAction.SELL_TO_OPEN] * 4 + list(OrderAction)
)
option_legs = st.builds(
    lambda c, a, q: Leg(InstrumentType.EQUITY_OPTION, c.occ, a, q),
    contracts,
    actions,
    quantities,
)
nickels = st.integers(-400, 400).filter(bool).map(lambda n: D(n) * D("0.05"))
prices = st.sampled_from(["nickel"] * 3 + ["cent", "mill"]).flatmap(
    lambda kind: (
        nickels
        if kind == "nickel"
        else st.decimals(min_value=-20, max_value=20, places=2 if kind == "cent" else 3)
    )
)
positions = st.dictionaries(
    st.sampled_from(sorted(LISTED)[:60]), st.integers(-5, 5).map(D), max_size=6
)
schedules = st.sampled_from([PENNY_PILOT, NICKEL_DIME, PENNY_ALL])


def _signed_held(held: dict[str, Decimal], symbol: str) -> Decimal:
    return held.get(symbol, D(0))


@settings(max_examples=400, deadline=None)
@given(
    # Duplicates have a test of their own below.
    st.lists(option_legs, min_size=1, max_size=4, unique_by=lambda leg: leg.symbol),
    prices,
    positions,
    schedules,
)
def test_whatever_validation_accepts_obeys_every_rule(
    legs: list[Leg], price: Decimal, held: dict[str, Decimal], schedule: TickSchedule
) -> None:
    ticket = Ticket(tuple(legs), OrderType.LIMIT, price)
    try:
        validate(ticket, today=TODAY, chain_lookup=listed, positions=held, tick_schedule=schedule)
    except TicketError as exc:
        assert exc.field and ":" in str(exc)
        return
    symbols = [leg.symbol for leg in ticket.legs]
    assert len(set(symbols)) == len(symbols), "no duplicate legs"
    for leg in ticket.legs:
        assert leg.quantity.is_finite() and leg.quantity == leg.quantity.to_integral_value()
        assert leg.quantity >= 1
        option = parse_occ(leg.symbol)
        assert option.occ in LISTED and option.expiration >= TODAY
        if not leg.action.is_opening:
            have = _signed_held(held, leg.symbol)
            same_side = -have if leg.action.is_buy else have
            assert 0 < leg.quantity <= same_side, "a close never exceeds the position"
    assert schedule.is_on_grid(price)
    if len(ticket.legs) == 1:
        assert price != 0 and (price < 0) == ticket.legs[0].action.is_buy


BASE = Ticket(
    (
        Leg(
            InstrumentType.EQUITY_OPTION,
            OptionSymbol("SPY", FRIDAYS[4], OptionType.PUT, D(650)).occ,
            OrderAction.SELL_TO_OPEN,
            D(2),
        ),
        Leg(
            InstrumentType.EQUITY_OPTION,
            OptionSymbol("SPY", FRIDAYS[4], OptionType.PUT, D(640)).occ,
            OrderAction.BUY_TO_OPEN,
            D(2),
        ),
    ),
    OrderType.LIMIT,
    D("1.25"),
)


def _refused_for(ticket: Ticket, held: dict[str, Decimal] | None = None) -> str:
    try:
        validate(
            ticket,
            today=TODAY,
            chain_lookup=listed,
            positions=held if held is not None else {},
            tick_schedule=PENNY_PILOT,
        )
    except TicketError as exc:
        return exc.field
    return ""


def test_the_base_ticket_is_valid() -> None:
    assert _refused_for(BASE) == ""


@given(st.sampled_from([D(0), D(-3), D("0.5"), D("2.25"), D("Infinity")]), st.integers(0, 1))
def test_a_bad_quantity_is_refused_as_the_quantity(bad: Decimal, which: int) -> None:
    legs = list(BASE.legs)
    legs[which] = replace(legs[which], quantity=bad)
    assert _refused_for(replace(BASE, legs=tuple(legs))) == "quantity"


@given(st.integers(1, 400))
def test_an_expired_contract_is_refused_as_the_expiration(days_ago: int) -> None:
    old = OptionSymbol("SPY", TODAY - timedelta(days=days_ago), OptionType.PUT, D(650))
    legs = (replace(BASE.legs[0], symbol=old.occ), BASE.legs[1])
    assert _refused_for(replace(BASE, legs=legs)) == "expiration"


@given(st.decimals(min_value=D("0.01"), max_value=D("19.99"), places=3))
def test_an_off_grid_price_is_refused_as_the_price(price: Decimal) -> None:
    ticket = replace(BASE, price=price)
    expected = "" if PENNY_PILOT.is_on_grid(price) else "price"
    assert _refused_for(ticket) == expected


@given(st.integers(1, 5), st.integers(-5, 5))
def test_closing_is_allowed_exactly_up_to_the_held_position(size: int, have: int) -> None:
    leg = replace(BASE.legs[0], action=OrderAction.BUY_TO_CLOSE, quantity=D(size))
    ticket = Ticket((leg,), OrderType.LIMIT, D("-1.25"))
    field = _refused_for(ticket, {leg.symbol: D(have)})
    short = -have  # buying to close needs a short position
    if short >= size:
        assert field == ""
    else:
        assert field in ("action", "quantity")


@given(st.sampled_from([OrderAction.BUY_TO_OPEN, OrderAction.SELL_TO_OPEN]))
def test_the_same_contract_twice_is_refused_as_the_legs(action: OrderAction) -> None:
    legs = (BASE.legs[0], replace(BASE.legs[0], action=action))
    assert _refused_for(replace(BASE, legs=legs)) == "legs"
