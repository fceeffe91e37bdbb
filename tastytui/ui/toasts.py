"""How the console shows notifications: at most a handful, in widgets that are reused.

Every fill, rejection and link change is a toast.  In a busy session (the soak places two
orders a second under faults) they arrived faster than they expired: over a hundred toasts were
mounted at once, each a widget the layout walks on every change, and the newest was pushed off
screen.  At most :data:`MAX_TOASTS` are shown; a new one retires the oldest, information before
warnings before errors.  Nothing is lost: orders, fills and findings stay in their panes.

Textual mounts two widgets per notification and removes them when it expires: in the soak that
was five a second, each a cyclic structure of ~100 objects that only a full garbage collection
frees (the console's longest pauses, ui/heap.py).  :class:`NoticeRack` draws them instead in
:data:`MAX_TOASTS` slots created once per screen, with the look of Textual's toasts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.containers import Container
from textual.content import Content
from textual.notifications import Notification
from textual.timer import Timer
from textual.widgets import Static

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


_SEVERITIES = ("information", "warning", "error")


class NoticeSlot(Static):
    """One notification (Textual's ``Toast`` look); a click dismisses it."""

    DEFAULT_CSS = """
    NoticeSlot {
        width: 60;
        max-width: 50%;
        height: auto;
        margin-top: 1;
        visibility: visible;
        padding: 1 1;
        background: $panel-lighten-1;
        border-left: outer $success;
        &:ansi { background: $ansi-background; }
        &.-warning { border-left: outer $warning; }
        &.-error { border-left: outer $error; }
    }
    """
    _TITLE: ClassVar[dict[str, str]] = {
        "information": "bold $text-success",
        "warning": "bold $text-warning",
        "error": "bold $text-error",
    }

    def __init__(self) -> None:
        super().__init__(markup=False)
        self.notification: Notification | None = None

    def show(self, notification: Notification | None) -> None:
        if notification is self.notification:
            return
        self.notification = notification
        self.display = notification is not None
        if notification is None:
            return
        for severity in _SEVERITIES:
            self.set_class(severity == notification.severity, f"-{severity}")
        message = (
            Content.from_markup(notification.message)
            if notification.markup
            else Content(notification.message)
        )
        if notification.title:
            title = Content.styled(notification.title, self._TITLE[notification.severity])
            message = Content.assemble(title, "\n", message)
        self.update(message)

    def on_click(self, event: events.Click) -> None:
        event.stop()
        if self.notification is not None:
            self.app._unnotify(self.notification)


class NoticeRack(Container):
    """The notifications of the screen it is on, newest at the bottom (Textual's ``ToastRack``
    place: bottom right, above the footer, on its own layer)."""

    DEFAULT_CSS = """
    NoticeRack {
        display: none;
        layer: _toastrack;
        width: 1fr;
        height: auto;
        dock: bottom;
        align: right bottom;
        visibility: hidden;
        layout: vertical;
        margin-bottom: 1;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="notice-rack")
        self._shown: list[Notification] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        for _ in range(MAX_TOASTS):
            slot = NoticeSlot()
            slot.display = False
            yield slot

    def on_mount(self) -> None:
        self._apply()

    def show(self, notifications: Iterable[Notification]) -> None:
        """Show the newest :data:`MAX_TOASTS` live ``notifications`` (oldest first)."""
        self._shown = [n for n in notifications if not n.has_expired][-MAX_TOASTS:]
        if self.is_mounted:
            self._apply()

    def _apply(self) -> None:
        slots = list(self.query_children(NoticeSlot))
        if not slots:
            return  # composing: on_mount applies
        self.display = bool(self._shown)
        for index, slot in enumerate(slots):
            slot.show(self._shown[index] if index < len(self._shown) else None)
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._shown:
            # One timer for the next to expire (Textual's toasts run one each).
            due = min(n.time_left for n in self._shown)
            self._timer = self.set_timer(max(due, 0.01), self._expire)

    def _expire(self) -> None:
        self._timer = None
        expired = [n for n in self._shown if n.has_expired]
        for notification in expired:
            self.app._unnotify(notification, refresh=False)
        self.show(n for n in self._shown if n not in expired)
