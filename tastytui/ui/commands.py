"""The command palette (ctrl+p): symbols, screens, every keyed action, and themes.

Symbols come from the broker's symbol search (debounced: each keystroke cancels the previous
search); screens and actions come from :mod:`tastytui.ui.keymap`, so the palette always shows
the key a user has actually bound.  Order sending is deliberately absent: an order only leaves
from the review screen with its confirm key.

Broker text (descriptions) is shown inert: hit prompts are built as literal ``Content`` and
highlighted by hand, because Textual's ``Matcher.highlight`` parses its input as markup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher
from textual.markup import escape

from tastytui.ui import format as fmt
from tastytui.ui import keymap
from tastytui.ui.messages import SymbolChosen
from tastytui.ui.widgets.pane import Pane

#: Actions that open a screen, with the title the palette shows for them.
SCREENS: dict[str, str] = {
    "app.help": "Screen: Help — every key",
    "app.history": "Screen: Transaction and order history",
    "app.netliq": "Screen: Net-liq history chart",
    "app.findings": "Screen: Reconciliation findings",
}
#: Never offered: the palette itself, and the review scope (sending stays on its screen).
EXCLUDED_IDS = frozenset({"app.palette"})
EXCLUDED_SCOPES = frozenset({"review"})
SCOPE_TITLES = {
    "app": "App",
    "board": "Quotes",
    "chain": "Chain",
    "positions": "Positions",
    "orders": "Orders",
    "builder": "Builder",
    "chat": "Chat",
}
SYMBOL_DEBOUNCE = 0.2
MAX_SYMBOL_HITS = 8


@dataclass(frozen=True, slots=True)
class PaletteCommand:
    title: str
    help: str  # plain text (escaped before the palette sees it)
    run: Callable[[], Awaitable[None] | None]


def highlight(matcher: Matcher, text: str) -> Content:
    """``text`` as literal Content with the fuzzy-matched characters styled."""
    content = Content(text)
    score, offsets = matcher.fuzzy_search.match(matcher.query, text)
    if not score:
        return content
    for offset in offsets:
        if not text[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class TastyCommands(Provider):
    """Palette provider for the console."""

    def _commands(self) -> list[PaletteCommand]:
        app: Any = self.app
        config = getattr(app, "config", None)
        remaps: dict[str, str] = dict(config.ui.keys) if config is not None else {}
        main = getattr(app, "main_screen", None) or self.screen
        pane_ids = {w.id for w in main.query(Pane) if w.id}
        commands: list[PaletteCommand] = []
        for action in keymap.ACTIONS:
            if action.id in EXCLUDED_IDS or action.scope in EXCLUDED_SCOPES:
                continue
            if action.scope != "app" and action.scope not in pane_ids:
                continue  # a dialog's own keys (templates, history …) apply only there
            key = self._key_display(keymap.key_for(action.id, remaps))
            if action.id in SCREENS:
                title = SCREENS[action.id]
            else:
                scope = SCOPE_TITLES.get(action.scope, action.scope.title())
                title = f"{scope}: {action.description}"
            commands.append(
                PaletteCommand(title, f"{key} · {action.id}", partial(self._run, action))
            )
        current = getattr(app, "theme", "")
        for name in sorted(app.available_themes):
            note = "current theme" if name == current else "switch the colour theme"
            commands.append(PaletteCommand(f"Theme: {name}", note, partial(self._theme, name)))
        return commands

    def _key_display(self, key: str) -> str:
        try:
            return str(self.app.get_key_display(Binding(key, "")))
        except Exception:
            return key

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(
                Content(command.title), command.run, text=command.title, help=escape(command.help)
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    highlight(matcher, command.title),
                    command.run,
                    text=command.title,
                    help=escape(command.help),
                )
        async for hit in self._symbols(query, matcher):
            yield hit

    async def _symbols(self, query: str, matcher: Matcher) -> Hits:
        text = query.strip().split("/", 1)[0]  # BRK/B searches BRK: no slash in the URL
        services = getattr(self.app, "services", None)
        if services is None or not text or len(text) > 40:
            return
        await asyncio.sleep(SYMBOL_DEBOUNCE)  # cancelled when the user types on
        try:
            results = await asyncio.wait_for(services.accounts.search(text), 10)
        except Exception:  # no suggestions is the only consequence of a failed search
            return
        wanted = query.strip().upper()
        for result in results[:MAX_SYMBOL_HITS]:
            symbol = fmt.clean(str(result.symbol), max_length=24)
            description = fmt.clean(str(result.description or ""), max_length=50)
            title = f"Symbol: {symbol}  {description}".rstrip()
            score = 1.0 if symbol.upper() == wanted else 0.5 + 0.4 * matcher.match(symbol)
            yield Hit(
                score,
                highlight(matcher, title),
                partial(self._symbol, symbol),
                text=title,
                help="open its chain and add it to the quote board",
            )

    # ------------------------------------------------------------ running

    def _symbol(self, symbol: str) -> None:
        self.app.post_message(SymbolChosen(symbol))

    def _theme(self, name: str) -> None:
        self.app.theme = name

    async def _run(self, action: keymap.Action) -> None:
        app: Any = self.app
        if action.scope == "app":
            await app.run_action(action.action)
            return
        main = getattr(app, "main_screen", None) or self.screen
        panes = main.query(f"#{action.scope}")
        if not panes:
            app.notify(f"{action.description}: not available on this screen")
            return
        pane = panes.first()
        focus = getattr(app, "action_focus_pane", None)
        if focus is not None:
            focus(action.scope)
        name = action.action.split("(", 1)[0]
        target = next(
            (node for node in (pane, *pane.query("*")) if hasattr(node, f"action_{name}")), None
        )
        if target is None:
            app.notify(f"{action.description}: not available right now")
            return
        await target.run_action(action.action)
