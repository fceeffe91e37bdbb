"""The simulator's DXLink WebSocket, driven by the unmodified SDK streamer and by a raw client."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from httpx2.websockets import WebSocketNetworkError
from tastytrade import DXLinkStreamer, Session
from tastytrade.dxfeed import Candle, Greeks, Profile, Quote, Summary, TheoPrice, Trade
from tastytrade.dxfeed.event import Event
from tastytrade.utils import TastytradeError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tastytui.domain.chain import ChainStrike
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START, SimFactory, sdk_session

TICK = 0.05
E = TypeVar("E", bound=Event)


@pytest.fixture
async def sim(make_sim: SimFactory) -> SimServer:
    """A fast tape, so waiting for a few steps stays cheap (the ``session`` fixture uses it)."""
    return await make_sim(tick_interval=TICK)


def atm(sim: SimServer, symbol: str = "SPY", dte: int = 30) -> ChainStrike:
    """A real listed at-the-money strike of ``symbol`` about ``dte`` days out."""
    market = sim.exchange.market
    expiration = market.chain(symbol).nearest_dte(market.today(), dte)
    assert expiration is not None
    return expiration.strikes[expiration.nearest_index(market.spot(symbol))]


async def first_events(
    streamer: DXLinkStreamer, cls: type[E], symbols: set[str], within: float = 5.0
) -> dict[str, E]:
    """The first event of ``cls`` for each of ``symbols``."""
    found: dict[str, E] = {}
    async with asyncio.timeout(within):
        while not symbols <= found.keys():
            event = await streamer.get_event(cls)
            found.setdefault(event.event_symbol, event)
    return found


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until ``condition()`` holds (for state the SDK exposes no event for)."""
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.01)


async def events_during(streamer: DXLinkStreamer, cls: type[E], seconds: float) -> list[E]:
    """Drop what is queued, then collect what arrives within ``seconds``."""
    while streamer.get_event_nowait(cls) is not None:
        pass
    await asyncio.sleep(seconds)
    out: list[E] = []
    while (event := streamer.get_event_nowait(cls)) is not None:
        out.append(event)
    return out


# --------------------------------------------------------------------------- SDK streamer


async def test_quotes_for_an_equity_and_an_option(sim: SimServer, session: Session) -> None:
    strike = atm(sim)
    option = strike.call.streamer
    async with DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, ["SPY", option])
        quotes = await first_events(streamer, Quote, {"SPY", option})
    spy, call = quotes["SPY"], quotes[option]
    assert Decimal(0) < spy.bid_price < spy.ask_price
    assert spy.bid_size > 0 and spy.ask_size > 0
    assert abs(float(spy.mid_price) - sim.exchange.market.spot("SPY")) < 1.0
    assert Decimal(0) < call.bid_price < call.ask_price
    assert call.ask_exchange_code == "C"


async def test_index_quote_has_bid_equal_to_ask_and_no_sizes(session: Session) -> None:
    async with DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, ["SPX"])
        spx = (await first_events(streamer, Quote, {"SPX"}))["SPX"]
    assert spx.bid_price == spx.ask_price > 1000
    assert spx.bid_size == spx.ask_size == 0  # sent as "NaN": the SDK's default


async def test_greeks_delta_sign_follows_the_option_type(sim: SimServer, session: Session) -> None:
    strike = atm(sim)
    call, put = strike.call.streamer, strike.put.streamer
    async with DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Greeks, [call, put])
        greeks = await first_events(streamer, Greeks, {call, put})
    assert 0 < greeks[call].delta < 1
    assert -1 < greeks[put].delta < 0
    for g in greeks.values():
        assert g.gamma > 0 and g.vega > 0 and g.theta < 0
        assert Decimal("0.05") < g.volatility < Decimal("1")
        assert g.price > 0


