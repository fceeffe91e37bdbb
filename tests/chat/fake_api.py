"""A fake Anthropic Messages API on loopback: scripted SSE streams and error responses.

The real ``anthropic`` client talks to it over HTTP (``base_url``).  Each POST to
``/v1/messages`` takes the next scripted reply (or calls a function of the request body), and
every request is recorded (parsed JSON, raw bytes and headers) so tests can inspect exactly what
the model would have been sent.  The events follow the Messages API streaming format:
``message_start``, ``content_block_start/delta/stop`` (``text_delta`` and ``input_json_delta``),
``message_delta`` with the stop reason, ``message_stop``, ``ping`` and ``error``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_ids = itertools.count(1)
Event = tuple[str, dict[str, Any]]


@dataclass
class Stream:
    """A 200 SSE response; ``drop_after`` closes the connection after that many events."""

    events: list[Event]
    drop_after: int | None = None
    #: Seconds to pause before each event (lets a test cancel mid-answer).
    pause: float = 0.0


@dataclass
class Failure:
    """A non-200 JSON error response, as the API sends it."""

    status: int
    error_type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


Reply = Stream | Failure
Script = Reply | Callable[[dict[str, Any]], Reply]


# ----------------------------------------------------------------------------- builders


def _start(model: str = "claude-test") -> Event:
    return (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": f"msg_{next(_ids):04d}",
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": model,
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": 1},
            },
        },
    )


def _text_block(index: int, chunks: Sequence[str]) -> list[Event]:
    events: list[Event] = [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            },
        )
    ]
    for chunk in chunks:
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": chunk},
                },
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def _tool_block(index: int, call_id: str, name: str, args: dict[str, Any]) -> list[Event]:
    text = json.dumps(args)
    half = len(text) // 2
    events: list[Event] = [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}},
            },
        )
    ]
    for piece in (text[:half], text[half:]):
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                },
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def _end(stop_reason: str) -> list[Event]:
    return [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 20},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def text_reply(*chunks: str, stop_reason: str = "end_turn", pause: float = 0.0) -> Stream:
    """An answer streamed in ``chunks``."""
    events = [_start(), ("ping", {"type": "ping"}), *_text_block(0, chunks), *_end(stop_reason)]
    return Stream(events, pause=pause)


def tool_reply(*calls: tuple[str, dict[str, Any]], text: str = "") -> Stream:
    """A turn that asks for tools: optional text first, then one tool_use block per call."""
    events = [_start()]
    index = 0
    if text:
        events += _text_block(0, [text])
        index = 1
    for offset, (name, args) in enumerate(calls):
        events += _tool_block(index + offset, f"toolu_{next(_ids):04d}", name, args)
    events += _end("tool_use")
    return Stream(events)


def stream_error(*chunks: str, error_type: str = "overloaded_error") -> Stream:
    """Text, then an ``error`` event mid-stream (the API's way to fail after the 200)."""
    events = [_start(), *_text_block(0, chunks)[:-1]]
    events.append(
        ("error", {"type": "error", "error": {"type": error_type, "message": "Overloaded"}})
    )
    return Stream(events)


def dropped(*chunks: str) -> Stream:
    """Text, then the connection closes without finishing the body."""
    events = [_start(), *_text_block(0, chunks)[:-1], *_end("end_turn")]
    return Stream(events, drop_after=1 + len(chunks) + 1)


def failure(status: int, error_type: str, message: str, **headers: str) -> Failure:
    return Failure(status, error_type, message, dict(headers))


# ----------------------------------------------------------------------------- the server


class FakeMessagesAPI:
    """``async with FakeMessagesAPI(script) as api: api.url`` — a Messages API on 127.0.0.1."""

    def __init__(self, script: Iterable[Script] = ()) -> None:
        self.script: deque[Script] = deque(script)
        self.requests: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.received = asyncio.Event()

    def add(self, *replies: Script) -> None:
        self.script.extend(replies)

    async def __aenter__(self) -> FakeMessagesAPI:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ views

    def tool_names(self, index: int = -1) -> list[str]:
        return [t["name"] for t in self.requests[index].get("tools", [])]

    def tool_results(self, index: int = -1) -> list[dict[str, Any]]:
        """The tool_result blocks of the last user message of request ``index``."""
        last = self.requests[index]["messages"][-1]
        return [b for b in last["content"] if b.get("type") == "tool_result"]

    # ------------------------------------------------------------------ handler

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw)
        self.raw.append(raw)
        self.requests.append(body)
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        self.received.set()
        if not self.script:
            return _json_error(500, "api_error", "the fake's script is exhausted")
        item = self.script.popleft()
        reply = item(body) if callable(item) else item
        if isinstance(reply, Failure):
            return _json_error(reply.status, reply.error_type, reply.message, reply.headers)
        response = web.StreamResponse(
            status=200,
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        for count, (name, data) in enumerate(reply.events):
            if reply.drop_after is not None and count >= reply.drop_after:
                # Abort the connection mid-body: the client sees an incomplete chunked read.
                assert request.transport is not None
                request.transport.abort()
                return response
            if reply.pause:
                await asyncio.sleep(reply.pause)
            await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        await response.write_eof()
        return response


def _json_error(
    status: int, error_type: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return web.json_response(
        body, status=status, headers={"request-id": "req_fake", **(headers or {})}
    )
