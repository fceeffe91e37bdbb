"""Wire JSON for instruments, chains, market data, metrics and market sessions (protocol §2.3).

Builders are pure functions of the market model's state, so every endpoint that shows an
instrument renders it the same way.  Two rules hold everywhere an option appears: it carries
both its OCC symbol and its dxfeed streamer symbol (the SDK's derivation is wrong for SPXW and
for two-decimal strikes), and every number that the SDK types as ``Decimal`` is sent as a string.

Units follow production: ``implied-volatility-index`` and every IV rank and percentile are
fractions (``"0.4649"`` is 46.49 %), while ``implied-volatility-30-day``,
``historical-volatility-*`` and ``iv-hv-30-day-difference`` are already in percent.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from tastytui.domain.chain import ChainExpiration, OptionChain
from tastytui.domain.clock import NEW_YORK
from tastytui.domain.symbols import OptionSymbol
from tastytui.domain.ticks import STOCK
from tastytui.sim.calendar import (
    PRE_MARKET_START,
    REGULAR_CLOSE,
    REGULAR_OPEN,
    TradingCalendar,
)
from tastytui.sim.market import EquityQuote, MarketModel, Metrics, OptionQuote
from tastytui.sim.universe import Kind, UnderlyingSpec
from tastytui.sim.wire import JSON, day, dec, iso

EQUITY = "Equity"
EQUITY_OPTION = "Equity Option"
INDEX = "Index"
#: The only market-time collection the simulator runs (futures collections are always closed).
EQUITY_COLLECTION = "Equity"
SHARES_PER_CONTRACT = 100
_QUARTER_DAYS = 91
_HISTORY_QUARTERS = 12


def unit(text: str) -> float:
    """A stable pseudo-uniform number in [0, 1) from a string (same seedless hash as market)."""
    return zlib.crc32(text.encode()) / 4_294_967_296.0


def _price(value: float) -> str:
    return dec(round(value, 2), 2)


# ----------------------------------------------------------------- instruments


def lendability(spec: UnderlyingSpec) -> str:
    """Production's lendability label; thin names and indices need a locate."""
    return "Locate Required" if spec.is_index or spec.liquidity <= 1 else "Easy To Borrow"


def equity_json(spec: UnderlyingSpec, equity_id: int) -> JSON:
    """An ``Equity`` instrument; indices are Equity instruments with ``is-index`` true."""
    return {
        "id": equity_id,
        "symbol": spec.symbol,
        "instrument-type": EQUITY,
        "short-description": spec.description[:32],
        "description": spec.description,
        "is-index": spec.is_index,
        "lendability": lendability(spec),
        "borrow-rate": "0.0" if spec.liquidity > 1 else "12.5",
        "market-time-instrument-collection": EQUITY_COLLECTION,
        "is-closing-only": False,
        "is-options-closing-only": False,
        "active": True,
        "is-fractional-quantity-eligible": not spec.is_index,
        "is-illiquid": spec.liquidity <= 1,
        "is-etf": spec.kind is Kind.ETF,
        "streamer-symbol": spec.streamer_symbol,
        "tick-sizes": STOCK.to_wire(),
        "option-tick-sizes": spec.option_ticks.to_wire(),
    }


@dataclass(frozen=True, slots=True)
class ExpirationFacts:
    """What every contract of one expiration shares (computed once per expiration)."""

    expiration: ChainExpiration
    underlying: str
    exercise_style: str
    days_to_expiration: int
    stops_trading_at: str


def expiration_facts(
    market: MarketModel, spec: UnderlyingSpec, expiration: ChainExpiration
) -> ExpirationFacts:
    """The shared facts of an expiration; trading stops when the market model expires it."""
    first = expiration.strikes[0].call if expiration.strikes else None
    stops = (
        iso(market.expiry_instant(first))
        if first is not None
        else iso(datetime.combine(expiration.expiration, REGULAR_CLOSE, NEW_YORK))
    )
    return ExpirationFacts(
        expiration=expiration,
        underlying=spec.symbol,
        exercise_style="European" if spec.is_index else "American",
        days_to_expiration=expiration.dte(market.today()),
        stops_trading_at=stops,
    )