async def test_trade_summary_profile_and_theo_price(sim: SimServer, session: Session) -> None:
    put = atm(sim).put.streamer
    async with DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Trade, ["SPY"])
        await streamer.subscribe(Summary, ["SPY", put])
        await streamer.subscribe(Profile, ["AAPL", put])
        await streamer.subscribe(TheoPrice, [put])
        trade = (await first_events(streamer, Trade, {"SPY"}))["SPY"]
        summaries = await first_events(streamer, Summary, {"SPY", put})
        profiles = await first_events(streamer, Profile, {"AAPL", put})
        theo = (await first_events(streamer, TheoPrice, {put}))[put]
    spot = sim.exchange.market.spot("SPY")
    assert abs(float(trade.price) - spot) < 1.0
    assert trade.size is not None and trade.size > 0
    assert trade.day_volume is not None and trade.day_volume > 0
    spy = summaries["SPY"]
    assert spy.prev_day_close_price is not None and spy.prev_day_close_price > 0
    assert spy.day_low_price is not None and spy.day_high_price is not None
    assert spy.day_low_price <= spy.day_high_price
    assert spy.prev_day_id == spy.day_id - 1  # SIM_START is a Wednesday
    assert summaries[put].open_interest > 0
    aapl = profiles["AAPL"]
    assert aapl.description == "Apple Inc."
    assert aapl.beta == Decimal("1.2")
    assert aapl.high_52_week_price is not None and aapl.low_52_week_price is not None
    assert aapl.low_52_week_price < aapl.high_52_week_price
    assert "Put" in profiles[put].description
    assert theo.price > 0 and theo.delta < 0
    assert abs(float(theo.underlying_price) - spot) < 1.0
    assert theo.interest == Decimal("0.04")


async def test_candles_send_history_newest_first_then_live_updates(session: Session) -> None:
    start = SIM_START - timedelta(minutes=22)  # 9:38; the sim clock starts at 10:00 New York
    symbol = "SPY{=5m,tho=true}"
    async with DXLinkStreamer(session) as streamer:
        await streamer.subscribe_candle(["SPY"], "5m", start_time=start)
        history: list[Candle] = []
        async with asyncio.timeout(5):
            while not (history and history[-1].snapshot_end):
                history.append(await streamer.get_event(Candle))
        live = [await streamer.get_event(Candle) for _ in range(3)]
    assert [c.event_symbol for c in history + live] == [symbol] * (len(history) + 3)
    assert history[0].snapshot_begin and not history[0].snapshot_end
    assert not any(c.snapshot_begin or c.snapshot_end for c in history[1:-1])
    times = [c.time for c in history]
    assert times == sorted(times, reverse=True)  # dxFeed order: newest first
    assert len(history) == 5  # whole candles 9:40, 9:45, 9:50, 9:55 and the live 10:00 one
    assert min(times) >= int(start.timestamp() * 1000)
    for candle in history:
        assert candle.low <= min(candle.open, candle.close) <= candle.high
    assert all(c.event_flags == 0 and c.time == history[0].time for c in live)


async def test_daily_candles_end_with_today(sim: SimServer, session: Session) -> None:
    async with DXLinkStreamer(session) as streamer:
        await streamer.subscribe_candle(["QQQ"], "1d", start_time=SIM_START - timedelta(days=14))
        async with asyncio.timeout(5):
            newest = await streamer.get_event(Candle)
            count = 1
            while not (await streamer.get_event(Candle)).snapshot_end:
                count += 1
    assert newest.snapshot_begin
    assert 9 <= count + 1 <= 11  # two weeks of trading days, today included
    quote = sim.exchange.market.equity_quote("QQQ")
    assert newest.open == Decimal(str(quote.day_open))


async def test_unsubscribe_stops_only_that_symbol(session: Session) -> None:
    async with DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, ["SPY", "QQQ"])
        await first_events(streamer, Quote, {"SPY", "QQQ"})
        await streamer.unsubscribe(Quote, ["SPY"])
        await asyncio.sleep(2 * TICK)  # let events already in flight land
        later = await events_during(streamer, Quote, 6 * TICK)
    symbols = {q.event_symbol for q in later}
    assert symbols == {"QQQ"}


async def test_unsubscribe_all_closes_the_channel_and_subscribe_reopens_it(
    session: Session,
) -> None:
    async with DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, ["SPY"])
        await first_events(streamer, Quote, {"SPY"})
        await streamer.unsubscribe_all(Quote)
        # The SDK forgets the channel when CHANNEL_CLOSED arrives; that is its only trace.
        await eventually(lambda: "Quote" not in streamer._subscription_state)
        assert await events_during(streamer, Quote, 6 * TICK) == []
        await streamer.subscribe(Quote, ["QQQ"])
        assert "QQQ" in await first_events(streamer, Quote, {"QQQ"})


