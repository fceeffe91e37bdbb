"""Fuzzing the DXLink decoder: whatever the server sends, ``DxLinkProtocol.feed`` never raises
and the QuoteStore stays consistent (symbols are text, values are finite numbers or None,
nothing valid is lost, and a good frame after garbage still lands).

Frames: arbitrary JSON, schema drift (fields missing, reordered, renamed; FEED_CONFIG layouts
from nowhere), NaN / Infinity in every spelling, huge numbers and frames, unknown event types
and enums, wrong types everywhere, truncated JSON and invalid UTF-8.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tastytui.domain.clock import ManualClock
from tastytui.services.dxlink import DxLinkProtocol
from tastytui.services.quotes import DEFAULT_EVENT_FIELDS, QuoteStore, SymbolData
from tests.conftest import SIM_START

#: Examples per fuzz target.
EXAMPLES = {"json": 1200, "feed_data": 1500, "truncated": 800, "huge": 30, "config": 600}
KINDS = [*DEFAULT_EVENT_FIELDS, "Order", "TimeAndSale", "Underlying", "", "quote", "Quote "]

# ------------------------------------------------------------------ hostile values

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**400), 10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["NaN", "-NaN", "Infinity", "-Infinity", "", "1.5", "1e999", "0x10", "١٢"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=30,
)
symbols = st.one_of(
    st.sampled_from(["SPY", "QQQ", ".SPY261218P600", "SPY{=5m}", "AAPL"]),
    st.text(max_size=10),
    scalars,
)
messages = st.sampled_from(
    [
        "FEED_DATA",
        "FEED_CONFIG",
        "AUTH_STATE",
        "CHANNEL_OPENED",
        "CHANNEL_CLOSED",
        "KEEPALIVE",
        "SETUP",
        "ERROR",
        "FEED_SNAPSHOT",
        "BOGUS",
        None,
        7,
    ]
)


@st.composite
def feed_data(draw: st.DrawFn) -> dict[str, Any]:
    """A FEED_DATA message: mostly the right shape, with drift and garbage mixed in."""
    pairs: list[Any] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(KINDS))
        width = len(DEFAULT_EVENT_FIELDS.get(kind, ("eventSymbol", "x")))
        events = draw(st.integers(0, 4))
        values: Any = []
        for _ in range(events):
            values.append(draw(symbols))
            values.extend(draw(scalars) for _ in range(width - 1))
        if draw(st.integers(0, 9)) == 0:
            values = values[: draw(st.integers(0, max(0, len(values))))]  # a short row
        if draw(st.integers(0, 14)) == 0:
            values = [draw(json_values)]  # FULL-format-ish or plain garbage
        pairs.extend([kind, values])
    if draw(st.booleans()) and pairs:
        pairs = pairs[:-1]  # a dangling kind
    channel = draw(st.sampled_from([1, 1, 1, 0, 3, "1", None]))
    return {"type": "FEED_DATA", "channel": channel, "data": draw(st.just(pairs) | json_values)}


def opened_protocol() -> DxLinkProtocol:
    """A protocol past SETUP → AUTH → AUTHORIZED → CHANNEL_OPENED, as on a real connection."""
    store = QuoteStore(ManualClock(SIM_START))
    protocol = DxLinkProtocol(store, DEFAULT_EVENT_FIELDS)
    protocol.start("token")
    for message in (
        {"type": "SETUP", "channel": 0, "keepaliveTimeout": 60, "version": "x"},
        {"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"},
        {"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED"},
        {"type": "CHANNEL_OPENED", "channel": 1, "service": "FEED"},
    ):
        protocol.feed(json.dumps(message))
    assert protocol.channel_open and protocol.fatal is None
    protocol.take_outbox()
    return protocol


def _number_ok(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and abs(value) < 1e300


def assert_consistent(protocol: DxLinkProtocol) -> None:
    store = protocol.store
    assert all(isinstance(m, str) for m in protocol.outbox)
    assert protocol.fatal is None or isinstance(protocol.fatal, str)
    stats = store.stats
    for counter in (stats.frames, stats.events, stats.decode_errors, stats.bad_values):
        assert isinstance(counter, int) and counter >= 0
    known = set(store.symbols())
    assert store.drain_dirty() <= known
    for symbol in known:
        assert isinstance(symbol, str)
        data = store.get(symbol)
        assert isinstance(data, SymbolData)
        for record in (data.quote, data.trade, data.greeks, data.summary, data.theo):
            if record is not None:
                assert all(_number_ok(v) for v in record[:-1]), record
        if data.profile is not None:
            description, *numbers, _ = data.profile
            assert description is None or isinstance(description, str)
            assert all(_number_ok(v) for v in numbers), data.profile


def assert_still_works(protocol: DxLinkProtocol) -> None:
    """After whatever came before, a good Quote still lands (unless the session ended)."""
    if protocol.fatal is not None or not protocol.channel_open:
        return
    layout = protocol.layouts["Quote"]
    good = {"eventSymbol": "ZZGOOD", "bidPrice": 1.25, "askPrice": 1.3}
    row = [good.get(name, 7) for name in layout]
    protocol.feed(json.dumps({"type": "FEED_DATA", "channel": 1, "data": ["Quote", row]}))
    quote = protocol.store.quote("ZZGOOD")
    assert quote is not None and quote.bid == 1.25 and quote.ask == 1.3


@settings(max_examples=EXAMPLES["json"], deadline=None)
@given(message=json_values, as_text=st.booleans())
def test_any_json_value_is_survived(message: Any, as_text: bool) -> None:
    protocol = opened_protocol()
    protocol.feed(json.dumps(message) if as_text else message)
    assert_consistent(protocol)
    assert_still_works(protocol)


@settings(max_examples=EXAMPLES["feed_data"], deadline=None)
@given(frames=st.lists(feed_data(), min_size=1, max_size=4), as_text=st.booleans())
def test_drifted_and_garbage_feed_data_keeps_the_store_consistent(
    frames: list[dict[str, Any]], as_text: bool
) -> None:
    protocol = opened_protocol()
    for frame in frames:
        protocol.feed(json.dumps(frame, allow_nan=True) if as_text else frame)
        assert_consistent(protocol)
    assert_still_works(protocol)


@settings(max_examples=EXAMPLES["truncated"], deadline=None)
@given(frame=feed_data(), cut=st.floats(0, 1), encoding=st.sampled_from(["text", "bytes", "bad"]))
def test_truncated_and_undecodable_frames_are_counted_not_raised(
    frame: dict[str, Any], cut: float, encoding: str
) -> None:
    protocol = opened_protocol()
    text = json.dumps(frame, allow_nan=True)
    text = text[: int(len(text) * cut)]
    raw: str | bytes = text
    if encoding == "bytes":
        raw = text.encode()
    elif encoding == "bad":
        raw = text.encode() + b"\xff\xfe\x80"
    errors = protocol.store.stats.decode_errors
    protocol.feed(raw)
    assert_consistent(protocol)
    if cut < 1 or encoding == "bad":
        assert protocol.store.stats.decode_errors >= errors
    assert_still_works(protocol)


@settings(
    max_examples=EXAMPLES["config"],
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    fields=st.one_of(
        json_values,
        st.dictionaries(
            st.sampled_from(KINDS),
            st.lists(
                st.sampled_from(
                    ["eventSymbol", "bidPrice", "askPrice", "bidSize", "price", "x", "eventType"]
                ),
                max_size=6,
            ),
            max_size=4,
        ),
    ),
    data=st.lists(feed_data(), min_size=1, max_size=2),
)
def test_feed_config_layouts_from_the_server_never_break_decoding(
    fields: Any, data: list[dict[str, Any]]
) -> None:
    protocol = opened_protocol()
    protocol.feed({"type": "FEED_CONFIG", "channel": 1, "eventFields": fields})
    for frame in data:
        protocol.feed(frame)
    assert_consistent(protocol)


@settings(max_examples=EXAMPLES["huge"], deadline=None)
@given(events=st.integers(5_000, 40_000), value=scalars)
def test_huge_frames_are_decoded_or_refused_whole(events: int, value: Any) -> None:
    protocol = opened_protocol()
    layout = DEFAULT_EVENT_FIELDS["Quote"]
    row: list[Any] = []
    for i in range(events):
        row.extend([f"S{i}", value, 2.0, 3, 4][: len(layout)])
    protocol.feed(json.dumps({"type": "FEED_DATA", "channel": 1, "data": ["Quote", row]}))
    assert_consistent(protocol)
    assert protocol.store.stats.events in (0, events)
    assert_still_works(protocol)


@settings(max_examples=300, deadline=None)
@given(sequence=st.lists(st.tuples(messages, json_values), max_size=12))
def test_any_message_sequence_leaves_the_session_sane(sequence: list[tuple[Any, Any]]) -> None:
    """Handshake messages out of order, repeated, with junk: no exception, and a session the
    client can judge (open, or ended with a reason)."""
    protocol = opened_protocol()
    for kind, body in sequence:
        message = {"type": kind, "channel": 1, "state": body, "eventFields": body, "data": body}
        if isinstance(body, dict):
            message.update(body)
        protocol.feed(message)
    assert_consistent(protocol)
