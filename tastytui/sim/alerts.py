"""The account streamer: acks for subscriptions, then Order/CurrentPosition/AccountBalance pushes.

Contract (protocol reference §5): the client authenticates in each message with
``auth-token: "Bearer <access token>"``; acks carry no ``type`` and echo ``request-id``;
notifications are ``{"type", "data", "timestamp"}`` with the full model in ``data``.
Protocol pings are answered by aiohttp itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

from aiohttp import WSMsgType, web

from tastytui.sim.exchange import Exchange

log = logging.getLogger(__name__)


class AlertSession:
    """One account-streamer connection."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws = ws
        self.request = request
        self.accounts: set[str] = set()
        self.connected = False
        self.session_id = secrets.token_hex(8)
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def wants(self, account_number: str) -> bool:
        return self.connected and account_number in self.accounts

    def push(self, message: dict[str, Any]) -> None:
        self._outbox.put_nowait(message)

    async def drop(self) -> None:
        """Cut the connection without a close frame, like a network failure."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def writer(self) -> None:
        while True:
            message = await self._outbox.get()
            await self.ws.send_str(json.dumps(message, separators=(",", ":")))


def _ack(request_id: Any, action: str, status: str = "ok", **extra: Any) -> dict[str, Any]:
    return {"status": status, "action": action, "request-id": request_id, **extra}


async def serve_account_streamer(request: web.Request, exchange: Exchange) -> web.StreamResponse:
    ws = web.WebSocketResponse(autoping=True, heartbeat=None, max_msg_size=65_536)
    await ws.prepare(request)
    session = AlertSession(ws, request)
    exchange.alert_sinks.add(session)
    writer = asyncio.create_task(session.writer(), name="alert-writer")
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            try:
                body = json.loads(msg.data)
            except json.JSONDecodeError:
                session.push({"status": "error", "message": "invalid-json"})
                continue
            if not isinstance(body, dict):
                continue
            _handle(session, body, exchange)
    finally:
        exchange.alert_sinks.discard(session)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await writer
    return ws


def _handle(session: AlertSession, body: dict[str, Any], exchange: Exchange) -> None:
    action = str(body.get("action", ""))
    request_id = body.get("request-id")
    token = str(body.get("auth-token", ""))
    if not token.startswith("Bearer ") or not exchange.auth.is_valid_access_token(token):
        session.push(_ack(request_id, action, "error", message="invalid-auth-token"))
        return
    if action == "connect":
        requested = body.get("value") or []
        if not isinstance(requested, list):
            requested = [requested]
        unknown = [a for a in requested if a not in exchange.ledger.accounts]
        if unknown:
            session.push(_ack(request_id, action, "error", message="invalid-account"))
            return
        session.accounts.update(str(a) for a in requested)
        session.connected = True
        session.push(
            _ack(
                request_id, action, value=requested, **{"web-socket-session-id": session.session_id}
            )
        )
        return
    if action in ("public-watchlists-subscribe", "quote-alerts-subscribe", "heartbeat"):
        if not session.connected:
            session.push(_ack(request_id, action, "error", message="connect-not-completed"))
            return
        session.push(_ack(request_id, action))
        return
    session.push(_ack(request_id, action, "error", message=f"unknown action {action}"))