async def test_client_exit_leaves_no_session_task_or_error_log(
    sim: SimServer, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, ["SPY", "QQQ"])
        await first_events(streamer, Quote, {"SPY", "QQQ"})
        assert len(sim.exchange.dxlink_sessions) == 1
    await eventually(lambda: not sim.exchange.dxlink_sessions)
    await asyncio.sleep(3 * TICK)  # a step after the client left
    leftovers = [t for t in asyncio.all_tasks() if t.get_name().startswith("dxlink")]
    assert leftovers == []
    assert [r.getMessage() for r in caplog.records] == []


async def test_expired_quote_token_raises_instead_of_hanging(make_sim: SimFactory) -> None:
    # The SDK fetches a fresh token on connect, so make every token born expired.
    server = await make_sim(quote_token_lifetime=0)
    async with sdk_session(server) as session:
        with pytest.raises((TastytradeError, ExceptionGroup)) as caught:
            async with asyncio.timeout(5), DXLinkStreamer(session):
                pass
    text = repr(
        caught.value.exceptions if isinstance(caught.value, ExceptionGroup) else caught.value
    )
    assert "Fatal streamer error" in text and "quote token" in text


async def test_stale_symbol_stops_while_others_continue(sim: SimServer, session: Session) -> None:
    async with DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, ["SPY", "QQQ"])
        await first_events(streamer, Quote, {"SPY", "QQQ"})
        sim.control.set_stale("SPY")
        await asyncio.sleep(2 * TICK)
        stale = {q.event_symbol for q in await events_during(streamer, Quote, 6 * TICK)}
        sim.control.set_stale("SPY", stale=False)
        resumed = await first_events(streamer, Quote, {"SPY"})
    assert stale == {"QQQ"}
    assert "SPY" in resumed


async def test_drop_streams_disconnects_the_sdk_streamer(sim: SimServer, session: Session) -> None:
    with pytest.raises(ExceptionGroup) as caught:
        async with asyncio.timeout(5), DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Quote, ["SPY"])
            await first_events(streamer, Quote, {"SPY"})
            assert len(sim.exchange.dxlink_sessions) == 1
            assert await sim.control.drop_streams(dxlink=True, account=False) == 1
            while True:  # the reader's failure cancels this wait
                await streamer.get_event(Quote)
    assert caught.group_contains(WebSocketNetworkError)
    assert sim.exchange.dxlink_sessions == set()


async def test_frozen_tape_still_delivers_one_snapshot_per_symbol(make_sim: SimFactory) -> None:
    server = await make_sim(live_tape=False, tick_interval=TICK)
    async with sdk_session(server) as session, DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, ["SPY", "AAPL", "NOT-A-SYMBOL"])
        first = await first_events(streamer, Quote, {"SPY", "AAPL"})
        assert await events_during(streamer, Quote, 4 * TICK) == []
        server.control.step()  # a step moves a frozen tape by hand
        after = await first_events(streamer, Quote, {"SPY", "AAPL"})
    assert set(first) == {"SPY", "AAPL"} == set(after)


# --------------------------------------------------------------------------- raw protocol


