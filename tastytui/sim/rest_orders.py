"""Order endpoints: live orders, history, place, dry-run, replace and cancel."""

from __future__ import annotations

from datetime import datetime, time

from aiohttp import web

from tastytui.domain.clock import NEW_YORK
from tastytui.sim.exchange import Exchange
from tastytui.sim.ledger import Order
from tastytui.sim.routing import Params, Router
from tastytui.sim.schemas_account import order_json
from tastytui.sim.wire import (
    ApiError,
    data,
    items,
    json_body,
    paginated,
    query_date,
    query_datetime,
    query_int,
    query_list,
)


def _order_id(params: Params) -> int:
    try:
        return int(params["id"])
    except ValueError as exc:
        raise ApiError(404, "record_not_found", f"order {params['id']!r} not found") from exc


def register(router: Router, exchange: Exchange) -> None:
    engine = exchange.engine
    ledger = exchange.ledger

    def today_start() -> datetime:
        day = exchange.market.today()
        return datetime.combine(day, time(0), NEW_YORK)

    async def live(request: web.Request, params: Params) -> web.StreamResponse:
        """Working orders plus everything that ended today, as production returns."""
        account = engine.account(params["account"])
        since = today_start()
        rows = [
            order
            for order in ledger.account_orders(account.number)
            if order.status.is_working or (order.terminal_at or order.updated_at) >= since
        ]
        rows.sort(key=lambda o: o.id, reverse=True)
        return items([order_json(o) for o in rows])

    async def history(request: web.Request, params: Params) -> web.StreamResponse:
        account = engine.account(params["account"])
        statuses = set(query_list(request, "status"))
        start, end = query_date(request, "start-date"), query_date(request, "end-date")
        start_at, end_at = query_datetime(request, "start-at"), query_datetime(request, "end-at")
        underlying = request.query.get("underlying-symbol")
        selected: list[Order] = []
        for order in ledger.account_orders(account.number):
            day = order.received_at.astimezone(NEW_YORK).date()
            if statuses and order.status.value not in statuses:
                continue
            if underlying and order.underlying != underlying:
                continue
            if start and day < start:
                continue
            if end and day > end:
                continue
            if start_at and order.received_at < start_at:
                continue
            if end_at and order.received_at > end_at:
                continue
            selected.append(order)
        descending = request.query.get("sort", "Desc") != "Asc"
        selected.sort(key=lambda o: (o.received_at, o.id), reverse=descending)
        return paginated(
            [order_json(o) for o in selected],
            query_int(request, "per-page", 10),
            query_int(request, "page-offset", 0),
        )

    async def one(request: web.Request, params: Params) -> web.StreamResponse:
        engine.account(params["account"])
        order = ledger.orders.get(_order_id(params))
        if order is None or order.account != params["account"]:
            raise ApiError(404, "record_not_found", f"order {params['id']} not found")
        return data(order_json(order))

    async def place(request: web.Request, params: Params) -> web.StreamResponse:
        body = await json_body(request)
        return data(engine.place(params["account"], body), status=201)

    async def dry_run(request: web.Request, params: Params) -> web.StreamResponse:
        body = await json_body(request)
        return data(engine.dry_run(params["account"], body), status=201)

    async def replace(request: web.Request, params: Params) -> web.StreamResponse:
        body = await json_body(request)
        return data(engine.replace(params["account"], _order_id(params), body))

    async def cancel(request: web.Request, params: Params) -> web.StreamResponse:
        order = engine.cancel(params["account"], _order_id(params))
        return data(order_json(order))

    async def complex_live(request: web.Request, params: Params) -> web.StreamResponse:
        engine.account(params["account"])
        return items([])

    async def complex_unsupported(request: web.Request, params: Params) -> web.StreamResponse:
        raise ApiError(
            422,
            "unsupported_order",
            "Complex orders (OCO/OTO/OTOCO) are not supported by the simulator",
        )

    router.get("/accounts/{account}/orders/live", live)
    router.get("/accounts/{account}/orders", history)
    router.get("/accounts/{account}/orders/{id}", one)
    router.post("/accounts/{account}/orders", place)
    router.post("/accounts/{account}/orders/dry-run", dry_run)
    router.put("/accounts/{account}/orders/{id}", replace)
    router.delete("/accounts/{account}/orders/{id}", cancel)
    router.get("/accounts/{account}/complex-orders/live", complex_live)
    router.get("/accounts/{account}/complex-orders", complex_live)
    router.post("/accounts/{account}/complex-orders", complex_unsupported)
    router.post("/accounts/{account}/complex-orders/dry-run", complex_unsupported)