def option_json(option: OptionSymbol, facts: ExpirationFacts) -> JSON:
    """An ``Option`` instrument, always with ``streamer-symbol``."""
    expiration = facts.expiration
    return {
        "symbol": option.occ,
        "instrument-type": EQUITY_OPTION,
        "active": True,
        "strike-price": dec(option.strike),
        "root-symbol": option.root,
        "underlying-symbol": facts.underlying,
        "expiration-date": day(option.expiration),
        "exercise-style": facts.exercise_style,
        "shares-per-contract": SHARES_PER_CONTRACT,
        "option-type": option.option_type.value,
        "option-chain-type": "Standard",
        "expiration-type": expiration.expiration_type,
        "settlement-type": expiration.settlement,
        "stops-trading-at": facts.stops_trading_at,
        "expires-at": facts.stops_trading_at,
        "market-time-instrument-collection": EQUITY_COLLECTION,
        "days-to-expiration": facts.days_to_expiration,
        "is-closing-only": False,
        "streamer-symbol": option.streamer,
    }


def chain_options_json(market: MarketModel, spec: UnderlyingSpec) -> list[JSON]:
    """Every listed contract of an underlying, by expiration, strike, then call before put."""
    rows: list[JSON] = []
    for expiration in market.chain(spec.symbol).expirations:
        facts = expiration_facts(market, spec, expiration)
        for strike in expiration.strikes:
            rows.append(option_json(strike.call, facts))
            rows.append(option_json(strike.put, facts))
    return rows


def deliverables_json(spec: UnderlyingSpec, root: str) -> list[JSON]:
    """What one contract delivers: 100 shares, or cash for an index."""
    deliverable_id = zlib.crc32(f"deliverable:{root}".encode()) % 1_000_000
    if spec.is_index:
        return [
            {
                "id": deliverable_id,
                "root-symbol": root,
                "deliverable-type": "Cash",
                "description": "Cash",
                "amount": "100.0",
                "percent": "100",
            }
        ]
    return [
        {
            "id": deliverable_id,
            "root-symbol": root,
            "deliverable-type": "Shares",
            "description": f"{SHARES_PER_CONTRACT} shares of {spec.symbol}",
            "amount": str(SHARES_PER_CONTRACT),
            "symbol": spec.symbol,
            "instrument-type": EQUITY,
            "percent": "100",
        }
    ]


def _by_root(spec: UnderlyingSpec, chain: OptionChain) -> dict[str, list[ChainExpiration]]:
    """Expirations per root, roots in the spec's order (SPX before SPXW), dates ascending."""
    roots: dict[str, list[ChainExpiration]] = {root: [] for root in spec.option_roots}
    for expiration in chain.expirations:  # already sorted by (date, root)
        roots.setdefault(expiration.root, []).append(expiration)
    return {root: expirations for root, expirations in roots.items() if expirations}


def nested_chains_json(market: MarketModel, spec: UnderlyingSpec) -> list[JSON]:
    """One ``NestedOptionChain`` per root (SPX monthlies and SPXW weeklies are separate)."""
    today = market.today()
    out: list[JSON] = []
    for root, expirations in _by_root(spec, market.chain(spec.symbol)).items():
        out.append(
            {
                "underlying-symbol": spec.symbol,
                "root-symbol": root,
                "option-chain-type": "Standard",
                "shares-per-contract": SHARES_PER_CONTRACT,
                "tick-sizes": spec.option_ticks.to_wire(),
                "deliverables": deliverables_json(spec, root),
                "expirations": [
                    {
                        "expiration-type": e.expiration_type,
                        "expiration-date": day(e.expiration),
                        "days-to-expiration": e.dte(today),
                        "settlement-type": e.settlement,
                        "strikes": [
                            {
                                "strike-price": dec(s.strike),
                                "call": s.call.occ,
                                "call-streamer-symbol": s.call.streamer,
                                "put": s.put.occ,
                                "put-streamer-symbol": s.put.streamer,
                            }
                            for s in e.strikes
                        ],
                    }
                    for e in expirations
                ],
            }
        )
    return out


