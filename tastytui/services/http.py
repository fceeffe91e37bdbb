"""The one place every SDK REST request passes through.

The SDK has no retry, no 401 handling, no rate limiting and no breaker (protocol reference
§6.2).  We replace the SDK session's HTTP client with one whose transport adds them:

- a token bucket (default 2 requests/s);
- on 401: one forced token refresh (shared by concurrent requests) and one retry — per
  refused token, so a request outliving two expiries still gets through;
- on 429: exponential backoff with jitter, honouring ``Retry-After``;
- idempotent reads retried on 5xx, timeouts and connection errors;
- a circuit breaker that refuses order changes while the broker is failing.

An order POST/PUT/DELETE is **never** retried here: a 5xx or a timeout on it raises
:class:`BrokerUnavailable`, and the order service resolves the outcome by the order's
external identifier instead of guessing.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx2
from tastytrade.utils import TastytradeError

from tastytui.secrets import register_secret
from tastytui.services.breaker import CircuitBreaker
from tastytui.services.errors import (
    AuthError,
    BrokerUnavailable,
    CircuitOpen,
    GrantRevoked,
    RateLimited,
)
from tastytui.services.health import BreakerState, Health, LinkState
from tastytui.services.ratelimit import TokenBucket

if TYPE_CHECKING:
    from tastytrade import Session

_ORDER_PATH = re.compile(r"/accounts/[^/]+/(complex-)?orders")
_REVOKED_CODES = ("invalid_grant", "invalid_client", "unauthorized_client")
#: Forced refreshes one request may cause (each for a different refused token).
_MAX_AUTH_RETRIES = 3


@dataclass
class RestPolicy:
    rate: float = 2.0
    burst: float = 20.0
    timeout: float = 10.0
    read_retries: int = 3
    rate_limit_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_retry_after: float = 30.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 15.0


def grant_revoked_message(profile: str) -> str:
    return (
        "tastytrade refused the saved login (the grant was revoked or has expired). "
        f"Run `tastytui login --profile {profile}` to create a new one."
    )


class ResilientTransport(httpx2.AsyncBaseTransport):
    """Rate limit, refresh-and-retry, backoff and breaker around a real HTTP transport."""

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport,
        session: Session,
        policy: RestPolicy,
        health: Health,
        profile: str = "sim",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._inner = inner
        self._session = session
        self.policy = policy
        self._health = health
        self._profile = profile
        self._sleep = sleep
        self._wall = wall
        self._rng = rng or random.Random()
        self.bucket = TokenBucket(policy.rate, policy.burst)
        self.breaker = CircuitBreaker(
            policy.breaker_threshold,
            policy.breaker_cooldown,
            on_change=lambda state: self._health.update(
                breaker=state, rest=LinkState.DOWN if state is BreakerState.OPEN else LinkState.UP
            ),
        )
        self._refresh_lock = asyncio.Lock()
        self.forced_refreshes = 0
        self.retries = 0

    # ----------------------------------------------------------------- policy

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.policy.backoff_max, self.policy.backoff_base * (2**attempt))
        return float(ceiling * (0.5 + 0.5 * self._rng.random()))

    def _retry_after(self, response: httpx2.Response, attempt: int) -> float:
        raw = response.headers.get("Retry-After")
        if raw:
            try:
                delay = float(raw)
            except ValueError:
                try:
                    # An HTTP date: compare with the wall clock (the loop's clock is monotonic).
                    when = parsedate_to_datetime(raw)
                    delay = max(0.0, when.timestamp() - self._wall())
                except (TypeError, ValueError):
                    delay = self._backoff(attempt)
            # Jitter on top of the server's floor spreads a thundering herd.
            return min(self.policy.max_retry_after, delay + self._rng.random() * 0.25)
        return self._backoff(attempt)

    async def _refresh(self, used_authorization: str | None) -> None:
        """Force one token refresh, unless another request already refreshed since we sent."""
        async with self._refresh_lock:
            current = self._session._client.headers.get("Authorization")
            if current is not None and current != used_authorization:
                return
            self.forced_refreshes += 1
            try:
                await self._session.refresh(force=True)
            except TastytradeError as exc:
                text = str(exc)
                if any(code in text for code in _REVOKED_CODES):
                    message = grant_revoked_message(self._profile)
                    self._health.update(auth_problem=message)
                    raise GrantRevoked(message) from None
                raise AuthError(f"tastytrade refused the token refresh: {text.strip()}") from None
            register_secret(self._session.session_token)
            expires = datetime.fromtimestamp(self._session.session_expiration, UTC)
            self._health.update(auth_problem=None, token_expires_at=expires)

    # ----------------------------------------------------------------- send

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        method = request.method.upper()
        path = request.url.path
        is_token = path.endswith("/oauth/token")
        order_change = method in ("POST", "PUT", "DELETE") and bool(_ORDER_PATH.search(path))
        if path.endswith("/dry-run"):
            order_change = False
        idempotent = method in ("GET", "HEAD") or is_token or path.endswith("/dry-run")
        if order_change and self.breaker.state is not BreakerState.CLOSED:
            raise CircuitOpen(self._breaker_message())
        if not self.breaker.allow():
            raise BrokerUnavailable(self._breaker_message())
        await request.aread()  # buffer the body so a retry can resend it
        attempt = 0
        # Tokens this request was refused with: one forced refresh and one retry per token, so
        # a request that outlives two expiries (waiting out a 429) still gets through.
        refused_tokens: set[str | None] = set()
        while True:
            self._health.update(rate_queue=self.bucket.waiting)
            await self.bucket.acquire()
            try:
                response = await self._inner.handle_async_request(request)
            except (httpx2.TimeoutException, httpx2.TransportError) as exc:
                reason = f"{type(exc).__name__} on {method} {path}"
                self.breaker.record_failure(reason)
                self._health.update(last_error=reason, rest=LinkState.DEGRADED)
                if idempotent and attempt < self.policy.read_retries and self.breaker.allow():
                    self.retries += 1
                    await self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise BrokerUnavailable(
                    f"tastytrade did not answer {method} {path} ({type(exc).__name__})"
                ) from None
            status = response.status_code
            used = request.headers.get("Authorization")
            if (
                status == 401
                and not is_token
                and used not in refused_tokens
                and len(refused_tokens) < _MAX_AUTH_RETRIES
            ):
                await response.aread()
                await response.aclose()
                refused_tokens.add(used)
                await self._refresh(used)
                auth = self._session._client.headers.get("Authorization")
                if auth is not None:
                    request.headers["Authorization"] = auth
                continue
            if status == 429:
                await response.aread()
                self._health.update(last_error=f"429 on {path}", rest=LinkState.DEGRADED)
                if attempt < self.policy.rate_limit_retries:
                    self.retries += 1
                    await self._sleep(self._retry_after(response, attempt))
                    attempt += 1
                    continue
                raise RateLimited(
                    "tastytrade is rate-limiting this app; it backed off "
                    f"{attempt} times and gave up on {method} {path}",
                    status,
                )
            if status >= 500:
                await response.aread()
                reason = f"HTTP {status} on {method} {path}"
                self.breaker.record_failure(reason)
                self._health.update(last_error=reason, rest=LinkState.DEGRADED)
                if idempotent and attempt < self.policy.read_retries and self.breaker.allow():
                    self.retries += 1
                    await self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise BrokerUnavailable(f"tastytrade answered {status} to {method} {path}", status)
            self.breaker.record_success()
            self._health.update(rest=LinkState.UP, rate_queue=self.bucket.waiting)
            return response

    def _breaker_message(self) -> str:
        why = self.breaker.last_failure or "repeated failures"
        return (
            f"Orders are paused: tastytrade failed {self.breaker.failures} times in a row "
            f"(last: {why}). tastytui is probing it and resumes when it answers "
            f"(next probe in {self.breaker.retry_in():.0f} s)."
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def install(
    session: Session, policy: RestPolicy, health: Health, profile: str, *, verify: bool = True
) -> ResilientTransport:
    """Swap the SDK session's client for one that routes through a :class:`ResilientTransport`.

    The new client keeps the session's base URL and headers (protocol reference §1.4: a
    transport must not go into ``client_kwargs``, which the streamers reuse and close).
    """
    old = session._client
    transport = ResilientTransport(
        httpx2.AsyncHTTPTransport(verify=verify), session, policy, health, profile
    )
    session._client = httpx2.AsyncClient(
        base_url=old.base_url,
        headers=old.headers,
        transport=transport,
        timeout=policy.timeout,
        trust_env=False,
    )
    return transport
