"""Recognising strategies in legs and positions, and building them from a chain."""

from __future__ import annotations

import itertools
import random
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tastytui.domain import blackscholes, strategies
from tastytui.domain.chain import ChainExpiration, ChainStrike, OptionChain
from tastytui.domain.orders import Leg, OrderAction
from tastytui.domain.strategies import (
    StrategyError,
    StrategyKind,
    build_template,
    classify,
    describe,
    group_positions,
    recognize,
)
from tastytui.domain.symbols import OptionSymbol, OptionType, parse_occ

D = Decimal
DEC19 = date(2025, 12, 19)
JAN16 = date(2026, 1, 16)
K = StrategyKind


def c(strike: str, when: date = DEC19) -> OptionSymbol:
    return OptionSymbol("SPY", when, OptionType.CALL, D(strike))


def p(strike: str, when: date = DEC19) -> OptionSymbol:
    return OptionSymbol("SPY", when, OptionType.PUT, D(strike))


def legs(*items: tuple[OptionSymbol | None, int]) -> list[tuple[OptionSymbol | None, Decimal]]:
    return [(option, D(q)) for option, q in items]


# --- recognition -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "kind", "label"),
    [
        ([(None, 100)], K.STOCK, "Long 100 shares"),
        ([(None, -30)], K.STOCK, "Short 30 shares"),
        ([(c("685"), 1)], K.LONG_CALL, "Long call 685"),
        ([(c("682.5"), -2)], K.SHORT_CALL, "Short call 682.5"),
        ([(p("670"), 1)], K.LONG_PUT, "Long put 670"),
        ([(p("670"), -1)], K.SHORT_PUT, "Short put 670"),
        ([(p("670"), -1), (p("665"), 1)], K.VERTICAL, "Short put vertical 670/665 (bull, credit)"),
        ([(p("680"), 1), (p("670"), -1)], K.VERTICAL, "Long put vertical 680/670 (bear, debit)"),
        ([(c("680"), 2), (c("690"), -2)], K.VERTICAL, "Long call vertical 680/690 (bull, debit)"),
        ([(c("720"), -1), (c("725"), 1)], K.VERTICAL, "Short call vertical 720/725 (bear, credit)"),
        ([(p("680"), -1), (c("680"), -1)], K.STRADDLE, "Short straddle 680"),
        ([(p("660"), 1), (c("700"), 1)], K.STRANGLE, "Long strangle 660/700"),
        (
            [(p("640"), 1), (p("645"), -1), (c("720"), -1), (c("725"), 1)],
            K.IRON_CONDOR,
            "Iron condor 640/645/720/725",
        ),
        (
            [(p("640"), -3), (p("645"), 3), (c("720"), 3), (c("725"), -3)],
            K.IRON_CONDOR,
            "Long iron condor 640/645/720/725",
        ),
        (
            [(p("670"), 1), (p("680"), -1), (c("680"), -1), (c("690"), 1)],
            K.IRON_BUTTERFLY,
            "Iron butterfly 670/680/690",
        ),
        (
            [(c("680"), 1), (c("685"), -2), (c("690"), 1)],
            K.BUTTERFLY,
            "Long call butterfly 680/685/690",
        ),
        (
            [(p("660"), -1), (p("670"), 2), (p("690"), -1)],
            K.BUTTERFLY,
            "Short put butterfly 660/670/690 (broken wing)",
        ),
        (
            [(c("680", DEC19), -1), (c("680", JAN16), 1)],
            K.CALENDAR,
            "Long call calendar 680 2025-12-19/2026-01-16",
        ),
        (
            [(p("690", DEC19), -1), (p("680", JAN16), 1)],
            K.DIAGONAL,
            "Long put diagonal 690/680 2025-12-19/2026-01-16",
        ),
        ([(None, 100), (c("690"), -1)], K.COVERED_CALL, "Covered call 690"),
    ],
)
def test_recognize(
    items: list[tuple[OptionSymbol | None, int]], kind: StrategyKind, label: str
) -> None:
    assert recognize(legs(*items)) == kind
    assert describe(legs(*items)) == label
    # The order legs arrive in does not matter.
    assert classify(legs(*reversed(items))) == classify(legs(*items))