class Raw:
    """A bare dxLink client: JSON in, JSON out, every message kept for inspection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.sizes: list[int] = []

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, within: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(within):
            text = await self.ws.recv()
        assert isinstance(text, str)
        self.sizes.append(len(text.encode()))
        message: dict[str, Any] = json.loads(text)
        return message

    async def expect(self, kind: str, within: float = 5.0) -> dict[str, Any]:
        """The next message of ``kind``, skipping SETUP, KEEPALIVEs and FEED_DATA."""
        async with asyncio.timeout(within):
            while True:
                message = await self.recv()
                if message["type"] == kind:
                    return message
                assert message["type"] in ("SETUP", "KEEPALIVE", "FEED_DATA"), message

    async def authorize(self, token: str, accept_keepalive: float = 60) -> None:
        await self.send(
            type="SETUP", channel=0, keepaliveTimeout=60, acceptKeepaliveTimeout=accept_keepalive,
            version="0.1-test",
        )  # fmt: skip
        await self.send(type="AUTH", channel=0, token=token)
        await self.expect("AUTH_STATE")  # UNAUTHORIZED
        state = await self.expect("AUTH_STATE")
        assert state["state"] == "AUTHORIZED", state

    async def open_feed(self, channel: int, fields: dict[str, list[str]] | None = None) -> None:
        await self.send(type="CHANNEL_REQUEST", channel=channel, service="FEED", parameters={})
        opened = await self.expect("CHANNEL_OPENED")
        assert opened["channel"] == channel and opened["service"] == "FEED"
        if fields is not None:
            await self.send(
                type="FEED_SETUP", channel=channel, acceptAggregationPeriod=0.1,
                acceptDataFormat="COMPACT", acceptEventFields=fields,
            )  # fmt: skip
            await self.expect("FEED_CONFIG")


@asynccontextmanager
async def raw_client(server: SimServer) -> AsyncIterator[Raw]:
    # Like the SDK: no compression, no protocol pings; no inbound limit so we can measure.
    # An unbounded queue keeps reading during the close handshake even if the stream is busy.
    async with connect(
        server.dxlink_url, compression=None, ping_interval=None, max_size=None, max_queue=None
    ) as ws:
        yield Raw(ws)


def quote_token(server: SimServer) -> str:
    return server.exchange.auth.issue_quote_token()[0]


async def test_handshake_sends_exactly_one_authorized(sim: SimServer) -> None:
    async with raw_client(sim) as raw:
        await raw.send(type="SETUP", channel=0, keepaliveTimeout=60, acceptKeepaliveTimeout=60)
        setup = await raw.recv()
        unauthorized = await raw.recv()
        await raw.send(type="AUTH", channel=0, token=quote_token(sim))
        authorized = await raw.recv()
        await raw.send(type="AUTH", channel=0, token=quote_token(sim))
        await raw.send(type="CHANNEL_REQUEST", channel=7, service="FEED", parameters={})
        after = await raw.recv()
    assert setup["type"] == "SETUP"
    assert unauthorized == {"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"}
    assert authorized["state"] == "AUTHORIZED" and authorized["userId"]
    assert after["type"] == "CHANNEL_OPENED"  # no second AUTH_STATE before it


async def test_expired_quote_token_gets_an_error_and_a_close(sim: SimServer) -> None:
    token = quote_token(sim)
    sim.control.expire_quote_tokens()
    async with raw_client(sim) as raw:
        await raw.send(type="SETUP", channel=0, keepaliveTimeout=60, acceptKeepaliveTimeout=60)
        await raw.expect("AUTH_STATE")
        await raw.send(type="AUTH", channel=0, token=token)
        error = await raw.recv()
        with pytest.raises(ConnectionClosed):
            await raw.recv()
    assert error["type"] == "ERROR" and error["error"] == "UNAUTHORIZED"


async def test_compact_data_follows_the_requested_field_order(sim: SimServer) -> None:
    fields = ["askPrice", "eventSymbol", "noSuchField", "bidSize", "bidPrice"]
    async with raw_client(sim) as raw:
        await raw.authorize(quote_token(sim))
        await raw.open_feed(7, {"Quote": fields})
        await raw.send(type="FEED_SUBSCRIPTION", channel=7, add=[
            {"type": "Quote", "symbol": "SPY"}, {"type": "Quote", "symbol": "SPX"},
            {"type": "Quote", "symbol": "NOPE"}, {"type": "Quote", "symbol": ".SPY991231C1"},
        ])  # fmt: skip
        rows: dict[str, list[Any]] = {}
        async with asyncio.timeout(5):
            while len(rows) < 2:
                message = await raw.expect("FEED_DATA")
                assert message["channel"] == 7 and message["data"][0] == "Quote"
                values = message["data"][1]
                assert values and len(values) % len(fields) == 0
                for i in range(0, len(values), len(fields)):
                    rows[values[i + 1]] = values[i : i + len(fields)]
    assert set(rows) == {"SPY", "SPX"}  # unknown symbols never arrive
    ask, _, unknown, bid_size, bid = rows["SPY"]
    assert isinstance(ask, float) and isinstance(bid, float) and bid < ask
    assert unknown == "NaN"
    assert isinstance(bid_size, int) and bid_size > 0
    assert rows["SPX"][3] == "NaN"  # an index has no sizes: the string, never a JSON NaN


async def test_channel_cancel_closes_only_that_channel(sim: SimServer) -> None:
    async with raw_client(sim) as raw:
        await raw.authorize(quote_token(sim))
        await raw.open_feed(7)
        await raw.open_feed(3)
        await raw.send(
            type="FEED_SUBSCRIPTION", channel=7, add=[{"type": "Quote", "symbol": "SPY"}]
        )
        await raw.send(
            type="FEED_SUBSCRIPTION", channel=3, add=[{"type": "Quote", "symbol": "QQQ"}]
        )
        await raw.send(type="CHANNEL_CANCEL", channel=7)
        closed = await raw.expect("CHANNEL_CLOSED")
        channels: set[int] = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 6 * TICK
        while loop.time() < deadline:
            message = await raw.recv()
            if message["type"] == "FEED_DATA":
                channels.add(message["channel"])
    assert closed == {"type": "CHANNEL_CLOSED", "channel": 7}
    assert channels == {3}


async def test_inbound_message_over_64_kib_closes_with_1009(sim: SimServer) -> None:
    async with raw_client(sim) as raw:
        await raw.authorize(quote_token(sim))
        keepalive = json.dumps({"type": "KEEPALIVE", "channel": 0})
        await raw.ws.send(keepalive + " " * (65_536 - len(keepalive)))  # exactly the limit: fine
        await raw.open_feed(7)
        await raw.ws.send(keepalive + " " * (65_537 - len(keepalive)))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await raw.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_silent_client_is_dropped_after_the_keepalive_timeout(
    make_sim: SimFactory,
) -> None:
    server = await make_sim(keepalive_timeout=0.3, tick_interval=TICK)
    async with raw_client(server) as talker, raw_client(server) as silent:
        await talker.authorize(quote_token(server))
        await silent.authorize(quote_token(server))

        async def chatter() -> None:
            for _ in range(10):
                await talker.send(type="KEEPALIVE", channel=0)
                await asyncio.sleep(0.1)

        await chatter()  # one second: more than three timeouts
        error = await silent.expect("ERROR", within=1.0)
        with pytest.raises(ConnectionClosed):
            await silent.recv()
        await talker.open_feed(7)  # still served
    assert error["error"] == "TIMEOUT"


async def test_server_sends_keepalives_within_the_client_tolerance(sim: SimServer) -> None:
    async with raw_client(sim) as raw:
        await raw.authorize(quote_token(sim), accept_keepalive=0.4)
        keepalive = await raw.expect("KEEPALIVE", within=0.5)
    assert keepalive == {"type": "KEEPALIVE", "channel": 0}


async def test_two_thousand_symbols_stay_under_64_kib_per_message(sim: SimServer) -> None:
    market = sim.exchange.market
    options = [
        contract.streamer
        for underlying in ("SPY", "QQQ", "SPX", "AAPL", "TSLA")
        for expiration in market.chain(underlying).expirations[:4]
        for strike in expiration.strikes
        for contract in (strike.call, strike.put)
    ][:1_974]
    symbols = market.symbols() + options
    assert len(symbols) == 2_000
    async with raw_client(sim) as raw:
        await raw.authorize(quote_token(sim))
        await raw.open_feed(7, {"Quote": list(Quote.model_json_schema()["properties"])})
        await raw.open_feed(3, {"Greeks": list(Greeks.model_json_schema()["properties"])})
        for start in range(0, len(symbols), 500):  # each request well under the inbound limit
            batch = symbols[start : start + 500]
            quotes = [{"type": "Quote", "symbol": s} for s in batch]
            greeks = [{"type": "Greeks", "symbol": s} for s in batch if s.startswith(".")]
            await raw.send(type="FEED_SUBSCRIPTION", channel=7, add=quotes)
            await raw.send(type="FEED_SUBSCRIPTION", channel=3, add=greeks)
        seen: dict[str, set[str]] = {"Quote": set(), "Greeks": set()}
        async with asyncio.timeout(10):
            while len(seen["Quote"]) < 2_000 or len(seen["Greeks"]) < len(options):
                message = await raw.expect("FEED_DATA")
                event_type, values = message["data"]
                width = 12 if event_type == "Quote" else 13
                assert values and len(values) % width == 0
                seen[event_type].update(values[::width])
    assert seen["Quote"] == set(symbols)
    assert max(raw.sizes) < 60_000  # the SDK closes at 65,536 bytes
