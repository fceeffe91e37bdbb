"""Production is opt-in and labelled: the live profile refuses to start unless enabled in the
config file, and once chosen the console says LIVE in its status bar and on the order review.

The enabled case points a live profile at the simulator (its URLs from the config file, its
credentials from the environment, as on a server without a keyring) so the whole console runs
exactly as it would against production — without touching it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from tastytui.config import load
from tastytui.domain.orders import InstrumentType, Leg, OrderAction
from tastytui.domain.ticket import Ticket
from tastytui.secrets import SecretStore
from tastytui.services.errors import ConfigError
from tastytui.services.runtime import endpoint_for
from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN
from tastytui.ui.app import TastyApp
from tastytui.ui.connect import DefaultConnector, EndpointConnector
from tastytui.ui.messages import StageTicket
from tastytui.ui.widgets.status_bar import StatusBar
from tests.ui.harness import SimThread, picture_sim_config, wait_ready
from tests.unit.test_secrets import MemoryKeyring


async def until(condition: Callable[[], object], within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.05)


async def test_live_without_opt_in_refuses_to_start_and_says_how(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("", encoding="utf-8")
    config = load(path, {})
    with pytest.raises(ConfigError, match="real money"):
        config.active("live")
    # The console, asked for live, shows why and connects to nothing.
    app = TastyApp(config, "live", connector=DefaultConnector(config, "live"))
    async with app.run_test(size=(120, 35)) as pilot:
        bar = app.query_one(StatusBar)
        await until(lambda: "not connected" in bar.message)
        await pilot.pause(0.1)
        assert "enabled = true" in bar.message and str(path) in bar.message
        assert app.services is None
        assert bar.render().plain.startswith(" LIVE ")


async def test_an_enabled_live_profile_is_labelled_live_everywhere(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        server = sim.server
        assert server is not None
        path = tmp_path / "config.toml"
        path.write_text(
            "[profiles.live]\nenabled = true\n"
            f'api_url = "{sim.base_url}"\nstreamer_url = "{server.streamer_url}"\n',
            encoding="utf-8",
        )
        config = load(path, {})
        name, profile = config.active("live")
        assert name == "live" and profile.api_url == sim.base_url
        # No keyring here: the environment holds the login, as the login command explains.
        environ = {
            "TASTYTUI_LIVE_CLIENT_SECRET": SIM_CLIENT_SECRET,
            "TASTYTUI_LIVE_REFRESH_TOKEN": SIM_REFRESH_TOKEN,
        }
        secrets = SecretStore(environ=environ, backend=MemoryKeyring())
        endpoint = endpoint_for(name, profile, secrets=secrets)
        assert not endpoint.is_test
        state = tmp_path / "state"
        connector = EndpointConnector(
            config, "live", endpoint, clock=sim.config.clock, state_dir=state
        )
        app = TastyApp(config, "live", connector=connector, clock=sim.config.clock)
        async with app.run_test(size=(140, 40)) as pilot:
            await wait_ready(pilot)
            bar = app.main_screen.query_one(StatusBar)
            text = bar.render()
            assert text.plain.startswith(" LIVE ")
            badge = next(s for s in text.spans if s.start == 0)
            assert badge.style == bar.get_component_rich_style("status-bar--live")
            assert (state / "journal-live.sqlite3").exists(), "live orders have their own journal"
            # The order review says LIVE too.
            leg = Leg(InstrumentType.EQUITY, "F", OrderAction.BUY_TO_OPEN, Decimal(1))
            app.post_message(StageTicket(Ticket((leg,)), review=True))
            await until(lambda: type(app.screen).__name__ == "ReviewScreen")
            await pilot.pause(0.2)
            assert app.screen.has_class("-live")
            summary = app.screen.query_one("#review-summary")
            assert " LIVE " in str(summary.render())
