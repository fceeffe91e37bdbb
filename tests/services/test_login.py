"""Login: credentials verified against the broker, stored only in a keyring; exact redirects."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tastytui.cli_login import login
from tastytui.config import load
from tastytui.secrets import CLIENT_SECRET, REFRESH_TOKEN, SecretStore
from tastytui.services.login import REDIRECT_URI, authorize_url
from tastytui.sim.config import SIM_CLIENT_ID, SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN
from tests.unit.test_secrets import MemoryKeyring


def cert_config(tmp_path: Path, base_url: str, streamer_url: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(
        f'[profiles.cert]\napi_url = "{base_url}"\nstreamer_url = "{streamer_url}"\n'
        f'authorize_url = "{base_url}/oauth/authorize"\nclient_id = "{SIM_CLIENT_ID}"\n'
    )
    return load(path, {})


async def test_personal_grant_is_verified_then_kept_in_the_keyring(
    make_sim,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    sim = await make_sim()
    config = cert_config(tmp_path, sim.base_url, sim.streamer_url)
    answers = iter([SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN])
    store = SecretStore(environ={}, backend=MemoryKeyring())
    said: list[str] = []
    code = await _in_thread(
        lambda: login(
            config, "cert", ask_secret=lambda _: next(answers), store=store, say=said.append
        )
    )
    assert code == 0, said
    assert store.get("cert", CLIENT_SECRET) == SIM_CLIENT_SECRET
    assert store.get("cert", REFRESH_TOKEN) == SIM_REFRESH_TOKEN
    assert any("5WT00001" in line for line in said)
    assert not any(SIM_REFRESH_TOKEN in line for line in said)


async def test_bad_secret_saves_nothing_and_says_why(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = await make_sim()
    config = cert_config(tmp_path, sim.base_url, sim.streamer_url)
    answers = iter(["wrong-secret-value", SIM_REFRESH_TOKEN])
    store = SecretStore(environ={}, backend=MemoryKeyring())
    said: list[str] = []
    code = await _in_thread(
        lambda: login(
            config, "cert", ask_secret=lambda _: next(answers), store=store, say=said.append
        )
    )
    assert code == 1
    assert store.get("cert", CLIENT_SECRET) is None
    assert any("client secret" in line for line in said)


def _files(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*")}


async def test_without_a_keyring_login_explains_the_fallback_and_writes_nothing(
    make_sim,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    sim = await make_sim()
    config = cert_config(tmp_path, sim.base_url, sim.streamer_url)
    answers = iter([SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN])
    store = SecretStore(environ={}, backend=FailKeyring())
    said: list[str] = []
    before = _files(tmp_path)
    code = await _in_thread(
        lambda: login(
            config, "cert", ask_secret=lambda _: next(answers), store=store, say=said.append
        )
    )
    assert code == 1
    text = "\n".join(said)
    assert "Credentials work" in text, "the credentials were still checked"
    assert "No OS keyring" in text
    # The fallback names this profile's variables.
    assert "TASTYTUI_CERT_CLIENT_SECRET" in text and "TASTYTUI_CERT_REFRESH_TOKEN" in text
    assert "Nothing was saved" in text
    assert SIM_REFRESH_TOKEN not in text and SIM_CLIENT_SECRET not in text
    assert _files(tmp_path) == before, "no plaintext file was written"


async def test_browser_flow_with_the_exact_redirect_uri(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = await make_sim(redirect_uris=(REDIRECT_URI,))
    config = cert_config(tmp_path, sim.base_url, sim.streamer_url)
    store = SecretStore(environ={}, backend=MemoryKeyring())
    said: list[str] = []
    ports: list[int] = []

    def browser(url: str) -> None:
        # What a browser does: follow the authorize page's redirect to our loopback listener.
        def go() -> None:
            answer = httpx.get(url, follow_redirects=False, trust_env=False)
            location = answer.headers["location"]
            assert location.startswith(REDIRECT_URI + "?")
            # The test cannot own port 8765: deliver to the listener's OS-assigned port.
            httpx.get(location.replace(":8765", f":{ports[0]}"), trust_env=False)

        threading.Thread(target=go, daemon=True).start()

    import tastytui.services.login as login_module

    original = login_module.CallbackServer.__aenter__

    async def remember_port(self):  # type: ignore[no-untyped-def]
        result = await original(self)
        ports.append(self.port)
        return result

    login_module.CallbackServer.__aenter__ = remember_port  # type: ignore[method-assign]
    try:
        code = await _in_thread(
            lambda: login(
                config,
                "cert",
                browser=True,
                ask_secret=lambda _: SIM_CLIENT_SECRET,
                store=store,
                say=said.append,
                open_browser=browser,
                callback_port=0,
            )
        )
    finally:
        login_module.CallbackServer.__aenter__ = original  # type: ignore[method-assign]
    assert code == 0, said
    assert store.get("cert", REFRESH_TOKEN) not in (None, SIM_REFRESH_TOKEN)


@pytest.mark.parametrize(
    "variant",
    [
        REDIRECT_URI + "/",
        REDIRECT_URI.replace("http://", "https://"),
        REDIRECT_URI.replace("127.0.0.1", "localhost"),
        REDIRECT_URI.replace(":8765", ":8766"),
        REDIRECT_URI.replace("/callback", "/Callback"),
    ],
)
async def test_any_other_redirect_is_refused(make_sim, variant: str) -> None:  # type: ignore[no-untyped-def]
    sim = await make_sim(redirect_uris=(REDIRECT_URI,))
    url = authorize_url(
        f"{sim.base_url}/oauth/authorize", SIM_CLIENT_ID, "s1", redirect_uri=variant
    )
    async with httpx.AsyncClient(trust_env=False) as client:
        answer = await client.get(url, follow_redirects=False)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_redirect_uri"
    query = parse_qs(urlsplit(url).query)
    assert query["redirect_uri"] == [variant]


async def _in_thread(fn):  # type: ignore[no-untyped-def]
    """Run a blocking CLI function (it calls asyncio.run) off the test's event loop."""
    import asyncio

    return await asyncio.to_thread(fn)
