"""Account tools: balances, positions, net-liq history, transactions, orders, watchlists."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tastytui.domain.symbols import SymbolError, normalize_equity
from tastytui.services.chat.args import ToolInputError, date_arg, int_arg, text_arg
from tastytui.services.chat.results import TERMINAL, num, option_text, order_row, totals
from tastytui.services.chat.sanitize import symbol, untrusted
from tastytui.services.chat.specs import TIME_BACK

if TYPE_CHECKING:
    from tastytui.services.chat.tools import ChatTools


async def balances(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Net liq, cash, buying power and day P&L of an account."""
    accounts = tools.services.accounts
    number = tools.account(args)
    balance = await accounts.refresh_balances(number)
    day = accounts.day_pnl(number) if accounts.positions_loaded(number) else None
    result = {
        "account": number,
        "net_liq": num(balance.net_liquidating_value),
        "cash": num(balance.cash_balance),
        "option_buying_power": num(balance.derivative_buying_power),
        "stock_buying_power": num(balance.equity_buying_power),
        "maintenance_requirement": num(balance.maintenance_requirement),
        "pending_cash": num(balance.pending_cash),
        "cash_available_to_withdraw": num(balance.cash_available_to_withdraw),
        "day_pnl": num(day),
    }
    return result, f"balances: net liq {balance.net_liquidating_value:,.2f}"


