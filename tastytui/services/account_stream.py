"""The account stream: order, position and balance pushes, kept alive across failures.

The SDK's AlertStreamer has no reconnect and dies on an error ack or an invalid payload
(protocol reference §6.2 item 8).  This supervisor reconnects with backoff and, after every
(re)connect, re-syncs from REST so nothing pushed during the gap is missed.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from tastytrade.account import AccountBalance, CurrentPosition
from tastytrade.order import PlacedOrder
from tastytrade.utils import TastytradeError

from tastytui.services.accounts import AccountService
from tastytui.services.broker import Broker
from tastytui.services.health import Health, LinkState

log = logging.getLogger(__name__)


class AccountStream:
    def __init__(
        self,
        broker: Broker,
        accounts: AccountService,
        health: Health,
        *,
        on_order: Callable[[PlacedOrder], Any] | None = None,
        on_connected: Callable[[], Awaitable[None]] | None = None,
        backoff_max: float = 30.0,
    ) -> None:
        self.broker = broker
        self.accounts = accounts
        self.health = health
        self.on_order = on_order
        self.on_connected = on_connected
        self.backoff_max = backoff_max
        #: Sessions lost (each is followed by a reconnect attempt).
        self.reconnects = 0
        #: Sessions that came up (subscribed), the first one included.
        self.sessions = 0
        self.connected = asyncio.Event()
        self._rng = random.Random()

    async def run(self) -> None:
        """Stay connected forever (the app runs this as a worker and cancels it on exit).

        Backoff (0.5 s doubling to ``backoff_max``, with jitter) starts again after every
        session that was up.  A refused token is renewed and tried again at once the first
        time: the server is there and only the token had died (expired early, revoked and
        renewed) — waiting would only leave the account without pushes.  A server that keeps
        refusing backs off like any other failure.
        """
        delay = 0.5
        first = True
        refusals = 0  # auth refusals since the stream was last up
        while True:
            self.health.update(account_stream=LinkState.CONNECTING)
            failure: BaseException | None = None
            try:
                await self._session(first)
                reason = "closed by the server"
            except asyncio.CancelledError:
                self.health.update(account_stream=LinkState.OFF)
                raise
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                failure = exc
                reason = _describe(exc)
            if self.connected.is_set():
                delay = 0.5  # it was up: a fresh failure starts the backoff again
                refusals = 0
            self.connected.clear()
            first = False
            self.reconnects += 1
            self.health.update(
                account_stream=LinkState.DOWN, last_error=f"account stream: {reason}"
            )
            refused = failure is not None and _is_auth_refusal(failure)
            if refused:
                refusals += 1
                if refusals == 1 and await self._renew_token():
                    log.warning("account stream refused the token (%s); renewed it", reason)
                    continue
            log.warning("account stream lost (%s); reconnecting in %.1f s", reason, delay)
            await asyncio.sleep(delay * (0.5 + self._rng.random() / 2))
            delay = min(self.backoff_max, delay * 2)
            if refused:
                await self._renew_token()

    async def _renew_token(self) -> bool:
        """The streamer refused our access token (it died at the server, e.g. revoked or
        expired early): the SDK only refreshes by the clock, so force a refresh, or every
        reconnect would present the same dead token forever.  True when it was renewed."""
        try:
            await self.broker.force_refresh()
        except Exception as exc:  # revoked grant (health says how to fix it) or REST down
            log.warning("token refresh for the account stream failed: %s", _describe(exc))
            return False
        return True

    async def _session(self, first: bool) -> None:
        async with self.broker.alert_streamer() as streamer:
            await streamer.subscribe_accounts(self.broker.accounts)
            self.health.update(account_stream=LinkState.UP)
            self.sessions += 1
            self.connected.set()
            if self.on_connected is not None:
                # Re-sync over REST: anything pushed while we were away is only there.
                try:
                    await self.on_connected()
                except Exception as exc:  # REST trouble must not stop us listening
                    log.warning("re-sync after connect failed: %s", _describe(exc))
            async with asyncio.TaskGroup() as group:
                group.create_task(self._orders(streamer))
                group.create_task(self._positions(streamer))
                group.create_task(self._balances(streamer))

    async def _orders(self, streamer: Any) -> None:
        async for order in streamer.listen(PlacedOrder):
            self.accounts.apply_order(order)
            if self.on_order is not None:
                self.on_order(order)

    async def _positions(self, streamer: Any) -> None:
        async for position in streamer.listen(CurrentPosition):
            self.accounts.apply_position(position)

    async def _balances(self, streamer: Any) -> None:
        async for balance in streamer.listen(AccountBalance):
            self.accounts.apply_balance(balance)


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _is_auth_refusal(exc: BaseException) -> bool:
    """An error ack about the token ("invalid-auth-token"), not a network failure."""
    return any(
        isinstance(leaf, TastytradeError) and "auth" in str(leaf).lower() for leaf in _leaves(exc)
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        leaves = list(exc.exceptions)
        if leaves:
            return _describe(leaves[0])
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
