"""Instrument endpoints: equities, equity options and option chains (protocol §2.2, §2.3).

Chains depend only on the trading date, not on the tape, so the large responses (the flat SPX
chain holds ~30 000 contracts) are rendered once per underlying and day and served from text.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import date

from aiohttp import web

from tastytui.domain.symbols import OptionSymbol, SymbolError, parse_option
from tastytui.sim.exchange import Exchange
from tastytui.sim.market import MarketModel
from tastytui.sim.routing import Params, Router
from tastytui.sim.schemas_market import (
    EQUITY,
    EQUITY_OPTION,
    INDEX,
    chain_options_json,
    compact_chains_json,
    equity_json,
    expiration_facts,
    lendability,
    nested_chains_json,
    option_json,
)
from tastytui.sim.universe import Kind, UnderlyingSpec
from tastytui.sim.wire import (
    JSON,
    ApiError,
    bad_request,
    data,
    dumps,
    items,
    not_found,
    paginated,
    query_int,
    query_list,
)

_CACHE_ENTRIES = 8


class ItemsCache:
    """Rendered ``{"data": {"items": ...}}`` bodies keyed by (kind, symbol, trading date)."""

    def __init__(self, entries: int = _CACHE_ENTRIES) -> None:
        self._entries = entries
        self._texts: OrderedDict[tuple[str, str, date], str] = OrderedDict()

    def response(self, key: tuple[str, str, date], build: Callable[[], list[JSON]]) -> web.Response:
        text = self._texts.get(key)
        if text is None:
            text = dumps({"data": {"items": build()}, "context": "/sim"})
            self._texts[key] = text
            while len(self._texts) > self._entries:
                self._texts.popitem(last=False)
        else:
            self._texts.move_to_end(key)
        return web.Response(text=text, content_type="application/json")


def query_bool(request: web.Request, name: str) -> bool | None:
    """A ``true``/``false`` query parameter, None when absent."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise bad_request(f"query parameter {name}={raw!r} must be true or false")
    return lowered == "true"


def underlying_spec(market: MarketModel, symbol: str) -> UnderlyingSpec:
    """The spec of a listed underlying, or a 404 naming the symbol."""
    spec = market.spec(symbol.upper())
    if spec is None:
        raise not_found(f"underlying {symbol!r}")
    return spec


def listed_option(market: MarketModel, symbol: str) -> tuple[OptionSymbol, UnderlyingSpec]:
    """Parse an OCC (or streamer) symbol and insist the contract is listed today."""
    try:
        option = parse_option(symbol)
    except SymbolError as exc:
        raise ApiError(
            404, "record_not_found", f"equity option {symbol!r} not found: {exc}"
        ) from exc
    spec = market.underlying_of_root(option.root)
    if spec is None or not market.is_listed(option):
        raise not_found(f"equity option {symbol!r}")
    return option, spec


def option_instrument(market: MarketModel, option: OptionSymbol, spec: UnderlyingSpec) -> JSON:
    expiration = market.chain(spec.symbol).expiration(option.expiration, option.root)
    assert expiration is not None  # is_listed() checked it
    return option_json(option, expiration_facts(market, spec, expiration))


def register(router: Router, exchange: Exchange) -> None:
    market = exchange.market
    equity_ids = {symbol: 1000 + i for i, symbol in enumerate(market.symbols())}
    cache = ItemsCache()

    def equity(spec: UnderlyingSpec) -> JSON:
        return equity_json(spec, equity_ids[spec.symbol])

    def all_specs() -> list[UnderlyingSpec]:
        return [s for s in (market.spec(sym) for sym in market.symbols()) if s is not None]

    def filtered(request: web.Request, specs: list[UnderlyingSpec]) -> list[JSON]:
        wanted_lendability = request.query.get("lendability")
        is_index = query_bool(request, "is-index")
        is_etf = query_bool(request, "is-etf")
        return [
            equity(s)
            for s in specs
            if (is_index is None or s.is_index == is_index)
            and (is_etf is None or (s.kind is Kind.ETF) == is_etf)
            and (not wanted_lendability or lendability(s) == wanted_lendability)
        ]

    def page(request: web.Request, rows: list[JSON], default_per_page: int) -> web.Response:
        per_page = query_int(request, "per-page", default_per_page)
        offset = query_int(request, "page-offset", 0)
        if per_page < 1 or offset < 0:
            raise bad_request("per-page must be at least 1 and page-offset at least 0")
        return paginated(rows, per_page, offset)

    async def one_equity(request: web.Request, params: Params) -> web.StreamResponse:
        spec = market.spec(params["symbol"].upper())
        if spec is None:
            raise not_found(f"equity {params['symbol']!r}")
        return data(equity(spec))

    async def equities(request: web.Request, params: Params) -> web.StreamResponse:
        symbols = query_list(request, "symbol")
        if symbols:
            # Requested order, duplicates and unknown symbols dropped (as production does).
            seen: dict[str, UnderlyingSpec] = {}
            for symbol in symbols:
                spec = market.spec(symbol.upper())
                if spec is not None:
                    seen.setdefault(spec.symbol, spec)
            specs = list(seen.values())
        else:
            specs = all_specs()
        return page(request, filtered(request, specs), 250)

    async def active_equities(request: web.Request, params: Params) -> web.StreamResponse:
        return page(request, filtered(request, all_specs()), 1000)

    async def one_option(request: web.Request, params: Params) -> web.StreamResponse:
        option, spec = listed_option(market, params["symbol"])
        return data(option_instrument(market, option, spec))

    async def options(request: web.Request, params: Params) -> web.StreamResponse:
        rows: list[JSON] = []
        seen: set[OptionSymbol] = set()
        for symbol in query_list(request, "symbol"):
            try:
                option, spec = listed_option(market, symbol)
            except ApiError:
                continue  # unknown symbols are left out of a list, not an error
            if option not in seen:
                seen.add(option)
                rows.append(option_instrument(market, option, spec))
        return items(rows)

    async def nested_chain(request: web.Request, params: Params) -> web.StreamResponse:
        spec = underlying_spec(market, params["symbol"])
        key = ("nested", spec.symbol, market.today())
        return cache.response(key, lambda: nested_chains_json(market, spec))

    async def compact_chain(request: web.Request, params: Params) -> web.StreamResponse:
        spec = underlying_spec(market, params["symbol"])
        key = ("compact", spec.symbol, market.today())
        return cache.response(key, lambda: compact_chains_json(market, spec))

    async def flat_chain(request: web.Request, params: Params) -> web.StreamResponse:
        spec = underlying_spec(market, params["symbol"])
        key = ("flat", spec.symbol, market.today())
        return cache.response(key, lambda: chain_options_json(market, spec))

    async def precisions(request: web.Request, params: Params) -> web.StreamResponse:
        # The simulator trades whole shares and whole contracts only.
        return items(
            [
                {"instrument-type": kind, "value": 0, "minimum-increment-precision": 0}
                for kind in (EQUITY, EQUITY_OPTION, INDEX)
            ]
        )

    router.get("/instruments/equities/active", active_equities)
    router.get("/instruments/equities/{symbol}", one_equity)
    router.get("/instruments/equities", equities)
    router.get("/instruments/equity-options/{symbol}", one_option)
    router.get("/instruments/equity-options", options)
    router.get("/instruments/quantity-decimal-precisions", precisions)
    router.get("/option-chains/{symbol}/nested", nested_chain)
    router.get("/option-chains/{symbol}/compact", compact_chain)
    router.get("/option-chains/{symbol}", flat_chain)
