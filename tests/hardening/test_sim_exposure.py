"""The simulator is a paper exchange with fixed credentials: it stays on loopback unless told
otherwise, and every trading endpoint and stream demands a valid token, as production does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tastytui.sim.config import LoopbackError, SimConfig
from tastytui.sim.server import SimServer
from tests.conftest import SimFactory
from tests.sim.simkit import bearer, raw_client

#: The only routes production serves without a bearer token (the OAuth endpoints, a session
#: check that reads the header itself, and a public risk-free-rate table).
PUBLIC = {
    ("POST", "oauth/token"),
    ("GET", "oauth/authorize"),
    ("POST", "sessions/validate"),
    ("GET", "margin-requirements-public-configuration"),
}


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "127.0.0.1.nip.io"]
)
def test_a_non_loopback_bind_is_refused_without_the_flag(host: str) -> None:
    with pytest.raises(LoopbackError, match="--allow-remote"):
        SimServer(SimConfig(host=host))
    SimConfig(host=host, allow_remote=True).check_bind()  # the explicit flag allows it


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.7", "localhost", "::1"])
def test_loopback_binds_need_no_flag(host: str) -> None:
    SimConfig(host=host).check_bind()


def _path(segments: tuple[str, ...]) -> str:
    filled = ["5WT00001" if s.startswith("{") else s for s in segments]
    return "/" + "/".join(filled)


async def test_every_trading_endpoint_demands_a_valid_bearer_token(sim: SimServer) -> None:
    routes = sim.router._routes
    public = {(r.method, "/".join(r.segments)) for r in routes if not r.auth}
    assert public == PUBLIC, "a new route was mounted without authentication"
    guarded = [r for r in routes if r.auth]
    assert len(guarded) >= 30
    async with raw_client(sim) as client:
        good = await bearer(client)
        quote = (await client.get("/api-quote-tokens", headers=good)).json()["data"]["token"]
        sim.control.expire_tokens()
        expired = good["Authorization"]
        refusals: list[str] = []
        for route in guarded:
            for header in (
                {},
                {"Authorization": "Bearer nope"},
                {"Authorization": expired},
                {"Authorization": f"Bearer {quote}"},  # a quote token is not an access token
                {"Authorization": expired.removeprefix("Bearer ")},  # no scheme
            ):
                response = await client.request(
                    route.method, _path(route.segments), headers=header, json={}
                )
                if response.status_code != 401:
                    refusals.append(
                        f"{route.method} {_path(route.segments)} → {response.status_code}"
                    )
    assert not refusals, f"answered without a valid token: {refusals[:10]}"


async def test_the_account_streamer_refuses_a_bad_token(sim: SimServer) -> None:
    url = sim.streamer_url
    async with connect(url) as ws:
        for token in ("Bearer nope", "", "sim-access-guess"):
            message: dict[str, Any] = {
                "action": "connect",
                "value": ["5WT00001"],
                "auth-token": token,
                "request-id": 1,
            }
            await ws.send(json.dumps(message))
            ack = json.loads(await ws.recv())
            assert ack["status"] == "error" and ack["message"] == "invalid-auth-token"


async def test_dxlink_refuses_a_bad_quote_token(make_sim: SimFactory) -> None:
    sim = await make_sim()
    async with connect(sim.dxlink_url) as ws:
        setup = {"type": "SETUP", "channel": 0, "keepaliveTimeout": 60, "version": "t"}
        await ws.send(json.dumps(setup))
        await ws.send(json.dumps({"type": "AUTH", "channel": 0, "token": "sim-quote-guess"}))
        seen: list[dict[str, Any]] = []
        async for raw in ws:  # the server answers, then closes the connection
            seen.append(json.loads(raw))
    kinds = [m["type"] for m in seen]
    assert "ERROR" in kinds and {"AUTH_STATE", "ERROR"} >= set(kinds) - {"SETUP"}
    assert not any(m.get("state") == "AUTHORIZED" for m in seen)
    assert "FEED_DATA" not in kinds and "CHANNEL_OPENED" not in kinds