@pytest.mark.parametrize(
    "items",
    [
        [(c("680"), 1), (c("690"), -2)],  # ratio spread
        [(None, 200), (c("690"), -1)],  # over-covered
        [(None, 100), (p("690"), -1)],  # stock and a put
        [(p("670"), -1), (c("680"), 1)],  # risk reversal
        [(c("680"), 1), (c("685"), -1), (c("690"), 1)],  # wrong body size
        [(p("640"), 1), (p("645"), -1), (c("720"), -1), (c("725", JAN16), 1)],  # two months
        [(p("640"), 1), (p("700"), -1), (c("690"), -1), (c("725"), 1)],  # crossed shorts
    ],
)
def test_unrecognised_structures_are_custom(items: list[tuple[OptionSymbol | None, int]]) -> None:
    assert recognize(legs(*items)) == K.CUSTOM


def test_repeated_contracts_are_netted() -> None:
    assert recognize(legs((p("670"), -1), (p("665"), 1), (p("670"), 0))) == K.VERTICAL
    assert recognize(legs((p("670"), -1), (p("670"), 1))) == K.CUSTOM  # flat


# --- grouping positions ------------------------------------------------------------------------


def pos(option: OptionSymbol | None, quantity: int) -> tuple[str, OptionSymbol | None, Decimal]:
    return ("SPY" if option is None else option.occ, option, D(quantity))


def test_iron_condor_plus_an_extra_long_put() -> None:
    groups = group_positions(
        [
            pos(p("640"), 2),
            pos(p("645"), -1),
            pos(c("720"), -1),
            pos(c("725"), 1),
        ]
    )
    assert [(g.kind, g.label) for g in groups] == [
        (K.IRON_CONDOR, "Iron condor 640/645/720/725"),
        (K.LONG_PUT, "Long put 640"),
    ]
    assert groups[0].members == (
        (p("640").occ, D(1)),
        (p("645").occ, D(-1)),
        (c("720").occ, D(-1)),
        (c("725").occ, D(1)),
    )
    assert groups[1].members == ((p("640").occ, D(1)),)


def test_stock_and_short_calls_form_covered_calls_with_the_rest_left_as_stock() -> None:
    groups = group_positions([pos(None, 250), pos(c("690"), -2)])
    assert [(g.kind, g.members) for g in groups] == [
        (K.COVERED_CALL, (("SPY", D(200)), (c("690").occ, D(-2)))),
        (K.STOCK, (("SPY", D(50)),)),
    ]


def test_adjacent_verticals_pair_narrowest_first() -> None:
    groups = group_positions(
        [pos(p("670"), -1), pos(p("665"), 1), pos(p("660"), -1), pos(p("655"), 1)]
    )
    assert [g.label for g in groups] == [
        "Short put vertical 660/655 (bull, credit)",
        "Short put vertical 670/665 (bull, credit)",
    ]


def test_butterfly_with_a_spare_body_contract() -> None:
    groups = group_positions([pos(c("680"), 1), pos(c("685"), -3), pos(c("690"), 1)])
    assert [(g.kind, g.label) for g in groups] == [
        (K.BUTTERFLY, "Long call butterfly 680/685/690"),
        (K.SHORT_CALL, "Short call 685"),
    ]


def test_calendar_and_strangle() -> None:
    groups = group_positions(
        [
            pos(c("700", DEC19), -1),
            pos(c("700", JAN16), 1),
            pos(p("640", DEC19), -1),
            pos(c("740", DEC19), -1),
        ]
    )
    assert sorted(g.kind for g in groups) == sorted([K.CALENDAR, K.STRANGLE])


def test_grouping_does_not_depend_on_input_order() -> None:
    book = [
        pos(None, 100),
        pos(c("690"), -1),
        pos(p("640"), 1),
        pos(p("645"), -1),
        pos(c("720"), -1),
        pos(c("725"), 1),
        pos(p("600"), -2),
    ]
    expected = group_positions(book)
    shuffled = list(book)
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        assert group_positions(shuffled) == expected


