"""Fault injection state: what the simulator should do wrong next, deterministic under a seed."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

_REASON_PHRASES = {
    401: ("token_invalid", "This access token is invalid"),
    429: ("too_many_requests", "Rate limit exceeded, slow down"),
    500: ("internal_server_error", "Internal server error"),
    502: ("bad_gateway", "Bad gateway"),
    503: ("service_unavailable", "Service temporarily unavailable"),
    504: ("gateway_timeout", "Gateway timeout"),
}


@dataclass(slots=True)
class HttpFault:
    """Answer matching requests with ``status`` (or just delay them when status is None)."""

    status: int | None
    remaining: int | None  # None: until cleared (with ``fraction``)
    fraction: float | None  # None: every matching request
    delay: float = 0.0
    retry_after: float | None = None
    path_prefix: str = "/"
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return path.startswith(self.path_prefix)

    @property
    def code_and_message(self) -> tuple[str, str]:
        if self.status is None:
            return ("", "")
        return _REASON_PHRASES.get(self.status, ("server_error", f"HTTP {self.status}"))


class Faults:
    """Pending faults. The control API and tests drive it; the server consults it."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"faults:{seed}")
        self.http: list[HttpFault] = []
        self.stale_symbols: set[str] = set()
        self.reject_next: deque[str] = deque()
        self.injected: dict[str, int] = {}

    def add_http(
        self,
        status: int | None,
        *,
        count: int | None = None,
        fraction: float | None = None,
        delay: float = 0.0,
        retry_after: float | None = None,
        path_prefix: str = "/",
        method: str | None = None,
    ) -> HttpFault:
        if count is None and fraction is None:
            count = 1
        if fraction is not None and not 0.0 < fraction <= 1.0:
            raise ValueError("fraction must be in (0, 1]")
        if status is not None and not 400 <= status <= 599:
            raise ValueError("fault status must be a 4xx or 5xx code")
        fault = HttpFault(status, count, fraction, delay, retry_after, path_prefix, method)
        self.http.append(fault)
        return fault

    def take_http(self, method: str, path: str) -> HttpFault | None:
        """The fault to apply to this request, if any (consumes one count)."""
        for fault in list(self.http):
            if not fault.matches(method, path):
                continue
            if fault.fraction is not None and self._rng.random() >= fault.fraction:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.http.remove(fault)
            key = f"http_{fault.status or 'delay'}"
            self.injected[key] = self.injected.get(key, 0) + 1
            return fault
        return None

    def clear_http(self) -> None:
        self.http.clear()

    def count(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1

    def random(self) -> float:
        """A draw from the fault stream (used by the probabilistic fill model too)."""
        return self._rng.random()
