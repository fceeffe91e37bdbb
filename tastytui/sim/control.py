"""The fault-control API: HTTP endpoints under ``/_sim/`` and the same operations from Python.

Every operation is a method of :class:`SimControl` (tests call it directly); the HTTP endpoints
are thin JSON wrappers over those methods, so both paths behave identically.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from aiohttp import web

from tastytui.sim.config import CONTROL_PREFIX, FillModel
from tastytui.sim.exchange import Exchange
from tastytui.sim.routing import Handler, Params, Router
from tastytui.sim.wire import JSON, ApiError, data, json_body


class SimControl:
    """Python face of the fault-control API."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    # auth
    def expire_tokens(self) -> None:
        """Expire every access token now; the next request with one gets a 401."""
        self.exchange.auth.expire_all()
        self.exchange.faults.count("token_expiry")

    def expire_quote_tokens(self) -> None:
        self.exchange.auth.expire_quote_tokens()
        self.exchange.faults.count("quote_token_expiry")

    def revoke_grant(self) -> None:
        """Revoke the refresh grant: refreshes fail with 401 invalid_grant until restored."""
        self.exchange.auth.revoke_grant()
        self.exchange.faults.count("grant_revoked")

    def restore_grant(self) -> None:
        self.exchange.auth.restore_grant()

    # http
    def http_fault(
        self,
        status: int | None,
        *,
        count: int | None = None,
        fraction: float | None = None,
        delay: float = 0.0,
        retry_after: float | None = None,
        path_prefix: str = "/",
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests (or a ``fraction``) with ``status``.

        ``status=None`` with a ``delay`` only slows the requests down.
        """
        self.exchange.faults.add_http(
            status,
            count=count,
            fraction=fraction,
            delay=delay,
            retry_after=retry_after,
            path_prefix=path_prefix,
            method=method,
        )

    def clear_http_faults(self) -> None:
        self.exchange.faults.clear_http()

    # streams
    async def drop_streams(self, dxlink: bool = True, account: bool = True) -> int:
        return await self.exchange.drop_streams(dxlink=dxlink, account=account)

    def set_stale(self, symbol: str, stale: bool = True) -> None:
        """Stop (or resume) streaming one symbol; its subscribers see it go stale."""
        if stale:
            self.exchange.faults.stale_symbols.add(symbol)
            self.exchange.faults.count("stale_symbol")
        else:
            self.exchange.faults.stale_symbols.discard(symbol)

    # market
    def step(self, steps: int = 1) -> int:
        """Advance the tape deterministically (useful with a frozen tape)."""
        for _ in range(steps):
            self.exchange.step_once()
        return self.exchange.market.step

    # ledger
    def reset(self) -> None:
        """Wipe the paper ledger and book the starting positions again."""
        from tastytui.sim.seed_book import seed_book

        ledger = self.exchange.ledger
        with ledger.atomic():  # never a wiped ledger without its starting book
            ledger.wipe()
            seed_book(self.exchange.engine)
        ledger.fresh = False

    def close_position_silently(self, account: str, symbol: str) -> None:
        """Close a position at its mark and push nothing (a broker-side closure)."""
        self.exchange.engine.close_silently(account, symbol)

    # orders
    def reject_next_order(self, reason: str) -> None:
        self.exchange.faults.reject_next.append(reason)

    def set_fill_model(
        self,
        model: FillModel | str,
        *,
        delay: float | None = None,
        probability: float | None = None,
    ) -> None:
        config = self.exchange.config
        config.fill_model = FillModel(model)
        if delay is not None:
            config.fill_delay = delay
        if probability is not None:
            config.touch_probability = probability

    def state(self) -> JSON:
        faults = self.exchange.faults
        return {
            "step": self.exchange.market.step,
            "market-state": self.exchange.market_state(),
            "fill-model": self.exchange.config.fill_model.value,
            "pending-http-faults": len(faults.http),
            "stale-symbols": sorted(faults.stale_symbols),
            "injected": dict(faults.injected),
            "dxlink-sessions": len(self.exchange.dxlink_sessions),
            "account-sessions": len(self.exchange.alert_sinks),
            "token-refreshes": self.exchange.auth.refresh_count,
        }


def _opt_float(body: JSON, key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "invalid_request", f"{key} must be a number") from exc


def _opt_int(body: JSON, key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "invalid_request", f"{key} must be a whole number") from exc


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for anything else."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _loopback_only(handler: Handler) -> Handler:
    """Refuse the control API to remote peers even when the simulator binds a public address.

    ``--allow-remote`` opens the trading API to a LAN; resetting the ledger or injecting faults
    stays a local operator's privilege.
    """

    async def guarded(request: web.Request, params: Params) -> web.StreamResponse:
        if not is_loopback(request.remote):
            raise ApiError(
                403, "forbidden", "the simulator's control API only answers loopback clients"
            )
        return await handler(request, params)

    return guarded


def register(router: Router, control: SimControl) -> None:
    """Mount the control endpoints under ``/_sim/`` (no auth, loopback clients only)."""
    p = CONTROL_PREFIX

    def ok(result: Any = None) -> web.Response:
        return data({"ok": True, "result": result, "state": control.state()})

    async def state(request: web.Request, params: Params) -> web.StreamResponse:
        return data(control.state())

    async def tokens_expire(request: web.Request, params: Params) -> web.StreamResponse:
        control.expire_tokens()
        return ok()

    async def quote_tokens_expire(request: web.Request, params: Params) -> web.StreamResponse:
        control.expire_quote_tokens()
        return ok()

    async def grant_revoke(request: web.Request, params: Params) -> web.StreamResponse:
        control.revoke_grant()
        return ok()

    async def grant_restore(request: web.Request, params: Params) -> web.StreamResponse:
        control.restore_grant()
        return ok()

    async def http_fault(request: web.Request, params: Params) -> web.StreamResponse:
        body = await json_body(request)
        try:
            control.http_fault(
                _opt_int(body, "status"),
                count=_opt_int(body, "count"),
                fraction=_opt_float(body, "fraction"),
                delay=_opt_float(body, "delay") or 0.0,
                retry_after=_opt_float(body, "retry-after"),
                path_prefix=str(body.get("path-prefix", "/")),
                method=body.get("method"),
            )
        except ValueError as exc:
            raise ApiError(400, "invalid_request", str(exc)) from exc
        return ok()

    async def http_clear(request: web.Request, params: Params) -> web.StreamResponse:
        control.clear_http_faults()
        return ok()

    async def streams_drop(request: web.Request, params: Params) -> web.StreamResponse:
        body = await json_body(request) if request.can_read_body else {}
        which = body.get("which", "all")
        if which not in ("all", "dxlink", "account"):
            raise ApiError(400, "invalid_request", "which must be all, dxlink or account")
        dropped = await control.drop_streams(
            dxlink=which in ("all", "dxlink"), account=which in ("all", "account")
        )
        return ok(dropped)

    async def stale(request: web.Request, params: Params) -> web.StreamResponse:
        body = await json_body(request)
        symbol = body.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise ApiError(400, "invalid_request", "symbol is required")
        control.set_stale(symbol, bool(body.get("stale", True)))
        return ok()

    async def step(request: web.Request, params: Params) -> web.StreamResponse:
        body = await json_body(request) if request.can_read_body else {}
        return ok(control.step(_opt_int(body, "steps") or 1))

    async def reject_next(request: web.Request, params: Params) -> web.StreamResponse:
        body = await json_body(request)
        control.reject_next_order(str(body.get("reason", "Order rejected by the simulator")))
        return ok()

    async def fill_model(request: web.Request, params: Params) -> web.StreamResponse:
        body = await json_body(request)
        try:
            control.set_fill_model(
                str(body.get("model")),
                delay=_opt_float(body, "delay"),
                probability=_opt_float(body, "probability"),
            )
        except ValueError as exc:
            models = ", ".join(m.value for m in FillModel)
            raise ApiError(400, "invalid_request", f"model must be one of {models}") from exc
        return ok()

    async def reset(request: web.Request, params: Params) -> web.StreamResponse:
        control.reset()
        return ok()

    async def close_silently(request: web.Request, params: Params) -> web.StreamResponse:
        body = await json_body(request)
        account, symbol = body.get("account"), body.get("symbol")
        if not isinstance(account, str) or not isinstance(symbol, str):
            raise ApiError(400, "invalid_request", "account and symbol are required")
        control.close_position_silently(account, symbol)
        return ok()

    router.get(f"{p}/state", _loopback_only(state), auth=False)
    router.post(f"{p}/reset", _loopback_only(reset), auth=False)
    router.post(f"{p}/positions/close-silently", _loopback_only(close_silently), auth=False)
    router.post(f"{p}/tokens/expire", _loopback_only(tokens_expire), auth=False)
    router.post(f"{p}/quote-tokens/expire", _loopback_only(quote_tokens_expire), auth=False)
    router.post(f"{p}/grant/revoke", _loopback_only(grant_revoke), auth=False)
    router.post(f"{p}/grant/restore", _loopback_only(grant_restore), auth=False)
    router.post(f"{p}/faults/http", _loopback_only(http_fault), auth=False)
    router.delete(f"{p}/faults/http", _loopback_only(http_clear), auth=False)
    router.post(f"{p}/streams/drop", _loopback_only(streams_drop), auth=False)
    router.post(f"{p}/symbols/stale", _loopback_only(stale), auth=False)
    router.post(f"{p}/market/step", _loopback_only(step), auth=False)
    router.post(f"{p}/orders/reject-next", _loopback_only(reject_next), auth=False)
    router.post(f"{p}/fill-model", _loopback_only(fill_model), auth=False)