contracts = st.builds(
    OptionSymbol,
    st.just("SPY"),
    st.sampled_from([DEC19, JAN16]),
    st.sampled_from(OptionType),
    st.sampled_from([D(640), D(645), D(680), D(720), D(725)]),
)
books = st.lists(
    st.tuples(st.none() | contracts, st.integers(min_value=-4, max_value=4).filter(bool)),
    max_size=7,
)


@settings(max_examples=200, deadline=None)
@given(books)
def test_groups_account_for_every_position_and_are_what_they_say(
    book: list[tuple[OptionSymbol | None, int]],
) -> None:
    positions = [pos(option, q * 100 if option is None else q) for option, q in book]
    groups = group_positions(positions)
    held: dict[str, Decimal] = {}
    for symbol, _, q in positions:
        held[symbol] = held.get(symbol, D(0)) + q
    grouped: dict[str, Decimal] = {}
    options = {symbol: option for symbol, option, _ in positions}
    for group in groups:
        for symbol, q in group.members:
            assert q != 0
            grouped[symbol] = grouped.get(symbol, D(0)) + q
        assert recognize([(options[s], q) for s, q in group.members]) == group.kind
    assert grouped == {s: q for s, q in held.items() if q != 0}


def _every_combination(pool: list[Any], pattern: Any) -> list[tuple[Any, ...]]:
    """The exhaustive search the grouping used to run: every combination, narrowest first."""
    stock = [h for h in pool if h.option is None]
    options = [h for h in pool if h.option is not None]
    if pattern.with_stock:
        return [(s, o) for s in stock for o in options]
    combos = list(itertools.combinations(options, pattern.size))
    if pattern.size > 2:
        combos = [c for c in combos if len({h.option.expiration for h in c}) == 1]

    def span(combo: tuple[Any, ...]) -> tuple[Decimal, int]:
        strikes = [h.option.strike for h in combo]
        days = [h.option.expiration.toordinal() for h in combo]
        return (max(strikes) - min(strikes), max(days) - min(days))

    return sorted(combos, key=span)


wide_contracts = st.builds(
    OptionSymbol,
    st.sampled_from(["SPY", "SPYW"]),
    st.sampled_from([DEC19, JAN16]),
    st.sampled_from(OptionType),
    st.sampled_from([D(k) for k in (640, 645, 650, 680, 685, 690, 720, 725)]),
)
wide_books = st.lists(
    st.tuples(st.none() | wide_contracts, st.integers(min_value=-4, max_value=4).filter(bool)),
    max_size=14,
)


@settings(max_examples=300, deadline=None)
@given(wide_books)
def test_grouping_finds_what_trying_every_combination_finds(
    book: list[tuple[OptionSymbol | None, int]],
) -> None:
    """Only fitting combinations are tried (a book of 40 contracts built 110,000 tuples on
    every repaint); the groups are exactly those of the exhaustive search."""
    positions = [pos(option, q * 100 if option is None else q) for option, q in book]
    fast = group_positions(positions)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(strategies, "_candidates", _every_combination)
        assert group_positions(positions) == fast


def test_grouping_a_large_book_is_quick() -> None:
    """60 contracts of one underlying (the soak's traders hold ~40 each after 30 minutes)."""
    rng = random.Random(3)
    book = [
        pos(
            OptionSymbol(
                "SPY", rng.choice([DEC19, JAN16]), rng.choice(list(OptionType)), D(600 + 5 * k)
            ),
            rng.choice([-2, -1, 1, 2]),
        )
        for k in range(30)
        for _ in range(2)
    ]
    with pytest.MonkeyPatch.context() as patch:
        calls: list[int] = []

        def counted(pool: list[Any], pattern: Any) -> list[tuple[Any, ...]]:
            found = candidates(pool, pattern)
            calls.append(len(found))
            return found

        candidates = strategies._candidates
        patch.setattr(strategies, "_candidates", counted)
        group_positions(book)
    # Exhaustively that is C(60, 4) = 487,635 four-leg combinations alone.
    assert sum(calls) < 20_000, calls


