"""Logging in: check credentials against the broker, and the OAuth authorization-code flow.

No prompting here (the CLI asks); these functions verify and exchange, so the console, tests
and the command line share them.  The redirect URI is one constant: tastytrade matches it
exactly (scheme, host, port, path and trailing slash), so it must never be rebuilt ad hoc.
"""

from __future__ import annotations

import asyncio
import secrets as _random
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx2
from aiohttp import web

from tastytui.services.broker import Broker, Credentials, Endpoint
from tastytui.services.errors import AuthError, BrokerUnavailable
from tastytui.services.health import Health
from tastytui.services.http import RestPolicy

#: The one loopback redirect URI registered for tastytui's OAuth client.
REDIRECT_HOST = "127.0.0.1"
REDIRECT_PORT = 8765
REDIRECT_PATH = "/tastytui/callback"
REDIRECT_URI = f"http://{REDIRECT_HOST}:{REDIRECT_PORT}{REDIRECT_PATH}"


@dataclass(frozen=True)
class LoginCheck:
    accounts: list[str]


async def verify(endpoint: Endpoint) -> LoginCheck:
    """Refresh a token and list the accounts: proves the secret and the grant work."""
    async with Broker(endpoint, RestPolicy(), Health()) as broker:
        accounts = await broker.login()
    return LoginCheck([a.account_number for a in accounts])


def authorize_url(base: str, client_id: str, state: str, redirect_uri: str = REDIRECT_URI) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": "read trade openid",
        }
    )
    return f"{base}?{query}"


class CallbackServer:
    """A one-shot loopback HTTP listener (aiohttp) that receives the authorization code."""

    def __init__(self, state: str, port: int = REDIRECT_PORT) -> None:
        self.state = state
        self.port = port
        self._code: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> CallbackServer:
        app = web.Application()
        app.router.add_get(REDIRECT_PATH, self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, REDIRECT_HOST, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        code = request.query.get("code")
        if request.query.get("state") == self.state and code and not self._code.done():
            self._code.set_result(code)
            return web.Response(text="tastytui is logged in. You can close this tab.")
        return web.Response(
            status=400, text="This is not the login tastytui started (state mismatch)."
        )

    async def code(self, within: float) -> str:
        """The authorization code the browser brings back, or AuthError after `within` s."""
        try:
            return await asyncio.wait_for(asyncio.shield(self._code), within)
        except TimeoutError:
            raise AuthError(
                f"no authorization arrived within {within:.0f} s: finish the login in the "
                "browser, or use a personal grant (tastytui login without --browser)"
            ) from None


def new_state() -> str:
    return _random.token_urlsafe(16)


async def exchange_code(
    api_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str = REDIRECT_URI
) -> Credentials:
    """Trade an authorization code for a refresh token (the long-lived grant)."""
    async with httpx2.AsyncClient(base_url=api_url, trust_env=False, timeout=15) as client:
        try:
            response = await client.post(
                "/oauth/token",
                json={
                    "grant_type": "authorization_code",
                    "code": code,
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "redirect_uri": redirect_uri,
                },
            )
        except httpx2.HTTPError as exc:
            raise BrokerUnavailable(f"could not reach {api_url} ({type(exc).__name__})") from None
    if response.status_code != 200:
        try:
            error = response.json().get("error", {})
            reason = f"{error.get('code')}: {error.get('message')}"
        except ValueError:
            reason = f"HTTP {response.status_code}"
        raise AuthError(f"tastytrade refused the authorization code ({reason})")
    body = response.json()
    refresh = body.get("refresh_token")
    if not refresh:
        raise AuthError("tastytrade's answer had no refresh token: try the login again")
    return Credentials(client_secret, refresh)
