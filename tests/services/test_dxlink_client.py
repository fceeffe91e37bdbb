"""Our DXLink client against the real simulator over loopback (and a few stub servers for
misbehaviour the simulator does not do): data lands in the store, subscriptions are
reference-counted and survive reconnects, tokens renew, stale symbols are flagged, dead
servers are detected, big subscriptions are chunked, and no frame can break the handler."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tastytrade import Session
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tastytui.domain.clock import SystemClock
from tastytui.services.dxlink import (
    DxLinkClient,
    DxLinkProtocol,
    TokenProvider,
    quote_token_provider,
    subscription_frames,
)
from tastytui.services.health import Health, LinkState
from tastytui.services.quotes import DEFAULT_EVENT_FIELDS, QuoteStore
from tastytui.sim.server import SimServer
from tests.conftest import SimFactory, sdk_session

TICK = 0.05
MARKET = ("Quote", "Greeks", "Trade", "Summary")


@pytest.fixture
async def sim(make_sim: SimFactory) -> SimServer:
    return await make_sim(tick_interval=TICK)


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until ``condition()`` holds."""
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.01)


def option_symbols(sim: SimServer, underlying: str = "SPY", count: int = 1) -> list[str]:
    """Streamer symbols of listed contracts about a month out, around the money."""
    market = sim.exchange.market
    expiration = market.chain(underlying).nearest_dte(market.today(), 30)
    assert expiration is not None
    atm = expiration.nearest_index(market.spot(underlying))
    rows = expiration.strikes[max(0, atm - count) : atm + count]
    return [row.call.streamer for row in rows][:count]


def server_subscriptions(sim: SimServer) -> set[tuple[str, str]]:
    """(kind, symbol) pairs the simulator holds for its DXLink connections (its own view)."""
    held: set[tuple[str, str]] = set()
    for session in list(sim.exchange.dxlink_sessions):
        for channel in session.channels.values():  # type: ignore[attr-defined]
            for kind, subs in channel.subscriptions.items():
                held.update((kind, symbol) for symbol in subs)
    return held


@dataclass
class Counting:
    """A token provider that counts its calls (and can hand out a bad token first)."""

    inner: TokenProvider
    bad_first: int = 0
    calls: int = 0

    async def __call__(self) -> tuple[str, str]:
        self.calls += 1
        token, url = await self.inner()
        return ("not-a-token", url) if self.calls <= self.bad_first else (token, url)


@dataclass
class Running:
    client: DxLinkClient
    store: QuoteStore
    health: Health
    tokens: Counting
    states: list[LinkState] = field(default_factory=list)


@asynccontextmanager
async def running(
    provider: TokenProvider, *, bad_first: int = 0, **options: Any
) -> AsyncIterator[Running]:
    """A client running its ``run()`` loop as the app would (a task, cancelled at the end)."""
    clock = SystemClock()
    store = QuoteStore(clock)
    health = Health()
    tokens = Counting(provider, bad_first=bad_first)
    options.setdefault("watchdog", 2.0)
    options.setdefault("keepalive_interval", 0.5)
    options.setdefault("backoff_base", 0.05)
    client = DxLinkClient(tokens, store, health, clock, **options)
    handle = Running(client, store, health, tokens)

    def note(snapshot: Any) -> None:
        if not handle.states or handle.states[-1] is not snapshot.dxlink:
            handle.states.append(snapshot.dxlink)  # transitions only

    health.subscribe(note)
    task = asyncio.create_task(client.run())
    try:
        yield handle
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert health.snapshot.dxlink is LinkState.OFF


async def flowing(store: QuoteStore, symbols: list[str], within: float = 5.0) -> None:
    """Wait until every symbol has had at least one event since this call."""
    store.drain_dirty()
    seen: set[str] = set()

    def all_seen() -> bool:
        seen.update(store.drain_dirty())
        return set(symbols) <= seen

    await eventually(all_seen, within)


# ---------------------------------------------------------------- data into the store


