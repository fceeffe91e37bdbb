"""The conversation loop with the real ``anthropic`` client against a fake Messages API.

Streaming, tool rounds, every API failure with its message (and the conversation continuing),
cancellation leaving a valid history, secrets never in a request body, read-only tool lists.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from tastytui.config import ChatSettings
from tastytui.secrets import CLIENT_SECRET, REFRESH_TOKEN, SecretStore
from tastytui.services.chat.agent import (
    ChatAgent,
    ChatEvent,
    ChatFailed,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnEnded,
    system_prompt,
)
from tastytui.services.chat.sanitize import UNTRUSTED
from tastytui.services.chat.tools import ChatTools, ToolOutcome
from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN
from tests.chat.conftest import CHAT_CONFIG, RecordingStager, RigFactory
from tests.chat.fake_api import (
    FakeMessagesAPI,
    Reply,
    dropped,
    failure,
    stream_error,
    text_reply,
    tool_reply,
)

KEY = "sk-ant-test-0123456789abcdef"
FAST = {"retry-after-ms": "5"}  # the SDK's retries wait this long instead of seconds


class FakeTools:
    """A toolbox answering from a dict, recording calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def schemas(self) -> list[dict[str, Any]]:
        return [
            {"name": "get_time", "description": "time", "input_schema": {"type": "object"}},
            {"name": "get_quotes", "description": "quotes", "input_schema": {"type": "object"}},
        ]

    def secrets(self) -> list[str]:
        return ["bearer-token-live-value"]

    async def call(self, name: str, args: Any) -> ToolOutcome:
        self.calls.append((name, args))
        if name == "get_quotes":
            return ToolOutcome(json.dumps({"error": "no such symbol"}), True, "quotes: no symbol")
        return ToolOutcome(json.dumps({"new_york": "10:30"}), False, "time: 10:30 ET")


def agent_for(api: FakeMessagesAPI, tools: Any = None) -> ChatAgent:
    return ChatAgent(
        ChatSettings(model="claude-test", api_url=api.url),
        tools or FakeTools(),
        api_key=KEY,
        system=system_prompt(profile="sim", read_only=False),
    )


async def turn(agent: ChatAgent, prompt: str) -> list[ChatEvent]:
    try:
        async with asyncio.timeout(60):
            return [event async for event in agent.respond(prompt)]
    finally:
        # Close the HTTP client inside the test's loop (each turn builds it again if needed).
        await agent.close()


def text_of(events: list[ChatEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_answers_stream_and_tools_run_between_rounds() -> None:
    script = [
        tool_reply(("get_time", {}), ("get_quotes", {"symbols": ["XX"]}), text="Checking."),
        text_reply("It is ", "**10:30** in ", "New York."),
    ]
    async with FakeMessagesAPI(script) as api:
        tools = FakeTools()
        agent = agent_for(api, tools)
        events = await turn(agent, "what time is it?")

    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["Checking.", "It is ", "**10:30** in ", "New York."]
    assert tools.calls == [("get_time", {}), ("get_quotes", {"symbols": ["XX"]})]
    started = [e for e in events if isinstance(e, ToolStarted)]
    assert [(s.name, s.args) for s in started] == [
        ("get_time", ""),
        ("get_quotes", '{"symbols":["XX"]}'),
    ]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert [(f.summary, f.is_error) for f in finished] == [
        ("time: 10:30 ET", False),
        ("quotes: no symbol", True),
    ]
    assert isinstance(events[-1], TurnEnded) and events[-1].stop_reason == "end_turn"
    # The second request carried both tool results, matched to their calls.
    first, second = api.requests
    assert first["stream"] is True and first["model"] == "claude-test"
    assert "untrusted_text" in first["system"]
    results = api.tool_results(1)
    ids = [b["id"] for b in second["messages"][1]["content"] if b["type"] == "tool_use"]
    assert [r["tool_use_id"] for r in results] == ids
    assert [r["is_error"] for r in results] == [False, True]
    assert [m["role"] for m in agent.history] == ["user", "assistant", "user", "assistant"]


def _always(reply: Reply, times: int = 3) -> list[Reply]:
    return [reply] * times  # the SDK retries 429/5xx twice before giving up


FAILURES: dict[str, tuple[Callable[[], list[Reply]], str]] = {
    "bad key 401": (
        lambda: [failure(401, "authentication_error", "invalid x-api-key")],
        "refused the API key (401)",
    ),
    "rate limit 429": (
        lambda: _always(failure(429, "rate_limit_error", "slow down", **FAST)),
        "rate-limiting this key (429)",
    ),
    "overloaded 529": (
        lambda: _always(failure(529, "overloaded_error", "Overloaded", **FAST)),
        "overloaded right now (529)",
    ),
    "overloaded mid-stream": (
        lambda: [stream_error("The delta is ")],
        "overloaded right now (529). The partial answer above is incomplete",
    ),
    "network drop": (
        lambda: [dropped("Your positions ", "are")],
        "dropped mid-answer. The partial answer above is incomplete",
    ),
}


@pytest.mark.parametrize("kind", list(FAILURES))
async def test_each_api_failure_has_its_message_and_the_chat_continues(kind: str) -> None:
    replies, message = FAILURES[kind]
    async with FakeMessagesAPI([*replies(), text_reply("Back again.")]) as api:
        agent = agent_for(api)
        events = await turn(agent, "what's my delta?")
        failed = [e for e in events if isinstance(e, ChatFailed)]
        assert len(failed) == 1 and message in failed[0].message
        assert failed[0].retry == "what's my delta?"
        assert agent.history == []  # the unanswered question is not left in the context
        after = await turn(agent, "hello")
    assert text_of(after) == "Back again."
    # The failed question was not resent with the next one.
    assert api.requests[-1]["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hello"}]}
    ]


