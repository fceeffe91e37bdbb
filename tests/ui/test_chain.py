"""The option chain pane against the simulator: grid, expirations, subscriptions, legs."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot

from tastytui.domain.chain import ChainExpiration
from tastytui.domain.clock import ManualClock
from tastytui.domain.orders import OrderAction
from tastytui.domain.symbols import OptionType, parse_occ
from tastytui.ui.app import TastyApp
from tastytui.ui.messages import AddLeg, StageTicket
from tastytui.ui.screens.template import TemplatePicker
from tastytui.ui.themes import DOMAIN_DEFAULTS
from tastytui.ui.widgets.chain import ChainInfo, ChainPane, ExpirationBar
from tastytui.ui.widgets.chain_grid import ChainGrid, check_columns
from tests.ui.harness import SimThread, make_app, picture_sim_config, wait_ready

SIZE = (160, 45)


async def wait_for(pilot: Pilot[Any], condition: Any, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await pilot.pause(0.05)


async def open_chain(pilot: Pilot[Any]) -> ChainPane:
    """Until the chain is on screen with live values on the cursor's contract."""
    await wait_ready(pilot)
    app = pilot.app
    pane = app.query_one(ChainPane)
    assert isinstance(app, TastyApp) and app.services is not None
    store = app.services.store

    def ready() -> bool:
        option = pane.grid.contract()
        return (
            pane.chain is not None
            and pane.grid.display
            and pane.grid.subscribed_count > 0
            and option is not None
            and store.quote(option.streamer) is not None
        )

    await wait_for(pilot, ready)
    await pilot.press("3")  # focus the chain
    await pilot.pause(0.2)
    return pane


class Notes:
    """Every notification the app raised (toasts expire; this list does not)."""

    def __init__(self, app: TastyApp) -> None:
        self.items: list[tuple[str, str]] = []  # (title, message)
        original = app.notify

        def notify(message: str, *args: Any, **kwargs: Any) -> None:
            self.items.append((str(kwargs.get("title", "")), str(message)))
            original(message, *args, **kwargs)

        app.notify = notify  # type: ignore[method-assign]

    def titled(self, word: str) -> list[str]:
        return [message for title, message in self.items if word in title]


def unique(messages: list[Message], kind: type[Any]) -> list[Any]:
    """Messages of ``kind`` once each (the hook sees a bubbling message at every hop)."""
    seen: dict[int, Any] = {}
    for message in messages:
        if isinstance(message, kind):
            seen.setdefault(id(message), message)
    return list(seen.values())


def staged(messages: list[Message]) -> list[StageTicket]:
    return unique(messages, StageTicket)


