"""The broker connection: one SDK session per profile, resilient, with its token kept fresh."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

import httpx2
from pydantic import ValidationError
from tastytrade import Account, AlertStreamer, Session
from tastytrade.utils import TastytradeError

from tastytui.secrets import register_secret
from tastytui.services.errors import (
    AuthError,
    BrokerRejected,
    BrokerUnavailable,
    GrantRevoked,
    ServiceError,
)
from tastytui.services.health import Health, LinkState
from tastytui.services.http import ResilientTransport, RestPolicy, grant_revoked_message, install

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Credentials:
    client_secret: str
    refresh_token: str

    def __post_init__(self) -> None:
        register_secret(self.client_secret)
        register_secret(self.refresh_token)

    def __repr__(self) -> str:
        return "Credentials(«redacted»)"


@dataclass(frozen=True)
class Endpoint:
    profile: str
    api_url: str
    streamer_url: str
    credentials: Credentials
    #: cert omits the Accept-Version header, as the SDK's is_test does.
    is_test: bool = False


async def guarded(awaitable: Awaitable[T], what: str) -> T:
    """Await an SDK call and translate its failures into service errors that explain them."""
    try:
        return await awaitable
    except ServiceError:
        raise
    except TastytradeError as exc:
        text = str(exc).strip() or "no reason given"
        raise BrokerRejected(f"tastytrade refused to {what}: {text}") from None
    except ValidationError as exc:
        raise BrokerUnavailable(
            f"tastytrade sent {what} data tastytui could not read "
            f"({exc.error_count()} field errors, e.g. {exc.errors()[0]['loc']})"
        ) from None
    except (httpx2.TransportError, httpx2.TimeoutException, OSError) as exc:
        raise BrokerUnavailable(
            f"could not reach tastytrade to {what} ({type(exc).__name__})"
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, ArithmeticError) as exc:
        # The SDK parses answers without guarding them: a truncated body, a list where an
        # object belongs, a missing "data"... (found by fuzzing).  Never the body's text here:
        # it may carry tokens.
        log.warning("tastytrade sent unreadable data to %s (%s)", what, type(exc).__name__)
        raise BrokerUnavailable(
            f"tastytrade sent {what} data tastytui could not read ({type(exc).__name__}); "
            "try again — if it persists, tastytrade may have changed its API"
        ) from None


class Broker:
    """An SDK :class:`Session` for one profile whose REST calls go through the resilient client."""

    def __init__(self, endpoint: Endpoint, policy: RestPolicy, health: Health) -> None:
        self.endpoint = endpoint
        self.health = health
        self.session = Session(
            provider_secret=endpoint.credentials.client_secret,
            refresh_token=endpoint.credentials.refresh_token,
            is_test=endpoint.is_test,
            trust_env=False,
        )
        self.session._client.base_url = endpoint.api_url
        self.transport: ResilientTransport = install(self.session, policy, health, endpoint.profile)
        self.accounts: list[Account] = []
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Broker:
        await self._stack.enter_async_context(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def login(self) -> list[Account]:
        """Refresh the token and list the accounts; the first failure explains how to fix it."""
        self.health.update(rest=LinkState.CONNECTING)
        try:
            await self.session.refresh(force=True)
        except TastytradeError as exc:
            text = str(exc)
            if "invalid_grant" in text:
                message = grant_revoked_message(self.endpoint.profile)
                self.health.update(auth_problem=message, rest=LinkState.DOWN)
                raise GrantRevoked(message) from None
            if "invalid_client" in text:
                message = (
                    "tastytrade rejected the OAuth client secret: check it, then run "
                    f"`tastytui login --profile {self.endpoint.profile}`"
                )
                self.health.update(auth_problem=message, rest=LinkState.DOWN)
                raise AuthError(message) from None
            raise AuthError(f"login failed: {text.strip()}") from None
        except BrokerUnavailable as exc:
            self.health.update(rest=LinkState.DOWN)
            raise BrokerUnavailable(
                f"could not reach {self.endpoint.api_url}: {exc}", exc.status
            ) from None
        except ServiceError:
            self.health.update(rest=LinkState.DOWN)
            raise
        except (httpx2.TransportError, httpx2.TimeoutException, OSError) as exc:
            self.health.update(rest=LinkState.DOWN, last_error=type(exc).__name__)
            raise BrokerUnavailable(
                f"could not reach {self.endpoint.api_url} ({type(exc).__name__})"
            ) from None
        self._note_expiry()
        self.accounts = await guarded(Account.get(self.session), "list the accounts")
        self.health.update(rest=LinkState.UP, auth_problem=None)
        return self.accounts

    def _note_expiry(self) -> None:
        from datetime import UTC, datetime

        # Access tokens are secrets too (the SDK logs them at DEBUG level).
        register_secret(self.session.session_token)
        expires = datetime.fromtimestamp(self.session.session_expiration, UTC)
        self.health.update(token_expires_at=expires)

    async def force_refresh(self) -> None:
        """Refresh the access token now, e.g. after a streamer refused it.

        Shares the transport's refresh (concurrent 401 retries wait for the same one).  Raises
        :class:`GrantRevoked` (with the fix-it message, also set on the health state) or
        :class:`AuthError` when tastytrade refuses, :class:`BrokerUnavailable` when it is down.
        """
        await self.transport._refresh(self.session._client.headers.get("Authorization"))
        self._note_expiry()

    async def keep_token_fresh(self, margin: float = 120.0) -> None:
        """Refresh the access token ``margin`` seconds before it expires, forever.

        Transient failures retry with backoff; a revoked grant stops the loop (nothing else
        can fix it) after telling the health state how to fix it.
        """
        delay = 1.0
        while True:
            wait = self.session.session_expiration - margin - time.time()
            if wait > 0:
                await asyncio.sleep(min(wait, 60.0))
                continue
            try:
                await self.session.refresh(force=True)
            except TastytradeError as exc:
                if "invalid_grant" in str(exc) or "invalid_client" in str(exc):
                    message = grant_revoked_message(self.endpoint.profile)
                    self.health.update(auth_problem=message)
                    log.error("token refresh refused: grant revoked")
                    return
                log.warning("token refresh failed, retrying in %.0f s", delay)
            except (ServiceError, httpx2.TransportError, httpx2.TimeoutException, OSError):
                log.warning("token refresh failed (transient), retrying in %.0f s", delay)
            else:
                self._note_expiry()
                delay = 1.0
                continue
            await asyncio.sleep(delay)
            delay = min(60.0, delay * 2)

    async def probe_while_open(self, interval: float = 2.0) -> None:
        """While the breaker is open, probe the API with a cheap read so it can close."""
        from tastytui.services.health import BreakerState

        breaker = self.transport.breaker
        while True:
            await asyncio.sleep(interval)
            if breaker.state is BreakerState.OPEN and breaker.retry_in() <= 0:
                with contextlib.suppress(ServiceError, TastytradeError, httpx2.HTTPError, OSError):
                    await self.session._get("/customers/me")

    def alert_streamer(self) -> AlertStreamer:
        streamer = AlertStreamer(self.session)
        streamer.base_url = self.endpoint.streamer_url
        return streamer