def compact_chains_json(market: MarketModel, spec: UnderlyingSpec) -> list[JSON]:
    """Production's compact chain: per root, parallel lists of OCC and streamer symbols."""
    out: list[JSON] = []
    for root, expirations in _by_root(spec, market.chain(spec.symbol)).items():
        occ: list[str] = []
        streamer: list[str] = []
        for expiration in expirations:
            for strike in expiration.strikes:
                for option in (strike.call, strike.put):
                    occ.append(option.occ)
                    streamer.append(option.streamer)
        out.append(
            {
                "underlying-symbol": spec.symbol,
                "root-symbol": root,
                "option-chain-type": "Standard",
                "settlement-type": expirations[0].settlement,
                "shares-per-contract": SHARES_PER_CONTRACT,
                "expiration-type": "Regular"
                if all(e.is_monthly for e in expirations)
                else "Weekly",
                "deliverables": deliverables_json(spec, root),
                "symbols": occ,
                "streamer-symbols": streamer,
            }
        )
    return out


# ----------------------------------------------------------------- market data


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """The dates and close-price state every market-data row of one request shares."""

    now: datetime
    summary_date: date
    prev_close_date: date
    closed: bool  # today's regular session is over: ``close`` is final

    @property
    def close_price_type(self) -> str:
        return "Final" if self.closed else "Unknown"


def _limit_prices(prev_close: float) -> JSON:
    # LULD-style bands: ±10 % around the previous close.
    return {
        "low-limit-price": _price(prev_close * 0.9),
        "high-limit-price": _price(prev_close * 1.1),
    }


def equity_market_data_json(
    spec: UnderlyingSpec,
    quote: EquityQuote,
    facts: SessionFacts,
    year_range: tuple[float, float],
    dividend: Decimal | None,
) -> JSON:
    """``MarketData`` of an equity, ETF or index."""
    mid = (Decimal(_price(quote.bid)) + Decimal(_price(quote.ask))) / 2
    row: JSON = {
        "symbol": spec.symbol,
        "instrument-type": INDEX if spec.is_index else EQUITY,
        "updated-at": iso(facts.now),
        "bid": _price(quote.bid),
        "ask": _price(quote.ask),
        "bid-size": "0" if spec.is_index else dec(quote.bid_size),
        "ask-size": "0" if spec.is_index else dec(quote.ask_size),
        "mid": dec(mid),
        "mark": dec(mid),
        "last": _price(quote.last),
        "last-mkt": _price(quote.last),
        "beta": dec(round(spec.beta, 4)),
        "open": _price(quote.day_open),
        "day-open": _price(quote.day_open),
        "day-high": _price(quote.day_high),
        "day-low": _price(quote.day_low),
        "day-high-price": _price(quote.day_high),
        "day-low-price": _price(quote.day_low),
        "close-price-type": facts.close_price_type,
        "prev-close": _price(quote.prev_close),
        "prev-day-close": _price(quote.prev_close),
        "prev-close-price-type": "Final",
        "summary-date": day(facts.summary_date),
        "prev-close-date": day(facts.prev_close_date),
        "is-trading-halted": False,
        "trading-halted": False,
        "halt-start-time": -1,
        "halt-end-time": -1,
        "year-low-price": _price(min(year_range[0], quote.day_low)),
        "year-high-price": _price(max(year_range[1], quote.day_high)),
        "volume": dec(quote.volume),
    }
    if facts.closed:
        row["close"] = _price(quote.last)
        row["day-close"] = _price(quote.last)
    if not spec.is_index:
        row.update(_limit_prices(quote.prev_close))
    if dividend is not None:
        row["dividend-amount"] = dec(dividend)
        row["dividend-frequency"] = "4.0"
    return row