async def test_chain_opens_on_the_money_and_switches_expirations(tmp_path: Path) -> None:
    config = '[ui]\nchain_columns = ["delta", "iv", "bogus", "bid", "[red]x", "ask", "oi"]\n'
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock, config_text=config)
        notes = Notes(app)
        async with app.run_test(size=SIZE) as pilot:
            pane = await open_chain(pilot)
            grid = pane.grid
            # The unknown column is named, with the valid ones, and skipped.
            messages = notes.titled("Chain columns")
            assert any("'bogus'" in m and "prob_itm" in m for m in messages), messages
            assert any("'[red]x'" in m for m in messages)  # config text shown literally
            assert grid.columns == ["delta", "iv", "bid", "ask", "oi"]
            assert "OI" in grid.header_text() and "bogus" not in grid.header_text()

            # Strikes around the money, the ATM row marked and in the middle of the screen.
            spot = grid.spot
            assert spot is not None and grid.atm_row >= 0
            atm = grid.expiration.strikes[grid.atm_row] if grid.expiration else None
            assert atm is not None and abs(float(atm.strike) - spot) <= 0.5
            visible = grid.visible_range()
            assert visible.start < grid.atm_row < visible.stop - 1
            assert abs((visible.start + visible.stop) / 2 - grid.atm_row) <= 2
            assert "▶" in grid.row_text(grid.atm_row)
            assert "▶" not in grid.row_text(grid.atm_row + 1)
            assert grid.cursor_row == grid.atm_row
            # Calls below the money and puts above it are in the money (shaded).
            exp = grid.expiration
            assert exp is not None
            assert float(exp.strikes[visible.start].strike) < spot
            itm = grid.get_component_rich_style("chain-grid--itm", partial=True).bgcolor
            assert itm is not None
            low = list(grid._row_strip(visible.start))
            high = list(grid._row_strip(visible.stop - 1))
            assert low[0].style is not None and low[0].style.bgcolor == itm  # ITM call
            assert low[-1].style is not None and low[-1].style.bgcolor != itm  # OTM put
            assert high[0].style is not None and high[0].style.bgcolor != itm  # OTM call
            assert high[-1].style is not None and high[-1].style.bgcolor == itm  # ITM put

            bar = app.query_one(ExpirationBar)
            first = pane.expiration
            assert first is not None
            assert "0 DTE" in bar.selected_text()
            await pilot.press("right_square_bracket")
            await pilot.pause(0.1)
            assert pane.expiration is not None and pane.expiration.expiration > first.expiration
            assert "1 DTE" in bar.selected_text()
            assert grid.expiration is pane.expiration
            # The subscription followed the expiration: nothing of the old one is held.
            await wait_for(pilot, lambda: grid.subscribed_count > 0)
            old = {s.call.streamer for s in first.strikes} | {s.put.streamer for s in first.strikes}
            assert not (grid.subscribed_symbols & old)
            await pilot.press("right_square_bracket")
            await pilot.pause(0.1)
            assert "M" in bar.render().plain.split("\n")[1]  # monthlies are marked
            assert "Monthly" in bar.selected_text()  # Friday 20 Nov is the monthly
            await pilot.press("left_square_bracket", "left_square_bracket")
            await pilot.pause(0.1)
            assert pane.expiration == first and "0 DTE" in bar.selected_text()

            # A malformed symbol is refused with its text shown literally.
            pane.show_symbol("[bold]x[/]")
            assert any("'[bold]x[/]'" in m for m in notes.titled("Chain"))
            assert pane.symbol == "SPY"

            # A symbol without options says so clearly and the console stays usable.
            pane.show_symbol("ZZZZ")
            await wait_for(pilot, lambda: "No options for ZZZZ" in _message(pane))
            assert not grid.display and grid.subscribed_count == 0
            pane.show_symbol("QQQ")
            assert "loading QQQ chain…" in _message(pane)
            await wait_for(pilot, lambda: pane.chain is not None and grid.display)
            assert pane.chain is not None and pane.chain.underlying == "QQQ"


def _message(pane: ChainPane) -> str:
    from textual.widgets import Static

    message = pane.query_one("#chain-message", Static)
    return str(message.render()) if message.display else ""


async def test_scrolling_moves_a_bounded_subscription_window(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE) as pilot:
            pane = await open_chain(pilot)
            grid = pane.grid
            assert app.services is not None
            dxlink = app.services.dxlink
            visible_contracts = 2 * grid.visible_rows
            bound = 2 * visible_contracts + 4  # visible rows plus half a screen each way

            def held_for_expiration() -> int:
                exp = grid.expiration
                assert exp is not None
                symbols = {s.call.streamer for s in exp.strikes} | {
                    s.put.streamer for s in exp.strikes
                }
                return len({sym for kind, sym in dxlink.subscriptions() if sym in symbols})

            before = grid.subscribed_symbols
            assert 0 < grid.subscribed_count <= bound
            assert grid.subscribed_count < 2 * grid.row_count  # never the whole expiration
            assert held_for_expiration() <= bound
            for row in grid.visible_range():
                assert grid.contract(row, OptionType.CALL).streamer in before  # type: ignore[union-attr]

            await pilot.press("pagedown", "pagedown", "pagedown")
            await pilot.pause(0.2)
            after = grid.subscribed_symbols
            assert after != before
            assert 0 < len(after) <= bound and held_for_expiration() <= bound
            for row in grid.visible_range():
                put = grid.contract(row, OptionType.PUT)
                assert put is not None and put.streamer in after
                assert ("Quote", put.streamer) in dxlink.subscriptions()
            # Values arrive for the newly visible rows.
            store = app.services.store
            last = grid.contract(grid.visible_range().stop - 1, OptionType.CALL)
            assert last is not None
            await wait_for(pilot, lambda: store.quote(last.streamer) is not None)

            # `c` goes back to the money.
            await pilot.press("c")
            await pilot.pause(0.1)
            assert grid.cursor_row == grid.atm_row and grid.atm_row in grid.visible_range()

            # A tick repaints only the row whose contract changed.
            await pilot.pause(0.3)
            rendered = grid.rows_rendered
            option = grid.contract()
            assert option is not None
            pane.refresh_quotes({option.streamer})
            await wait_for(pilot, lambda: grid.rows_rendered > rendered)
            await pilot.pause(0.3)
            assert grid.rows_rendered - rendered == 1

            # The cursor's contract is described under the grid, with its data age.
            info = app.query_one(ChainInfo).render().plain
            assert "streaming" in info and " ago" in info

            # Data older than stale_after (15 s) is dimmed, keeps its value and shows its age.
            row_before = grid.row_text(grid.cursor_row)
            clock = sim.config.clock
            assert isinstance(clock, ManualClock)
            clock.advance(16)
            await wait_for(pilot, lambda: "stale 16s" in app.query_one(ChainInfo).render().plain)
            strip = grid._row_strip(grid.cursor_row)
            assert all(seg.style is not None and seg.style.italic for seg in list(strip)[:2])
            assert grid.row_text(grid.cursor_row) == row_before  # never blanked

            # Leaving the chain (unmount) releases every contract it held.
            exp = grid.expiration
            assert exp is not None
            await grid.remove()
            await pilot.pause(0.1)
            assert held_for_expiration_after(dxlink, exp) == 0


