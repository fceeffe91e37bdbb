"""Compact, JSON-safe results for the model: rounded numbers, broker text marked untrusted."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tastytui.domain.clock import NEW_YORK
from tastytui.domain.orders import InstrumentType
from tastytui.domain.symbols import OptionSymbol, SymbolError, format_strike, parse_option
from tastytui.services.chat.sanitize import compact, symbol, untrusted

if TYPE_CHECKING:
    from tastytrade.order import PlacedOrder

    from tastytui.services.orders import Review

#: Longest tool result handed to the model (characters of JSON).
MAX_RESULT_CHARS = 12_000
TERMINAL = frozenset({"Filled", "Cancelled", "Expired", "Rejected", "Removed", "Partially Removed"})


def num(value: Any, places: int = 2) -> float | None:
    """A JSON-safe rounded number (None for missing, NaN or infinite values)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, InvalidOperation):
        return None
    if not math.isfinite(number):
        return None
    return round(number, places)


def ny_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M ET")


def option_text(option: OptionSymbol) -> str:
    """'SPY 2026-12-18 648 put'."""
    kind = "call" if option.is_call else "put"
    return f"{option.root} {option.expiration} {format_strike(option.strike)} {kind}"


def leg_text(instrument_type: str, raw_symbol: str, action: str, quantity: Any) -> Any:
    """'Sell to Open 1 SPY 2026-12-18 648 put' (the symbol marked untrusted if it is odd)."""
    qty = num(quantity, 4)
    qty_text = f"{qty:g}" if qty is not None else "?"
    if instrument_type == InstrumentType.EQUITY_OPTION.value:
        try:
            return f"{action} {qty_text} {option_text(parse_option(raw_symbol))}"
        except SymbolError:
            pass
    name = symbol(raw_symbol)
    if isinstance(name, str):
        return f"{action} {qty_text} {name}"
    return {"action": action, "quantity": qty, "symbol": name}


def order_row(order: PlacedOrder) -> dict[str, Any]:
    """A compact order for the model (no user names or ids beyond the order's)."""
    price = order.price
    return {
        "id": order.id,
        "status": order.status.value,
        "type": order.order_type.value,
        "time_in_force": order.time_in_force.value,
        "price": num(abs(price)) if price is not None else None,
        "price_effect": None if price is None else ("credit" if price > 0 else "debit"),
        "underlying": symbol(order.underlying_symbol),
        "legs": [
            leg_text(leg.instrument_type.value, leg.symbol, leg.action.value, leg.quantity)
            for leg in order.legs
        ],
        "filled": any(leg.fills for leg in order.legs) or None,
        "updated": ny_time(order.updated_at),
        "reject_reason": untrusted(order.reject_reason) if order.reject_reason else None,
    }


def review_summary(review: Review) -> dict[str, Any]:
    """The review's figures and verdict, as the model sees them."""
    ticket = review.ticket
    payoff = review.payoff
    price = ticket.price
    out: dict[str, Any] = {
        "description": review.description,
        "account": review.account,
        "replaces_order": review.replaces,
        "legs": [
            leg_text(leg.instrument_type.value, leg.symbol, leg.action.value, leg.quantity)
            for leg in ticket.legs
        ],
        "order_type": ticket.order_type.value,
        "price": num(abs(price)) if price is not None else None,
        "price_effect": None if price is None else ("credit" if price > 0 else "debit"),
        "price_mode": review.price_mode.value,
        "time_in_force": ticket.time_in_force.value,
        "natural": num(review.natural),
        "mid": num(review.mid),
        "buying_power_change": num(review.bp_change),
        "fees": num(review.fees),
        "warnings": [untrusted(w) for w in review.warnings],
        "errors": [untrusted(e) for e in review.errors],
        "risk_check": review.verdict.message,
        "sendable": review.sendable,
    }
    if payoff is not None:
        out["max_profit"] = "unlimited" if payoff.max_profit is None else num(payoff.max_profit)
        out["max_loss"] = "unlimited" if payoff.max_loss is None else num(payoff.max_loss)
        out["breakevens"] = [num(b) for b in payoff.breakevens]
    return out


def dump(value: Any) -> str:
    """Compact JSON for the model, cut at MAX_RESULT_CHARS."""

    def default(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            return num(obj, 4)
        if isinstance(obj, (date, datetime)):
            return obj.isoformat()
        return str(obj)

    text = json.dumps(compact(value), default=default, separators=(",", ":"), ensure_ascii=False)
    if len(text) > MAX_RESULT_CHARS:
        text = json.dumps(
            {
                "truncated": True,
                "note": "the result was too long; ask for less (a filter or a smaller limit)",
                "partial": text[: MAX_RESULT_CHARS - 200],
            },
            ensure_ascii=False,
        )
    return text


def totals(value: Any) -> dict[str, Any]:
    """A Totals object as compact numbers."""
    return {
        "open_pnl": num(value.open_pnl),
        "day_pnl": num(value.day_pnl),
        "delta": num(value.delta),
        "beta_delta": num(value.beta_delta),
        "theta": num(value.theta),
        "vega": num(value.vega),
        "incomplete": value.incomplete or None,
    }
