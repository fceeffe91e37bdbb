"""The tool definitions the model is offered (names, descriptions, JSON schemas), as data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tastytui.domain.strategies import StrategyKind

TEMPLATES = {
    "vertical": StrategyKind.VERTICAL,
    "strangle": StrategyKind.STRANGLE,
    "straddle": StrategyKind.STRADDLE,
    "iron_condor": StrategyKind.IRON_CONDOR,
    "butterfly": StrategyKind.BUTTERFLY,
    "calendar": StrategyKind.CALENDAR,
}
TIME_BACK = ("1d", "1m", "3m", "6m", "1y", "all")

ToolKind = Literal["read", "manage", "order"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    properties: Mapping[str, Any]
    required: tuple[str, ...] = ()
    kind: ToolKind = "read"

    def schema(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": {
                "type": "object",
                "properties": dict(self.properties),
                "required": list(self.required),
                "additionalProperties": False,
            },
        }


# ----------------------------------------------------------------------------- schemas

_ACCOUNT = {
    "account": {
        "type": "string",
        "description": "Account number; omit for the account shown on screen.",
    }
}
_SYMBOLS = {
    "type": "array",
    "items": {"type": "string"},
    "description": "Tickers (SPY) or option symbols (OCC or streamer form, e.g. '.SPY261218P648').",
}
_DATE = {"type": "string", "description": "YYYY-MM-DD"}
_LEG = {
    "type": "object",
    "properties": {
        "symbol": {"type": "string", "description": "Ticker or OCC option symbol."},
        "action": {
            "type": "string",
            "enum": ["Buy to Open", "Sell to Open", "Buy to Close", "Sell to Close"],
        },
        "quantity": {"type": "integer", "minimum": 1},
    },
    "required": ["symbol", "action", "quantity"],
    "additionalProperties": False,
}
_STRATEGY = {
    "type": "object",
    "description": "Build the legs from the chain instead of listing them.",
    "properties": {
        "kind": {"type": "string", "enum": sorted(TEMPLATES)},
        "underlying": {"type": "string"},
        "expiration": _DATE,
        "dte": {"type": "integer", "minimum": 0, "description": "Target days to expiration."},
        "back_expiration": {**_DATE, "description": "Calendars: the back month (YYYY-MM-DD)."},
        "width": {"type": "number", "description": "Wing width in strike points."},
        "target_delta": {
            "type": "number",
            "description": "Short strike by delta, e.g. 0.30 for a 30-delta strike.",
        },
        "direction": {"type": "string", "enum": ["credit", "debit"]},
        "option_type": {"type": "string", "enum": ["put", "call"]},
        "quantity": {"type": "integer", "minimum": 1},
    },
    "required": ["kind", "underlying"],
    "additionalProperties": False,
}
_PRICE = {
    "price": {
        "type": "number",
        "exclusiveMinimum": 0,
        "description": "Limit price per unit of the spread, positive; give price_effect too.",
    },
    "price_effect": {"type": "string", "enum": ["debit", "credit"]},
}

SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "get_balances",
        "Account balances: net liquidating value, cash, buying power, maintenance, day P&L.",
        _ACCOUNT,
    ),
    ToolSpec(
        "get_positions",
        "Open positions grouped by underlying and strategy, with live marks, open and day "
        "P&L, DTE, position greeks and beta-weighted delta.",
        {**_ACCOUNT, "underlying": {"type": "string", "description": "Only this underlying."}},
    ),
    ToolSpec(
        "get_net_liq_history",
        "Net liquidating value over a period: start, end, change, high, low and a few points.",
        {**_ACCOUNT, "time_back": {"type": "string", "enum": list(TIME_BACK)}},
    ),
    ToolSpec(
        "get_transactions",
        "Transaction history (trades, fees, deposits), newest first. Default: last 30 days.",
        {
            **_ACCOUNT,
            "start_date": _DATE,
            "end_date": _DATE,
            "underlying": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        },
    ),
    ToolSpec(
        "get_order_history",
        "Past and working orders, newest first. Default: last 30 days.",
        {
            **_ACCOUNT,
            "start_date": _DATE,
            "end_date": _DATE,
            "underlying": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        },
    ),
    ToolSpec("get_live_orders", "Today's orders: working, filled and cancelled.", _ACCOUNT),
    ToolSpec(
        "get_quotes",
        "Bid, ask, mid, last and change for up to 20 symbols.",
        {"symbols": _SYMBOLS},
        ("symbols",),
    ),
    ToolSpec(
        "get_greeks",
        "Delta, gamma, theta, vega and implied volatility for up to 40 option contracts.",
        {"symbols": _SYMBOLS},
        ("symbols",),
    ),
    ToolSpec(
        "get_market_metrics",
        "IV rank and percentile, IV, historical vol, beta, liquidity and next earnings date.",
        {"symbols": _SYMBOLS},
        ("symbols",),
    ),
    ToolSpec("get_market_status", "Whether the US equity market is open, and its hours.", {}),
    ToolSpec(
        "search_symbols",
        "Find tickers by name or prefix.",
        {"query": {"type": "string"}},
        ("query",),
    ),
    ToolSpec(
        "get_option_chain",
        "An option chain summarised around the money: the expirations (DTE, expected move) and "
        "for one expiration the strikes nearest the underlying's price with bid/ask/delta/IV "
        "and the OCC symbols.",
        {
            "underlying": {"type": "string"},
            "expiration": _DATE,
            "dte": {"type": "integer", "minimum": 0, "description": "Nearest to this DTE."},
            "strikes": {
                "type": "integer",
                "minimum": 1,
                "maximum": 15,
                "description": "Strikes each side of the money (default 5).",
            },
        },
        ("underlying",),
    ),
    ToolSpec(
        "get_watchlists",
        "The user's watchlists and their symbols.",
        {"name": {"type": "string", "description": "Only this watchlist."}},
    ),
    ToolSpec(
        "manage_watchlist",
        "Create, add symbols to, remove symbols from, or delete one of the user's watchlists.",
        {
            "action": {"type": "string", "enum": ["create", "add", "remove", "delete"]},
            "name": {"type": "string"},
            "symbols": {"type": "array", "items": {"type": "string"}},
        },
        ("action", "name"),
        kind="manage",
    ),
    ToolSpec("get_time", "The current date and time in New York.", {}),
    ToolSpec(
        "prepare_order",
        "Prepare an order for the user: validates it, prices it (mid by default), runs the "
        "broker's dry run and the user's risk limits, and stages it in the order builder. It "
        "NEVER sends the order: the user reviews it and presses the confirm key. Give either "
        "legs or strategy.",
        {
            "legs": {"type": "array", "items": _LEG, "maxItems": 4},
            "strategy": _STRATEGY,
            "order_type": {"type": "string", "enum": ["limit", "market"]},
            **_PRICE,
            "price_mode": {
                "type": "string",
                "enum": ["mid", "natural"],
                "description": "How to price a limit order without a price (default mid).",
            },
            "time_in_force": {"type": "string", "enum": ["Day", "GTC", "GTD", "IOC"]},
            "gtd_date": _DATE,
            "note": {"type": "string", "description": "One line for the user: why this order."},
        },
        kind="order",
    ),
    ToolSpec(
        "replace_order",
        "Prepare a new price for a working limit order (a price, or re_mid for the current "
        "mid). It NEVER replaces the order: the user confirms the reviewed change.",
        {
            "order_id": {"type": "integer"},
            **_PRICE,
            "re_mid": {"type": "boolean"},
            "note": {"type": "string"},
        },
        ("order_id",),
        kind="order",
    ),
    ToolSpec(
        "cancel_order",
        "Ask the user to cancel a working order. It NEVER cancels by itself: the user "
        "confirms with yes or no.",
        {"order_id": {"type": "integer"}, "note": {"type": "string"}},
        ("order_id",),
        kind="order",
    ),
)
