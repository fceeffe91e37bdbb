"""Circuit breaker: stop sending into a broken API, probe it, and resume when it is healthy."""

from __future__ import annotations

import time
from collections.abc import Callable

from tastytui.services.health import BreakerState


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; after ``cooldown`` s one probe may pass."""

    def __init__(
        self,
        threshold: int = 5,
        cooldown: float = 15.0,
        monotonic: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._monotonic = monotonic
        self._on_change = on_change
        self.state = BreakerState.CLOSED
        self.failures = 0
        self._opened_at = 0.0
        self.last_failure: str | None = None

    def _set(self, state: BreakerState) -> None:
        if state is not self.state:
            self.state = state
            if self._on_change is not None:
                self._on_change(state)

    def allow(self) -> bool:
        """May a request go out now? (In half-open, only the probe goes.)"""
        if self.state is BreakerState.OPEN:
            if self._monotonic() - self._opened_at >= self.cooldown:
                self._set(BreakerState.HALF_OPEN)
                return True
            return False
        return True

    def retry_in(self) -> float:
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.cooldown - (self._monotonic() - self._opened_at))

    def record_success(self) -> None:
        self.failures = 0
        self.last_failure = None
        self._set(BreakerState.CLOSED)

    def record_failure(self, reason: str) -> None:
        self.failures += 1
        self.last_failure = reason
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.threshold:
            self._opened_at = self._monotonic()
            self._set(BreakerState.OPEN)