def held_for_expiration_after(dxlink: Any, exp: Any) -> int:
    symbols = {s.call.streamer for s in exp.strikes} | {s.put.streamer for s in exp.strikes}
    return len({sym for kind, sym in dxlink.subscriptions() if sym in symbols})


async def test_buy_and_sell_keys_add_legs(tmp_path: Path) -> None:
    messages: list[Message] = []
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
            pane = await open_chain(pilot)
            grid = pane.grid
            call = grid.contract()
            assert call is not None and call.is_call
            await pilot.press("b")
            await pilot.pause(0.1)
            await pilot.press("tab", "down", "s")  # the put one strike higher
            await pilot.pause(0.1)
            legs = [m.leg for m in unique(messages, AddLeg)]
            assert len(legs) == 2
            assert legs[0].symbol == call.occ and legs[0].action is OrderAction.BUY_TO_OPEN
            assert legs[0].quantity == Decimal(1)
            put = parse_occ(legs[1].symbol)
            assert legs[1].action is OrderAction.SELL_TO_OPEN and legs[1].quantity == 1
            assert put.option_type is OptionType.PUT and put.expiration == call.expiration
            assert put.strike > call.strike
            # left/right also pick the side.
            await pilot.press("left", "b")
            await pilot.pause(0.1)
            legs = [m.leg for m in unique(messages, AddLeg)]
            assert parse_occ(legs[2].symbol).is_call
            # The mouse works: a click on a put cell puts the cursor there.
            row = grid.cursor_row + 2
            x = grid._pad() + grid.table_width - 3
            y = 1 + row - int(grid.scroll_offset.y)
            await pilot.click(ChainGrid, offset=(x, y))
            await pilot.pause(0.1)
            assert grid.cursor_row == row and grid.side is OptionType.PUT