def option_market_data_json(
    option: OptionSymbol, underlying: str, quote: OptionQuote, tick: Decimal, facts: SessionFacts
) -> JSON:
    """``MarketData`` of an equity option, with production's extra greeks and both symbols."""
    bid, ask = Decimal(_price(quote.bid)), Decimal(_price(quote.ask))
    mid = (bid + ask) / 2
    # The last trade sits inside the market: the theoretical value clamped to the quote.
    last = min(max(Decimal(_price(quote.theo)), bid), ask)
    row: JSON = {
        "symbol": option.occ,
        "streamer-symbol": option.streamer,
        "underlying-symbol": underlying,
        "instrument-type": EQUITY_OPTION,
        "updated-at": iso(facts.now),
        "bid": dec(bid),
        "ask": dec(ask),
        "bid-size": dec(quote.bid_size),
        "ask-size": dec(quote.ask_size),
        "mid": dec(mid),
        "mark": dec(mid),
        "last": dec(last),
        "last-mkt": dec(last),
        "close-price-type": "Regular" if facts.closed else "Unknown",
        "prev-close": _price(quote.prev_close),
        "prev-day-close": _price(quote.prev_close),
        "prev-close-price-type": "Regular",
        "summary-date": day(facts.summary_date),
        "prev-close-date": day(facts.prev_close_date),
        "is-trading-halted": False,
        "trading-halted": False,
        "halt-start-time": -1,
        "halt-end-time": -1,
        "volume": dec(quote.volume),
        "open-interest": dec(quote.open_interest),
        "volatility": dec(round(quote.iv, 6)),
        "delta": dec(round(quote.delta, 6)),
        "gamma": dec(round(quote.gamma, 6)),
        "theta": dec(round(quote.theta, 6)),
        "rho": dec(round(quote.rho, 6)),
        "vega": dec(round(quote.vega, 6)),
        "theo-price": dec(round(quote.theo, 6)),
        "tick-size": dec(tick),
    }
    if facts.closed:
        row["close"] = dec(last)
    return row


# ----------------------------------------------------------- corporate events


def _weekday_on_or_before(when: date) -> date:
    while when.weekday() >= 5:
        when -= timedelta(days=1)
    return when


def dividend_history(spec: UnderlyingSpec, today: date) -> list[tuple[date, Decimal]]:
    """Past quarterly ex-dates and amounts, newest first (production's order); [] if none."""
    if spec.dividend_yield <= 0:
        return []
    out: list[tuple[date, Decimal]] = []
    for ex_date in _ex_dates(spec, today, past=True):
        years_back = (today - ex_date).days // 365
        # Companies raise dividends about yearly: older payments are smaller.
        amount = spec.price * spec.dividend_yield / 4.0 / (1.06**years_back)
        out.append((ex_date, Decimal(str(round(amount, 4)))))
    return out


def next_dividend_date(spec: UnderlyingSpec, today: date) -> date | None:
    """The next ex-date after ``today``; None for a symbol that pays no dividend."""
    if spec.dividend_yield <= 0:
        return None
    return next(iter(_ex_dates(spec, today, past=False)))


def _ex_dates(spec: UnderlyingSpec, today: date, *, past: bool) -> list[date]:
    """Quarterly ex-dates on a symbol-specific month and day: the 12 before, or 1 after, today."""
    offset = zlib.crc32(spec.symbol.encode()) % 3
    dom = 3 + zlib.crc32(f"{spec.symbol}:dom".encode()) % 20
    dates: list[date] = []
    year = today.year + 1
    month = 12
    while len(dates) < (_HISTORY_QUARTERS + 8):
        if (month - 1) % 3 == offset:
            dates.append(_weekday_on_or_before(date(year, month, dom)))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    if past:
        return [d for d in dates if d <= today][:_HISTORY_QUARTERS]
    return sorted(d for d in dates if d > today)[:1]


def earnings_history(
    spec: UnderlyingSpec, next_report: date | None, today: date
) -> list[tuple[date, Decimal]]:
    """Quarterly reported EPS before ``today``, oldest first (production's order)."""
    if next_report is None:
        return []
    base = _quarterly_eps(spec)
    out: list[tuple[date, Decimal]] = []
    for k in range(_HISTORY_QUARTERS + 4, -1, -1):
        when = _weekday_on_or_before(next_report - timedelta(days=_QUARTER_DAYS * k))
        if when >= today:
            continue
        growth = 1.02 ** (-k)
        noise = 0.85 + 0.3 * unit(f"{spec.symbol}:eps:{when}")
        out.append((when, Decimal(str(round(base * growth * noise, 2)))))
    return out[-_HISTORY_QUARTERS:]


