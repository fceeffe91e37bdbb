"""The simulator's HTTP + WebSocket server (aiohttp), embeddable in any running event loop.

Layout of the base URL ``http://127.0.0.1:PORT``:

- REST at the root, exactly as ``https://api.tastyworks.com`` (``/oauth/token``,
  ``/customers/me/accounts``, ``/accounts/{n}/orders`` …);
- the account streamer at ``ws://127.0.0.1:PORT/streamer``;
- DXLink at ``ws://127.0.0.1:PORT/dxlink``, announced by ``GET /api-quote-tokens``;
- the fault-control API under ``/_sim/`` (no auth; loopback only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from aiohttp import web

from tastytui.sim import control, rest_session
from tastytui.sim.config import (
    ACCOUNT_STREAMER_PATH,
    CONTROL_PREFIX,
    DXLINK_PATH,
    SimConfig,
)
from tastytui.sim.exchange import Exchange
from tastytui.sim.routing import Router, split_raw_path
from tastytui.sim.wire import ApiError

log = logging.getLogger(__name__)

#: Route modules; each has ``register(router, exchange)``.
_REST_MODULES = [rest_session]


def _optional_modules() -> list[object]:
    """Route modules written in parallel; imported when present."""
    import importlib

    found: list[object] = []
    for name in (
        "rest_accounts",
        "rest_orders",
        "rest_instruments",
        "rest_market",
        "rest_watchlists",
    ):
        try:
            found.append(importlib.import_module(f"tastytui.sim.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"tastytui.sim.{name}":
                raise
    return found


class SimServer:
    """Run the simulator in-process: ``async with SimServer(SimConfig(seed=7)) as sim: ...``."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.config.check_bind()
        self.exchange = Exchange(self.config)
        self.router = Router()
        self.control_router = Router()
        for module in [*_REST_MODULES, *_optional_modules()]:
            module.register(self.router, self.exchange)  # type: ignore[attr-defined]
        #: The fault-control API from Python (the same operations as ``/_sim/...``).
        self.control = control.SimControl(self.exchange)
        control.register(self.control_router, self.control)
        self._runner: web.AppRunner | None = None
        self._market_task: asyncio.Task[None] | None = None
        self.port = 0

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.exchange.base_url = self.base_url
        self._market_task = asyncio.create_task(self.exchange.run(), name="sim-market")
        log.info("simulator listening on %s", self.base_url)
        return self.base_url

    async def stop(self) -> None:
        if self._market_task is not None:
            self._market_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._market_task
            self._market_task = None
        await self.exchange.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def host_for_urls(self) -> str:
        host = self.config.host
        return f"[{host}]" if ":" in host else host

    @property
    def base_url(self) -> str:
        return f"http://{self.host_for_urls}:{self.port}"

    @property
    def streamer_url(self) -> str:
        return f"ws://{self.host_for_urls}:{self.port}{ACCOUNT_STREAMER_PATH}"

    @property
    def dxlink_url(self) -> str:
        return f"ws://{self.host_for_urls}:{self.port}{DXLINK_PATH}"

    # ------------------------------------------------------------ dispatch

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = "/" + "/".join(split_raw_path(request.raw_path))
        try:
            if path == DXLINK_PATH:
                from tastytui.sim.dxlink import serve_dxlink

                return await serve_dxlink(request, self.exchange)
            if path == ACCOUNT_STREAMER_PATH:
                from tastytui.sim.alerts import serve_account_streamer

                return await serve_account_streamer(request, self.exchange)
            if path.startswith(CONTROL_PREFIX + "/") or path == CONTROL_PREFIX:
                route, params = self.control_router.resolve(request.method, request.raw_path)
                return await route.handler(request, params)
            fault = self.exchange.faults.take_http(request.method, path)
            if fault is not None:
                if fault.delay:
                    # Receive the whole request first: a slow server has the order even when
                    # the client gives up waiting (the ambiguous outcome a timeout leaves).
                    await request.read()
                    await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    code, message = fault.code_and_message
                    headers = {}
                    if fault.retry_after is not None:
                        headers["Retry-After"] = f"{fault.retry_after:g}"
                    raise ApiError(fault.status, code, message, headers=headers)
            route, params = self.router.resolve(request.method, request.raw_path)
            if route.auth:
                self.exchange.auth.check_bearer(request.headers.get("Authorization"))
            return await route.handler(request, params)
        except ApiError as error:
            return error.response()
        except web.HTTPException:
            raise
        except Exception:
            log.exception("simulator error on %s %s", request.method, path)
            return ApiError(500, "internal_server_error", "simulator internal error").response()
