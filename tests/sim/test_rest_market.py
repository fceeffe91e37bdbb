"""Market data, metrics, corporate events, market time and symbol search through the SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from tastytrade import Session
from tastytrade.instruments import NestedOptionChain
from tastytrade.market_data import ClosePriceType, get_market_data, get_market_data_by_type
from tastytrade.market_sessions import (
    ExchangeType,
    MarketStatus,
    get_market_holidays,
    get_market_sessions,
)
from tastytrade.metrics import get_dividends, get_earnings, get_market_metrics
from tastytrade.order import InstrumentType
from tastytrade.search import symbol_search
from tastytrade.utils import TastytradeError

from tastytui.domain.clock import NEW_YORK, OffsetClock
from tastytui.sim.config import MarketHours
from tastytui.sim.server import SimServer
from tests.conftest import SimFactory, sdk_session


@pytest.fixture
async def frozen(make_sim: SimFactory) -> AsyncIterator[tuple[SimServer, Session]]:
    """A simulator whose tape does not move, so REST values can be compared exactly."""
    sim = await make_sim(live_tape=False)
    async with sdk_session(sim) as session:
        yield sim, session


async def nyse_session(make_sim: SimFactory, at: datetime) -> Session:
    sim = await make_sim(market_hours=MarketHours.NYSE, clock=OffsetClock(at), live_tape=False)
    return sdk_session(sim)


async def option_pair(session: Session, symbol: str = "SPY") -> tuple[str, str]:
    """A near-the-money call and put from the second expiration."""
    [chain] = await NestedOptionChain.get(session, symbol)
    strikes = chain.expirations[1].strikes
    middle = strikes[len(strikes) // 2]
    return middle.call, middle.put


# ---------------------------------------------------------------- market data


async def test_equity_market_data_matches_the_tape(
    frozen: tuple[SimServer, Session],
) -> None:
    sim, session = frozen
    quote = sim.exchange.market.equity_quote("AAPL")
    data = await get_market_data(session, "AAPL", InstrumentType.EQUITY)
    assert data.symbol == "AAPL" and data.instrument_type is InstrumentType.EQUITY
    assert data.bid == Decimal(str(quote.bid)) and data.ask == Decimal(str(quote.ask))
    assert data.bid is not None and data.ask is not None and data.mid is not None
    assert data.bid <= data.mid <= data.ask
    assert data.day_low is not None and data.day_high is not None and data.last is not None
    assert data.day_low <= data.last <= data.day_high
    assert data.prev_close == Decimal(str(quote.prev_close))
    assert data.prev_close_date < data.summary_date == sim.exchange.market.today()
    assert data.close_price_type is ClosePriceType.UNKNOWN  # the session is still running
    assert data.year_low_price is not None and data.year_high_price is not None
    assert data.year_low_price <= data.day_low and data.day_high <= data.year_high_price
    assert data.volume is not None and data.volume > 0
    assert data.dividend_amount is not None and data.dividend_amount > 0


async def test_market_data_for_slash_symbol_and_index(session: Session) -> None:
    brk = await get_market_data(session, "BRK/B", InstrumentType.EQUITY)
    assert brk.symbol == "BRK/B"
    spx = await get_market_data(session, "SPX", InstrumentType.INDEX)
    assert spx.instrument_type is InstrumentType.INDEX
    assert spx.bid == spx.ask  # an index has a value, not a market


async def test_option_market_data_is_a_sane_market(session: Session) -> None:
    call, put = await option_pair(session)
    for symbol in (call, put):
        data = await get_market_data(session, symbol, InstrumentType.EQUITY_OPTION)
        assert data.symbol == symbol
        assert data.instrument_type is InstrumentType.EQUITY_OPTION
        assert data.bid is not None and data.ask is not None and data.mid is not None
        assert Decimal(0) <= data.bid <= data.mid <= data.ask
        assert data.bid < data.ask
        assert data.open_interest is not None and data.open_interest > 0


async def test_option_greeks_on_the_wire_have_the_right_signs(session: Session) -> None:
    call, put = await option_pair(session)
    await session.refresh()
    response = await session._client.get(
        "/market-data/by-type", params={"equity-option": [call, put]}
    )
    rows = {row["symbol"]: row for row in response.json()["data"]["items"]}
    assert 0 < float(rows[call]["delta"]) < 1
    assert -1 < float(rows[put]["delta"]) < 0
    for row in rows.values():
        assert float(row["gamma"]) > 0 and float(row["vega"]) > 0
        assert 0 < float(row["volatility"]) < 2
        assert float(row["bid"]) <= float(row["theo-price"]) <= float(row["ask"]) + 0.01


async def test_call_marks_fall_and_put_marks_rise_with_the_strike(session: Session) -> None:
    [chain] = await NestedOptionChain.get(session, "SPY")
    strikes = chain.expirations[4].strikes[::10]
    rows = await get_market_data_by_type(
        session, options=[s.call for s in strikes] + [s.put for s in strikes]
    )
    marks = {r.symbol: r.mark for r in rows}
    calls = [marks[s.call] for s in strikes]
    puts = [marks[s.put] for s in strikes]
    assert all(c is not None for c in calls) and all(p is not None for p in puts)
    assert calls == sorted(calls, reverse=True)  # type: ignore[type-var]
    assert puts == sorted(puts)  # type: ignore[type-var]


async def test_market_data_by_type_mixes_types_and_skips_unknowns(session: Session) -> None:
    call, _ = await option_pair(session, "AAPL")
    rows = await get_market_data_by_type(
        session, equities=["SPY", "NOPE", "BRK/B"], indices=["SPX"], options=[call, "BOGUS"]
    )
    assert [(r.symbol, r.instrument_type) for r in rows] == [
        ("SPY", InstrumentType.EQUITY),
        ("BRK/B", InstrumentType.EQUITY),
        ("SPX", InstrumentType.INDEX),
        (call, InstrumentType.EQUITY_OPTION),
    ]


async def test_market_data_by_type_refuses_more_than_100_symbols(session: Session) -> None:
    [chain] = await NestedOptionChain.get(session, "SPY")
    options = [s.call for s in chain.expirations[0].strikes][:99]
    assert len(await get_market_data_by_type(session, equities=["SPY"], options=options)) == 100
    with pytest.raises(TastytradeError, match=r"too_many_symbols: too many symbols: 101"):
        await get_market_data_by_type(session, equities=["SPY", "QQQ"], options=options)


async def test_unknown_market_data_is_a_clear_404(session: Session) -> None:
    with pytest.raises(TastytradeError, match=r"record_not_found: .*'NOPE' not found"):
        await get_market_data(session, "NOPE", InstrumentType.EQUITY)
    with pytest.raises(TastytradeError, match=r"record_not_found: .*Future.* not found"):
        await get_market_data(session, "/ESZ6", InstrumentType.FUTURE)


async def test_close_is_final_after_the_bell(make_sim: SimFactory) -> None:
    evening = datetime(2026, 11, 18, 22, 0, tzinfo=UTC)  # 17:00 in New York
    async with await nyse_session(make_sim, evening) as session:
        data = await get_market_data(session, "SPY", InstrumentType.EQUITY)
    assert data.close_price_type is ClosePriceType.FINAL
    assert data.close is not None and data.close == data.last


# -------------------------------------------------------------------- metrics


async def test_metrics_rank_and_percentile_are_fractions(
    frozen: tuple[SimServer, Session],
) -> None:
    sim, session = frozen
    infos = {m.symbol: m for m in await get_market_metrics(session, ["SPY", "AAPL", "SPX"])}
    assert set(infos) == {"SPY", "AAPL", "SPX"}
    for symbol, info in infos.items():
        model = sim.exchange.market.metrics(symbol)
        assert info.implied_volatility_index_rank is not None
        assert info.implied_volatility_percentile is not None
        rank = Decimal(info.implied_volatility_index_rank)
        assert Decimal(0) <= rank <= Decimal(1)
        assert abs(float(rank) - model.iv_rank) < 1e-4
        assert 0 <= float(info.implied_volatility_percentile) <= 1
        assert info.tw_implied_volatility_index_rank == rank
        assert info.tos_implied_volatility_index_rank == rank
        # IV index is a fraction too; the 30-day IV and HV figures are in percent.
        assert info.implied_volatility_index is not None
        assert info.implied_volatility_30_day is not None
        assert info.historical_volatility_30_day is not None
        assert info.iv_hv_30_day_difference is not None
        assert 0 < info.implied_volatility_index < 2
        assert abs(info.implied_volatility_30_day - 100 * info.implied_volatility_index) < 1
        assert 1 < info.historical_volatility_30_day < 200
        assert info.iv_hv_30_day_difference == (
            info.implied_volatility_30_day - info.historical_volatility_30_day
        )
        assert info.liquidity_rating == model.liquidity_rating
        ivs = info.option_expiration_implied_volatilities
        assert ivs is not None
        assert len(ivs) == len(sim.exchange.market.chain(symbol).expirations)


async def test_metrics_earnings_and_dividends(frozen: tuple[SimServer, Session]) -> None:
    sim, session = frozen
    aapl, spy = await get_market_metrics(session, ["AAPL", "SPY"])
    assert aapl.earnings is not None and aapl.earnings.visible
    expected = sim.exchange.market.earnings_date(sim.exchange.market.spec("AAPL"))  # type: ignore[arg-type]
    assert aapl.earnings.expected_report_date == expected
    assert aapl.earnings.time_of_day in ("AMC", "BTO")
    assert aapl.market_cap > 1_000_000_000_000
    assert aapl.price_earnings_ratio is not None and aapl.price_earnings_ratio > 0
    assert spy.earnings is None  # an ETF reports no earnings
    assert spy.dividend_yield == Decimal("0.012")
    assert spy.dividend_ex_date is not None and spy.dividend_next_date is not None
    assert spy.dividend_ex_date <= sim.exchange.market.today() < spy.dividend_next_date


async def test_metrics_skip_unknown_symbols(session: Session) -> None:
    infos = await get_market_metrics(session, ["NOPE", "BRK/B"])
    assert [m.symbol for m in infos] == ["BRK/B"]


async def test_dividend_history_is_deterministic(make_sim: SimFactory) -> None:
    histories = []
    for _ in range(2):
        sim = await make_sim(live_tape=False)
        async with sdk_session(sim) as session:
            histories.append(await get_dividends(session, "AAPL"))
    first, second = histories
    assert first == second
    dates = [d.occurred_date for d in first]
    assert len(dates) == 12 and dates == sorted(dates, reverse=True)
    assert all(d.amount > 0 for d in first)
    assert first[0].amount >= first[-1].amount  # dividends grow over the years


async def test_dividends_of_non_payers_and_unknowns(session: Session) -> None:
    assert await get_dividends(session, "SPX") == []
    assert len(await get_dividends(session, "BRK/B")) == 0
    with pytest.raises(TastytradeError, match=r"symbol 'NOPE' not found"):
        await get_dividends(session, "NOPE")


async def test_earnings_history_respects_start_date(session: Session) -> None:
    start = date(2026, 1, 1)
    reports = await get_earnings(session, "AAPL", start)
    dates = [r.occurred_date for r in reports]
    assert dates and dates == sorted(dates)
    assert all(start <= d < date(2026, 11, 18) for d in dates)
    everything = await get_earnings(session, "AAPL", date(2000, 1, 1))
    assert len(everything) > len(reports)
    assert await get_earnings(session, "SPY", date(2000, 1, 1)) == []


# --------------------------------------------------------------- market time


async def test_market_sessions_in_always_open_mode(session: Session) -> None:
    [equity] = await get_market_sessions(session, [ExchangeType.NYSE])
    assert equity.instrument_collection == "Equity"
    assert equity.status is MarketStatus.OPEN
    assert equity.open_at is not None and equity.close_at is not None
    assert equity.open_at.astimezone(NEW_YORK).time() == time(9, 30)
    assert equity.close_at.astimezone(NEW_YORK).time() == time(16, 0)
    assert equity.open_at.astimezone(NEW_YORK).date() == date(2026, 11, 18)
    assert equity.next_session is not None and equity.previous_session is not None
    assert equity.next_session.session_date == date(2026, 11, 19)
    assert equity.previous_session.session_date == date(2026, 11, 17)


@pytest.mark.parametrize(
    ("at", "status"),
    [
        (datetime(2026, 11, 18, 12, 0, tzinfo=UTC), MarketStatus.PRE_MARKET),
        (datetime(2026, 11, 18, 16, 0, tzinfo=UTC), MarketStatus.OPEN),
        (datetime(2026, 11, 18, 23, 0, tzinfo=UTC), MarketStatus.EXTENDED),
        (datetime(2026, 11, 21, 16, 0, tzinfo=UTC), MarketStatus.CLOSED),  # a Saturday
    ],
)
async def test_market_sessions_follow_the_nyse_calendar(
    make_sim: SimFactory, at: datetime, status: MarketStatus
) -> None:
    async with await nyse_session(make_sim, at) as session:
        sessions = await get_market_sessions(session, [ExchangeType.NYSE, ExchangeType.CME])
    equity, cme = sessions
    assert equity.status is status
    assert cme.instrument_collection == "CME" and cme.status is MarketStatus.CLOSED
    assert equity.next_session is not None
    assert equity.next_session.session_date > at.astimezone(NEW_YORK).date()
    if status is MarketStatus.CLOSED:
        assert equity.open_at is None  # no session on a weekend
        assert equity.next_session.session_date == date(2026, 11, 23)


async def test_half_day_closes_early(make_sim: SimFactory) -> None:
    black_friday = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    async with await nyse_session(make_sim, black_friday) as session:
        [equity] = await get_market_sessions(session, [ExchangeType.NYSE])
    assert equity.status is MarketStatus.OPEN
    assert equity.close_at is not None and equity.close_at_ext is not None
    assert equity.close_at.astimezone(NEW_YORK).time() == time(13, 0)
    assert equity.close_at_ext.astimezone(NEW_YORK).time() == time(17, 0)


async def test_market_holidays(session: Session) -> None:
    calendar = await get_market_holidays(session)
    assert date(2026, 11, 26) in calendar.holidays  # Thanksgiving
    assert date(2026, 12, 25) in calendar.holidays
    assert date(2026, 11, 27) in calendar.half_days
    assert all(d.weekday() < 5 for d in calendar.holidays + calendar.half_days)
    assert not set(calendar.holidays) & set(calendar.half_days)


# -------------------------------------------------------------------- search


async def test_symbol_search_prefix_then_description(session: Session) -> None:
    await session.refresh()  # symbol_search never refreshes the token itself
    found = await symbol_search(session, "ap")
    assert found[0].symbol == "AAPL" and found[0].description == "Apple Inc."
    by_text = [r.symbol for r in await symbol_search(session, "s&p")]
    assert set(by_text) == {"SPY", "SPX"}
    mixed = [r.symbol for r in await symbol_search(session, "a")]
    prefixed = [s for s in mixed if s.startswith("A")]
    assert mixed[: len(prefixed)] == prefixed == sorted(prefixed)  # prefix matches first


async def test_symbol_search_slash_cap_and_misses(session: Session) -> None:
    await session.refresh()
    assert [r.symbol for r in await symbol_search(session, "BRK/B")] == ["BRK/B"]
    assert len(await symbol_search(session, "e")) == 20
    assert await symbol_search(session, "ZZZZ") == []
