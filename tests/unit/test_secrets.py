"""Secrets: keyring first, env fallback, plain words when no keyring, never in logs."""

from __future__ import annotations

import io
import logging

import pytest
from keyring.backend import KeyringBackend

from tastytui.secrets import (
    ANTHROPIC_KEY,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    RedactingFilter,
    SecretStore,
    register_secret,
)
from tastytui.services.errors import SecretsError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


def test_round_trip_through_the_keyring() -> None:
    store = SecretStore(environ={}, backend=MemoryKeyring())
    store.set("live", CLIENT_SECRET, "secret-live-abc")
    store.set("live", REFRESH_TOKEN, "refresh-live-xyz")
    assert store.get("live", CLIENT_SECRET) == "secret-live-abc"
    assert store.get("cert", CLIENT_SECRET) is None
    store.delete("live", CLIENT_SECRET)
    assert store.get("live", CLIENT_SECRET) is None


def test_environment_wins_for_one_run() -> None:
    backend = MemoryKeyring()
    store = SecretStore(environ={"TASTYTUI_LIVE_REFRESH_TOKEN": "from-env-123"}, backend=backend)
    store.set("live", REFRESH_TOKEN, "from-keyring-456")
    assert store.get("live", REFRESH_TOKEN) == "from-env-123"
    assert (
        SecretStore(environ={"ANTHROPIC_API_KEY": "sk-test-000"}, backend=backend).get(
            "sim", ANTHROPIC_KEY
        )
        == "sk-test-000"
    )


def test_no_keyring_backend_explains_the_environment_fallback() -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    store = SecretStore(environ={}, backend=FailKeyring())
    status = store.status()
    assert not status.usable
    assert "TASTYTUI_LIVE_CLIENT_SECRET" in status.advice
    with pytest.raises(SecretsError, match="will not write secrets to a plain file"):
        store.set("live", CLIENT_SECRET, "never-stored-1")
    assert store.get("live", CLIENT_SECRET) is None


def test_registered_secrets_are_redacted_from_log_records_and_tracebacks() -> None:
    secret = "refresh-token-that-must-not-leak"
    register_secret(secret)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token is %s", secret)
        try:
            raise RuntimeError(f"bad token {secret}")
        except RuntimeError:
            logger.exception("failure")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert secret not in output
    assert output.count("«redacted»") == 2  # the message and the exception text