async def test_subscribed_values_land_in_the_store(sim: SimServer, session: Session) -> None:
    [option] = option_symbols(sim)
    async with running(quote_token_provider(session)) as run:
        run.client.subscribe("chain pane", MARKET, ["SPY", option])
        store = run.store

        def complete() -> bool:
            spy, opt = store.get("SPY"), store.get(option)
            return bool(spy and spy.quote and spy.trade and spy.summary and opt and opt.greeks)

        await eventually(complete)
        assert run.client.connected
        assert run.health.snapshot.dxlink is LinkState.UP

        spy_quote, option_greeks = store.quote("SPY"), store.greeks(option)
        assert spy_quote is not None and option_greeks is not None
        assert spy_quote.bid is not None and spy_quote.ask is not None
        assert 0 < spy_quote.bid <= spy_quote.ask
        assert option_greeks.delta is not None and 0 < option_greeks.delta < 1  # a call
        mid = store.mid(option)
        assert mid is not None and mid > 0
        assert store.drain_dirty() >= {"SPY", option}
        assert store.drain_dirty() <= {"SPY", option}  # drained: only new ticks come back
        assert store.stats.decode_errors == 0


async def test_only_the_fields_the_store_needs_are_requested(
    sim: SimServer, session: Session
) -> None:
    async with running(quote_token_provider(session)) as run:
        run.client.subscribe("pane", ["Quote"], ["SPY"])
        await flowing(run.store, ["SPY"])
        [server_session] = list(sim.exchange.dxlink_sessions)
        layouts = server_session.channels[1].layouts  # type: ignore[attr-defined]
        assert layouts["Quote"].fields == DEFAULT_EVENT_FIELDS["Quote"]


async def test_candles_fill_a_close_series_for_sparklines(sim: SimServer, session: Session) -> None:
    since = int(sim.exchange.clock.now().timestamp() * 1000) - 20 * 60_000  # 20 minutes
    async with running(quote_token_provider(session)) as run:
        key = run.client.subscribe_candles("sparkline", "SPY", "1m", since)
        assert key == "SPY{=1m}"

        def enough_bars() -> bool:
            series = run.store.candles(key)
            return series is not None and len(series.closes()) >= 20

        await eventually(enough_bars)
        series = run.store.candles(key)
        assert series is not None
        bars = series.bars()
        assert [b.time for b in bars] == sorted({b.time for b in bars})  # one bar a minute
        assert bars[0].time >= since - 60_000
        assert all(b.close is not None and b.close > 0 for b in bars)
        assert key in run.store.drain_dirty_candles()
        assert run.client.check_stale(0.0) == []  # a bar a minute is not "stale"


# ---------------------------------------------------------------- reference counting


async def test_a_symbol_stays_subscribed_until_its_last_holder_lets_go(
    sim: SimServer, session: Session
) -> None:
    async with running(quote_token_provider(session)) as run:
        client = run.client
        client.subscribe("watchlist", ["Quote"], ["SPY", "QQQ"])
        client.subscribe("chart", ["Quote"], ["SPY"])
        client.subscribe("chart", ["Quote"], ["SPY"])  # holding twice is holding once
        await eventually(lambda: server_subscriptions(sim) == {("Quote", "SPY"), ("Quote", "QQQ")})
        assert client.subscriptions() == {("Quote", "SPY"): 2, ("Quote", "QQQ"): 1}

        client.release("watchlist")
        await eventually(lambda: ("Quote", "QQQ") not in server_subscriptions(sim))
        assert server_subscriptions(sim) == {("Quote", "SPY")}  # the chart still holds it
        await flowing(run.store, ["SPY"])

        client.unsubscribe("chart", ["Quote"], ["SPY"])
        await eventually(lambda: server_subscriptions(sim) == set())
        assert client.subscriptions() == {}
        await asyncio.sleep(4 * TICK)
        run.store.drain_dirty()
        await asyncio.sleep(4 * TICK)
        assert run.store.drain_dirty() == set()  # events stopped
        assert run.store.quote("SPY") is not None  # but the last values are kept


async def test_a_burst_of_changes_goes_out_as_few_frames(sim: SimServer, session: Session) -> None:
    async with running(quote_token_provider(session)) as run:
        await eventually(lambda: run.client.connected)
        before = run.client.outbound.subscription_frames
        for i, symbol in enumerate(["SPY", "QQQ", "IWM", "DIA", "GLD"]):
            run.client.subscribe(f"pane {i}", ["Quote", "Trade"], [symbol])
        run.client.subscribe("temp", ["Quote"], ["TLT"])
        run.client.release("temp")  # never reaches the wire
        await eventually(lambda: len(server_subscriptions(sim)) == 10)

        assert run.client.outbound.subscription_frames - before == 1
        assert ("Quote", "TLT") not in server_subscriptions(sim)