# --- templates ---------------------------------------------------------------------------------


def expiration(when: date, strikes: list[Decimal]) -> ChainExpiration:
    rows = tuple(
        ChainStrike(
            k,
            OptionSymbol("SPY", when, OptionType.CALL, k),
            OptionSymbol("SPY", when, OptionType.PUT, k),
        )
        for k in strikes
    )
    return ChainExpiration("SPY", when, "Regular", "PM", rows)


FRONT = expiration(DEC19, [D(k) for k in range(600, 761, 5)])
BACK = expiration(JAN16, [D(k) for k in range(600, 761, 10)])
CHAIN = OptionChain("SPY", (FRONT, BACK))
SPOT = D("681.20")


def delta_of(option: OptionSymbol) -> float:
    """Deltas from a 20% volatility, 31 days out."""
    greeks = blackscholes.greeks(
        float(SPOT), float(option.strike), 31 / 365, 0.20, option.is_call, 0.04
    )
    return greeks.delta


def shape(template: tuple[Leg, ...]) -> list[tuple[str, str, str, int]]:
    out = []
    for leg in template:
        option = parse_occ(leg.symbol)
        verb = "buy" if leg.action is OrderAction.BUY_TO_OPEN else "sell"
        out.append((verb, option.option_type.value, str(option.strike), int(leg.quantity)))
    return out


def test_credit_put_vertical_sits_one_strike_out_of_the_money() -> None:
    template = build_template(K.VERTICAL, CHAIN, FRONT, SPOT, width=D(10))
    assert shape(template) == [("buy", "P", "665", 1), ("sell", "P", "675", 1)]
    assert all(leg.action.is_opening for leg in template)


def test_debit_call_vertical_buys_the_money() -> None:
    template = build_template(
        K.VERTICAL, CHAIN, FRONT, SPOT, option_type=OptionType.CALL, direction="debit"
    )
    assert shape(template) == [("buy", "C", "680", 1), ("sell", "C", "685", 1)]
    assert "bull, debit" in describe(
        [(parse_occ(leg.symbol), leg.signed_quantity) for leg in template]
    )


def test_iron_condor_by_delta() -> None:
    template = build_template(
        K.IRON_CONDOR,
        CHAIN,
        FRONT,
        SPOT,
        width=D(5),
        target_delta=0.16,
        delta_of=delta_of,
        quantity=2,
    )
    strikes = [D(s) for _, _, s, _ in shape(template)]
    assert [verb for verb, *_ in shape(template)] == ["buy", "sell", "sell", "buy"]
    assert all(q == 2 for *_, q in shape(template))
    short_put, short_call = parse_occ(template[1].symbol), parse_occ(template[2].symbol)
    assert abs(abs(delta_of(short_put)) - 0.16) < 0.03
    assert abs(delta_of(short_call) - 0.16) < 0.03
    assert strikes[1] - strikes[0] == 5 and strikes[3] - strikes[2] == 5


def test_strangle_straddle_butterfly_calendar() -> None:
    assert shape(build_template(K.STRANGLE, CHAIN, FRONT, SPOT)) == [
        ("sell", "P", "675", 1),
        ("sell", "C", "685", 1),
    ]
    assert shape(build_template(K.STRADDLE, CHAIN, FRONT, SPOT, direction="debit")) == [
        ("buy", "P", "680", 1),
        ("buy", "C", "680", 1),
    ]
    assert shape(build_template(K.BUTTERFLY, CHAIN, FRONT, SPOT, width=D(10))) == [
        ("buy", "C", "670", 1),
        ("sell", "C", "680", 2),
        ("buy", "C", "690", 1),
    ]
    calendar = build_template(K.CALENDAR, CHAIN, FRONT, SPOT, back_expiration=BACK)
    assert [(leg.action, parse_occ(leg.symbol).expiration) for leg in calendar] == [
        (OrderAction.SELL_TO_OPEN, DEC19),
        (OrderAction.BUY_TO_OPEN, JAN16),
    ]