async def positions(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Positions by underlying and strategy, marked live, with greeks and P&L."""
    services = tools.services
    accounts = services.accounts
    number = tools.account(args)
    only = text_arg(args, "underlying", limit=12).upper()
    if not accounts.positions_loaded(number):
        await services.reconciler.reconcile("chat")
    underlyings, options = accounts.watched_symbols(number)
    # Betas for the beta-weighted delta (cached by the service for five minutes).
    await accounts.metrics(underlyings)
    tools.subscribe(["Quote", "Trade"], underlyings)
    tools.subscribe(["Quote", "Greeks"], options)
    store = services.store
    await tools.wait_stream(
        lambda: (
            all(store.greeks(s) is not None for s in options)
            and all(store.quote(s) is not None for s in underlyings)
        )
    )
    portfolio = accounts.portfolio(number)
    groups = []
    for view in portfolio.underlyings:
        if only and view.underlying != only:
            continue
        strategies_out = []
        for strategy in view.strategies:
            legs = []
            for leg in strategy.legs:
                held = leg.held
                legs.append(
                    {
                        "symbol": symbol(held.symbol),
                        "contract": option_text(held.option) if held.option else None,
                        "quantity": num(held.quantity, 4),
                        "dte": leg.dte,
                        "average_open": num(held.average_open),
                        "mark": num(leg.mark),
                        "open_pnl": num(leg.open_pnl),
                        "day_pnl": num(leg.day_pnl),
                        "delta": num(leg.delta),
                        "theta": num(leg.theta),
                        "vega": num(leg.vega),
                        "stale": leg.stale or None,
                    }
                )
            strategies_out.append(
                {"strategy": strategy.label, "legs": legs, **totals(strategy.totals)}
            )
        groups.append(
            {
                "underlying": view.underlying,
                "price": num(view.spot),
                **totals(view.totals),
                "strategies": strategies_out,
            }
        )
    result = {
        "account": number,
        "beta_symbol": portfolio.beta_symbol,
        "totals": totals(portfolio.totals),
        "underlyings": groups,
        "note": None if groups else "no open positions" + (f" in {only}" if only else ""),
    }
    count = sum(len(s["legs"]) for g in groups for s in g["strategies"])
    return result, f"positions: {count} legs in {len(groups)} underlyings"


async def net_liq_history(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Net liq over a period: start, end, change, range and a dozen points."""
    number = tools.account(args)
    time_back = text_arg(args, "time_back", limit=4) or "1m"
    if time_back not in TIME_BACK:
        raise ToolInputError(f"time_back must be one of {', '.join(TIME_BACK)}")
    rows = await tools.services.accounts.net_liq_history(number, time_back=time_back)
    if not rows:
        return {"account": number, "note": "no history for this period"}, "net liq: no data"
    closes = [float(r.close) for r in rows]
    step = max(1, math.ceil(len(rows) / 12))
    points = [{"time": r.time, "close": num(r.close)} for r in rows[::step]]
    if points[-1]["time"] != rows[-1].time:
        points.append({"time": rows[-1].time, "close": num(rows[-1].close)})
    first, last = float(rows[0].open), closes[-1]
    result = {
        "account": number,
        "period": time_back,
        "start": num(first),
        "end": num(last),
        "change": num(last - first),
        "change_pct": num((last - first) / first * 100 if first else None),
        "high": num(max(float(r.high) for r in rows)),
        "low": num(min(float(r.low) for r in rows)),
        "points": points,
    }
    return result, f"net liq {time_back}: {len(rows)} points"


def history_range(tools: ChatTools, args: Mapping[str, Any]) -> dict[str, Any]:
    """The date and underlying filters of the history tools (default: 30 days)."""
    today = tools.services.accounts.today()
    start = date_arg(args, "start_date") or today - timedelta(days=30)
    end = date_arg(args, "end_date")
    filters: dict[str, Any] = {"start_date": start}
    if end is not None:
        filters["end_date"] = end
    underlying = text_arg(args, "underlying", limit=12)
    if underlying:
        try:
            filters["underlying_symbol"] = normalize_equity(underlying)
        except SymbolError as exc:
            raise ToolInputError(str(exc)) from None
    return filters


async def transactions(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Transactions, newest first, descriptions marked untrusted."""
    number = tools.account(args)
    limit = int_arg(args, "limit", 20, 1, 50)
    rows = await tools.services.accounts.transactions(number, **history_range(tools, args))
    rows = sorted(rows, key=lambda t: t.executed_at, reverse=True)
    out = [
        {
            "date": str(t.transaction_date),
            "type": t.transaction_type,
            "sub_type": t.transaction_sub_type,
            "description": untrusted(t.description),
            "symbol": symbol(t.symbol),
            "quantity": num(t.quantity, 4),
            "price": num(t.price, 4),
            "value": num(t.value),
            "net_value": num(t.net_value),
        }
        for t in rows[:limit]
    ]
    result = {"account": number, "count": len(rows), "shown": len(out), "transactions": out}
    return result, f"transactions: {len(rows)} found"


async def order_history(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Past orders, newest first."""
    number = tools.account(args)
    limit = int_arg(args, "limit", 20, 1, 50)
    rows = await tools.services.accounts.order_history(number, **history_range(tools, args))
    rows = sorted(rows, key=lambda o: (o.updated_at, o.id), reverse=True)
    out = [order_row(o) for o in rows[:limit]]
    result = {"account": number, "count": len(rows), "shown": len(out), "orders": out}
    return result, f"order history: {len(rows)} orders"


async def live_orders(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Today's orders, working ones counted."""
    number = tools.account(args)
    rows = await tools.services.accounts.refresh_orders(number)
    rows = sorted(rows, key=lambda o: o.id, reverse=True)
    working = [o for o in rows if o.status.value not in TERMINAL]
    result = {
        "account": number,
        "working": len(working),
        "orders": [order_row(o) for o in rows[:40]],
        "note": None if rows else "no orders today",
    }
    return result, f"live orders: {len(working)} working, {len(rows)} today"


async def watchlists(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """The user's watchlists; names are broker text (untrusted)."""
    only = text_arg(args, "name", limit=100)
    rows = await tools.services.accounts.watchlists()
    out: list[dict[str, Any]] = []
    for w in rows:
        if only and w.name != only:
            continue
        entries = w.watchlist_entries or []
        out.append(
            {
                "name": untrusted(w.name, max_length=100),
                "symbols": [symbol(e.get("symbol")) for e in entries][:100],
            }
        )
    note = None
    if not out:
        note = f"no watchlist named {only!r}" if only else "no watchlists"
    return {"watchlists": out, "note": note}, f"watchlists: {len(out)}"


async def manage_watchlist(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Create, add to, remove from or delete a watchlist."""
    accounts = tools.services.accounts
    action = text_arg(args, "action", required=True, limit=10)
    name = text_arg(args, "name", required=True, limit=100)
    raw = args.get("symbols") or []
    if not isinstance(raw, list):
        raise ToolInputError("'symbols' must be a list of tickers")
    try:
        symbols = [normalize_equity(str(s)) for s in raw]
    except SymbolError as exc:
        raise ToolInputError(str(exc)) from None
    if action == "delete":
        await accounts.delete_watchlist(name)
        return {"deleted": untrusted(name)}, f"watchlist deleted ({len(name)} chars)"
    if action == "create":
        await accounts.save_watchlist(name, symbols, create=True)
        return {"created": untrusted(name), "symbols": symbols}, "watchlist created"
    if action not in ("add", "remove"):
        raise ToolInputError("action must be create, add, remove or delete")
    existing = next((w for w in await accounts.watchlists() if w.name == name), None)
    if existing is None:
        raise ToolInputError(f"there is no watchlist named {name!r}: create it first")
    current = [str(e.get("symbol", "")) for e in existing.watchlist_entries or []]
    if action == "add":
        updated = current + [s for s in symbols if s not in current]
    else:
        updated = [s for s in current if s not in symbols]
    await accounts.save_watchlist(name, updated, create=False)
    result = {"watchlist": untrusted(name), "symbols": [symbol(s) for s in updated]}
    return result, f"watchlist {action}: {len(updated)} symbols"