def test_unknown_kinds_are_refused() -> None:
    clock = SystemClock()

    async def never() -> tuple[str, str]:
        raise AssertionError("not called")

    client = DxLinkClient(never, QuoteStore(clock), Health(), clock)
    with pytest.raises(ValueError, match="Qoute"):
        client.subscribe("pane", ["Qoute"], ["SPY"])


def test_occ_symbols_are_subscribed_by_their_streamer_symbol() -> None:
    clock = SystemClock()

    async def never() -> tuple[str, str]:
        raise AssertionError("not called")

    client = DxLinkClient(never, QuoteStore(clock), Health(), clock)
    client.subscribe("pane", "Quote", "SPY   261218C00600000")
    assert client.subscriptions() == {("Quote", ".SPY261218C600"): 1}


# ---------------------------------------------------------------- reconnects and tokens


async def test_a_dropped_connection_comes_back_with_every_subscription(
    sim: SimServer, session: Session
) -> None:
    options = option_symbols(sim, count=2)
    symbols = ["SPY", "QQQ", *options]
    async with running(quote_token_provider(session)) as run:
        run.client.subscribe("board", ["Quote", "Trade"], symbols)
        run.client.subscribe("chain", ["Greeks"], options)
        await flowing(run.store, symbols)
        wanted = server_subscriptions(sim)
        assert len(wanted) == 2 * len(symbols) + len(options)

        assert await sim.control.drop_streams(dxlink=True, account=False) == 1
        await eventually(lambda: run.client.reconnects == 1 and run.client.connected)

        await flowing(run.store, symbols)
        await eventually(lambda: server_subscriptions(sim) == wanted)
        assert run.tokens.calls == 2  # a fresh quote token for the new connection
        assert LinkState.DEGRADED in run.states
        assert run.health.snapshot.dxlink is LinkState.UP
        before = {option: run.store.greeks(option) for option in options}

        def greeks_moved() -> bool:  # greeks flow again too
            return all(run.store.greeks(o) != b for o, b in before.items())

        await eventually(greeks_moved)


async def test_expired_quote_tokens_are_renewed_on_reconnect(
    sim: SimServer, session: Session
) -> None:
    async with running(quote_token_provider(session)) as run:
        run.client.subscribe("board", ["Quote"], ["SPY"])
        await flowing(run.store, ["SPY"])

        sim.control.expire_quote_tokens()  # the token in use is now worthless
        await sim.control.drop_streams(dxlink=True, account=False)

        await eventually(lambda: run.client.reconnects == 1 and run.client.connected)
        await flowing(run.store, ["SPY"])
        assert run.client.token_rejections == 0  # renewed before anyone refused it


async def test_a_refused_token_is_replaced_by_a_fresh_one(sim: SimServer, session: Session) -> None:
    async with running(quote_token_provider(session), bad_first=1) as run:
        run.client.subscribe("board", ["Quote"], ["SPY"])
        await flowing(run.store, ["SPY"])

        assert run.tokens.calls == 2
        assert run.client.token_rejections == 1
        assert run.client.reconnects == 0  # the first good session is not a reconnect


async def test_a_failing_token_provider_is_retried(sim: SimServer, session: Session) -> None:
    real = quote_token_provider(session)
    failures = [ConnectionError("REST down"), ConnectionError("still down")]

    async def flaky() -> tuple[str, str]:
        if failures:
            raise failures.pop(0)
        return await real()

    async with running(flaky) as run:
        run.client.subscribe("board", ["Quote"], ["SPY"])
        await flowing(run.store, ["SPY"])
        assert run.tokens.calls == 3
        assert run.states[:3] == [LinkState.CONNECTING, LinkState.DEGRADED, LinkState.UP]


# ---------------------------------------------------------------- staleness


async def test_a_symbol_that_stops_streaming_is_flagged_stale_not_blanked(
    sim: SimServer, session: Session
) -> None:
    async with running(quote_token_provider(session)) as run:
        client, store = run.client, run.store
        client.subscribe("board", ["Quote"], ["SPY", "QQQ"])
        await flowing(store, ["SPY", "QQQ"])
        stale_after = 1.0  # generous: a busy machine must not make QQQ look stale too

        sim.control.set_stale("SPY")
        last_spy = store.quote("SPY")
        await eventually(lambda: client.check_stale(stale_after) == ["SPY"])
        assert run.health.snapshot.stale_symbols == 1
        age = store.age("SPY")
        assert age is not None and age > stale_after
        assert store.quote("SPY") == last_spy  # still shown, with its age

        sim.control.set_stale("SPY", stale=False)
        await eventually(lambda: client.check_stale(stale_after) == [])
        assert run.health.snapshot.stale_symbols == 0


