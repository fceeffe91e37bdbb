"""Instrument and option-chain endpoints, driven through the unmodified tastytrade SDK."""

from __future__ import annotations

import re
import time
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from tastytrade import Session
from tastytrade.instruments import (
    Equity,
    NestedOptionChain,
    Option,
    OptionType,
    get_option_chain,
    get_quantity_decimal_precisions,
)
from tastytrade.order import InstrumentType
from tastytrade.utils import TastytradeError

from tastytui.sim.server import SimServer

OCC_RE = re.compile(r"^[A-Z][A-Z0-9 ]{5}\d{6}[CP]\d{8}$")
STREAMER_RE = re.compile(r"^\.[A-Z0-9]+\d{6}[CP]\d+(\.\d+)?$")


def occ_matches_streamer(occ: str, streamer: str) -> bool:
    """Both forms name the same root, expiration, type and strike."""
    root = occ[:6].strip()
    strike = Decimal(int(occ[13:])) / 1000
    expected = f".{root}{occ[6:12]}{occ[12]}{format(strike.normalize(), 'f')}"
    return streamer == expected


async def raw_get(session: Session, path: str, **params: Any) -> Any:
    """The JSON body of a GET through the SDK's own client (to see keys the SDK would fill)."""
    await session.refresh()
    response = await session._client.get(path, params=params or None)
    assert response.status_code == 200, response.text
    return response.json()["data"]


# ------------------------------------------------------------------- equities


async def test_equity_by_symbol(session: Session) -> None:
    spy = await Equity.get(session, "SPY")
    assert spy.symbol == "SPY"
    assert spy.instrument_type is InstrumentType.EQUITY
    assert spy.is_etf and not spy.is_index
    assert spy.streamer_symbol == "SPY"
    assert spy.description == "SPDR S&P 500 ETF Trust"
    assert spy.tick_sizes and spy.tick_sizes[0].value == Decimal("0.01")
    # SPY options trade in pennies at every price.
    assert spy.option_tick_sizes is not None
    assert [t.value for t in spy.option_tick_sizes] == [Decimal("0.01")]


async def test_index_is_an_equity_instrument_flagged_as_index(session: Session) -> None:
    spx = await Equity.get(session, "SPX")
    assert spx.is_index and not spx.is_etf
    assert spx.streamer_symbol == "SPX"
    assert spx.option_tick_sizes is not None
    assert [(t.value, t.threshold) for t in spx.option_tick_sizes] == [
        (Decimal("0.01"), Decimal("3")),
        (Decimal("0.05"), None),
    ]


async def test_slash_symbol_is_routed_whole(session: Session) -> None:
    brk = await Equity.get(session, "BRK/B")
    assert brk.symbol == "BRK/B"
    assert brk.streamer_symbol == "BRK/B"


async def test_equity_list_keeps_request_order_and_drops_unknowns(session: Session) -> None:
    found = await Equity.get(session, ["SPY", "AAPL", "NOPE", "SPY"])
    assert [e.symbol for e in found] == ["SPY", "AAPL"]


async def test_equity_list_filters(session: Session) -> None:
    indices = await Equity.get(session, ["SPY", "SPX", "AAPL"], is_index=True)
    assert [e.symbol for e in indices] == ["SPX"]
    etfs = await Equity.get(session, ["SPY", "SPX", "AAPL", "QQQ"], is_etf=True)
    assert [e.symbol for e in etfs] == ["SPY", "QQQ"]


async def test_active_equities_paginate_over_the_whole_universe(
    sim: SimServer, session: Session
) -> None:
    universe = sim.exchange.market.symbols()
    first_page = await Equity.get_active_equities(session, per_page=5)
    assert len(first_page) == 5
    everything = await Equity.get_active_equities(session, per_page=5, page_offset=None)
    assert [e.symbol for e in everything] == universe


async def test_unknown_equity_is_a_clear_404(session: Session) -> None:
    with pytest.raises(TastytradeError, match=r"record_not_found: equity 'XYZQ' not found"):
        await Equity.get(session, "XYZQ")


# -------------------------------------------------------------------- options


