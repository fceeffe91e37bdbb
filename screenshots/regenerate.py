"""Regenerate the README's screenshots from the simulator.

Run ``.venv/bin/python screenshots/regenerate.py``.

Seeded simulator, frozen tape and a fixed clock, so the pictures change only when the console
does.  Each picture is an SVG written next to this script.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input  # noqa: E402

from tastytui.ui.app import TastyApp  # noqa: E402
from tastytui.ui.screens.review import ReviewScreen  # noqa: E402
from tests.chat.fake_api import FakeMessagesAPI  # noqa: E402
from tests.chat.test_pane import ask  # noqa: E402
from tests.snapshots.conftest import until  # noqa: E402
from tests.snapshots.test_console import position_answer, stage_vertical  # noqa: E402
from tests.ui.harness import SimThread, make_app, picture_sim_config, settle, wait_ready  # noqa: E402

OUT = Path(__file__).resolve().parent
SIZE = (160, 45)
Steps = Callable[[TastyApp, Pilot[Any]], Awaitable[None]]


async def shoot(app: TastyApp, pilot: Pilot[Any], name: str) -> None:
    await settle(pilot)
    app.clear_notifications()
    await pilot.pause(0.2)
    app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
    print(f"wrote screenshots/{name}.svg")


async def console(app: TastyApp, pilot: Pilot[Any]) -> None:
    await pilot.press("3")
    await stage_vertical(app, pilot)
    await shoot(app, pilot, "console")
    await pilot.press("4", "ctrl+o")
    await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
    review = app.screen
    assert isinstance(review, ReviewScreen)
    await until(pilot, lambda: review.is_mounted and review.status_text != "")
    await shoot(app, pilot, "review")
    await pilot.press("escape", "2", "z")
    await shoot(app, pilot, "positions")
    await pilot.press("z", "f6")
    await shoot(app, pilot, "net-liq")


async def light(app: TastyApp, pilot: Pilot[Any]) -> None:
    await pilot.press("1")
    await shoot(app, pilot, "console-light")


async def assistant(app: TastyApp, pilot: Pilot[Any]) -> None:
    await ask(pilot, "what's my SPY position?")
    await shoot(app, pilot, "assistant")


async def run(steps: Steps, *, theme: str = "tastytui-dark", size: tuple[int, int] = SIZE) -> None:
    Input._toggle_cursor = lambda self: None  # type: ignore[method-assign]  # no blink
    os.environ["ANTHROPIC_API_KEY"] = (
        "placeholder-for-the-local-fake-api"  # not a key: the fake API ignores it
    )
    with SimThread(picture_sim_config()) as sim, tempfile.TemporaryDirectory() as tmp:
        async with FakeMessagesAPI(position_answer()) as api:
            config = f'[chat]\napi_url = "{api.url}"\nmodel = "claude-test"\n'
            app = make_app(
                sim.base_url, Path(tmp), clock=sim.config.clock, theme=theme, config_text=config
            )
            async with app.run_test(size=size) as pilot:
                await wait_ready(pilot)
                await steps(app, pilot)


async def main() -> None:
    await run(console)
    await run(light, theme="tastytui-light")
    await run(assistant, size=(180, 45))


if __name__ == "__main__":
    asyncio.run(main())
