"""How many notifications the console shows at once.

Every fill, rejection and link change is a toast.  In a busy session (the soak places two
orders a second under faults) they arrived faster than they expired: over a hundred toasts were
mounted at once, each a widget the layout walks on every change, and the newest was pushed off
screen.  At most :data:`MAX_TOASTS` are shown; a new one retires the oldest, information before
warnings before errors.  Nothing is lost: orders, fills and findings stay in their panes.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.notifications import Notification

#: Toasts on screen at once (they stack in the bottom-right corner).
MAX_TOASTS = 5

_RANK = {"information": 0, "warning": 1, "error": 2}


def to_retire(shown: Iterable[Notification], limit: int = MAX_TOASTS) -> list[Notification]:
    """Which of the ``shown`` toasts (oldest first) make room for one more under ``limit``."""
    current = list(shown)
    excess = len(current) - (limit - 1)
    if excess <= 0:
        return []
    # Stable: the oldest of the least severe go first.
    by_rank = sorted(current, key=lambda n: _RANK.get(n.severity, 0))
    return by_rank[:excess]
