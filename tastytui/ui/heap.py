"""How the cyclic garbage collector runs while the console is connected.

The console allocates briskly (every repaint builds strips and segments that live until the
next one) and keeps a large, long-lived heap (Textual, the SDK, pandas, the panes).  With
CPython's defaults that combination pauses the event loop: objects that merely outlive a few
milliseconds are promoted to the oldest generation, and as soon as a quarter of it is such
newcomers a full collection walks all of it — several times a second, 100-300 ms each.

- What is loaded at connect is collected once, then frozen: full collections never walk it.
  The collection first, so no garbage (start-up leftovers, a previous console's heap in the
  same process) is frozen for good.
- The young generation is larger: a repaint's objects die (by reference count) before a young
  collection sees them, so they are neither scanned nor promoted, and full collections become
  rare.  A young collection then scans at most :data:`YOUNG_THRESHOLD` objects (a few ms).

:meth:`HeapPolicy.release` undoes both when the console stops (tests run many in one process).
"""

from __future__ import annotations

import gc

#: Net allocations of tracked objects between two young collections (CPython's default: 700).
YOUNG_THRESHOLD = 20_000


class HeapPolicy:
    """Applies and undoes the collector settings above; both are idempotent."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    @property
    def active(self) -> bool:
        return self._saved is not None

    def settle(self) -> None:
        """Collect, freeze what survives, enlarge the young generation (once connected)."""
        if self._saved is not None:
            return
        self._saved = gc.get_threshold()
        gc.collect()
        gc.freeze()
        _, middle, old = self._saved
        gc.set_threshold(max(YOUNG_THRESHOLD, self._saved[0]), middle, old)

    def release(self) -> None:
        """Unfreeze and restore the thresholds found at :meth:`settle`."""
        if self._saved is None:
            return
        gc.unfreeze()
        gc.set_threshold(*self._saved)
        self._saved = None