default_direction = {
    K.VERTICAL: "credit",
    K.STRANGLE: "credit",
    K.STRADDLE: "credit",
    K.IRON_CONDOR: "credit",
    K.BUTTERFLY: "debit",
    K.CALENDAR: "debit",
}


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        (K.VERTICAL, {}),
        (K.VERTICAL, {"direction": "debit", "option_type": OptionType.CALL}),
        (K.STRANGLE, {"direction": "debit"}),
        (K.STRADDLE, {}),
        (K.IRON_CONDOR, {"width": D(10)}),
        (K.IRON_CONDOR, {"direction": "debit"}),
        (K.BUTTERFLY, {"option_type": OptionType.PUT}),
        (K.CALENDAR, {"back_expiration": BACK}),
    ],
)
def test_templates_are_recognised_as_what_they_build(
    kind: StrategyKind, extra: dict[str, object]
) -> None:
    template = build_template(kind, CHAIN, FRONT, SPOT, **extra)  # type: ignore[arg-type]
    assert all(CHAIN.contains(parse_occ(leg.symbol)) for leg in template)
    recognized = classify([(parse_occ(leg.symbol), leg.signed_quantity) for leg in template])
    assert recognized.kind == kind
    # Credit templates sell the structure, debit templates buy it.
    bought = recognized.label.startswith("Long") or "debit" in recognized.label
    assert bought == (extra.get("direction", default_direction[kind]) == "debit")


def test_wing_that_the_chain_cannot_supply_says_which_width_works() -> None:
    with pytest.raises(StrategyError) as info:
        build_template(K.VERTICAL, CHAIN, BACK, SPOT, width=D(5))
    assert str(info.value) == (
        "no strike 5 below 670 in 2026-01-16: the nearest listed is 660, choose a width of 10"
    )


def test_no_strikes_beyond_the_short_strike() -> None:
    low = expiration(DEC19, [D(600), D(605), D(610)])
    chain = OptionChain("SPY", (low,))
    with pytest.raises(StrategyError, match="no strike below 600 in 2025-12-19"):
        build_template(K.VERTICAL, chain, low, D(600), direction="debit")
    with pytest.raises(StrategyError, match="no strike below the at-the-money 600"):
        build_template(K.VERTICAL, chain, low, D(600), direction="credit")


def test_template_errors() -> None:
    with pytest.raises(StrategyError, match="no template for Covered call"):
        build_template(K.COVERED_CALL, CHAIN, FRONT, SPOT)
    with pytest.raises(StrategyError, match="back-month"):
        build_template(K.CALENDAR, CHAIN, FRONT, SPOT)
    with pytest.raises(StrategyError, match="not after"):
        build_template(K.CALENDAR, CHAIN, BACK, SPOT, back_expiration=FRONT)
    with pytest.raises(StrategyError, match="685 is not listed in 2026-01-16"):
        build_template(K.CALENDAR, CHAIN, FRONT, D(686), back_expiration=BACK)
    with pytest.raises(StrategyError, match="needs live greeks"):
        build_template(K.STRANGLE, CHAIN, FRONT, SPOT, target_delta=0.2)
    with pytest.raises(StrategyError, match="between 0 and 1"):
        build_template(K.STRANGLE, CHAIN, FRONT, SPOT, target_delta=16, delta_of=delta_of)
    with pytest.raises(StrategyError, match="smaller target delta"):
        build_template(K.IRON_CONDOR, CHAIN, FRONT, SPOT, target_delta=0.7, delta_of=delta_of)
    with pytest.raises(StrategyError, match="wait for greeks"):
        build_template(K.STRANGLE, CHAIN, FRONT, SPOT, target_delta=0.2, delta_of=lambda o: None)
    with pytest.raises(StrategyError, match="positive"):
        build_template(K.VERTICAL, CHAIN, FRONT, SPOT, width=D(0))
