"""Pictures of every pane and screen, at two terminal sizes and in two themes.

Regenerate only for an intended visual change, and say so in the commit:
``.venv/bin/python -m pytest tests/snapshots --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tastytui.ui.app import TastyApp
from tastytui.ui.messages import AddLeg
from tastytui.ui.screens.review import ReviewScreen
from tastytui.ui.widgets.builder import BuilderPane
from tests.snapshots.conftest import SIZES, THEMES, Album, until
from tests.ui.harness import SimThread, make_app, picture_sim_config, wait_ready
from tests.ui.test_builder import spy_vertical

PANES = {"board": "1", "positions": "2", "chain": "3", "builder": "4", "orders": "5"}
SCREENS = {
    "help": ("f1",),
    "history": ("f5",),
    "netliq": ("f6",),
    "findings": ("f7",),
    "symbol-entry": ("slash", "n", "v"),
    "watchlists": ("1", "w"),
    "template": ("3", "t"),
}


def position_answer() -> list[Any]:
    """The fake assistant's script for "what's my SPY position?": a tool call, then Markdown."""
    from tests.chat.fake_api import text_reply, tool_reply

    return [
        tool_reply(("get_positions", {"underlying": "SPY"}), text="Let me look."),
        text_reply(
            "You hold a **2× SPY Dec 18 642/648 short put vertical**:\n\n",
            "- delta about **+5**, theta **+2.67** a day\n",
            "- max loss $1,200 if SPY closes below 642\n",
        ),
    ]


async def stage_vertical(app: TastyApp, pilot: Pilot[Any]) -> None:
    builder = app.query_one(BuilderPane)
    for leg in await spy_vertical(app):
        app.post_message(AddLeg(leg))
    await until(pilot, lambda: len(builder.ticket.legs) == 2)
    # The legs' quotes and tick sizes arrive after the legs: the picture shows them priced.
    await until(pilot, lambda: builder.schedule is not None and None not in builder.live_prices())
    # Just subscribed, the legs count as stale in the status bar until their first quote ages in.
    services = app.services
    assert services is not None
    await until(pilot, lambda: services.health.snapshot.stale_symbols == 0)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", list(SIZES))
async def test_every_pane_and_screen(album: Album, tmp_path: Path, size: str, theme: str) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock, theme=theme)
        async with app.run_test(size=SIZES[size]) as pilot:
            await wait_ready(pilot)
            for pane, key in PANES.items():
                await pilot.press(key)
                await album.take(pilot, f"pane-{pane}")
            for screen, keys in SCREENS.items():
                await pilot.press(*keys)
                await album.take(pilot, f"screen-{screen}")
                await pilot.press("escape")
                await until(pilot, lambda: app.screen is app.main_screen)
            await stage_vertical(app, pilot)
            await pilot.press("4")
            await album.take(pilot, "pane-builder-with-ticket")
            await pilot.press("ctrl+o")
            await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
            await until(pilot, lambda: app.screen.is_mounted and app.screen.status_text != "")
            await album.take(pilot, "screen-review")
            await pilot.press("escape")
            await pilot.press("2", "z")
            await album.take(pilot, "zoomed-positions")
    album.check()


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", list(SIZES))
async def test_assistant_mid_conversation(
    album: Album, tmp_path: Path, size: str, theme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One answered question (a tool call, then Markdown) — the chat pane at rest."""
    from tests.chat.fake_api import FakeMessagesAPI
    from tests.chat.test_pane import ask

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-snapshot-000000")
    with SimThread(picture_sim_config()) as sim:
        async with FakeMessagesAPI(position_answer()) as api:
            config = f'[chat]\napi_url = "{api.url}"\nmodel = "claude-test"\n'
            app = make_app(
                sim.base_url, tmp_path, clock=sim.config.clock, theme=theme, config_text=config
            )
            async with app.run_test(size=SIZES[size]) as pilot:
                await wait_ready(pilot)
                await ask(pilot, "what's my SPY position?")
                await album.take(pilot, "pane-chat")
    album.check()
