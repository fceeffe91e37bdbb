"""The key footer: Textual's ``Footer``, rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's footer recomposes (removes and mounts every key) on each bindings refresh of
    its screen: a focus change, a screen resuming, ``refresh_bindings``.  After an order's
    confirm that was two rebuilds of ~20 keys, each a full-screen layout, while the Filled
    push waited behind them (benchmarks/round_trip.py).  This one skips a rebuild that would
    show the same keys, enabled the same way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: list[tuple[Any, ...]] | None = None

    def shown_keys(self, screen: Screen[Any]) -> list[tuple[Any, ...]]:
        """What the footer would show for ``screen``: bindings, enabled state, tooltips."""
        return [
            (binding, enabled, tooltip)
            for (_, binding, enabled, tooltip) in screen.active_bindings.values()
            if binding.show
        ]

    def bindings_changed(self, screen: Screen[Any]) -> None:
        # The same conditions as Footer's own: only a rebuild it would make is remembered.
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            keys = self.shown_keys(screen)
            if self._bindings_ready and keys == self._shown:
                return
            self._shown = keys
        super().bindings_changed(screen)
