"""How the cyclic garbage collector runs while the console is connected.

The console allocates briskly (every repaint builds strips and segments that live until the
next one) and keeps a large, long-lived heap (Textual, the SDK, pandas, the panes, the day's
orders).  CPython 3.11's collector is not incremental: a full collection walks every tracked
object it has not been told to skip, about a microsecond each on a shared core, while the event
loop waits.  With the defaults that paused the loop 100 ms to 1.6 s, several times a minute, in
the 30-minute soak (benchmarks/soak.py) and under a quote storm (benchmarks/storm.py).

- What is loaded at connect is collected once, then frozen: full collections never walk it.
  The collection first, so no garbage (start-up leftovers, a previous console's heap in the
  same process) is frozen for good.
- The young generation is larger: a repaint's objects die (by reference count) before a young
  collection sees them, so they are neither scanned nor promoted, and full collections become
  rare.  A young collection then scans at most :data:`YOUNG_THRESHOLD` objects (a few ms).
- A full collection that took longer than :data:`REFREEZE_AFTER` freezes what survived it:
  the heap has grown (orders, caches) and the next one would walk all of it again.  Frozen
  objects are still freed by reference counting; only a cycle that was alive at the freeze and
  dies later stays until the console stops.  That is bounded by how rarely this happens (each
  time the surviving heap has grown by a few hundred thousand objects).

None of this helps with objects that live a few seconds and then die in a cycle: they reach
the oldest generation and only a full collection frees them.  The soak's census of that
generation found toast widgets, footer keys rebuilt on every pane switch and strips an LRU kept
alive; ``toasts.py``, ``widgets/footer.py`` and ``widgets/board_lines.py`` now reuse or replace
them in place (300 s soak: longest full collection 724 → 197 ms).

:meth:`HeapPolicy.release` undoes all of it when the console stops (tests run many in one
process).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from typing import Any

#: Net allocations of tracked objects between two young collections (CPython's default: 700).
YOUNG_THRESHOLD = 20_000
#: A full collection slower than this (seconds) freezes its survivors.
REFREEZE_AFTER = 0.05


class HeapPolicy:
    """Applies and undoes the collector settings above; both are idempotent."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._began = 0.0
        #: Freezes after a slow full collection (diagnostics and tests).
        self.refreezes = 0

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
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        gc.callbacks.append(self._watch)

    def release(self) -> None:
        """Unfreeze and restore the thresholds found at :meth:`settle`."""
        if self._saved is None:
            return
        if self._watch in gc.callbacks:
            gc.callbacks.remove(self._watch)
        gc.unfreeze()
        gc.set_threshold(*self._saved)
        self._saved = None
        self._loop = None

    def _watch(self, phase: str, info: dict[str, Any]) -> None:
        # Runs inside the collector, in whichever thread set it off: only note the time here,
        # and freeze from the console's loop, after the collection has finished.
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
            return
        loop = self._loop
        if time.perf_counter() - self._began > REFREEZE_AFTER and loop is not None:
            # RuntimeError: the loop has closed, the console is stopping.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._refreeze)

    def _refreeze(self) -> None:
        if self._saved is not None:
            gc.freeze()
            self.refreezes += 1