# ---------------------------------------------------------------- a silent server


@dataclass
class StubServer:
    """A DXLink server that authorizes, opens channels, records what it gets, then is silent."""

    authorize: bool = True
    connections: int = 0
    provided: int = 0
    tokens: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    url: str = ""

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionClosed):
            await self.serve(ws)

    async def serve(self, ws: ServerConnection) -> None:
        async for raw in ws:
            assert isinstance(raw, str)
            self.received.append(raw)
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "SETUP":
                await ws.send(json.dumps({"type": "SETUP", "channel": 0, "version": "stub"}))
                await ws.send(
                    json.dumps({"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})
                )
            elif kind == "AUTH":
                self.tokens.append(message["token"])
                if self.authorize:
                    await ws.send(
                        json.dumps({"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED"})
                    )
            elif kind == "CHANNEL_REQUEST":
                await ws.send(
                    json.dumps(
                        {"type": "CHANNEL_OPENED", "channel": message["channel"], "service": "FEED"}
                    )
                )

    async def provide(self) -> tuple[str, str]:
        self.provided += 1
        return f"token-{self.provided}", self.url


@asynccontextmanager
async def stub_server(**options: Any) -> AsyncIterator[StubServer]:
    stub = StubServer(**options)
    async with serve(stub.handler, "127.0.0.1", 0, max_size=2**20) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        stub.url = f"ws://127.0.0.1:{port}/dxlink"
        yield stub


async def test_watchdog_reconnects_when_the_server_goes_silent() -> None:
    async with stub_server() as stub, running(stub.provide, watchdog=0.4) as run:
        loop = asyncio.get_running_loop()
        await eventually(lambda: run.client.connected, within=2.0)
        started = loop.time()
        await eventually(lambda: stub.connections >= 2, within=2.0)

        # The watchdog's 0.4 s of silence, a short backoff, and nothing much else.
        assert 0.35 < loop.time() - started < 0.4 + 1.0
        assert run.client.last_error is not None and "watchdog" in run.client.last_error
        # The second connection's AUTH follows its handshake.
        await eventually(lambda: len(stub.tokens) >= 2, within=2.0)
        assert stub.tokens == ["token-1", "token-2"]  # a fresh token for each connection


async def test_a_server_that_never_authorizes_gets_a_fresh_token() -> None:
    async with (
        stub_server(authorize=False) as stub,
        running(stub.provide, auth_timeout=0.3) as run,
    ):
        await eventually(lambda: len(stub.tokens) >= 3, within=3.0)
        assert not run.client.connected
        assert run.client.token_rejections >= 2
        assert run.health.snapshot.dxlink in (LinkState.DEGRADED, LinkState.DOWN)
        assert len(set(stub.tokens)) == len(stub.tokens)


# ---------------------------------------------------------------- chunking


async def test_thousands_of_subscriptions_are_chunked_under_the_frame_limit() -> None:
    symbols = [f".SPY261218C{strike}" for strike in range(1, 5001)]
    limit = 8_000
    async with stub_server() as stub, running(stub.provide, max_frame_bytes=limit) as run:
        run.client.subscribe("huge chain", ["Quote"], symbols)

        def subscribed() -> set[str]:
            found: set[str] = set()
            for raw in stub.received:
                message = json.loads(raw)
                if message.get("type") == "FEED_SUBSCRIPTION":
                    found.update(entry["symbol"] for entry in message.get("add", []))
            return found

        await eventually(lambda: subscribed() == set(symbols))
        frames = [raw for raw in stub.received if '"FEED_SUBSCRIPTION"' in raw]
        assert len(frames) >= 5_000 * 40 // limit
        assert max(len(raw.encode()) for raw in frames) <= limit


async def test_five_thousand_symbols_keep_the_simulator_connection(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(live_tape=False)  # one snapshot per symbol, no ticking
    market = sim.exchange.market
    symbols: list[str] = []
    for underlying in ("SPY", "QQQ", "IWM", "AAPL", "TSLA"):
        for expiration in market.chain(underlying).expirations:
            symbols.extend(row.call.streamer for row in expiration.strikes)
    symbols = symbols[:5_000]
    assert len(symbols) == 5_000

    async with sdk_session(sim) as session, running(quote_token_provider(session)) as run:
        run.client.subscribe("everything", ["Quote"], symbols)
        await eventually(lambda: len(server_subscriptions(sim)) == 5_000, within=15.0)
        await eventually(lambda: len(run.store.symbols()) == 5_000, within=15.0)

        assert run.client.outbound.largest_frame < 32_000
        assert run.client.outbound.subscription_frames >= 6
        assert run.client.reconnects == 0 and run.client.connected


@pytest.mark.parametrize("limit", [200, 1_000, 32_000])
def test_subscription_frames_stay_under_the_limit_and_lose_nothing(limit: int) -> None:
    adds = [("Quote", f"SYM{i}") for i in range(3_000)] + [("Candle", "SPY{=5m}")]
    removes = [("Trade", f"OLD{i}") for i in range(500)]
    frames = subscription_frames(1, removes, adds, limit, {("Candle", "SPY{=5m}"): 1_000})

    added: list[tuple[str, str]] = []
    removed: list[tuple[str, str]] = []
    for frame in frames:
        assert len(frame.encode()) <= limit
        message = json.loads(frame)
        added += [(e["type"], e["symbol"]) for e in message.get("add", [])]
        removed += [(e["type"], e["symbol"]) for e in message.get("remove", [])]
        if "Candle" in frame:
            assert message["add"][-1]["fromTime"] == 1_000
    assert added == adds and removed == removes


# ---------------------------------------------------------------- the protocol, without I/O


def protocol_after_handshake() -> tuple[DxLinkProtocol, QuoteStore]:
    store = QuoteStore(SystemClock())
    protocol = DxLinkProtocol(store, DEFAULT_EVENT_FIELDS)
    protocol.start("tok")
    for message in (
        {"type": "SETUP", "channel": 0, "keepaliveTimeout": 60},
        {"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"},
        {"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED", "userId": "u"},
        {"type": "CHANNEL_OPENED", "channel": 1, "service": "FEED"},
    ):
        protocol.feed(json.dumps(message))
    return protocol, store


def sent(protocol: DxLinkProtocol) -> list[dict[str, Any]]:
    return [json.loads(text) for text in protocol.take_outbox()]


def test_handshake_messages_in_order() -> None:
    protocol, _ = protocol_after_handshake()
    kinds = [m["type"] for m in sent(protocol)]
    assert kinds == ["SETUP", "AUTH", "CHANNEL_REQUEST", "FEED_SETUP"]
    assert protocol.authorized and protocol.channel_open and protocol.fatal is None


def test_feed_setup_asks_for_compact_data_with_our_fields() -> None:
    protocol, _ = protocol_after_handshake()
    [setup] = [m for m in sent(protocol) if m["type"] == "FEED_SETUP"]
    assert setup["acceptDataFormat"] == "COMPACT"
    assert setup["acceptEventFields"] == {k: list(v) for k, v in DEFAULT_EVENT_FIELDS.items()}


def test_messages_that_kill_the_sdk_streamer_are_harmless() -> None:
    protocol, store = protocol_after_handshake()
    protocol.take_outbox()
    for message in (
        {"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED"},  # duplicate
        {"type": "CHANNEL_OPENED", "channel": 7, "service": "FEED"},  # stray
        {"type": "CHANNEL_CLOSED", "channel": 9},  # never opened
        {"type": "FEED_DATA", "channel": 1, "data": []},  # empty
        {"type": "FEED_DATA", "channel": 1, "data": ["Quote", ["SPY", 1.0, 2.0]]},  # mismatch
        {"type": "WHATEVER", "channel": 0},
        {"type": "ERROR", "channel": 0, "error": "BAD_ACTION", "message": "nope"},
    ):
        protocol.feed(json.dumps(message))
    protocol.feed("{not json")
    protocol.feed(b"\xff\xfe")

    assert protocol.fatal is None and protocol.channel_open
    assert protocol.take_outbox() == []
    assert store.stats.decode_errors >= 4

    good = {"type": "FEED_DATA", "channel": 1, "data": ["Quote", ["SPY", 1.0, 2.0, 3, 4]]}
    protocol.feed(json.dumps(good))
    assert store.quote("SPY") is not None  # still working


def test_full_format_data_is_understood() -> None:
    protocol, store = protocol_after_handshake()
    event = {"eventType": "Quote", "eventSymbol": "SPY", "bidPrice": 1.0, "askPrice": 1.1}
    protocol.feed(json.dumps({"type": "FEED_DATA", "channel": 1, "data": [event]}))
    quote = store.quote("SPY")
    assert quote is not None and quote.ask == 1.1


def test_feed_config_layout_wins_over_the_request() -> None:
    """The server says it sends another field order: trust it (the SDK would mis-parse)."""
    protocol, store = protocol_after_handshake()
    layout = ["askPrice", "eventSymbol", "bidPrice"]
    protocol.feed(
        json.dumps({"type": "FEED_CONFIG", "channel": 1, "eventFields": {"Quote": layout}})
    )
    protocol.feed(json.dumps({"type": "FEED_DATA", "channel": 1, "data": ["Quote", [2, "X", 1]]}))
    quote = store.quote("X")
    assert quote is not None and (quote.bid, quote.ask) == (1, 2)


def test_closing_our_channel_reopens_it_and_forgets_the_wire() -> None:
    protocol, _ = protocol_after_handshake()
    protocol.take_outbox()
    protocol.wire.add(("Quote", "SPY"))
    protocol.feed(json.dumps({"type": "CHANNEL_CLOSED", "channel": 1}))

    assert (protocol.channel_open, protocol.wire) == (False, set())
    assert [m["type"] for m in sent(protocol)] == ["CHANNEL_REQUEST"]
    protocol.feed(json.dumps({"type": "CHANNEL_OPENED", "channel": 1}))
    assert protocol.channel_open
    assert [m["type"] for m in sent(protocol)] == ["FEED_SETUP"]


@pytest.mark.parametrize(
    "late",
    [
        {"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"},
        {"type": "ERROR", "channel": 0, "error": "UNAUTHORIZED", "message": "token expired"},
    ],
)
def test_a_revoked_session_asks_for_a_new_token(late: dict[str, Any]) -> None:
    protocol, _ = protocol_after_handshake()
    protocol.feed(json.dumps(late))
    assert protocol.fatal is not None and protocol.token_rejected


@pytest.mark.parametrize(
    "answer",
    [
        {"type": "ERROR", "channel": 0, "error": "UNAUTHORIZED", "message": "bad token"},
        {"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"},  # a second one
    ],
)
def test_a_refused_token_ends_the_session(answer: dict[str, Any]) -> None:
    store = QuoteStore(SystemClock())
    protocol = DxLinkProtocol(store, DEFAULT_EVENT_FIELDS)
    protocol.start("tok")
    protocol.feed(json.dumps({"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"}))
    protocol.feed(json.dumps(answer))
    assert protocol.fatal is not None and protocol.token_rejected
    assert [m["type"] for m in sent(protocol)] == ["SETUP", "AUTH"]  # no AUTH loop


# ---------------------------------------------------------------- fuzz

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        ["NaN", "Infinity", "FEED_DATA", "AUTH_STATE", "AUTHORIZED", "UNAUTHORIZED", "Quote"]
    ),
    st.text(max_size=8),
)
anything = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.sampled_from(["type", "channel", "data", "state"]) | st.text(), inner)
    ),
    max_leaves=20,
)
kinds = st.sampled_from([*DEFAULT_EVENT_FIELDS, "TimeAndSale", ""])
feed_data = st.builds(
    lambda channel, data: {"type": "FEED_DATA", "channel": channel, "data": data},
    st.sampled_from([1, 0, 3, "1", None]),
    st.one_of(
        anything,
        st.lists(st.one_of(kinds, st.lists(scalars, max_size=30)), max_size=6),
        st.lists(
            st.dictionaries(st.sampled_from(["eventType", "eventSymbol", "bidPrice"]), scalars)
        ),
    ),
)
control = st.builds(
    lambda kind, channel, extra: {"type": kind, "channel": channel, **extra},
    st.sampled_from(
        ["AUTH_STATE", "CHANNEL_OPENED", "CHANNEL_CLOSED", "FEED_CONFIG", "ERROR", "SETUP"]
    ),
    st.sampled_from([0, 1, 2, None, "x"]),
    st.dictionaries(
        st.sampled_from(["state", "error", "message", "eventFields", "keepaliveTimeout"]), anything
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=st.lists(st.one_of(anything, feed_data, control), max_size=8), as_text=st.booleans()
)
def test_no_frame_makes_the_handler_raise(messages: list[Any], as_text: bool) -> None:
    protocol, store = protocol_after_handshake()
    for message in messages:
        raw = json.dumps(message) if as_text else message
        protocol.feed(raw)  # must not raise
    for symbol in store.symbols():
        quote = store.quote(symbol)
        for value in quote or ():
            assert value is None or (isinstance(value, int | float) and math.isfinite(value))
