"""The key footer keeps its keys while they stay the same, and shows every real change."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets._footer import FooterKey

from tastytui.ui.widgets.footer import KeyFooter


class Keys(Widget, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "go", "Go"),
        Binding("y", "stop", "Stop"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.busy = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go" and self.busy:
            return None  # shown disabled
        return True


class MoreKeys(Widget, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add"),
        Binding("d", "drop", "Drop"),
        Binding("e", "edit", "Edit"),
    ]


class FooterApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Keys()
        yield MoreKeys()
        yield KeyFooter()


def _keys(app: App[Any]) -> list[FooterKey]:
    return list(app.query(FooterKey))


def _off(key: FooterKey) -> bool:
    return key.has_class("-disabled")  # how the footer draws a key it shows disabled


async def _until(pilot: Any, check: Any) -> None:
    async with asyncio.timeout(10):
        while not check():
            await pilot.pause(0.02)


async def test_an_unchanged_refresh_keeps_the_keys_and_a_change_shows() -> None:
    app = FooterApp()
    async with app.run_test() as pilot:
        keys = app.query_one(Keys)
        keys.focus()
        await _until(pilot, lambda: {k.key for k in _keys(app)} >= {"x", "y"})
        before = _keys(app)
        for _ in range(3):
            keys.refresh_bindings()
            await pilot.pause(0.05)
        assert _keys(app) == before, "the same keys were rebuilt"

        keys.busy = True
        keys.refresh_bindings()
        await _until(pilot, lambda: any(k.key == "x" and _off(k) for k in _keys(app)))
        keys.busy = False
        keys.refresh_bindings()
        await _until(pilot, lambda: any(k.key == "x" and not _off(k) for k in _keys(app)))


async def test_switching_panes_shows_their_keys_in_the_same_widgets() -> None:
    app = FooterApp()
    async with app.run_test() as pilot:
        app.query_one(Keys).focus()
        await _until(pilot, lambda: [k.key for k in _keys(app)][:2] == ["x", "y"])
        before = _keys(app)
        app.query_one(MoreKeys).focus()
        await _until(pilot, lambda: [k.key for k in _keys(app)][:3] == ["a", "d", "e"])
        after = _keys(app)
        # The two keys there were now show Add and Drop; only the third is new.
        assert after[:2] == before[:2]
        assert [k.description for k in after[:3]] == ["Add", "Drop", "Edit"]
        app.query_one(Keys).focus()
        await _until(pilot, lambda: [k.key for k in _keys(app)][:2] == ["x", "y"])
        assert "e" not in {k.key for k in _keys(app)}
