"""Errors the service layer raises: each says what happened and what the user can do."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: ``str(error)`` is a complete sentence fit for the status line or the chat."""


class BrokerUnavailable(ServiceError):
    """The broker did not answer usefully after retries (5xx, timeouts, connection errors)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(BrokerUnavailable):
    """The broker kept answering 429 after backing off."""


class CircuitOpen(ServiceError):
    """The circuit breaker is open: the broker failed repeatedly, so orders are refused."""


class AuthError(ServiceError):
    """Authentication failed and a forced token refresh did not help."""


class GrantRevoked(AuthError):
    """The refresh grant was revoked or is invalid: only a new login fixes it."""


class BrokerRejected(ServiceError):
    """The broker refused a request (4xx) and said why."""


class AmbiguousOrder(ServiceError):
    """An order's fate is unknown (timeout/5xx/drop) and could not be resolved yet."""


class ConfigError(ServiceError):
    """The configuration file or an override is invalid."""


class SecretsError(ServiceError):
    """A secret is missing or cannot be stored."""