def next_earnings_date(market: MarketModel, spec: UnderlyingSpec) -> date | None:
    """The next report on or after today (a quarter on if the seeded date has passed)."""
    first = market.earnings_date(spec)
    if first is None:
        return None
    today = market.today()
    when = first
    while when < today:
        when = _weekday_on_or_before(when + timedelta(days=_QUARTER_DAYS))
    return when


def _quarterly_eps(spec: UnderlyingSpec) -> float:
    pe = 15.0 + 30.0 * unit(f"{spec.symbol}:pe")
    return spec.price / pe / 4.0


# -------------------------------------------------------------------- metrics


def metrics_json(market: MarketModel, spec: UnderlyingSpec, now: datetime) -> JSON:
    """``MarketMetricInfo``: IV index, rank and percentile as fractions, HV in percent."""
    m: Metrics = market.metrics(spec.symbol)
    today = market.today()
    # Rounded first, so the difference is exactly what the two fields show.
    iv30_pct = Decimal(dec(round(m.iv_index * 100.0, 2), 2))
    hv30_pct = Decimal(dec(round(m.hv30 * 100.0, 2), 2))
    rank = dec(round(m.iv_rank, 4), 4)
    stamp = iso(now)
    row: JSON = {
        "symbol": spec.symbol,
        "implied-volatility-index": dec(round(m.iv_index, 6)),
        "implied-volatility-index-5-day-change": dec(round(m.iv_index_5d_change, 6)),
        "implied-volatility-index-rank": rank,
        "tos-implied-volatility-index-rank": rank,
        "tw-implied-volatility-index-rank": rank,
        "tos-implied-volatility-index-rank-updated-at": stamp,
        "implied-volatility-index-rank-source": "tos",
        "implied-volatility-percentile": dec(round(m.iv_percentile, 4), 4),
        "implied-volatility-updated-at": stamp,
        "liquidity-rating": m.liquidity_rating,
        "liquidity-rank": dec(round(m.liquidity_rating / 5.0, 4)),
        "liquidity-value": dec(round(spec.market_cap_billions * 250.0 * m.liquidity_rating, 2)),
        "updated-at": stamp,
        "option-expiration-implied-volatilities": [
            {
                "expiration-date": day(when),
                "settlement-type": settlement,
                "option-chain-type": "Standard",
                "implied-volatility": dec(round(iv, 6)),
            }
            for when, settlement, iv in m.expiration_ivs
        ],
        "beta": dec(round(m.beta, 4)),
        "beta-updated-at": stamp,
        "corr-spy-3month": dec(round(m.corr_spy, 2)),
        "market-cap": dec(int(m.market_cap)),
        "implied-volatility-30-day": dec(iv30_pct),
        "historical-volatility-30-day": dec(hv30_pct),
        "historical-volatility-60-day": dec(round(m.hv60 * 100.0, 2), 2),
        "historical-volatility-90-day": dec(round(m.hv90 * 100.0, 2), 2),
        "iv-hv-30-day-difference": dec(iv30_pct - hv30_pct),
        "lendability": lendability(spec),
        "borrow-rate": "0.0" if spec.liquidity > 1 else "12.5",
        "dividend-yield": dec(round(m.dividend_yield, 6)),
    }
    dividends = dividend_history(spec, today)
    if dividends:
        last_ex, last_amount = dividends[0]
        next_ex = next_dividend_date(spec, today)
        row["dividend-rate-per-share"] = dec(last_amount)
        row["annual-dividend-per-share"] = dec(last_amount * 4)
        row["dividend-ex-date"] = day(last_ex)
        row["dividend-pay-date"] = day(last_ex + timedelta(days=14))
        if next_ex is not None:
            row["dividend-next-date"] = day(next_ex)
        row["dividend-updated-at"] = stamp
    next_report = next_earnings_date(market, spec)
    if next_report is not None:
        history = earnings_history(spec, next_report, today)
        ttm = sum((eps for _, eps in history[-4:]), Decimal(0))
        row["earnings-per-share"] = dec(ttm)
        if ttm > 0:
            row["price-earnings-ratio"] = dec(round(market.spot(spec.symbol) / float(ttm), 4))
        row["earnings"] = earnings_report_json(spec, next_report, history, stamp)
    return row


