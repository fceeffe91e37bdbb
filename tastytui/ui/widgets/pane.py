"""The base of every main-screen region: a titled, focusable box fed by the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Vertical

if TYPE_CHECKING:
    from tastytui.services.runtime import Services
    from tastytui.ui.app import TastyApp


class Pane(Vertical):
    """Subclasses override the hooks; the app calls them (quotes at the flush rate only)."""

    DEFAULT_CSS = """
    Pane { border: round $pane-border; border-title-color: $muted; }
    Pane:focus-within { border: round $primary; border-title-color: $text; }
    """

    @property
    def tasty(self) -> TastyApp:
        return self.app  # type: ignore[return-value]

    @property
    def services(self) -> Services | None:
        return self.tasty.services

    def services_ready(self) -> None:
        """The broker connection is up: load data, subscribe quotes."""

    def refresh_quotes(self, dirty: set[str]) -> None:
        """Called by the app's flush timer with the symbols that changed since the last flush."""

    def service_event(self, event: object) -> None:
        """A slow service event (orders, positions, balances, reconciliation, notices)."""

    def copy_text(self) -> str | None:
        """What ``y`` copies to the clipboard from this pane (the item under the cursor)."""
        return None
