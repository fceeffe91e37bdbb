"""Watchlist endpoints: private watchlists in SQLite, curated public and pairs watchlists.

Private watchlists live in the ledger's database in a table of their own (``watchlists``), one
JSON body per row, so they survive restarts with the paper account.  A new database is seeded
with "My Watchlist"; the seed is written when the table is created, so deleting every watchlist
stays deleted after a restart.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from aiohttp import web

from tastytui.domain.symbols import is_option_symbol
from tastytui.sim.exchange import Exchange
from tastytui.sim.market import MarketModel
from tastytui.sim.routing import Params, Router
from tastytui.sim.schemas_market import EQUITY, EQUITY_OPTION, INDEX
from tastytui.sim.universe import Kind, UnderlyingSpec
from tastytui.sim.wire import (
    JSON,
    ApiError,
    bad_request,
    data,
    items,
    json_body,
    no_content,
    not_found,
)

DEFAULT_GROUP = "default"
DEFAULT_ORDER_INDEX = 9999
MAX_NAME_LENGTH = 100
MAX_ENTRIES = 1000
SEED_NAME = "My Watchlist"
SEED_SYMBOLS = ("SPY", "QQQ", "IWM", "AAPL", "NVDA", "TSLA")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS watchlists ("
    "name TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL)"
)


def _invalid(message: str) -> ApiError:
    return bad_request(message, "invalid_watchlist")


def instrument_type_of(market: MarketModel, symbol: str) -> str:
    """The instrument type a bare symbol most likely names."""
    if is_option_symbol(symbol):
        return EQUITY_OPTION
    spec = market.spec(symbol)
    return INDEX if spec is not None and spec.is_index else EQUITY


def parse_entries(market: MarketModel, raw: Any) -> list[JSON]:
    """Validate ``watchlist-entries``: objects with a non-empty ``symbol``; other keys kept."""
    if not isinstance(raw, list):
        raise _invalid('watchlist-entries must be a list of objects such as {"symbol": "SPY"}')
    if len(raw) > MAX_ENTRIES:
        raise _invalid(f"a watchlist holds at most {MAX_ENTRIES} entries (got {len(raw)})")
    entries: list[JSON] = []
    for i, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise _invalid(f"watchlist entry {i} must be an object with a symbol")
        symbol = entry.get("symbol")
        if not isinstance(symbol, str) or not symbol.strip():
            raise _invalid(f"watchlist entry {i} needs a non-empty string symbol")
        kind = entry.get("instrument-type")
        if kind is not None and not isinstance(kind, str):
            raise _invalid(f"watchlist entry {i}: instrument-type must be a string")
        normalized: JSON = {**entry, "symbol": symbol.strip()}
        if kind is None:
            normalized["instrument-type"] = instrument_type_of(market, normalized["symbol"])
        entries.append(normalized)
    return entries


def parse_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid("a watchlist needs a non-empty string name")
    name = raw.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise _invalid(f"watchlist names are at most {MAX_NAME_LENGTH} characters")
    if "/" in name:
        # Clients put the name in the path unescaped: a slash would make it unreachable.
        raise _invalid("watchlist names cannot contain '/'")
    return name


def parse_group(raw: Any) -> str:
    if not isinstance(raw, str):
        raise _invalid("group-name must be a string")
    return raw


def parse_order_index(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _invalid("order-index must be a whole number")
    return raw


class WatchlistStore:
    """Private watchlists as JSON rows in the ledger's SQLite connection (autocommit)."""

    def __init__(self, db: sqlite3.Connection, market: MarketModel) -> None:
        self.db = db
        existed = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'watchlists'"
        ).fetchone()
        db.execute(_SCHEMA)
        if existed is None:
            entries = [
                {"symbol": s, "instrument-type": instrument_type_of(market, s)}
                for s in SEED_SYMBOLS
            ]
            self.create(
                {
                    "name": SEED_NAME,
                    "watchlist-entries": entries,
                    "group-name": DEFAULT_GROUP,
                    "order-index": 0,
                }
            )

    def all(self) -> list[JSON]:
        rows = self.db.execute("SELECT body FROM watchlists ORDER BY seq").fetchall()
        lists = [json.loads(body) for (body,) in rows]
        return sorted(lists, key=lambda w: w["order-index"])  # stable: ties keep seq order

    def get(self, name: str) -> JSON | None:
        row = self.db.execute("SELECT body FROM watchlists WHERE name = ?", (name,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def create(self, watchlist: JSON) -> JSON:
        seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM watchlists").fetchone()[0]
        try:
            self.db.execute(
                "INSERT INTO watchlists (name, seq, body) VALUES (?, ?, ?)",
                (watchlist["name"], seq, json.dumps(watchlist)),
            )
        except sqlite3.IntegrityError as exc:
            raise _duplicate(watchlist["name"]) from exc
        return watchlist

    def replace(self, name: str, watchlist: JSON) -> JSON:
        try:
            self.db.execute(
                "UPDATE watchlists SET name = ?, body = ? WHERE name = ?",
                (watchlist["name"], json.dumps(watchlist), name),
            )
        except sqlite3.IntegrityError as exc:
            raise _duplicate(watchlist["name"]) from exc
        return watchlist

    def delete(self, name: str) -> bool:
        return self.db.execute("DELETE FROM watchlists WHERE name = ?", (name,)).rowcount > 0


def _duplicate(name: str) -> ApiError:
    return ApiError(409, "watchlist_already_exists", f"a watchlist named {name!r} already exists")


def _entries(specs: list[UnderlyingSpec]) -> list[JSON]:
    return [{"symbol": s.symbol, "instrument-type": INDEX if s.is_index else EQUITY} for s in specs]


def public_watchlists(market: MarketModel) -> list[JSON]:
    """Curated lists drawn from the simulator's universe."""
    specs = [s for s in (market.spec(sym) for sym in market.symbols()) if s is not None]
    by_symbol = {s.symbol: s for s in specs}
    default = [by_symbol[s] for s in ("SPY", "QQQ", "IWM", "SPX", "AAPL", "TSLA") if s in by_symbol]
    curated = {
        "tastytrade Default": default,
        "Liquid ETFs": [s for s in specs if s.kind is Kind.ETF and s.liquidity >= 4],
        "High IV": sorted(
            (s for s in specs if s.kind is not Kind.INDEX and s.vol >= 0.3),
            key=lambda s: -s.vol,
        ),
        "Mega Caps": sorted(
            (s for s in specs if s.kind is Kind.STOCK and s.market_cap_billions >= 1000),
            key=lambda s: -s.market_cap_billions,
        ),
    }
    return [
        {
            "name": name,
            "watchlist-entries": _entries(members),
            "group-name": "tastytrade",
            "order-index": i,
        }
        for i, (name, members) in enumerate(curated.items())
    ]


PAIRS_WATCHLISTS: list[JSON] = [
    {
        "name": "Index ETFs",
        "order-index": 0,
        "pairs-equations": [
            {
                "left-action": "Buy",
                "left-symbol": "SPY",
                "left-quantity": 100,
                "right-action": "Sell",
                "right-symbol": "QQQ",
                "right-quantity": 100,
            },
            {
                "left-action": "Buy",
                "left-symbol": "IWM",
                "left-quantity": 300,
                "right-action": "Sell",
                "right-symbol": "SPY",
                "right-quantity": 100,
            },
        ],
    },
    {
        "name": "Tech",
        "order-index": 1,
        "pairs-equations": [
            {
                "left-action": "Buy",
                "left-symbol": "AAPL",
                "left-quantity": 100,
                "right-action": "Sell",
                "right-symbol": "MSFT",
                "right-quantity": 50,
            },
            {
                "left-action": "Buy",
                "left-symbol": "AMD",
                "left-quantity": 100,
                "right-action": "Sell",
                "right-symbol": "NVDA",
                "right-quantity": 100,
            },
        ],
    },
]


def register(router: Router, exchange: Exchange) -> None:
    market = exchange.market
    store = WatchlistStore(exchange.ledger.db, market)
    public = public_watchlists(market)

    def existing(name: str) -> JSON:
        found = store.get(name)
        if found is None:
            raise not_found(f"watchlist {name!r}")
        return found

    async def list_private(request: web.Request, params: Params) -> web.StreamResponse:
        return items(store.all())

    async def get_private(request: web.Request, params: Params) -> web.StreamResponse:
        return data(existing(params["name"]))

    async def create(request: web.Request, params: Params) -> web.StreamResponse:
        body = await json_body(request)
        raw_entries = body.get("watchlist-entries")
        group = body.get("group-name")
        order = body.get("order-index")
        watchlist: JSON = {
            "name": parse_name(body.get("name")),
            "watchlist-entries": [] if raw_entries is None else parse_entries(market, raw_entries),
            "group-name": DEFAULT_GROUP if group is None else parse_group(group),
            "order-index": DEFAULT_ORDER_INDEX if order is None else parse_order_index(order),
        }
        return data(store.create(watchlist), status=201)

    async def update(request: web.Request, params: Params) -> web.StreamResponse:
        current = existing(params["name"])
        body = await json_body(request)
        watchlist = dict(current)
        if body.get("name") is not None:
            watchlist["name"] = parse_name(body["name"])
        # A null list means "not sent" (the SDK's default), so the entries are kept.
        if body.get("watchlist-entries") is not None:
            watchlist["watchlist-entries"] = parse_entries(market, body["watchlist-entries"])
        if body.get("group-name") is not None:
            watchlist["group-name"] = parse_group(body["group-name"])
        if body.get("order-index") is not None:
            watchlist["order-index"] = parse_order_index(body["order-index"])
        return data(store.replace(params["name"], watchlist))

    async def remove(request: web.Request, params: Params) -> web.StreamResponse:
        if not store.delete(params["name"]):
            raise not_found(f"watchlist {params['name']!r}")
        return no_content()

    async def list_public(request: web.Request, params: Params) -> web.StreamResponse:
        if request.query.get("counts-only", "").lower() == "true":
            return items(
                [
                    {
                        **{k: v for k, v in w.items() if k != "watchlist-entries"},
                        "total-count": len(w["watchlist-entries"]),
                    }
                    for w in public
                ]
            )
        return items(public)

    async def get_public(request: web.Request, params: Params) -> web.StreamResponse:
        for watchlist in public:
            if watchlist["name"] == params["name"]:
                return data(watchlist)
        raise not_found(f"public watchlist {params['name']!r}")

    async def list_pairs(request: web.Request, params: Params) -> web.StreamResponse:
        return items(PAIRS_WATCHLISTS)

    async def get_pairs(request: web.Request, params: Params) -> web.StreamResponse:
        for watchlist in PAIRS_WATCHLISTS:
            if watchlist["name"] == params["name"]:
                return data(watchlist)
        raise not_found(f"pairs watchlist {params['name']!r}")

    router.get("/watchlists", list_private)
    router.post("/watchlists", create)
    router.get("/watchlists/{name}", get_private)
    router.put("/watchlists/{name}", update)
    router.delete("/watchlists/{name}", remove)
    router.get("/public-watchlists", list_public)
    router.get("/public-watchlists/{name}", get_public)
    router.get("/pairs-watchlists", list_pairs)
    router.get("/pairs-watchlists/{name}", get_pairs)
