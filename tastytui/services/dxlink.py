"""Our own DXLink market-data client: one connection that survives, feeding the QuoteStore.

The SDK's ``DXLinkStreamer`` has no reconnect, no watchdog, no AUTHORIZED timeout, never renews
its quote token and dies on several legal server messages (protocol reference §6.2 item 7).
This client owns its connection forever (:meth:`DxLinkClient.run`, started by the app as a
worker and cancelled on exit):

- quote token + URL from a provider on *every* connect (renewal for free);
- SETUP → AUTH_STATE → AUTH → AUTHORIZED within ``auth_timeout``, else a fresh token;
- ONE feed channel, COMPACT, asking only for the fields the store keeps;
- reference-counted subscriptions flushed in batches by the run loop, every frame under
  ``max_frame_bytes``, restored in full after a reconnect;
- KEEPALIVE every ``keepalive_interval``; a watchdog that drops the connection when nothing at
  all arrives for ``watchdog`` seconds; exponential backoff with jitter between attempts.

Protocol handling lives in :class:`DxLinkProtocol`, which does no I/O and never raises, so one
odd frame can never end the stream (and the handler can be fuzzed on its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect

from tastytui.domain.clock import Clock
from tastytui.services.health import Health, LinkState
from tastytui.services.quotes import DEFAULT_EVENT_FIELDS, QuoteStore, candle_symbol

if TYPE_CHECKING:
    from tastytrade import Session

log = logging.getLogger(__name__)

#: (token, dxlink url)
TokenProvider = Callable[[], Awaitable[tuple[str, str]]]
#: (event kind, symbol) as it appears on the wire
SubKey = tuple[str, str]

CLIENT_VERSION: Final = "0.1-tastytui/0.1.0"
FEED_CHANNEL: Final = 1
#: Consecutive failed sessions after which the link is shown DOWN rather than DEGRADED.
DOWN_AFTER: Final = 3
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def quote_token_provider(session: Session) -> TokenProvider:
    """A provider that asks tastytrade (through the session's resilient REST client) for a
    fresh quote token and the DXLink URL each time it is called."""

    async def fetch() -> tuple[str, str]:
        data = await session._get("/api-quote-tokens")
        return str(data["token"]), str(data["dxlink-url"])

    return fetch


# --------------------------------------------------------------------------- wire helpers


def subscription_frames(
    channel: int,
    removes: Iterable[SubKey],
    adds: Iterable[SubKey],
    max_bytes: int,
    from_times: Mapping[SubKey, int] | None = None,
) -> list[str]:
    """FEED_SUBSCRIPTION messages for the changes, each at most ``max_bytes`` long.

    Removes go out first so a symbol's slot is free before new ones arrive.  An entry that
    cannot fit in a frame on its own (an absurd symbol) is dropped with a warning rather than
    sent: the server closes the whole connection (1009) on an oversized message.
    """
    frames: list[str] = []
    for member, keys in (("remove", removes), ("add", adds)):
        head = f'{{"type":"FEED_SUBSCRIPTION","channel":{channel},"{member}":['
        budget = max_bytes - len(head) - 2  # the closing "]}"
        parts: list[str] = []
        size = 0
        for kind, symbol in keys:
            entry: dict[str, Any] = {"type": kind, "symbol": symbol}
            if member == "add" and from_times and (kind, symbol) in from_times:
                entry["fromTime"] = from_times[(kind, symbol)]
            text = _ENCODE(entry)  # ASCII-escaped: len() is the byte count
            cost = len(text) + (1 if parts else 0)
            if len(text) > budget:
                log.warning("dxlink: a %s subscription too long to send was skipped", kind)
                continue
            if size + cost > budget:
                frames.append(head + ",".join(parts) + "]}")
                parts, size, cost = [], 0, len(text)
            parts.append(text)
            size += cost
        if parts:
            frames.append(head + ",".join(parts) + "]}")
    return frames


def _int(value: Any) -> int | None:
    return value if value.__class__ is int else None


# --------------------------------------------------------------------------- protocol


class DxLinkProtocol:
    """The state of one DXLink connection, without I/O.

    :meth:`feed` takes each received message; messages to send accumulate in :attr:`outbox`
    and :attr:`fatal` says when the connection must be dropped (with :attr:`token_rejected`
    when a fresh token is needed).  It never raises.
    """

    def __init__(
        self,
        store: QuoteStore,
        event_fields: Mapping[str, tuple[str, ...]],
        *,
        channel: int = FEED_CHANNEL,
        aggregation_period: float = 0.1,
    ) -> None:
        self.store = store
        self.channel = channel
        self.aggregation_period = aggregation_period
        self.requested = dict(event_fields)
        #: The layout data arrives in, per kind: what we asked for unless FEED_CONFIG says else.
        self.layouts: dict[str, tuple[str, ...]] = dict(event_fields)
        self.token = ""
        self.outbox: list[str] = []
        self.authorized = False
        self.auth_sent = False
        self.channel_requested = False
        self.channel_open = False
        #: (kind, symbol) subscriptions the server has on our open channel.
        self.wire: set[SubKey] = set()
        self.fatal: str | None = None
        self.token_rejected = False
        self.got_data = False
        #: The server's keepaliveTimeout from its SETUP, if it sent one.
        self.server_keepalive: float | None = None
        self.errors = 0

    # ------------------------------------------------------------ outbound

    def start(self, token: str) -> None:
        """Queue the opening SETUP (sent right after connecting, without waiting)."""
        self.token = token
        self._send(
            {
                "type": "SETUP",
                "channel": 0,
                "keepaliveTimeout": 60,
                "acceptKeepaliveTimeout": 60,
                "version": CLIENT_VERSION,
            }
        )

    def take_outbox(self) -> list[str]:
        out, self.outbox = self.outbox, []
        return out

    def _send(self, message: dict[str, Any]) -> None:
        self.outbox.append(_ENCODE(message))

    def _request_channel(self) -> None:
        self.channel_requested = True
        self._send(
            {
                "type": "CHANNEL_REQUEST",
                "channel": self.channel,
                "service": "FEED",
                "parameters": {"contract": "AUTO"},
            }
        )

    def _end(self, reason: str, *, token: bool = False) -> None:
        if self.fatal is None:
            self.fatal = reason
        self.token_rejected = self.token_rejected or token

    # ------------------------------------------------------------ inbound

    def feed(self, raw: Any) -> None:
        """Handle one received message (text, bytes or an already-decoded object)."""
        try:
            message = json.loads(raw) if isinstance(raw, str | bytes | bytearray) else raw
        except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError)
            self.store.stats.decode_errors += 1
            return
        try:
            self._dispatch(message)
        except Exception:  # one bad frame must never end the stream
            self.store.stats.decode_errors += 1
            log.debug("dxlink: unhandled message shape", exc_info=True)

    def _dispatch(self, message: Any) -> None:
        if message.__class__ is not dict:
            self.store.stats.decode_errors += 1
            return
        kind = message.get("type")
        if kind == "FEED_DATA":  # by far the most common: first
            if message.get("channel") == self.channel and self.channel_open:
                self.got_data = True
                self.store.apply_feed_data(message.get("data"), self.layouts)
            return
        if kind == "KEEPALIVE":
            return  # receiving anything already fed the watchdog
        if kind == "AUTH_STATE":
            self._on_auth_state(message.get("state"))
        elif kind == "SETUP":
            timeout = message.get("keepaliveTimeout")
            if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
                self.server_keepalive = float(timeout)
        elif kind == "CHANNEL_OPENED":
            ours = _int(message.get("channel")) == self.channel and self.channel_requested
            if ours and not self.channel_open:  # a stray or repeated OPENED changes nothing
                self.channel_open = True
                self.wire.clear()
                self.layouts = dict(self.requested)
                self._send(
                    {
                        "type": "FEED_SETUP",
                        "channel": self.channel,
                        "acceptAggregationPeriod": self.aggregation_period,
                        "acceptDataFormat": "COMPACT",
                        "acceptEventFields": {k: list(v) for k, v in self.requested.items()},
                    }
                )
        elif kind == "CHANNEL_CLOSED":
            if _int(message.get("channel")) == self.channel and self.channel_requested:
                # The server closed our channel: reopen it; the client resubscribes everything.
                self.channel_open = False
                self.wire.clear()
                if self.authorized:
                    self._request_channel()
        elif kind == "FEED_CONFIG":
            if _int(message.get("channel")) == self.channel:
                self._on_feed_config(message.get("eventFields"))
        elif kind == "ERROR":
            self._on_error(message.get("error"), message.get("message"))
        # Anything else (unknown types, stray channels) is ignored on purpose.

    def _on_auth_state(self, state: Any) -> None:
        if state == "AUTHORIZED":
            if not self.authorized:  # a duplicate AUTHORIZED is harmless here
                self.authorized = True
                self._request_channel()
        elif state == "UNAUTHORIZED":
            if self.authorized:
                self._end("the quote token expired during the session", token=True)
            elif not self.auth_sent:
                self.auth_sent = True
                self._send({"type": "AUTH", "channel": 0, "token": self.token})
            else:
                self._end("the quote token was refused", token=True)

    def _on_error(self, error: Any, message: Any) -> None:
        self.errors += 1
        code = str(error)[:64] if error is not None else "ERROR"
        text = str(message)[:200] if message is not None else ""
        log.warning("dxlink server error %r: %r", code, text)
        if not self.authorized:
            self._end(f"server refused the session ({code})", token=True)
        elif code == "UNAUTHORIZED":
            self._end(f"server revoked the session ({code})", token=True)
        # Later errors (a bad subscription, say) leave the connection usable; if the server
        # closes it as well, the reader notices.

    def _on_feed_config(self, fields: Any) -> None:
        """Trust the server's announced layout over our request (the SDK ignores it)."""
        if fields.__class__ is not dict:
            return
        for kind, names in fields.items():
            if (
                kind in self.requested
                and names.__class__ is list
                and all(name.__class__ is str for name in names)
                and "eventSymbol" in names
            ):
                self.layouts[kind] = tuple(names)


# --------------------------------------------------------------------------- the client


class SessionEnded(Exception):
    """Why a connection ended (the run loop reconnects)."""

    def __init__(self, reason: str, *, token_rejected: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.token_rejected = token_rejected


@dataclass(slots=True)
class OutboundStats:
    frames: int = 0
    subscription_frames: int = 0
    largest_frame: int = 0


class DxLinkClient:
    """A DXLink connection that reconnects, resubscribes and renews its token by itself."""

    def __init__(
        self,
        token_provider: TokenProvider,
        store: QuoteStore,
        health: Health,
        clock: Clock,
        *,
        watchdog: float = 20.0,
        keepalive_interval: float = 10.0,
        max_frame_bytes: int = 32_000,
        backoff_max: float = 30.0,
        backoff_base: float = 0.5,
        auth_timeout: float = 10.0,
        flush_delay: float = 0.02,
        aggregation_period: float = 0.1,
        event_fields: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.token_provider = token_provider
        self.store = store
        self.health = health
        self.clock = clock
        self.watchdog = watchdog
        self.keepalive_interval = keepalive_interval
        self.max_frame_bytes = max_frame_bytes
        self.backoff_max = backoff_max
        self.backoff_base = backoff_base
        self.auth_timeout = auth_timeout
        self.flush_delay = flush_delay
        self.aggregation_period = aggregation_period
        self.event_fields = dict(event_fields or DEFAULT_EVENT_FIELDS)
        #: Successful re-establishments after the first connection.
        self.reconnects = 0
        #: Quote tokens fetched (one per connection attempt).
        self.token_fetches = 0
        #: Sessions that ended because the server refused or expired the token.
        self.token_rejections = 0
        self.last_error: str | None = None
        self.outbound = OutboundStats()
        #: Symbols found stale by the last :meth:`check_stale`.
        self.stale: list[str] = []
        self._counts: dict[SubKey, int] = {}
        self._owners: dict[object, set[SubKey]] = {}
        self._from_times: dict[SubKey, int] = {}
        self._symbol_refs: dict[str, int] = {}
        self._symbol_since: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._healthy = False
        self._sessions = 0
        self._rng = random.Random()

    # ------------------------------------------------------------ subscriptions

    def subscribe(self, owner: object, kinds: Iterable[str], symbols: Iterable[str]) -> None:
        """Hold (kind, symbol) subscriptions for ``owner`` (idempotent per owner).

        OCC option symbols are accepted and subscribed by their streamer symbol.  The wire sees
        an ``add`` only for the first holder; changes are flushed in batches by :meth:`run`.
        """
        keys = self._keys(kinds, symbols)
        if not keys:
            return
        held = self._owners.setdefault(owner, set())
        for key in keys:
            if key not in held:
                held.add(key)
                self._ref(key)

    def unsubscribe(self, owner: object, kinds: Iterable[str], symbols: Iterable[str]) -> None:
        """Drop ``owner``'s hold on (kind, symbol) pairs; the last holder's drop removes them."""
        held = self._owners.get(owner)
        if not held:
            return
        for key in self._keys(kinds, symbols):
            if key in held:
                held.discard(key)
                self._unref(key)
        if not held:
            del self._owners[owner]

    def release(self, owner: object) -> None:
        """Drop everything ``owner`` holds (a pane closing)."""
        for key in self._owners.pop(owner, set()):
            self._unref(key)

    def subscribe_candles(self, owner: object, symbol: str, period: str, since_ms: int) -> str:
        """Hold a candle series of ``symbol`` at ``period`` from ``since_ms`` (epoch ms).

        Returns the candle symbol: read the bars with ``store.candles(returned)``.  Always give
        ``since_ms``; dxFeed's default means all history.
        """
        if "Candle" not in self.event_fields:
            raise ValueError("this client was configured without Candle fields")
        key = ("Candle", candle_symbol(symbol, period))
        self._from_times[key] = int(since_ms)
        held = self._owners.setdefault(owner, set())
        if key not in held:
            held.add(key)
            self._ref(key)
        return key[1]

    def subscriptions(self) -> dict[SubKey, int]:
        """Every held (kind, symbol) with its number of holders."""
        return dict(self._counts)

    def _keys(self, kinds: Iterable[str], symbols: Iterable[str]) -> list[SubKey]:
        kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
        symbols = (symbols,) if isinstance(symbols, str) else tuple(symbols)
        for kind in kinds:
            if kind not in self.event_fields:
                known = ", ".join(sorted(self.event_fields))
                raise ValueError(f"unknown event kind {kind!r} (known: {known})")
        keys = [self.store.streamer_key(s) for s in symbols]
        return [(kind, symbol) for kind in kinds for symbol in keys]

    def _ref(self, key: SubKey) -> None:
        count = self._counts.get(key, 0)
        self._counts[key] = count + 1
        if count == 0:
            symbol = key[1]
            refs = self._symbol_refs.get(symbol, 0)
            self._symbol_refs[symbol] = refs + 1
            if refs == 0:
                self._symbol_since[symbol] = self.clock.monotonic()
            self._wake.set()

    def _unref(self, key: SubKey) -> None:
        count = self._counts.get(key, 0)
        if count > 1:
            self._counts[key] = count - 1
            return
        self._counts.pop(key, None)
        self._from_times.pop(key, None)
        symbol = key[1]
        refs = self._symbol_refs.get(symbol, 1) - 1
        if refs <= 0:
            self._symbol_refs.pop(symbol, None)
            self._symbol_since.pop(symbol, None)
        else:
            self._symbol_refs[symbol] = refs
        self._wake.set()

    # ------------------------------------------------------------ state

    @property
    def connected(self) -> bool:
        """True while authorized with the feed channel open."""
        return self._ready.is_set()

    async def wait_connected(self) -> None:
        """Return once the client is connected (use with a timeout)."""
        await self._ready.wait()

    def check_stale(self, stale_after: float) -> list[str]:
        """Subscribed symbols with no event for ``stale_after`` s; updates the health count.

        A symbol that never delivered counts once it has been subscribed that long.  Call it
        periodically (the app does, about once a second); data is never blanked, only flagged.
        """
        now = self.clock.monotonic()
        since = self._symbol_since
        candidates = [
            s for s in since if not s.endswith("}") and now - since[s] > stale_after
        ]  # candle symbols ("SPY{=5m}") go quiet between bars by design
        self.stale = self.store.stale_symbols(stale_after, candidates)
        self.health.update(stale_symbols=len(self.stale))
        return self.stale

    async def watch_stale(self, stale_after: float, interval: float = 1.0) -> None:
        """Run :meth:`check_stale` every ``interval`` seconds, forever."""
        while True:
            self.check_stale(stale_after)
            await asyncio.sleep(interval)

    # ------------------------------------------------------------ run loop

    async def run(self) -> None:
        """Own the connection until cancelled: connect, stream, and reconnect on any failure."""
        failures = 0
        self.health.update(dxlink=LinkState.CONNECTING)
        try:
            while True:
                self._healthy = False
                try:
                    await self._session()
                except SessionEnded as ended:
                    self._note_end(ended.reason, ended.token_rejected)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # whatever broke, the next attempt starts clean
                    self._note_end(_describe(exc), False)
                self._ready.clear()
                # Backoff restarts after a session that worked, so a blip costs one short wait.
                failures = 1 if self._healthy else failures + 1
                state = LinkState.DEGRADED if failures < DOWN_AFTER else LinkState.DOWN
                self.health.update(dxlink=state, last_error=f"market data: {self.last_error}")
                await asyncio.sleep(self._backoff(failures))
        finally:
            self._ready.clear()
            self.health.update(dxlink=LinkState.OFF)

    def _note_end(self, reason: str, token_rejected: bool) -> None:
        self.last_error = reason
        if token_rejected:
            self.token_rejections += 1
        log.info("dxlink: connection ended (%s); reconnecting", reason)

    def _backoff(self, failures: int) -> float:
        """Exponential in consecutive failures, capped, with jitter so clients spread out."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** max(0, failures - 1))
        return ceiling * self._rng.uniform(0.5, 1.0)

    async def _session(self) -> None:
        """One connection, from token to drop; always ends with an exception."""
        token, url = await self.token_provider()
        self.token_fetches += 1
        protocol = DxLinkProtocol(
            self.store, self.event_fields, aggregation_period=self.aggregation_period
        )
        loop = asyncio.get_running_loop()
        tasks: list[asyncio.Task[None]] = []
        async with connect(
            url,
            open_timeout=self.auth_timeout,
            close_timeout=1.0,
            ping_interval=None,  # DXLink has its own KEEPALIVE; the watchdog watches reads
            compression=None,
            proxy=None if _is_loopback(url) else True,
        ) as ws:
            protocol.start(token)
            await self._send_outbox(ws, protocol)
            deadline = loop.time() + self.auth_timeout
            opened_at: float | None = None
            try:
                while True:
                    timeout = self.watchdog
                    if opened_at is None:  # SETUP → AUTHORIZED → CHANNEL_OPENED has a deadline
                        timeout = min(timeout, max(0.0, deadline - loop.time()))
                    try:
                        async with asyncio.timeout(timeout):
                            raw = await ws.recv()
                    except TimeoutError:
                        raise self._timed_out(protocol, opened_at) from None
                    protocol.feed(raw)
                    if protocol.outbox:
                        await self._send_outbox(ws, protocol)
                    if protocol.fatal is not None:
                        raise SessionEnded(protocol.fatal, token_rejected=protocol.token_rejected)
                    if protocol.authorized and not tasks:
                        tasks.append(asyncio.create_task(self._keepalive(ws, protocol)))
                        tasks.append(asyncio.create_task(self._flusher(ws, protocol)))
                    if protocol.channel_open != self._ready.is_set():
                        self._on_channel(protocol.channel_open, first=opened_at is None)
                        if opened_at is None:
                            opened_at = loop.time()
                    if not self._healthy and opened_at is not None:
                        # Data flowed, or a quiet link stayed up past the watchdog: it works.
                        since = loop.time() - opened_at
                        self._healthy = protocol.got_data or since > self.watchdog
            except (SessionEnded, asyncio.CancelledError) as ended:
                # Our decision, not a crash: close normally (leaving with an exception would
                # send 1011 "internal error"); a dead server gets close_timeout, then an abort.
                going_away = isinstance(ended, asyncio.CancelledError)
                await ws.close(1001 if going_away else 1000)
                raise
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    def _timed_out(self, protocol: DxLinkProtocol, opened_at: float | None) -> SessionEnded:
        if not protocol.authorized:
            return SessionEnded(
                f"not authorized within {self.auth_timeout:g} s", token_rejected=True
            )
        if opened_at is None:
            return SessionEnded(f"the feed channel did not open within {self.auth_timeout:g} s")
        return SessionEnded(f"watchdog: nothing received for {self.watchdog:g} s")

    def _on_channel(self, is_open: bool, *, first: bool) -> None:
        if is_open:
            if first:  # the first open of a connection (a reopened channel is not a reconnect)
                self._sessions += 1
                if self._sessions > 1:
                    self.reconnects += 1
            self._ready.set()
            self._wake.set()  # resubscribe everything on the new channel
            self.health.update(dxlink=LinkState.UP)
        else:
            self._ready.clear()

    async def _send(self, ws: ClientConnection, text: str) -> None:
        await ws.send(text)
        out = self.outbound
        out.frames += 1
        out.largest_frame = max(out.largest_frame, len(text))

    async def _send_outbox(self, ws: ClientConnection, protocol: DxLinkProtocol) -> None:
        async with self._send_lock:
            for text in protocol.take_outbox():
                await self._send(ws, text)

    async def _keepalive(self, ws: ClientConnection, protocol: DxLinkProtocol) -> None:
        message = _ENCODE({"type": "KEEPALIVE", "channel": 0})
        while True:
            interval = self.keepalive_interval
            if protocol.server_keepalive is not None:  # stay well inside the server's patience
                interval = min(interval, protocol.server_keepalive / 2.0)
            await asyncio.sleep(interval)
            async with self._send_lock:
                await self._send(ws, message)

    async def _flusher(self, ws: ClientConnection, protocol: DxLinkProtocol) -> None:
        """Send subscription changes in batches once the channel is open."""
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.flush_delay)  # gather a burst of (un)subscribe calls
            self._wake.clear()
            if not self._ready.is_set():
                continue  # not open yet (or reopening): opening wakes us again
            async with self._send_lock:
                await self._flush(ws, protocol)

    async def _flush(self, ws: ClientConnection, protocol: DxLinkProtocol) -> None:
        wanted = self._counts
        wire = protocol.wire
        removes = [key for key in wire if key not in wanted]
        adds = [key for key in wanted if key not in wire]
        if not removes and not adds:
            return
        frames = subscription_frames(
            protocol.channel, removes, adds, self.max_frame_bytes, self._from_times
        )
        for text in frames:
            await self._send(ws, text)
            self.outbound.subscription_frames += 1
        wire.difference_update(removes)
        wire.update(adds)


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def _describe(exc: BaseException) -> str:
    """A short, secret-free reason for the health line (no tokens ever reach it)."""
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
    return f"{name}: {text}" if text else name
