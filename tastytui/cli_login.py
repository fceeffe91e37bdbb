"""``tastytui login``: check credentials against tastytrade, then keep them in the keyring."""

from __future__ import annotations

import asyncio
import getpass
import webbrowser
from collections.abc import Callable

from tastytui.config import Config
from tastytui.secrets import ANTHROPIC_KEY, CLIENT_SECRET, REFRESH_TOKEN, SecretStore, env_name
from tastytui.services.broker import Credentials, Endpoint
from tastytui.services.errors import ServiceError
from tastytui.services.login import (
    REDIRECT_URI,
    CallbackServer,
    authorize_url,
    exchange_code,
    new_state,
    verify,
)

Ask = Callable[[str], str]


def _ask_required(ask: Ask, prompt: str) -> str:
    value = ask(prompt).strip()
    if not value:
        raise ServiceError(f"nothing entered for {prompt.strip().rstrip(':')}; nothing was saved")
    return value


def login(
    config: Config,
    profile_name: str | None,
    *,
    browser: bool = False,
    anthropic: bool = False,
    ask_secret: Ask = getpass.getpass,
    ask: Ask = input,
    store: SecretStore | None = None,
    say: Callable[[str], None] = print,
    open_browser: Callable[[str], object] = webbrowser.open,
    callback_port: int | None = None,
) -> int:
    """Run the login; returns a process exit code. Secrets are never printed or logged."""
    store = store or SecretStore()
    status = store.status()
    try:
        if anthropic:
            key = _ask_required(ask_secret, "Anthropic API key: ")
            if not status.usable:
                say(status.advice)
                return 1
            store.set(profile_name or config.profile, ANTHROPIC_KEY, key)
            say(f"Saved the Anthropic key in the keyring ({status.backend}).")
            return 0
        name, profile = config.active(profile_name)
        if name == "sim":
            say(
                "The sim profile needs no login: the embedded simulator's credentials are built in."
            )
            return 0
        if browser:
            credentials = asyncio.run(
                _browser_flow(
                    profile.api_url,
                    profile.authorize_url,
                    profile.client_id or _ask_required(ask, "OAuth client id: "),
                    _ask_required(ask_secret, "OAuth client secret: "),
                    say,
                    open_browser,
                    callback_port,
                )
            )
        else:
            credentials = Credentials(
                _ask_required(ask_secret, "OAuth client secret: "),
                _ask_required(ask_secret, "Personal grant refresh token: "),
            )
        endpoint = Endpoint(
            name, profile.api_url, profile.streamer_url, credentials, is_test=name == "cert"
        )
        check = asyncio.run(verify(endpoint))
    except ServiceError as exc:
        say(f"Login failed: {exc}")
        return 1
    say(f"Credentials work: accounts {', '.join(check.accounts) or '(none)'}.")
    if not status.usable:
        say(status.advice)
        say(
            f"For the {name} profile: export {env_name(name, CLIENT_SECRET)}=… and "
            f"{env_name(name, REFRESH_TOKEN)}=… in the shell that runs tastytui."
        )
        say("Nothing was saved.")
        return 1
    try:
        store.set(name, CLIENT_SECRET, credentials.client_secret)
        store.set(name, REFRESH_TOKEN, credentials.refresh_token)
    except ServiceError as exc:
        say(f"Could not save the credentials: {exc}")
        return 1
    say(f"Saved in the keyring ({status.backend}) for profile {name}.")
    return 0


async def _browser_flow(
    api_url: str,
    authorize_base: str,
    client_id: str,
    client_secret: str,
    say: Callable[[str], None],
    open_browser: Callable[[str], object],
    port: int | None,
) -> Credentials:
    state = new_state()
    async with CallbackServer(state, **({"port": port} if port is not None else {})) as server:
        url = authorize_url(authorize_base, client_id, state)
        say(f"Open this address to approve tastytui (redirects to {REDIRECT_URI}):\n  {url}")
        open_browser(url)
        code = await server.code(within=300)
    return await exchange_code(api_url, client_id, client_secret, code)
