"""Secrets: the OS keyring first, environment variables where no keyring exists, never a file.

Names per profile: ``client_secret`` and ``refresh_token``; globally ``anthropic_api_key``.
Environment variables (they win over the keyring, for one run):
``TASTYTUI_<PROFILE>_CLIENT_SECRET``, ``TASTYTUI_<PROFILE>_REFRESH_TOKEN``, ``ANTHROPIC_API_KEY``.

Every secret value we touch is registered for redaction, and :func:`install_log_redaction`
replaces registered values in every log record (message, arguments and traceback text).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tastytui.services.errors import SecretsError

SERVICE = "tastytui"
GLOBAL = "global"
CLIENT_SECRET = "client_secret"
REFRESH_TOKEN = "refresh_token"
ANTHROPIC_KEY = "anthropic_api_key"
_MASK = "«redacted»"

_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret so it is masked wherever it would be logged or displayed."""
    if value and len(value) >= 6:
        with _lock:
            _registered.add(value)


def redact(text: str) -> str:
    """Replace every registered secret in ``text``."""
    with _lock:
        values = sorted(_registered, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, _MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in the whole formatted record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_factory_installed = False


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Mask registered secrets in every log record, wherever it is written.

    Records are redacted as they are created (a record factory), so handlers added later — a
    log file, Textual's devtools — are covered too; the filter is also attached to the current
    handlers of ``logger`` (the root by default).  Idempotent.
    """
    global _factory_installed
    with _lock:
        install = not _factory_installed
        _factory_installed = True
    if install:
        previous = logging.getLogRecordFactory()
        scrub = RedactingFilter()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            scrub.filter(record)
            return record

        logging.setLogRecordFactory(factory)
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def env_name(profile: str, name: str) -> str:
    if name == ANTHROPIC_KEY:
        return "ANTHROPIC_API_KEY"
    return f"TASTYTUI_{profile.upper()}_{name.upper()}"


@dataclass(frozen=True)
class KeyringStatus:
    usable: bool
    backend: str
    advice: str


def _backend_usable(backend: Any) -> bool:
    import keyring.backends.fail

    if isinstance(backend, keyring.backends.fail.Keyring):
        return False
    children = getattr(backend, "backends", None)
    if children is not None:  # the chainer: usable if any child is
        return any(_backend_usable(child) for child in children)
    return float(getattr(backend, "priority", 1)) > 0


class SecretStore:
    """Reads and writes secrets; a profile's secrets are namespaced ``<profile>:<name>``."""

    def __init__(self, environ: Mapping[str, str] | None = None, backend: Any = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._backend = backend

    def _keyring(self) -> Any:
        if self._backend is not None:
            return self._backend
        import keyring

        return keyring.get_keyring()

    def status(self) -> KeyringStatus:
        try:
            backend = self._keyring()
            usable = _backend_usable(backend)
            name = type(backend).__name__
        except Exception as exc:  # a broken backend configuration is "not usable"
            usable, name = False, f"error: {type(exc).__name__}"
        advice = (
            ""
            if usable
            else (
                "No OS keyring is available here (usual over SSH on a server). tastytui will not "
                "write secrets to a plain file; export them for this shell instead, e.g. "
                "TASTYTUI_LIVE_CLIENT_SECRET=… TASTYTUI_LIVE_REFRESH_TOKEN=… (and "
                "ANTHROPIC_API_KEY=… for the chat), or install a keyring backend such as "
                "keyrings.alt or the Secret Service."
            )
        )
        return KeyringStatus(usable, name, advice)

    def get(self, profile: str, name: str) -> str | None:
        """The secret from the environment, else the keyring; registered for redaction."""
        value = self._environ.get(env_name(profile, name))
        if not value:
            account = GLOBAL if name == ANTHROPIC_KEY else profile
            try:
                value = self._keyring().get_password(SERVICE, f"{account}:{name}")
            except Exception:  # no backend: fall through to "missing"
                value = None
        register_secret(value)
        return value or None

    def set(self, profile: str, name: str, value: str) -> None:
        register_secret(value)
        status = self.status()
        if not status.usable:
            raise SecretsError(status.advice)
        account = GLOBAL if name == ANTHROPIC_KEY else profile
        try:
            self._keyring().set_password(SERVICE, f"{account}:{name}", value)
        except Exception as exc:
            raise SecretsError(
                f"the keyring refused to store the secret ({type(exc).__name__}). " + status.advice
            ) from None

    def delete(self, profile: str, name: str) -> None:
        account = GLOBAL if name == ANTHROPIC_KEY else profile
        try:
            self._keyring().delete_password(SERVICE, f"{account}:{name}")
        except Exception:  # already absent, or no backend: nothing stored either way
            return
