"""A client-side token bucket: the broker's undocumented limits are kept by us, not hit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` requests per second on average, bursts of up to ``capacity``."""

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate * 2)
        self._tokens = self.capacity
        self._monotonic = monotonic
        self._updated = monotonic()
        self._lock = asyncio.Lock()
        self.waiting = 0

    def _refill(self) -> None:
        now = self._monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        """Wait for a token; callers are served in arrival order."""
        self.waiting += 1
        try:
            async with self._lock:
                self._refill()
                if self._tokens < 1.0:
                    await asyncio.sleep((1.0 - self._tokens) / self.rate)
                    self._refill()
                self._tokens -= 1.0
        finally:
            self.waiting -= 1