async def test_templates_stage_tickets_around_the_money(tmp_path: Path) -> None:
    messages: list[Message] = []
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        notes = Notes(app)
        async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
            pane = await open_chain(pilot)
            grid = pane.grid
            exp = pane.expiration
            assert exp is not None and grid.atm_row >= 0
            strikes = [s.strike for s in exp.strikes]
            atm = grid.atm_row

            # Default vertical: short put one strike below the money, long put the next below.
            await pilot.press("t")
            await wait_for(pilot, lambda: isinstance(app.screen, TemplatePicker))
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(staged(messages)) == 1)
            ticket = staged(messages)[0].ticket
            legs = {(leg.action, parse_occ(leg.symbol)) for leg in ticket.legs}
            assert len(ticket.legs) == 2
            by_action = {action: option for action, option in legs}
            assert by_action[OrderAction.SELL_TO_OPEN].strike == strikes[atm - 1]
            assert by_action[OrderAction.BUY_TO_OPEN].strike == strikes[atm - 2]
            assert all(o.expiration == exp.expiration and not o.is_call for _, o in legs)
            assert "vertical" in staged(messages)[0].note.lower()

            # Iron condor, wings 5 wide.
            await pilot.press("t")
            await wait_for(pilot, lambda: isinstance(app.screen, TemplatePicker))
            picker = app.screen
            assert isinstance(picker, TemplatePicker)
            await pilot.press("down", "down", "down")  # vertical → strangle → straddle → condor
            picker.query_one("#template-value").value = "5"  # type: ignore[attr-defined]
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(staged(messages)) == 2)
            condor = staged(messages)[1].ticket
            got = sorted(
                (parse_occ(leg.symbol).option_type.value, parse_occ(leg.symbol).strike, leg.action)
                for leg in condor.legs
            )
            short_put, short_call = strikes[atm - 1], strikes[atm + 1]
            assert got == sorted(
                [
                    ("P", short_put - 5, OrderAction.BUY_TO_OPEN),
                    ("P", short_put, OrderAction.SELL_TO_OPEN),
                    ("C", short_call, OrderAction.SELL_TO_OPEN),
                    ("C", short_call + 5, OrderAction.BUY_TO_OPEN),
                ]
            )

            # A strangle by delta ~45 days out, scrolled to the top strikes so the 16-delta put
            # is far off screen: its greeks are fetched for the pick, then released.
            while pane.infos[pane.exp_index].dte < 40:
                await pilot.press("right_square_bracket")
            await pilot.press("end")
            await pilot.pause(0.1)
            far = pane.expiration
            assert far is not None
            window = grid.subscribed_symbols
            await pilot.press("t")
            await wait_for(pilot, lambda: isinstance(app.screen, TemplatePicker))
            picker = app.screen
            assert isinstance(picker, TemplatePicker)
            await pilot.press("down")
            picker.query_one("#by-delta").value = True  # type: ignore[attr-defined]
            picker.query_one("#template-value").value = "16"  # type: ignore[attr-defined]
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(staged(messages)) == 3)
            assert app.services is not None
            store = app.services.store
            for leg in staged(messages)[2].ticket.legs:
                option = parse_occ(leg.symbol)
                assert leg.action is OrderAction.SELL_TO_OPEN
                assert option.expiration == far.expiration
                if not option.is_call:
                    assert option.streamer not in window  # it was off screen
                greeks = store.greeks(leg.symbol)
                assert greeks is not None and greeks.delta is not None
                assert abs(abs(greeks.delta) - 0.16) < 0.03
            # After the pick only the grid's window (and the staged legs, which the order
            # builder prices) stay subscribed: the band fetched for the pick is released.
            held = {sym for _, sym in app.services.dxlink.subscriptions()}
            far_symbols = {s.call.streamer for s in far.strikes} | {
                s.put.streamer for s in far.strikes
            }
            picked = {parse_occ(leg.symbol).streamer for leg in staged(messages)[2].ticket.legs}
            assert held & far_symbols <= set(grid.subscribed_symbols) | picked

            # Bad input is explained in the picker, which stays open; nothing is staged.
            await pilot.press("t")
            await wait_for(pilot, lambda: isinstance(app.screen, TemplatePicker))
            picker = app.screen
            assert isinstance(picker, TemplatePicker)
            picker.query_one("#template-value").value = "abc"  # type: ignore[attr-defined]
            await pilot.press("enter")
            await pilot.pause(0.1)
            assert isinstance(app.screen, TemplatePicker)
            assert "not a number" in str(picker.query_one("#template-error").render())
            # A width the chain cannot supply: the domain's reason is shown.
            picker.query_one("#template-value").value = "5000"  # type: ignore[attr-defined]
            await pilot.press("enter")
            await wait_for(pilot, lambda: bool(notes.titled("cannot build")))
            assert len(staged(messages)) == 3
            assert "no strike 5000" in notes.titled("cannot build")[0]
            await pilot.press("escape")


def test_column_names_are_checked() -> None:
    columns, problems = check_columns(["Delta", "bid", "bid", "gamma", "prob_itm"])
    assert columns == ["delta", "bid", "prob_itm"]
    assert len(problems) == 1 and "'gamma'" in problems[0] and "volume" in problems[0]
    columns, problems = check_columns(["nope"])
    assert columns == ["delta", "iv", "bid", "ask"]
    assert "no valid chain column" in problems[-1]


async def test_broker_text_in_the_expiration_bar_is_inert() -> None:
    from tastytui.services.accounts import ExpirationInfo

    class Host(App[None]):
        def get_theme_variable_defaults(self) -> dict[str, str]:
            return dict(DOMAIN_DEFAULTS)

        def compose(self) -> ComposeResult:
            yield ExpirationBar()

    app = Host()
    async with app.run_test(size=(120, 10)) as pilot:
        bar = app.query_one(ExpirationBar)
        hostile = ChainExpiration(
            "SPYW\x1b]52;c;QUFBQQ==\x07", date(2026, 11, 20), "[bold]Odd[/]\x1b[31m", "PM", ()
        )
        bar.symbol = "SPY"
        bar.infos = [ExpirationInfo(hostile, 2, None)]
        await pilot.pause()
        text = bar.render().plain
        assert "[bold]Odd[/]" in text and "SPYW" in text
        assert "\x1b" not in text and "\x07" not in text
