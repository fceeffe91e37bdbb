"""Every action the console offers, with its default key, as data.

Bindings are generated from this registry (each with an ``id``), the help screen lists it, the
command palette searches it, and the config file's ``[ui.keys]`` remaps it through Textual's
``App.set_keymap``.  Critical actions avoid ctrl+shift combinations that SSH terminals drop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.binding import Binding, BindingType

if TYPE_CHECKING:
    from textual.app import App


@dataclass(frozen=True, slots=True)
class Action:
    id: str  # stable id used in the config file, e.g. "order.confirm"
    key: str  # Textual key string, e.g. "ctrl+y" or "f2"
    action: str  # the Textual action it triggers, e.g. "confirm_order"
    description: str
    scope: str  # "app", "board", "chain", "positions", "orders", "builder", "review", ...
    show: bool = True  # shown in the footer when it applies
    priority: bool = False


ACTIONS: tuple[Action, ...] = (
    # Global
    Action("app.help", "f1", "app.help", "Help: every key", "app"),
    Action("app.palette", "ctrl+p", "app.command_palette", "Command palette", "app", show=False),
    Action("app.quit", "ctrl+q", "app.quit", "Quit", "app", priority=True),
    Action("app.symbol", "slash", "app.symbol_entry", "Symbol", "app"),
    Action("app.focus_board", "1", "app.focus_pane('board')", "Quotes", "app", show=False),
    Action(
        "app.focus_positions", "2", "app.focus_pane('positions')", "Positions", "app", show=False
    ),
    Action("app.focus_chain", "3", "app.focus_pane('chain')", "Chain", "app", show=False),
    Action("app.focus_builder", "4", "app.focus_pane('builder')", "Builder", "app", show=False),
    Action("app.focus_orders", "5", "app.focus_pane('orders')", "Orders", "app", show=False),
    Action("app.focus_chat", "6", "app.focus_pane('chat')", "Chat", "app", show=False),
    Action("app.history", "f5", "app.open_history", "History", "app"),
    Action("app.netliq", "f6", "app.open_netliq", "Net liq", "app"),
    Action("app.findings", "f7", "app.open_findings", "Reconcile", "app"),
    Action("app.account", "f9", "app.switch_account", "Account", "app"),
    Action("app.screenshot", "f8", "app.save_screenshot", "Screenshot", "app", show=False),
    Action("app.resume", "ctrl+r", "app.resume_orders", "Resume orders", "app", show=False),
    Action("app.zoom", "z", "app.zoom", "Zoom pane", "app"),
    Action("app.copy", "y", "app.copy", "Copy (OSC 52)", "app", show=False),
    # Quote board
    Action("board.remove", "delete", "remove_symbol", "Remove", "board"),
    Action("board.chain", "enter", "open_chain", "Chain", "board"),
    Action("board.watchlist", "w", "choose_watchlist", "Watchlist", "board"),
    Action("board.up", "up", "cursor_move(-1)", "Row up", "board", show=False),
    Action("board.down", "down", "cursor_move(1)", "Row down", "board", show=False),
    Action("board.page_up", "pageup", "cursor_page(-1)", "Page up", "board", show=False),
    Action("board.page_down", "pagedown", "cursor_page(1)", "Page down", "board", show=False),
    Action("board.top", "home", "cursor_edge(0)", "First row", "board", show=False),
    Action("board.bottom", "end", "cursor_edge(1)", "Last row", "board", show=False),
    # Chain
    Action("chain.buy", "b", "add_leg('buy')", "Buy leg", "chain"),
    Action("chain.sell", "s", "add_leg('sell')", "Sell leg", "chain"),
    Action("chain.next_exp", "right_square_bracket", "expiration(1)", "Next exp", "chain"),
    Action("chain.prev_exp", "left_square_bracket", "expiration(-1)", "Prev exp", "chain"),
    Action("chain.side", "tab", "toggle_side", "Calls/puts", "chain", show=False),
    Action("chain.center", "c", "center", "Center", "chain"),
    Action("chain.template", "t", "template", "Strategy", "chain"),
    # Strategy template picker (opened from the chain with t)
    Action("template.build", "enter", "build", "Build strategy", "template", priority=True),
    Action("template.cancel", "escape", "cancel", "Cancel", "template"),
    # Positions
    Action("positions.close", "x", "close_position", "Close", "positions"),
    Action("positions.roll", "r", "roll_position", "Roll", "positions"),
    Action("positions.expand", "space", "toggle_expand", "Expand", "positions"),
    # Live orders
    Action("orders.cancel", "x", "cancel_order", "Cancel", "orders"),
    Action("orders.replace", "e", "replace_order", "Replace", "orders"),
    Action("orders.remid", "m", "reprice_mid", "Re-price mid", "orders"),
    # Order builder
    Action("builder.review", "ctrl+o", "review", "Review", "builder"),
    Action("builder.mode", "p", "price_mode", "Price mode", "builder"),
    Action("builder.up", "plus", "nudge(1)", "+1 tick", "builder"),
    Action("builder.down", "minus", "nudge(-1)", "-1 tick", "builder"),
    Action("builder.qty_up", "greater_than_sign", "quantity(1)", "Qty +", "builder", show=False),
    Action("builder.qty_down", "less_than_sign", "quantity(-1)", "Qty -", "builder", show=False),
    Action("builder.tif", "i", "cycle_tif", "TIF", "builder"),
    Action("builder.remove", "delete", "remove_leg", "Remove leg", "builder"),
    Action("builder.flip", "f", "flip_leg", "Buy/sell", "builder", show=False),
    Action("builder.clear", "ctrl+l", "clear_ticket", "Clear", "builder"),
    Action("builder.price", "e", "enter_price", "Type price", "builder", show=False),
    Action("builder.type", "m", "order_type", "Limit/market", "builder", show=False),
    Action("builder.gtd_date", "d", "gtd_date", "GTD date", "builder", show=False),
    Action("builder.cursor_up", "up", "cursor(-1)", "Previous leg", "builder", show=False),
    Action("builder.cursor_down", "down", "cursor(1)", "Next leg", "builder", show=False),
    Action("builder.cancel_entry", "escape", "cancel_entry", "Cancel entry", "builder", show=False),
    # Assistant (chat pane): Enter in its input sends the question
    Action("chat.stop", "escape", "stop_answer", "Stop answer", "chat"),
    Action("chat.clear", "ctrl+l", "clear_chat", "Clear chat", "chat"),
    Action("chat.pending", "ctrl+o", "review_pending", "Confirm change", "chat"),
    # Review (the only place an order is sent)
    Action("order.confirm", "ctrl+y", "confirm", "Confirm & send", "review", priority=True),
    Action("order.back", "escape", "back", "Back", "review"),
    # Yes/no before cancelling an order (live orders x)
    Action("confirm.yes", "y", "confirm_yes", "Yes", "confirm"),
    Action("confirm.no", "n", "confirm_no", "No", "confirm"),
    Action("confirm.escape", "escape", "confirm_no", "No", "confirm", show=False),
    # New-price dialog (live orders e)
    Action("price.submit", "enter", "submit", "Review new price", "price"),
    Action("price.cancel", "escape", "cancel", "Cancel", "price"),
    # History screen (F5): F-keys so the symbol filter input never swallows them
    Action("history.close", "escape", "close", "Close", "history"),
    Action("history.reload", "f5", "reload", "Reload", "history"),
    Action("history.tab", "f4", "switch_tab", "Txns/orders", "history"),
    Action("history.range", "f2", "cycle_range", "Range", "history"),
    Action("history.type", "f3", "cycle_type", "Type", "history"),
    Action("history.filter", "slash", "focus_filter", "Filter", "history"),
    # Net-liq screen (F6)
    Action("netliq.close", "escape", "close", "Close", "netliq"),
    Action("netliq.prev", "left", "period(-1)", "Shorter", "netliq"),
    Action("netliq.next", "right", "period(1)", "Longer", "netliq"),
    Action("netliq.reload", "r", "reload", "Reload", "netliq"),
    # Reconciliation findings (F7); resuming orders is app.resume (ctrl+r)
    Action("findings.close", "escape", "close", "Close", "findings"),
    Action("findings.run", "r", "reconcile_now", "Reconcile now", "findings"),
)

BY_ID: dict[str, Action] = {a.id: a for a in ACTIONS}


def bindings(scope: str) -> list[BindingType]:
    """The Textual bindings of one scope (each with its action id, so remaps apply)."""
    return [
        Binding(a.key, a.action, a.description, show=a.show, id=a.id, priority=a.priority)
        for a in ACTIONS
        if a.scope == scope
    ]


def check_remaps(remaps: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Split config remaps into valid ones and messages for unknown action ids."""
    valid: dict[str, str] = {}
    problems: list[str] = []
    for action_id, key in remaps.items():
        if action_id not in BY_ID:
            problems.append(
                f"[ui.keys] {action_id!r} is not an action (see the help screen, F1, for ids)"
            )
        elif not key.strip():
            problems.append(f"[ui.keys] {action_id!r} has an empty key")
        else:
            valid[action_id] = key.strip()
    return valid, problems


def key_for(action_id: str, remaps: Mapping[str, str] | None = None) -> str:
    if remaps and action_id in remaps:
        return remaps[action_id]
    return BY_ID[action_id].key


def key_label(app: App[Any], action_id: str) -> str:
    """An action's key as the footer shows it (``^r``, ``F7``), after the config's remaps."""
    config = getattr(app, "config", None)
    remaps, _ = check_remaps(config.ui.keys if config is not None else {})
    key = key_for(action_id, remaps).split(",")[0].strip()
    return app.get_key_display(Binding(key, ""))


def scopes() -> Iterable[str]:
    seen: list[str] = []
    for action in ACTIONS:
        if action.scope not in seen:
            seen.append(action.scope)
    return seen
