"""OAuth against the simulator: the SDK's refresh grant, and the authorization-code grant."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio
from tastytrade import Account, Session
from tastytrade.utils import TastytradeError

from tastytui.domain.clock import ManualClock
from tastytui.sim.config import SIM_CLIENT_ID, SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START, SimFactory, sdk_session
from tests.sim.simkit import raw_client, running_sim

REDIRECT = "http://127.0.0.1:8765/callback"


def _envelope(body: object) -> dict[str, str]:
    """The tastytrade error envelope (an object under "error", never a bare string)."""
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    error: dict[str, str] = body["error"]
    assert error["code"] and error["message"]
    return error


# ---------------------------------------------------------------- refresh grant (the SDK's)


async def test_refresh_grant_issues_a_token_for_900_seconds(sim: SimServer) -> None:
    async with sdk_session(sim) as session:
        started = time.time()
        accounts = await Account.get(session)
        assert accounts
        assert session.session_token.startswith("sim-access-")
        assert 899 <= session.session_expiration - started <= 901
    async with raw_client(sim) as client:
        response = await client.post(
            "/oauth/token",
            json={
                "grant_type": "refresh_token",
                "client_secret": SIM_CLIENT_SECRET,
                "refresh_token": SIM_REFRESH_TOKEN,
            },
        )
    body = response.json()
    assert response.status_code == 200
    assert body["expires_in"] == 900 and body["token_type"] == "Bearer"
    assert "data" not in body  # the token endpoint answers at the top level


async def test_token_lifetime_is_configurable(make_sim: SimFactory) -> None:
    sim = await make_sim(token_lifetime=300)
    async with sdk_session(sim) as session:
        started = time.time()
        await Account.get(session)
        assert 299 <= session.session_expiration - started <= 301


async def test_wrong_client_secret_is_a_401_envelope_the_sdk_understands(sim: SimServer) -> None:
    session = Session(provider_secret="not-the-secret", refresh_token=SIM_REFRESH_TOKEN)
    session._client.base_url = sim.base_url
    async with session:
        with pytest.raises(TastytradeError, match="invalid_client"):
            await Account.get(session)
    async with raw_client(sim) as client:
        response = await client.post(
            "/oauth/token",
            json={"grant_type": "refresh_token", "client_secret": "x", "refresh_token": "y"},
        )
    assert response.status_code == 401
    assert _envelope(response.json())["code"] == "invalid_client"


async def test_unknown_refresh_token_is_refused(sim: SimServer) -> None:
    session = Session(provider_secret=SIM_CLIENT_SECRET, refresh_token="made-up")
    session._client.base_url = sim.base_url
    async with session:
        with pytest.raises(TastytradeError, match="invalid_grant"):
            await session.refresh(force=True)


async def test_revoked_grant_refuses_refresh_and_says_to_create_a_new_grant(
    sim: SimServer,
) -> None:
    async with sdk_session(sim) as session:
        await Account.get(session)
        sim.control.revoke_grant()
        with pytest.raises(TastytradeError, match="token_invalid"):
            await Account.get(session)  # the access token went with the grant
        with pytest.raises(TastytradeError, match="create a new personal grant"):
            await session.refresh(force=True)
        sim.control.restore_grant()
        await session.refresh(force=True)
        assert await Account.get(session)


async def test_expired_or_unknown_bearer_is_401(sim: SimServer) -> None:
    async with sdk_session(sim) as session:
        await Account.get(session)
        sim.control.expire_tokens()
        with pytest.raises(TastytradeError, match="token_expired"):
            await Account.get(session)
    async with raw_client(sim) as client:
        for header in ({"Authorization": "Bearer nope"}, {}):
            response = await client.get("/customers/me/accounts", headers=header)
            assert response.status_code == 401
            assert _envelope(response.json())["code"] == "token_invalid"


# ---------------------------------------------------------------- authorization-code grant


# Issuing codes changes nothing a later test depends on: these tests share one simulator.
SHARED = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def code_sim() -> AsyncIterator[SimServer]:
    async with running_sim(redirect_uris=(REDIRECT, "https://app.example/cb?tenant=1")) as sim:
        yield sim


async def _authorize(sim: SimServer, redirect: str, state: str | None = "xyz") -> str:
    params = {"response_type": "code", "client_id": SIM_CLIENT_ID, "redirect_uri": redirect}
    if state is not None:
        params["state"] = state
    async with raw_client(sim) as client:
        response = await client.get("/oauth/authorize", params=params)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


@SHARED
async def test_authorize_redirects_with_code_and_state(code_sim: SimServer) -> None:
    location = await _authorize(code_sim, REDIRECT)
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    query = parse_qs(parts.query)
    assert query["state"] == ["xyz"] and len(query["code"][0]) >= 16
    # A registered redirect that has a query keeps it; the code is appended, not glued on.
    extra = urlsplit(await _authorize(code_sim, "https://app.example/cb?tenant=1"))
    assert extra.path == "/cb"
    assert parse_qs(extra.query)["tenant"] == ["1"] and "code" in parse_qs(extra.query)


@SHARED
@pytest.mark.parametrize(
    "redirect",
    [
        "https://127.0.0.1:8765/callback",  # scheme
        "http://localhost:8765/callback",  # host
        "http://127.0.0.1:8766/callback",  # port
        "http://127.0.0.1:8765/other",  # path
        "http://127.0.0.1:8765/callback/",  # trailing slash
    ],
)
async def test_authorize_refuses_a_redirect_that_is_not_exactly_registered(
    code_sim: SimServer, redirect: str
) -> None:
    params = {
        "response_type": "code",
        "client_id": SIM_CLIENT_ID,
        "redirect_uri": redirect,
        "state": "s",
    }
    async with raw_client(code_sim) as client:
        response = await client.get("/oauth/authorize", params=params)
    assert response.status_code == 401
    assert "Location" not in response.headers
    error = _envelope(response.json())
    assert error["code"] == "invalid_redirect_uri" and "exactly" in error["message"]


@SHARED
async def test_authorize_refuses_an_unknown_client_or_response_type(code_sim: SimServer) -> None:
    async with raw_client(code_sim) as client:
        unknown = await client.get(
            "/oauth/authorize",
            params={"response_type": "code", "client_id": "evil", "redirect_uri": REDIRECT},
        )
        implicit = await client.get(
            "/oauth/authorize",
            params={"response_type": "token", "client_id": SIM_CLIENT_ID, "redirect_uri": REDIRECT},
        )
    assert unknown.status_code == 401 and _envelope(unknown.json())["code"] == "invalid_client"
    assert implicit.status_code == 400
    assert _envelope(implicit.json())["code"] == "unsupported_response_type"


async def test_an_authorization_code_expires(make_sim: SimFactory) -> None:
    clock = ManualClock(SIM_START)
    sim = await make_sim(clock=clock, redirect_uris=(REDIRECT,))
    code = _code(await _authorize(sim, REDIRECT))
    clock.advance(11 * 60)
    async with raw_client(sim) as client:
        late = await client.post(
            "/oauth/token",
            json={
                "grant_type": "authorization_code",
                "code": code,
                "client_secret": SIM_CLIENT_SECRET,
                "redirect_uri": REDIRECT,
            },
        )
    assert late.status_code == 401
    assert "expired" in _envelope(late.json())["message"]


def _code(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


@SHARED
@pytest.mark.parametrize("encoding", ["json", "form"])
async def test_code_exchange_gives_a_refresh_token_the_sdk_can_use_once(
    code_sim: SimServer, encoding: str
) -> None:
    code = _code(await _authorize(code_sim, REDIRECT))
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": SIM_CLIENT_ID,
        "client_secret": SIM_CLIENT_SECRET,
        "redirect_uri": REDIRECT,
    }
    async with raw_client(code_sim) as client:
        if encoding == "json":
            first = await client.post("/oauth/token", json=body)
            again = await client.post("/oauth/token", json=body)
        else:
            first = await client.post("/oauth/token", data=body)
            again = await client.post("/oauth/token", data=body)
    assert first.status_code == 200, first.text
    issued = first.json()
    assert issued["expires_in"] == 900 and issued["access_token"]
    assert again.status_code == 401
    assert "expired or used" in _envelope(again.json())["message"]
    # The new refresh token works with the unmodified SDK.
    session = Session(provider_secret=SIM_CLIENT_SECRET, refresh_token=issued["refresh_token"])
    session._client.base_url = code_sim.base_url
    async with session:
        assert len(await Account.get(session)) == 2


@SHARED
async def test_code_exchange_needs_the_same_redirect_and_the_secret(code_sim: SimServer) -> None:
    async with raw_client(code_sim) as client:
        code = _code(await _authorize(code_sim, REDIRECT))
        wrong_redirect = await client.post(
            "/oauth/token",
            json={
                "grant_type": "authorization_code",
                "code": code,
                "client_secret": SIM_CLIENT_SECRET,
                "redirect_uri": REDIRECT + "/",
            },
        )
        code = _code(await _authorize(code_sim, REDIRECT))
        wrong_secret = await client.post(
            "/oauth/token",
            json={
                "grant_type": "authorization_code",
                "code": code,
                "client_secret": "guess",
                "redirect_uri": REDIRECT,
            },
        )
    assert wrong_redirect.status_code == 401
    assert "redirect_uri" in _envelope(wrong_redirect.json())["message"]
    assert wrong_secret.status_code == 401
    assert _envelope(wrong_secret.json())["code"] == "invalid_client"
