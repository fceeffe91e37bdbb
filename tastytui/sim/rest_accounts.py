"""Account endpoints: accounts, balances, positions, transactions, net-liq history, margin."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal

from aiohttp import web

from tastytui.domain.clock import NEW_YORK
from tastytui.domain.orders import InstrumentType
from tastytui.sim.accounting import money, requirement_for, to_decimal
from tastytui.sim.exchange import Exchange
from tastytui.sim.routing import Params, Router
from tastytui.sim.schemas_account import (
    account_json,
    balance_json,
    position_json,
    trading_status_json,
    transaction_json,
)
from tastytui.sim.wire import (
    JSON,
    ApiError,
    data,
    dec,
    items,
    paginated,
    query_date,
    query_datetime,
    query_int,
    query_list,
)
from tastytui.sim.wire import money as put_money

_TIME_BACK = {
    "1d": timedelta(days=1),
    "1m": timedelta(days=31),
    "3m": timedelta(days=92),
    "6m": timedelta(days=183),
    "1y": timedelta(days=366),
    "all": timedelta(days=36_500),
}


def register(router: Router, exchange: Exchange) -> None:
    engine = exchange.engine
    ledger = exchange.ledger
    market = exchange.market

    async def accounts(request: web.Request, params: Params) -> web.StreamResponse:
        return items(
            [
                {"account": account_json(a), "authority-level": "owner"}
                for a in sorted(ledger.accounts.values(), key=lambda a: a.number)
            ]
        )

    async def one_account(request: web.Request, params: Params) -> web.StreamResponse:
        return data(account_json(engine.account(params["account"])))

    async def trading_status(request: web.Request, params: Params) -> web.StreamResponse:
        account = engine.account(params["account"])
        return data(trading_status_json(account, exchange.clock.now()))

    async def balances(request: web.Request, params: Params) -> web.StreamResponse:
        account = engine.account(params["account"])
        currency = params.get("currency", "USD")
        if currency != "USD":
            raise ApiError(404, "record_not_found", f"no {currency} balance: only USD is held")
        return data(balance_json(account, engine.valuation(account), exchange.clock.now()))

    async def balance_snapshots(request: web.Request, params: Params) -> web.StreamResponse:
        account = engine.account(params["account"])
        now = exchange.clock.now()
        current = balance_json(account, engine.valuation(account), now)
        start = query_date(request, "start-date") or (now - timedelta(days=30)).date()
        end = query_date(request, "end-date") or now.date()
        since = datetime.combine(start, time(0), NEW_YORK)
        rows = []
        for when, value in ledger.net_liq_since(account.number, since):
            local = when.astimezone(NEW_YORK)
            if local.date() > end or local.time() != time(16, 0):
                continue
            snapshot = dict(current)
            snapshot["net-liquidating-value"] = dec(value, 2)
            snapshot["snapshot-date"] = local.date().isoformat()
            rows.append(snapshot)
        rows.reverse()
        return paginated(
            rows, query_int(request, "per-page", 250), query_int(request, "page-offset", 0)
        )

    async def positions(request: web.Request, params: Params) -> web.StreamResponse:
        account = engine.account(params["account"])
        underlyings = set(query_list(request, "underlying-symbol"))
        symbol = request.query.get("symbol")
        itype = request.query.get("instrument-type")
        out = []
        for position in ledger.account_positions(account.number):
            if underlyings and position.underlying not in underlyings:
                continue
            if symbol and position.symbol != symbol:
                continue
            if itype and position.instrument_type.value != itype:
                continue
            mark = to_decimal(market.mark(position.symbol))
            out.append(position_json(market, position, mark))
        return items(out)

    async def transactions(request: web.Request, params: Params) -> web.StreamResponse:
        account = engine.account(params["account"])
        rows = ledger.account_transactions(account.number)
        types = set(query_list(request, "types")) | set(query_list(request, "type"))
        sub_types = set(query_list(request, "sub-type"))
        start, end = query_date(request, "start-date"), query_date(request, "end-date")
        start_at, end_at = query_datetime(request, "start-at"), query_datetime(request, "end-at")
        q = request.query
        selected = []
        for txn in rows:
            if types and txn.transaction_type not in types:
                continue
            if sub_types and txn.transaction_sub_type not in sub_types:
                continue
            if start and txn.transaction_date < start:
                continue
            if end and txn.transaction_date > end:
                continue
            if start_at and txn.executed_at < start_at:
                continue
            if end_at and txn.executed_at > end_at:
                continue
            if q.get("symbol") and txn.symbol != q["symbol"]:
                continue
            if q.get("underlying-symbol") and txn.underlying != q["underlying-symbol"]:
                continue
            if q.get("instrument-type") and (
                txn.instrument_type is None or txn.instrument_type.value != q["instrument-type"]
            ):
                continue
            if q.get("action") and (txn.action is None or txn.action.value != q["action"]):
                continue
            selected.append(txn)
        descending = q.get("sort", "Desc") != "Asc"
        selected.sort(key=lambda t: (t.executed_at, t.id), reverse=descending)
        return paginated(
            [transaction_json(t) for t in selected],
            query_int(request, "per-page", 250),
            query_int(request, "page-offset", 0),
        )

    async def transaction(request: web.Request, params: Params) -> web.StreamResponse:
        account = engine.account(params["account"])
        try:
            txn = ledger.transactions.get(int(params["id"]))
        except ValueError:
            txn = None
        if txn is None or txn.account != account.number:
            raise ApiError(404, "record_not_found", f"transaction {params['id']} not found")
        return data(transaction_json(txn))

    async def total_fees(request: web.Request, params: Params) -> web.StreamResponse:
        account = engine.account(params["account"])
        day = query_date(request, "date") or exchange.market.today()
        total = sum(
            (
                t.commission + t.clearing_fees + t.regulatory_fees + t.proprietary_index_option_fees
                for t in ledger.account_transactions(account.number)
                if t.transaction_date == day
            ),
            Decimal(0),
        )
        body: JSON = {}
        put_money(body, "total-fees", total)
        return data(body)

    async def net_liq_history(request: web.Request, params: Params) -> web.StreamResponse:
        account = engine.account(params["account"])
        now = exchange.clock.now()
        start = query_datetime(request, "start-time")
        time_back = request.query.get("time-back")
        if start is None:
            if time_back is not None and time_back not in _TIME_BACK:
                raise ApiError(
                    400,
                    "invalid_time_back",
                    f"time-back {time_back!r} must be one of {', '.join(_TIME_BACK)}",
                )
            start = now - _TIME_BACK[time_back or "1y"]
        samples = ledger.net_liq_since(account.number, start)
        samples.append((now, money(engine.valuation(account).net_liq)))
        intraday = now - start <= timedelta(days=2)
        buckets: dict[datetime, list[Decimal]] = defaultdict(list)
        for when, value in samples:
            if intraday:
                key = when.replace(minute=when.minute - when.minute % 5, second=0, microsecond=0)
            else:
                local = when.astimezone(NEW_YORK)
                key = datetime.combine(local.date(), time(16, 0), NEW_YORK)
            buckets[key].append(value)
        rows = []
        for key in sorted(buckets):
            values = buckets[key]
            ohlc = {
                "open": values[0],
                "high": max(values),
                "low": min(values),
                "close": values[-1],
            }
            row: JSON = {"time": key.astimezone(NEW_YORK).isoformat()}
            for name, value in ohlc.items():
                row[name] = dec(value, 2)
                row[f"total-{name}"] = dec(value, 2)
                row[f"pending-cash-{name}"] = "0.0"
            rows.append(row)
        return items(rows)

    async def margin_requirements(request: web.Request, params: Params) -> web.StreamResponse:
        account = engine.account(params["account"])
        valuation = engine.valuation(account)
        groups = []
        by_underlying = defaultdict(list)
        for position in ledger.account_positions(account.number):
            by_underlying[position.underlying].append(position)
        for underlying, held in sorted(by_underlying.items()):
            required = requirement_for(market, held, account.margin)
            entry: JSON = {
                "description": underlying,
                "code": underlying,
                "underlying-symbol": underlying,
                "underlying-type": InstrumentType.EQUITY.value,
                "margin-calculation-type": "Reg T",
            }
            put_money(entry, "buying-power", -required)
            put_money(entry, "margin-requirement", -required)
            put_money(entry, "maintenance-requirement", -required)
            put_money(entry, "initial-requirement", -required)
            groups.append(entry)
        body: JSON = {
            "account-number": account.number,
            "description": "Total",
            "margin-calculation-type": "Reg T",
            "option-level": "No Restrictions" if account.margin else "Defined Risk Spreads",
            "last-state-timestamp": int(exchange.clock.now().timestamp() * 1000),
            "groups": groups,
        }
        required = valuation.requirement
        put_money(body, "margin-requirement", -required)
        put_money(body, "maintenance-requirement", -required)
        put_money(body, "initial-requirement", -required)
        put_money(body, "margin-equity", money(valuation.net_liq))
        put_money(body, "option-buying-power", money(valuation.derivative_buying_power))
        put_money(body, "reg-t-margin-requirement", -required)
        put_money(body, "reg-t-option-buying-power", money(valuation.derivative_buying_power))
        put_money(body, "maintenance-excess", money(valuation.net_liq - required))
        return data(body)

    router.get("/customers/me/accounts", accounts)
    router.get("/customers/me/accounts/{account}", one_account)
    router.get("/accounts/{account}/trading-status", trading_status)
    router.get("/accounts/{account}/balances", balances)
    router.get("/accounts/{account}/balances/{currency}", balances)
    router.get("/accounts/{account}/balance-snapshots", balance_snapshots)
    router.get("/accounts/{account}/positions", positions)
    router.get("/accounts/{account}/transactions", transactions)
    router.get("/accounts/{account}/transactions/total-fees", total_fees)
    router.get("/accounts/{account}/transactions/{id}", transaction)
    router.get("/accounts/{account}/net-liq/history", net_liq_history)
    router.get("/margin/accounts/{account}/requirements", margin_requirements)