async def test_an_unreachable_api_is_reported() -> None:
    agent = ChatAgent(
        ChatSettings(model="claude-test", api_url="http://127.0.0.1:9"),
        FakeTools(),
        api_key=KEY,
        system="s",
    )
    events = await turn(agent, "hi")
    assert isinstance(events[-1], ChatFailed)
    assert "Could not reach the Anthropic API" in events[-1].message


async def test_a_failure_after_a_tool_round_keeps_a_valid_history() -> None:
    script = [
        tool_reply(("get_time", {})),
        failure(401, "authentication_error", "bad key"),
        text_reply("Fine."),
    ]
    async with FakeMessagesAPI(script) as api:
        agent = agent_for(api)
        events = await turn(agent, "time?")
        assert isinstance(events[-1], ChatFailed) and events[-1].retry is None
        await turn(agent, "and now?")
    # The next question joins the tool results: tool_use is always answered by tool_result.
    last_user = api.requests[-1]["messages"][-1]
    assert [b["type"] for b in last_user["content"]] == ["tool_result", "text"]


async def test_stopping_an_answer_leaves_a_valid_history() -> None:
    script = [text_reply("one ", "two ", "three", pause=1.0), text_reply("Next.")]
    async with FakeMessagesAPI(script) as api:
        agent = agent_for(api)
        seen: list[str] = []

        async def consume() -> None:
            async for event in agent.respond("count"):
                if isinstance(event, TextDelta):
                    seen.append(event.text)

        task = asyncio.create_task(consume())
        async with asyncio.timeout(30):
            while not seen:
                await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert agent.history == []
        assert text_of(await turn(agent, "again")) == "Next."


async def test_stopping_during_a_tool_answers_every_tool_call() -> None:
    class SlowTools(FakeTools):
        async def call(self, name: str, args: Any) -> ToolOutcome:
            await asyncio.sleep(60)
            raise AssertionError("not reached")

    async with FakeMessagesAPI([tool_reply(("get_time", {})), text_reply("ok")]) as api:
        agent = agent_for(api, SlowTools())
        task = asyncio.create_task(turn(agent, "time?"))
        async with asyncio.timeout(30):
            while len(agent.history) < 2:
                await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        result = agent.history[-1]["content"][0]
        assert result["type"] == "tool_result" and result["is_error"] is True
        assert "cancelled by the user" in result["content"]


async def test_console_notes_reach_the_model_with_the_next_message() -> None:
    async with FakeMessagesAPI([text_reply("Noted.")]) as api:
        agent = agent_for(api)
        agent.add_note("The user cancelled order #100010.")
        await turn(agent, "done?")
    text = api.requests[0]["messages"][0]["content"][0]["text"]
    assert text == "(Console note: The user cancelled order #100010.)\ndone?"


# ----------------------------------------------------------------------------- with the sim


async def test_secrets_never_reach_the_model(make_rig: RigFactory, monkeypatch: Any) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    rig = await make_rig()
    services = rig.services
    store = SecretStore()
    assert store.get("sim", "anthropic_api_key") == KEY
    token = services.broker.session.session_token
    assert token
    secrets = [KEY, token, SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN]
    secrets += [v for v in (store.get("sim", CLIENT_SECRET), store.get("sim", REFRESH_TOKEN)) if v]
    script = [
        tool_reply(("get_balances", {}), ("get_positions", {}), ("get_live_orders", {})),
        tool_reply(("get_order_history", {}), ("get_watchlists", {}), ("get_time", {})),
        text_reply("Done."),
    ]
    async with FakeMessagesAPI(script) as api:
        tools = ChatTools(services, RecordingStager())
        agent = ChatAgent(
            services.config.chat.__class__(model="claude-test", api_url=api.url),
            tools,
            api_key=KEY,
            system=system_prompt(profile="sim", read_only=False),
        )
        # Even a secret the user pastes into the chat is masked before it is sent.
        events = await turn(agent, f"my token is {token} and my key {KEY}; what's my balance?")
    assert text_of(events).endswith("Done.")
    assert len(api.raw) == 3
    for body in api.raw:
        text = body.decode()
        for secret in secrets:
            assert secret not in text
    # The key travels only as the SDK's auth header.
    assert all(KEY in (h.get("x-api-key", "") + h.get("authorization", "")) for h in api.headers)
    balances = json.loads(api.tool_results(1)[0]["content"])
    assert balances["account"] == services.accounts.current


async def test_read_only_mode_sends_no_order_tools(make_rig: RigFactory) -> None:
    rig = await make_rig(CHAT_CONFIG + "read_only = true\n")
    async with FakeMessagesAPI([text_reply("I can only read.")]) as api:
        tools = ChatTools(rig.services, RecordingStager())
        agent = ChatAgent(
            ChatSettings(model="claude-test", api_url=api.url),
            tools,
            api_key=KEY,
            system=system_prompt(profile="sim", read_only=tools.read_only),
        )
        await turn(agent, "sell a put")
    names = set(api.tool_names())
    assert "get_positions" in names
    assert not names & {"prepare_order", "replace_order", "cancel_order", "manage_watchlist"}
    assert "read-only mode" in api.requests[0]["system"]
    assert UNTRUSTED in api.requests[0]["system"]
