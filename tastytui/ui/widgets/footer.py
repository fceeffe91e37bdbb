"""The key footer: Textual's ``Footer``, its keys updated in place when they change."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyFooter(Footer):
    """Textual's footer recomposes (removes and mounts every key) on each bindings refresh of
    its screen: a focus change, a screen resuming, ``refresh_bindings``.  After an order's
    confirm that was two rebuilds of ~20 keys, each a full-screen layout, while the Filled
    push waited behind them (benchmarks/round_trip.py).  This one skips a rebuild that would
    show the same keys, enabled the same way, and otherwise updates the key widgets it has,
    mounting or removing only the difference: each pane switch rebuilt ~20 widgets, cyclic
    garbage only a full collection frees (the soak's longest pauses, ui/heap.py)."""

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
            if self._bindings_ready and self._update_in_place(screen, keys):
                return
        super().bindings_changed(screen)

    def _update_in_place(self, screen: Screen[Any], keys: list[tuple[Any, ...]]) -> bool:
        """Show ``keys`` in the key widgets there are; False: only a rebuild can (groups)."""
        wanted: dict[str, tuple[Binding, bool, str]] = {}
        for binding, enabled, tooltip in keys:
            if binding.group is not None:
                return False  # grouped keys: Footer.compose's own layout
            wanted.setdefault(binding.action, (binding, enabled, tooltip))
        children = list(self.query_children(FooterKey))
        palette = [k for k in children if k.has_class("-command-palette")]
        plain = [k for k in children if not k.has_class("-command-palette")]
        palette_binding = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            palette_binding = screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if bool(palette) != (palette_binding is not None):
            return False
        if palette and palette_binding is not None:
            _, binding, enabled, _ = palette_binding
            self._set_key(palette[0], binding, enabled, binding.tooltip or binding.description)
        shown = list(wanted.values())
        for widget, (binding, enabled, tooltip) in zip(plain, shown, strict=False):
            self._set_key(widget, binding, enabled, tooltip)
        for widget in plain[len(shown) :]:
            widget.remove()
        extra = [
            FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
            for binding, enabled, tooltip in shown[len(plain) :]
        ]
        if extra:
            self.mount_all(extra, before=palette[0] if palette else None)
        return True

    def _set_key(self, widget: FooterKey, binding: Binding, enabled: bool, tooltip: str) -> None:
        display = self.app.get_key_display(binding)
        new = (binding.key, display, binding.description, binding.action, not enabled, tooltip)
        old = (
            widget.key,
            widget.key_display,
            widget.description,
            widget.action,
            widget._disabled,
            widget.tooltip or "",
        )
        if new == old:
            return
        widget.key, widget.key_display, widget.description, widget.action = new[:4]
        widget._disabled = not enabled
        widget.set_class(not enabled, "-disabled")
        widget.tooltip = tooltip or None
        widget.refresh(layout=(display, binding.description) != old[1:3])
