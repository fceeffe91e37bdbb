"""The order ticket: sizes and ratios, validation messages, and natural/mid pricing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType, TimeInForce
from tastytui.domain.symbols import OptionSymbol, OptionType
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
from tastytui.domain.ticks import NICKEL_DIME, PENNY_ALL, PENNY_PILOT

D = Decimal
TODAY = date(2025, 11, 18)
DEC19 = date(2025, 12, 19)
BTO, STO = OrderAction.BUY_TO_OPEN, OrderAction.SELL_TO_OPEN
BTC, STC = OrderAction.BUY_TO_CLOSE, OrderAction.SELL_TO_CLOSE


def occ(kind: str, strike: str, root: str = "SPY", when: date = DEC19) -> str:
    return OptionSymbol(root, when, OptionType(kind), D(strike)).occ


def opt(symbol: str, action: OrderAction, quantity: int | str = 1) -> Leg:
    return Leg(InstrumentType.EQUITY_OPTION, symbol, action, D(quantity))


def stock(symbol: str, action: OrderAction, quantity: int | str) -> Leg:
    return Leg(InstrumentType.EQUITY, symbol, action, D(quantity))


P670, P665 = occ("P", "670"), occ("P", "665")
C720, C725 = occ("C", "720"), occ("C", "725")


def put_spread(size: int = 1, price: str | None = "1.50") -> Ticket:
    return Ticket(
        (opt(P670, STO, size), opt(P665, BTO, size)), price=None if price is None else D(price)
    )


def check(ticket: Ticket, **kwargs: object) -> None:
    kwargs.setdefault("today", TODAY)
    validate(ticket, **kwargs)  # type: ignore[arg-type]


def field_of(ticket: Ticket, **kwargs: object) -> tuple[str, str]:
    with pytest.raises(TicketError) as info:
        check(ticket, **kwargs)
    return info.value.field, str(info.value)


# --- the ticket itself -------------------------------------------------------------------------


def test_size_is_the_gcd_and_ratios_are_per_unit() -> None:
    fly = Ticket(
        (opt(occ("C", "680"), BTO, 3), opt(occ("C", "685"), STO, 6), opt(occ("C", "690"), BTO, 3))
    )
    assert fly.quantity == 3
    assert fly.ratios == (D(1), D(2), D(1))


def test_with_quantity_keeps_the_ratios() -> None:
    fly = Ticket(
        (opt(occ("C", "680"), BTO, 1), opt(occ("C", "685"), STO, 2), opt(occ("C", "690"), BTO, 1))
    )
    bigger = fly.with_quantity(4)
    assert [leg.quantity for leg in bigger.legs] == [4, 8, 4]
    assert bigger.quantity == 4
    with pytest.raises(TicketError) as info:
        fly.with_quantity(D("1.5"))
    assert info.value.field == "quantity"


def test_with_price_replaces_only_the_price() -> None:
    ticket = put_spread().with_price(D("1.45"))
    assert ticket.price == D("1.45")
    assert ticket.legs == put_spread().legs


def test_opening_and_closing() -> None:
    assert put_spread().is_opening
    closing = Ticket((opt(P670, BTC), opt(P665, STC)))
    assert closing.is_closing_only and not closing.is_opening
    roll = Ticket((opt(P670, BTC), opt(occ("P", "660"), STO)))
    assert roll.is_opening and not roll.is_closing_only


def test_underlying_maps_weekly_roots() -> None:
    spx = Ticket(
        (opt(occ("P", "6800", "SPXW"), STO), opt(occ("P", "6795", "SPX"), BTO)), price=D("1")
    )
    assert spx.underlying(WEEKLY_ROOTS) == "SPX"
    with pytest.raises(TicketError, match="different underlyings"):
        spx.underlying()
    assert Ticket((stock("spy", BTO, 100),)).underlying() == "SPY"


def test_multiplier() -> None:
    assert multiplier(InstrumentType.EQUITY_OPTION) == 100
    assert multiplier(InstrumentType.EQUITY) == 1


# --- validation --------------------------------------------------------------------------------


def test_a_good_credit_spread_passes() -> None:
    check(
        put_spread(),
        chain_lookup=lambda o: True,
        positions={},
        tick_schedule=PENNY_PILOT,
    )


def test_no_legs() -> None:
    assert field_of(Ticket(()))[0] == "legs"


def test_too_many_legs() -> None:
    legs = tuple(opt(occ("C", str(700 + i)), BTO) for i in range(5))
    field, message = field_of(Ticket(legs, price=D("-1")))
    assert field == "legs" and "5 legs" in message and "split" in message
    check(Ticket(legs, price=D("-1")), max_legs=5)


@pytest.mark.parametrize(
    ("quantity", "words"),
    [("1.5", "not a whole number"), ("0", "at least 1"), ("-2", "at least 1")],
)
def test_bad_quantities(quantity: str, words: str) -> None:
    field, message = field_of(Ticket((opt(P670, STO, quantity),), price=D("1")))
    assert field == "quantity"
    assert words in message


def test_fractional_shares_are_refused() -> None:
    field, message = field_of(Ticket((stock("SPY", BTO, "10.5"),), price=D("-600")))
    assert field == "quantity" and "shares" in message


def test_duplicate_leg() -> None:
    field, message = field_of(Ticket((opt(P670, STO), opt(P670, BTO)), price=D("0")))
    assert field == "legs" and "two legs" in message


def test_streamer_and_occ_spellings_of_one_contract_are_duplicates() -> None:
    streamer = ".SPY251219P670"
    field, _ = field_of(Ticket((opt(P670, STO), opt(streamer, BTO)), price=D("0")))
    assert field == "legs"


def test_malformed_option_symbol() -> None:
    field, message = field_of(Ticket((opt("SPY DEC 670 PUT", STO),), price=D("1")))
    assert field == "symbol" and "chain" in message


def test_expired_contract_but_expiring_today_is_fine() -> None:
    old = occ("P", "670", when=date(2025, 11, 17))
    field, message = field_of(Ticket((opt(old, STO),), price=D("1")))
    assert field == "expiration" and "expired" in message
    check(Ticket((opt(occ("P", "670", when=TODAY), STO),), price=D("1")))


def test_unlisted_contract_names_strike_and_expiration() -> None:
    field, message = field_of(put_spread(), chain_lookup=lambda o: o.strike != D(665))
    assert field == "strike"
    assert "665" in message and "2025-12-19" in message


def test_closing_needs_a_position_on_the_right_side() -> None:
    close_long = Ticket((opt(P670, STC, 2),), price=D("1"))
    check(close_long, positions={P670: D(2)})
    field, message = field_of(close_long, positions={P670: D(1)})
    assert field == "quantity" and "reduce the quantity to 1" in message
    field, message = field_of(close_long, positions={P670: D(-2)})
    assert field == "action" and "no long position" in message
    field, _ = field_of(close_long, positions={})
    assert field == "action"

    close_short = Ticket((opt(P670, BTC, 1),), price=D("-1"))
    check(close_short, positions={P670: D(-3)})
    field, message = field_of(close_short, positions={P670: D(3)})
    assert field == "action" and "no short position" in message


def test_closing_matches_positions_held_under_the_streamer_spelling() -> None:
    check(Ticket((opt(P670, STC),), price=D("1")), positions={".SPY251219P670": D(1)})


def test_unknown_position_quantity_counts_as_not_held() -> None:
    field, _ = field_of(Ticket((opt(P670, STC),), price=D("1")), positions={P670: D("NaN")})
    assert field == "action"


def test_opening_against_an_existing_position_is_fine() -> None:
    check(Ticket((opt(P670, STO, 5),), price=D("1")), positions={P670: D(2)})


def test_mixed_underlyings() -> None:
    ticket = Ticket((opt(P670, STO), opt(occ("P", "200", "QQQ"), BTO)), price=D("1"))
    field, message = field_of(ticket)
    assert field == "legs" and "QQQ" in message and "SPY" in message


def test_limit_order_needs_a_price() -> None:
    field, message = field_of(put_spread(price=None))
    assert field == "price" and "needs a price" in message


def test_zero_price_is_refused_on_one_leg_but_allowed_on_a_spread() -> None:
    assert field_of(Ticket((opt(P670, STO),), price=D("0")))[0] == "price"
    check(put_spread(price="0"))


def test_single_leg_price_direction() -> None:
    field, message = field_of(Ticket((opt(P670, BTO),), price=D("1.00")))
    assert field == "price" and "debit" in message
    field, message = field_of(Ticket((opt(P670, STO),), price=D("-1.00")))
    assert field == "price" and "credit" in message


def test_price_off_the_grid_suggests_the_two_nearest() -> None:
    field, message = field_of(put_spread(price="3.02"), tick_schedule=PENNY_PILOT)
    assert field == "price"
    assert "use 3.00 or 3.05" in message
    field, message = field_of(put_spread(price="-1.23"), tick_schedule=NICKEL_DIME)
    assert "use 1.20 or 1.25" in message
    check(put_spread(price="2.99"), tick_schedule=PENNY_PILOT)


def test_market_order_with_a_price() -> None:
    ticket = Ticket((opt(P670, STO),), order_type=OrderType.MARKET, price=D("1"))
    assert field_of(ticket)[0] == "price"
    check(Ticket((opt(P670, STO),), order_type=OrderType.MARKET))


def test_good_till_date_rules() -> None:
    gtd = put_spread()
    no_date = Ticket(gtd.legs, price=gtd.price, time_in_force=TimeInForce.GTD)
    assert field_of(no_date) == (
        "time_in_force",
        "good-till-date needs a date: enter the last day the order may work",
    )
    past = Ticket(
        gtd.legs, price=gtd.price, time_in_force=TimeInForce.GTD, gtd_date=date(2025, 11, 17)
    )
    field, message = field_of(past)
    assert field == "time_in_force" and "past" in message
    check(Ticket(gtd.legs, price=gtd.price, time_in_force=TimeInForce.GTD, gtd_date=TODAY))
    dated_day = Ticket(gtd.legs, price=gtd.price, gtd_date=DEC19)
    field, message = field_of(dated_day)
    assert field == "time_in_force" and "GTD" in message


# A deliberately hostile generator: any symbol text, any quantity, any price, any TIF.
symbols = st.one_of(
    st.sampled_from([P670, P665, C720, C725, ".SPY251219P670", "SPY", "QQQ", "BRK/B"]),
    st.text(max_size=25),
    st.builds(
        lambda k, s, w: OptionSymbol("SPY", w, OptionType(k), D(s)).occ,
        st.sampled_from("CP"),
        st.integers(1, 2000),
        st.dates(date(2024, 1, 1), date(2027, 1, 1)),
    ),
)
any_decimal = st.decimals(allow_nan=True, allow_infinity=True) | st.decimals(
    min_value=-10, max_value=10, places=3
)
legs = st.builds(
    Leg, st.sampled_from(InstrumentType), symbols, st.sampled_from(OrderAction), any_decimal
)
tickets = st.builds(
    Ticket,
    st.lists(legs, max_size=6).map(tuple),
    st.sampled_from(OrderType),
    st.none() | any_decimal,
    st.sampled_from(TimeInForce),
    st.none() | st.dates(date(2025, 1, 1), date(2026, 12, 31)),
)


@settings(max_examples=200, deadline=None)
@given(
    tickets,
    st.none() | st.dictionaries(symbols, any_decimal, max_size=4),
    st.sampled_from([None, PENNY_PILOT, NICKEL_DIME]),
    st.booleans(),
)
def test_validation_only_ever_raises_ticket_errors(
    ticket: Ticket,
    positions: dict[str, Decimal] | None,
    schedule: object,
    listed: bool,
) -> None:
    try:
        validate(
            ticket,
            today=TODAY,
            chain_lookup=lambda o: listed,
            positions=positions,
            tick_schedule=schedule,  # type: ignore[arg-type]
        )
    except TicketError as exc:
        assert exc.field
        assert ":" in str(exc), "every message says how to fix it"


# --- pricing -----------------------------------------------------------------------------------

QUOTES = {
    P670: LegQuote(D("2.40"), D("2.60")),
    P665: LegQuote(D("1.00"), D("1.10")),
    C720: LegQuote(D("1.20"), D("1.30")),
    C725: LegQuote(D("0.60"), D("0.64")),
}


def test_natural_price_of_a_credit_spread() -> None:
    # Sell at the bid (2.40), buy at the ask (1.10): a 1.30 credit.
    assert natural_price(put_spread(), QUOTES) == D("1.30")
    assert natural_price(put_spread(size=5), QUOTES) == D("1.30")  # per unit, not per order


def test_natural_and_mid_of_a_debit_spread() -> None:
    debit = Ticket((opt(P670, BTO), opt(P665, STO)))
    assert natural_price(debit, QUOTES) == D("-1.60")
    assert mid_price(debit, QUOTES) == D("-1.45")


def test_iron_condor_prices() -> None:
    ic = Ticket((opt(P665, BTO), opt(P670, STO), opt(C720, STO), opt(C725, BTO)))
    assert natural_price(ic, QUOTES) == D("2.40") - D("1.10") + D("1.20") - D("0.64")
    assert mid_price(ic, QUOTES) == D("2.50") - D("1.05") + D("1.25") - D("0.62")


def test_ratios_are_included() -> None:
    ratio = Ticket((opt(P670, BTO, 2), opt(P665, STO, 4)))
    assert natural_price(ratio, QUOTES) == D("-2.60") + 2 * D("1.00")


def test_buy_write_is_priced_per_share() -> None:
    quotes = {"SPY": LegQuote(D("679.90"), D("680.00")), C720: QUOTES[C720]}
    buy_write = Ticket((stock("SPY", BTO, 100), opt(C720, STO, 1)))
    assert natural_price(buy_write, quotes) == D("-680.00") + D("1.20")


def test_auto_price_modes() -> None:
    odd = {P670: LegQuote(D("2.40"), D("2.63")), P665: QUOTES[P665]}
    spread = put_spread()
    # mid = (2.40 + 2.63)/2 - (1.00 + 1.10)/2 = 1.465 → nearest penny (half up) 1.47
    assert auto_price(spread, odd, PENNY_ALL, PriceMode.MID) == D("1.47")
    # On a nickel grid the natural 1.30 is already on the grid: exact.
    assert auto_price(spread, odd, NICKEL_DIME, PriceMode.NATURAL) == D("1.30")
    assert auto_price(spread, odd, NICKEL_DIME, PriceMode.MID) == D("1.45")
    assert auto_price(spread.with_price(D("1.41")), odd, PENNY_ALL, PriceMode.CUSTOM) == D("1.41")


def test_off_grid_natural_is_rounded_towards_a_fill() -> None:
    quotes = {P670: LegQuote(D("3.01"), D("3.11")), P665: LegQuote(D("1.00"), D("1.02"))}
    debit = Ticket((opt(P670, BTO), opt(P665, STO)))
    credit = Ticket((opt(P670, STO), opt(P665, BTO)))
    assert natural_price(debit, quotes) == D("-2.11")
    assert auto_price(debit, quotes, NICKEL_DIME, PriceMode.NATURAL) == D("-2.15")  # pay more
    assert natural_price(credit, quotes) == D("1.99")
    assert auto_price(credit, quotes, NICKEL_DIME, PriceMode.NATURAL) == D("1.95")  # take less


@pytest.mark.parametrize(
    "quote",
    [None, LegQuote(D("1.20"), D("1.10")), LegQuote(D("0"), D("0")), LegQuote(D("-1"), D("1"))],
)
def test_missing_or_broken_quotes_refuse_to_price(quote: LegQuote | None) -> None:
    quotes = dict(QUOTES)
    if quote is None:
        del quotes[P665]
    else:
        quotes[P665] = quote
    with pytest.raises(TicketError, match="no live quote for SPY") as info:
        auto_price(put_spread(), quotes, PENNY_ALL, PriceMode.MID)
    assert "custom price" in str(info.value)
    assert info.value.field == "price"


def test_a_zero_bid_with_an_offer_is_still_a_market() -> None:
    quotes = {P670: QUOTES[P670], P665: LegQuote(D("0"), D("0.05"))}
    assert natural_price(put_spread(), quotes) == D("2.35")


def test_custom_mode_without_a_price() -> None:
    with pytest.raises(TicketError, match="enter a price"):
        auto_price(put_spread(price=None), QUOTES, PENNY_ALL, PriceMode.CUSTOM)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=D("0.01"), max_value=D("50"), places=2),
            st.decimals(min_value=D("0"), max_value=D("2"), places=2),
        ),
        min_size=2,
        max_size=2,
    ),
    st.sampled_from([PENNY_ALL, PENNY_PILOT, NICKEL_DIME]),
)
def test_mid_lies_between_natural_and_the_far_side(
    markets: list[tuple[Decimal, Decimal]], schedule: object
) -> None:
    quotes = {P670: LegQuote(markets[0][0], markets[0][0] + markets[0][1])}
    quotes[P665] = LegQuote(markets[1][0], markets[1][0] + markets[1][1])
    spread = put_spread()
    natural = natural_price(spread, quotes)
    mid = mid_price(spread, quotes)
    assert natural <= mid  # for the seller, the natural is the worst price
    rounded = auto_price(spread, quotes, schedule, PriceMode.MID)  # type: ignore[arg-type]
    assert schedule.is_on_grid(rounded)  # type: ignore[attr-defined]