def earnings_report_json(
    spec: UnderlyingSpec, next_report: date, history: list[tuple[date, Decimal]], stamp: str
) -> JSON:
    """The ``earnings`` block of the metrics: the next report and the last actual EPS."""
    quarter_end = date(next_report.year, next_report.month, 1) - timedelta(days=1)
    report: JSON = {
        "visible": True,
        "estimated": False,
        "late-flag": 0,
        "expected-report-date": day(next_report),
        "quarter-end-date": day(quarter_end),
        "time-of-day": "AMC" if zlib.crc32(spec.symbol.encode()) % 2 else "BTO",
        "updated-at": stamp,
        "consensus-estimate": dec(round(Decimal(str(_quarterly_eps(spec))), 2)),
    }
    if history:
        report["actual-eps"] = dec(history[-1][1])
    return report


# -------------------------------------------------------------- market time


def _at(when: date, moment: time) -> datetime:
    return datetime.combine(when, moment, NEW_YORK)


def _session_times(calendar: TradingCalendar, when: date, always: bool) -> JSON | None:
    session = calendar.session(when)
    if session is None:
        if not always:
            return None
        # "Always open" mode trades every day on the regular timetable.
        session = (_at(when, REGULAR_OPEN).astimezone(UTC), _at(when, REGULAR_CLOSE))
    open_at, close_at = session
    return {
        "start-at": iso(_at(when, PRE_MARKET_START)),
        "open-at": iso(open_at),
        "close-at": iso(close_at),
        # Extended hours run four hours past the close (to 17:00 on half days).
        "close-at-ext": iso(close_at + timedelta(hours=4)),
    }


def market_session_json(
    calendar: TradingCalendar, collection: str, state: str, now: datetime, always: bool
) -> JSON:
    """A ``MarketSession``: the current session's times and its neighbours as snapshots."""
    today = now.astimezone(NEW_YORK).date()
    row: JSON = {"instrument-collection": collection, "state": state}
    if collection != EQUITY_COLLECTION:
        return row  # the simulator lists no futures: their markets never open
    current = _session_times(calendar, today, always)
    if current is not None:
        row.update(current)
    for key, when in (
        ("next-session", calendar.next_trading_day(today)),
        ("previous-session", calendar.previous_trading_day(today)),
    ):
        times = _session_times(calendar, when, always=True)
        assert times is not None
        row[key] = {"instrument-collection": collection, "session-date": day(when), **times}
    return row


def holidays_json(calendar: TradingCalendar, years: Iterable[int]) -> JSON:
    """``MarketCalendar``: weekday closures and early closes in the given years."""
    holidays: list[str] = []
    half_days: list[str] = []
    for year in years:
        probe = date(year, 1, 1)
        while probe.year == year:
            if probe.weekday() < 5:
                session = calendar.session(probe)
                if session is None:
                    holidays.append(day(probe))
                elif session[1].astimezone(NEW_YORK).time() < REGULAR_CLOSE:
                    half_days.append(day(probe))
            probe += timedelta(days=1)
    return {"market-half-days": half_days, "market-holidays": holidays}


def is_session_over(calendar: TradingCalendar, now: datetime, always: bool) -> bool:
    """True once today's regular session has closed (never in "always open" mode)."""
    if always:
        return False
    session = calendar.session(now.astimezone(NEW_YORK).date())
    return session is None or now >= session[1]


def year_range(market: MarketModel, symbol: str) -> tuple[float, float]:
    """The 52-week low and high from the daily bars."""
    since = datetime.combine(market.today() - timedelta(days=366), time(0), UTC)
    bars = market.candles(symbol, timedelta(days=1), since, limit=400)
    if not bars:
        spot = market.spot(symbol)
        return spot, spot
    return min(b.low for b in bars), max(b.high for b in bars)