async def test_option_by_occ_matches_the_chain(sim: SimServer, session: Session) -> None:
    [chain] = await NestedOptionChain.get(session, "SPY")
    expiration = chain.expirations[5]
    strike = expiration.strikes[len(expiration.strikes) // 2]
    option = await Option.get(session, strike.put)
    assert option.symbol == strike.put
    assert option.streamer_symbol == strike.put_streamer_symbol
    assert option.option_type is OptionType.PUT
    assert option.strike_price == strike.strike_price
    assert option.expiration_date == expiration.expiration_date
    assert option.underlying_symbol == "SPY" and option.root_symbol == "SPY"
    assert option.days_to_expiration == expiration.days_to_expiration
    assert option.shares_per_contract == 100
    assert option.exercise_style == "American"
    assert option.stops_trading_at.date() == expiration.expiration_date


async def test_spxw_option_keeps_its_root_in_the_streamer_symbol(session: Session) -> None:
    chains = {c.root_symbol: c for c in await NestedOptionChain.get(session, "SPX")}
    weekly = chains["SPXW"].expirations[0].strikes[0]
    option = await Option.get(session, weekly.call)
    # The SDK would derive ".SPX…" from the underlying; the server must send ".SPXW…".
    assert option.streamer_symbol.startswith(".SPXW")
    assert option.streamer_symbol == weekly.call_streamer_symbol
    assert option.exercise_style == "European"


@pytest.mark.parametrize(
    "occ",
    [
        "SPY   261120C00001000",  # a strike that is not listed
        "SPY   261121C00680000",  # a Saturday: no such expiration
        "ZZZZ  261120C00100000",  # an unknown root
        "not-an-option",
    ],
)
async def test_unknown_option_is_a_clear_404(session: Session, occ: str) -> None:
    with pytest.raises(TastytradeError, match=r"record_not_found: equity option .* not found"):
        await Option.get(session, occ)


async def test_option_list_by_symbols(session: Session) -> None:
    [chain] = await NestedOptionChain.get(session, "AAPL")
    strike = chain.expirations[0].strikes[0]
    body = await raw_get(
        session, "/instruments/equity-options", **{"symbol[]": [strike.call, "BOGUS", strike.put]}
    )
    options = [Option(**row) for row in body["items"]]
    assert [o.symbol for o in options] == [strike.call, strike.put]


# --------------------------------------------------------------------- chains


async def test_nested_spy_chain_is_deep_and_consistent(sim: SimServer, session: Session) -> None:
    chains = await NestedOptionChain.get(session, "SPY")
    assert [c.root_symbol for c in chains] == ["SPY"]
    chain = chains[0]
    assert chain.underlying_symbol == "SPY"
    assert chain.shares_per_contract == 100
    assert [t.value for t in chain.tick_sizes] == [Decimal("0.01")]
    assert chain.deliverables and chain.deliverables[0].deliverable_type == "Shares"
    today = sim.exchange.market.today()
    dates = [e.expiration_date for e in chain.expirations]
    assert len(dates) >= 30 and dates == sorted(dates) and dates[0] >= today
    for expiration in chain.expirations:
        assert expiration.days_to_expiration == (expiration.expiration_date - today).days
        assert expiration.settlement_type == "PM"
        assert expiration.expiration_type in ("Regular", "Weekly")
        assert len(expiration.strikes) >= 100
        strikes = [s.strike_price for s in expiration.strikes]
        assert strikes == sorted(strikes)
        for s in expiration.strikes:
            assert OCC_RE.match(s.call) and OCC_RE.match(s.put)
            assert occ_matches_streamer(s.call, s.call_streamer_symbol)
            assert occ_matches_streamer(s.put, s.put_streamer_symbol)
    # Monthlies are the third Fridays.
    regular = [e.expiration_date for e in chain.expirations if e.expiration_type == "Regular"]
    assert date(2026, 12, 18) in regular


async def test_nested_spx_has_separate_am_and_pm_roots(session: Session) -> None:
    chains = await NestedOptionChain.get(session, "SPX")
    assert [c.root_symbol for c in chains] == ["SPX", "SPXW"]
    spx, spxw = chains
    assert all(e.settlement_type == "AM" for e in spx.expirations)
    assert all(e.expiration_type == "Regular" for e in spx.expirations)
    assert all(e.settlement_type == "PM" for e in spxw.expirations)
    assert spx.deliverables and spx.deliverables[0].deliverable_type == "Cash"
    assert all(
        s.call.startswith("SPXW  ") and s.call_streamer_symbol.startswith(".SPXW")
        for e in spxw.expirations
        for s in e.strikes
    )
    # SPX lists the AM-settled monthlies only: third Fridays (a Thursday before a holiday).
    assert all(14 <= e.expiration_date.day <= 21 for e in spx.expirations)
    assert all(e.expiration_date.weekday() in (3, 4) for e in spx.expirations)
    assert len(spxw.expirations) > len(spx.expirations)


async def test_flat_chain_matches_the_nested_chain(session: Session) -> None:
    [nested] = await NestedOptionChain.get(session, "AAPL")
    flat = await get_option_chain(session, "AAPL")
    assert sorted(flat) == [e.expiration_date for e in nested.expirations]
    for expiration in nested.expirations:
        options = flat[expiration.expiration_date]
        assert len(options) == 2 * len(expiration.strikes)
        by_symbol = {o.symbol: o for o in options}
        for s in expiration.strikes:
            assert by_symbol[s.call].streamer_symbol == s.call_streamer_symbol
            assert by_symbol[s.put].streamer_symbol == s.put_streamer_symbol
            assert by_symbol[s.call].option_type is OptionType.CALL
            assert by_symbol[s.call].expiration_type == expiration.expiration_type


async def test_flat_spx_chain_is_complete_and_served_quickly(session: Session) -> None:
    nested = await NestedOptionChain.get(session, "SPX")
    contracts = 2 * sum(len(e.strikes) for c in nested for e in c.expirations)
    started = time.perf_counter()
    body = await raw_get(session, "/option-chains/SPX")
    first = time.perf_counter() - started
    started = time.perf_counter()
    await raw_get(session, "/option-chains/SPX")
    again = time.perf_counter() - started
    assert len(body["items"]) == contracts > 20_000
    # Rendered once per trading day: the second request skips the work.
    assert first < 10.0 and again < first


async def test_unknown_underlying_chains_are_404(session: Session) -> None:
    with pytest.raises(TastytradeError, match=r"underlying 'NOPE' not found"):
        await NestedOptionChain.get(session, "NOPE")
    with pytest.raises(TastytradeError, match=r"underlying 'NOPE' not found"):
        await get_option_chain(session, "NOPE")


async def test_slash_underlying_chain(session: Session) -> None:
    [chain] = await NestedOptionChain.get(session, "BRK/B")
    assert chain.underlying_symbol == "BRK/B" and chain.root_symbol == "BRKB"
    flat = await get_option_chain(session, "BRK/B")
    assert all(o.underlying_symbol == "BRK/B" for group in flat.values() for o in group)


async def test_quantity_precisions(session: Session) -> None:
    precisions = await get_quantity_decimal_precisions(session)
    kinds = {p.instrument_type: p.value for p in precisions}
    assert kinds[InstrumentType.EQUITY] == 0
    assert kinds[InstrumentType.EQUITY_OPTION] == 0


# ------------------------------------------- OCC and streamer symbols everywhere


def assert_both_forms(occ: str, streamer: str) -> None:
    assert OCC_RE.match(occ), occ
    assert STREAMER_RE.match(streamer), streamer
    assert occ_matches_streamer(occ, streamer), (occ, streamer)


@pytest.mark.parametrize(
    ("underlying", "has_fractional_strikes"),
    [("BRK/B", False), ("AAPL", True)],  # BRK/B's root is BRKB; AAPL lists 2.5 strikes
)
async def test_every_option_on_the_wire_carries_occ_and_streamer_symbols(
    session: Session, underlying: str, has_fractional_strikes: bool
) -> None:
    path = underlying.replace("/", "%2F")
    nested = await raw_get(session, f"/option-chains/{path}/nested")
    strikes = [s for c in nested["items"] for e in c["expirations"] for s in e["strikes"]]
    for s in strikes:
        assert_both_forms(s["call"], s["call-streamer-symbol"])
        assert_both_forms(s["put"], s["put-streamer-symbol"])

    flat = await raw_get(session, f"/option-chains/{path}")
    assert len(flat["items"]) == 2 * len(strikes)
    for row in flat["items"]:
        assert_both_forms(row["symbol"], row["streamer-symbol"])

    compact = await raw_get(session, f"/option-chains/{path}/compact")
    for chain in compact["items"]:
        assert len(chain["symbols"]) == len(chain["streamer-symbols"]) > 0
        for occ, streamer in zip(chain["symbols"], chain["streamer-symbols"], strict=True):
            assert_both_forms(occ, streamer)

    fractional = [s["call"] for s in strikes if "." in s["call-streamer-symbol"][1:]]
    assert bool(fractional) == has_fractional_strikes
    sample = fractional[0] if fractional else strikes[len(strikes) // 2]["call"]
    one = await raw_get(session, f"/instruments/equity-options/{sample}")
    assert_both_forms(one["symbol"], one["streamer-symbol"])
    listed = await raw_get(session, "/instruments/equity-options", **{"symbol[]": [sample]})
    assert_both_forms(listed["items"][0]["symbol"], listed["items"][0]["streamer-symbol"])

    quotes = await raw_get(session, "/market-data/by-type", **{"equity-option": [sample]})
    assert_both_forms(quotes["items"][0]["symbol"], quotes["items"][0]["streamer-symbol"])
    single = await raw_get(session, f"/market-data/Equity Option/{sample}")
    assert_both_forms(single["symbol"], single["streamer-symbol"])
