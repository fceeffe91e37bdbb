"""Market-data, metrics, corporate-event, market-time and symbol-search endpoints (§2.2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from aiohttp import web

from tastytui.domain.clock import NEW_YORK
from tastytui.domain.symbols import SymbolError, parse_option
from tastytui.sim.config import MarketHours
from tastytui.sim.exchange import Exchange
from tastytui.sim.routing import Params, Router
from tastytui.sim.schemas_market import (
    EQUITY,
    EQUITY_COLLECTION,
    EQUITY_OPTION,
    INDEX,
    SessionFacts,
    dividend_history,
    earnings_history,
    equity_market_data_json,
    holidays_json,
    is_session_over,
    market_session_json,
    metrics_json,
    next_earnings_date,
    option_market_data_json,
    year_range,
)
from tastytui.sim.universe import Kind, UnderlyingSpec
from tastytui.sim.wire import (
    JSON,
    bad_request,
    data,
    day,
    dec,
    items,
    not_found,
    query_date,
    query_list,
)

#: Production's combined limit for ``/market-data/by-type``.
MAX_MARKET_DATA_SYMBOLS = 100
#: Results ``/symbols/search`` returns at most.
MAX_SEARCH_RESULTS = 20
#: ``instrument-collections[]`` values production knows; only Equity has sessions here.
KNOWN_COLLECTIONS = ("Equity", "CME", "CFE", "Smalls", "CBOED")
#: by-type keys of instrument types the simulator does not list (answered with no rows).
_UNLISTED_KEYS = ("future", "future-option", "cryptocurrency")


def register(router: Router, exchange: Exchange) -> None:
    market = exchange.market
    calendar = exchange.calendar
    year_ranges: dict[tuple[str, date], tuple[float, float]] = {}

    def always_open() -> bool:
        return exchange.config.market_hours is MarketHours.ALWAYS

    def session_facts() -> SessionFacts:
        now = exchange.clock.now()
        today = now.astimezone(NEW_YORK).date()
        return SessionFacts(
            now=now,
            summary_date=today,
            prev_close_date=calendar.previous_trading_day(today),
            closed=is_session_over(calendar, now, always_open()),
        )

    def cached_year_range(symbol: str) -> tuple[float, float]:
        key = (symbol, market.today())
        found = year_ranges.get(key)
        if found is None:
            found = year_ranges[key] = year_range(market, symbol)
        return found

    def equity_row(spec: UnderlyingSpec, facts: SessionFacts) -> JSON:
        history = dividend_history(spec, facts.summary_date)
        return equity_market_data_json(
            spec,
            market.equity_quote(spec.symbol),
            facts,
            cached_year_range(spec.symbol),
            history[0][1] if history else None,
        )

    def option_row(symbol: str, facts: SessionFacts) -> JSON | None:
        try:
            option = parse_option(symbol)
        except SymbolError:
            return None
        spec = market.underlying_of_root(option.root)
        if spec is None or not market.is_listed(option):
            return None
        quote = market.option_quote(option)
        tick = spec.option_ticks.increment_at(Decimal(dec(round(quote.theo, 2))))
        return option_market_data_json(option, spec.symbol, quote, tick, facts)

    def underlying_row(symbol: str, facts: SessionFacts) -> JSON | None:
        spec = market.spec(symbol.upper())
        return None if spec is None else equity_row(spec, facts)

    async def by_type(request: web.Request, params: Params) -> web.StreamResponse:
        underlyings = query_list(request, "equity") + query_list(request, "index")
        options = query_list(request, "equity-option")
        others = sum(len(query_list(request, key)) for key in _UNLISTED_KEYS)
        total = len(underlyings) + len(options) + others
        if total > MAX_MARKET_DATA_SYMBOLS:
            raise bad_request(
                f"too many symbols: {total} requested, at most {MAX_MARKET_DATA_SYMBOLS} "
                "per request across all instrument types",
                "too_many_symbols",
            )
        facts = session_facts()
        rows: list[JSON] = []
        seen: set[str] = set()
        for symbol in underlyings:
            row = underlying_row(symbol, facts)
            if row is not None and row["symbol"] not in seen:
                seen.add(row["symbol"])
                rows.append(row)
        for symbol in options:
            row = option_row(symbol, facts)
            if row is not None and row["symbol"] not in seen:
                seen.add(row["symbol"])
                rows.append(row)
        return items(rows)

    async def one_market_data(request: web.Request, params: Params) -> web.StreamResponse:
        kind, symbol = params["type"], params["symbol"]
        if "class" in params:  # the SDK leaves BRK/B unescaped in this path
            symbol = f"{symbol}/{params['class']}"
        facts = session_facts()
        row: JSON | None
        if kind in (EQUITY, INDEX):
            row = underlying_row(symbol, facts)
        elif kind == EQUITY_OPTION:
            row = option_row(symbol, facts)
        else:
            raise not_found(f"market data for instrument type {kind!r}")
        if row is None:
            raise not_found(f"market data for {kind} {symbol!r}")
        return data(row)

    def metrics_spec(symbol: str) -> UnderlyingSpec:
        spec = market.spec(symbol.upper())
        if spec is None:
            raise not_found(f"symbol {symbol!r}")
        return spec

    async def metrics(request: web.Request, params: Params) -> web.StreamResponse:
        raw = ",".join(query_list(request, "symbols"))
        now = exchange.clock.now()
        rows: list[JSON] = []
        seen: set[str] = set()
        for symbol in (s.strip() for s in raw.split(",")):
            spec = market.spec(symbol.upper()) if symbol else None
            if spec is not None and spec.symbol not in seen:
                seen.add(spec.symbol)
                rows.append(metrics_json(market, spec, now))
        return items(rows)

    async def dividends(request: web.Request, params: Params) -> web.StreamResponse:
        spec = metrics_spec(params["symbol"])
        history = dividend_history(spec, market.today())
        return items(
            [{"occurred-date": day(when), "amount": dec(amount)} for when, amount in history]
        )

    async def earnings(request: web.Request, params: Params) -> web.StreamResponse:
        spec = metrics_spec(params["symbol"])
        start = query_date(request, "start-date")
        end = query_date(request, "end-date")
        today = market.today()
        history = earnings_history(spec, next_earnings_date(market, spec), today)
        return items(
            [
                {"occurred-date": day(when), "eps": dec(eps)}
                for when, eps in history
                if (start is None or when >= start) and (end is None or when <= end)
            ]
        )

    async def sessions(request: web.Request, params: Params) -> web.StreamResponse:
        collections = query_list(request, "instrument-collections") or [EQUITY_COLLECTION]
        unknown = [c for c in collections if c not in KNOWN_COLLECTIONS]
        if unknown:
            raise bad_request(
                f"unknown instrument collection {unknown[0]!r}; "
                f"use one of {', '.join(KNOWN_COLLECTIONS)}"
            )
        now = exchange.clock.now()
        rows = [
            market_session_json(
                calendar,
                collection,
                exchange.market_state() if collection == EQUITY_COLLECTION else "Closed",
                now,
                always_open(),
            )
            for collection in dict.fromkeys(collections)
        ]
        return items(rows)

    async def holidays(request: web.Request, params: Params) -> web.StreamResponse:
        year = market.today().year
        return data(holidays_json(calendar, (year - 1, year, year + 1)))

    async def search(request: web.Request, params: Params) -> web.StreamResponse:
        query = params["query"].strip().upper()
        if not query:
            raise bad_request("search for at least one character")
        specs = [s for s in (market.spec(sym) for sym in market.symbols()) if s is not None]
        by_symbol = sorted((s for s in specs if s.symbol.startswith(query)), key=lambda s: s.symbol)
        by_text = [s for s in specs if s not in by_symbol and query in s.description.upper()]
        return items([_search_row(s) for s in (by_symbol + by_text)[:MAX_SEARCH_RESULTS]])

    router.get("/market-data/by-type", by_type)
    router.get("/market-data/{type}/{symbol}", one_market_data)
    router.get("/market-data/{type}/{symbol}/{class}", one_market_data)
    router.get("/market-metrics", metrics)
    router.get("/market-metrics/historic-corporate-events/dividends/{symbol}", dividends)
    router.get("/market-metrics/historic-corporate-events/earnings-reports/{symbol}", earnings)
    router.get("/market-time/sessions/current", sessions)
    router.get("/market-time/equities/holidays", holidays)
    router.get("/symbols/search/{query}", search)


def _search_row(spec: UnderlyingSpec) -> JSON:
    return {
        "symbol": spec.symbol,
        "description": spec.description,
        "instrument-type": INDEX if spec.kind is Kind.INDEX else EQUITY,
        "options": True,
    }
