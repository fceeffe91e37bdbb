"""End-to-end flows a trader walks, driven with keys against the simulator (issue 4, Done when).

Each test runs the real console (SDK, DXLink, account stream) against the embedded exchange on
loopback and asserts what the trader would see in the panes and the status bar.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tastytui.domain.clock import ManualClock
from tastytui.domain.orders import OrderAction
from tastytui.domain.symbols import OptionType, parse_occ
from tastytui.domain.ticket import PriceMode
from tastytui.services.health import LinkState
from tastytui.sim.config import FillModel
from tastytui.ui.app import TastyApp
from tastytui.ui.screens.review import ReviewScreen
from tastytui.ui.widgets.builder import BuilderPane
from tastytui.ui.widgets.chain import ChainPane
from tastytui.ui.widgets.orders import COLUMNS as ORDER_COLUMNS
from tastytui.ui.widgets.orders import OrdersPane
from tastytui.ui.widgets.positions import PositionsPane
from tastytui.ui.widgets.quote_board import QuoteBoard
from tastytui.ui.widgets.status_bar import StatusBar
from tests.ui.harness import SimThread, make_app, picture_sim_config, settle, wait_ready
from tests.ui.harness import until as wait_until

SIZE = (200, 50)
PRICE = re.compile(r"\d[\d,]*\.\d\d")


async def until(pilot: Pilot[Any], check: Callable[[], bool], timeout: float = 60.0) -> None:
    await wait_until(pilot, check, timeout)  # a flow waits on several round trips


def order_status(pane: OrdersPane, order_id: int) -> str:
    cells = pane.table.cells(f"o:{order_id}")
    if cells is None:
        return ""
    return cells[[c.key for c in ORDER_COLUMNS].index("status")][0]


def status_lines(app: TastyApp) -> list[str]:
    return app.main_screen.query_one(StatusBar).render().plain.split("\n")


async def review_and_confirm(app: TastyApp, pilot: Pilot[Any]) -> int:
    """From the builder: ctrl+o, wait for the dry-run, ctrl+y; returns the sent order's id."""
    builder = app.query_one(BuilderPane)
    sent_before = set(builder.sent_ids)
    await pilot.press("4", "ctrl+o")
    await until(pilot, lambda: isinstance(app.screen, ReviewScreen) or not builder.reviewing)
    screen = app.screen
    assert isinstance(screen, ReviewScreen), builder.message
    await until(pilot, lambda: screen.status_text != "")
    assert screen.review.sendable, screen.status_text
    await pilot.press("ctrl+y")
    await until(pilot, lambda: builder.sent_ids != sent_before, timeout=60)
    assert not isinstance(app.screen, ReviewScreen)
    (order_id,) = builder.sent_ids - sent_before
    return order_id


async def test_a_vertical_built_from_the_chain_with_keys_works_then_fills(
    tmp_path: Path,
) -> None:
    # Orders rest until the test lets them fill: "working" is seen before "Filled".
    with SimThread(picture_sim_config(fill_model=FillModel.NEVER)) as sim:
        assert sim.server is not None
        control = sim.server.control
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE) as pilot:
            await wait_ready(pilot, timeout=60)
            chain = app.query_one(ChainPane)
            grid = chain.grid
            await until(pilot, lambda: chain.chain is not None and grid.atm_row >= 0)
            assert chain.symbol == "SPY"
            await pilot.press("3")  # focus the chain
            # A weekly about a week out (not the seeded vertical's month).
            while chain.infos[chain.exp_index].dte < 7:
                await pilot.press("right_square_bracket")
            exp = chain.expiration
            assert exp is not None
            await until(pilot, lambda: grid.expiration is exp and grid.atm_row >= 0)
            atm = grid.atm_row
            assert grid.cursor_row == atm and grid.side is OptionType.CALL
            # Puts side, one strike below the money: sell it; one more below: buy it.
            await pilot.press("right", "up", "s", "up", "b")
            builder = app.query_one(BuilderPane)
            await until(pilot, lambda: len(builder.ticket.legs) == 2)
            short, long_ = builder.ticket.legs
            strikes = [row.strike for row in exp.strikes]
            for leg, action, strike in (
                (short, OrderAction.SELL_TO_OPEN, strikes[atm - 1]),
                (long_, OrderAction.BUY_TO_OPEN, strikes[atm - 2]),
            ):
                option = parse_occ(leg.symbol)
                assert leg.action is action and leg.quantity == Decimal(1)
                assert option.option_type is OptionType.PUT
                assert option.expiration == exp.expiration and option.strike == strike
            assert "Short put vertical" in builder.view_text()
            # The mid rounded to the tick may rest on a still tape: take the natural price
            # (p cycles mid → custom → natural) so the order is marketable once fills resume.
            await pilot.press("4", "p", "p")
            assert builder.price_mode is PriceMode.NATURAL

            order_id = await review_and_confirm(app, pilot)
            orders = app.query_one(OrdersPane)
            await until(pilot, lambda: order_status(orders, order_id) == "Live")
            assert not builder.ticket.legs  # the ticket is cleared once at the broker
            sim.run(lambda: control.set_fill_model(FillModel.MID))
            await until(pilot, lambda: order_status(orders, order_id) == "Filled")
            assert f"Order #{order_id} Filled" in builder.message

            # The new position: a vertical of its own in the SPY group, next to the seeded one.
            positions = app.query_one(PositionsPane)
            mine = {short.symbol, long_.symbol}

            def new_vertical() -> str | None:
                for key, row in positions.rows.items():
                    if row.kind == "strategy" and {v.held.symbol for v in row.legs} == mine:
                        return key
                return None

            await until(pilot, lambda: new_vertical() is not None)
            key = new_vertical()
            assert key is not None
            row = positions.rows[key]
            assert row.underlying == "SPY" and row.label.startswith("Short put vertical")
            quantities = {v.held.symbol: v.held.quantity for v in row.legs}
            assert quantities == {short.symbol: -1, long_.symbol: 1}
            assert key in positions.table.keys
            await settle(pilot)


async def test_closing_a_position_from_the_positions_pane_removes_it_after_the_fill(
    tmp_path: Path,
) -> None:
    with SimThread(picture_sim_config()) as sim:  # the default model fills marketable orders
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE) as pilot:
            await wait_ready(pilot, timeout=60)
            assert app.services is not None
            accounts = app.services.accounts
            positions = app.query_one(PositionsPane)
            await until(pilot, lambda: "u:IWM" in positions.table.keys)
            # The seeded naked IWM put: walk the cursor to it with the keys.
            target = next(
                key
                for key, row in positions.rows.items()
                if row.kind == "strategy" and row.underlying == "IWM"
            )
            (held,) = positions.rows[target].legs
            assert held.held.quantity == -1
            await pilot.press("2")
            for _ in range(len(positions.table.keys)):
                if positions.table.selected_key() == target:
                    break
                await pilot.press("down")
            assert positions.table.selected_key() == target

            await pilot.press("x")
            builder = app.query_one(BuilderPane)
            await until(pilot, lambda: len(builder.ticket.legs) == 1)
            (leg,) = builder.ticket.legs
            assert leg.symbol == held.held.symbol and leg.quantity == 1
            assert leg.action is OrderAction.BUY_TO_CLOSE
            assert builder.view_text().startswith("Closing IWM")
            # Staged at the mid; the natural price (p from custom) makes it marketable.
            await pilot.press("4", "p")
            assert builder.price_mode is PriceMode.NATURAL

            order_id = await review_and_confirm(app, pilot)
            orders = app.query_one(OrdersPane)
            await until(pilot, lambda: order_status(orders, order_id) == "Filled")
            # Gone from the book and from the pane (the whole IWM group with it).
            await until(pilot, lambda: "u:IWM" not in positions.table.keys)
            assert all(row.underlying != "IWM" for row in positions.rows.values())
            assert all(p.symbol != held.held.symbol for p in accounts.held())
            assert "u:SPY" in positions.table.keys  # the rest of the book stays
            await settle(pilot)


def board_row(app: TastyApp, symbol: str) -> tuple[str, bool]:
    """The board row as drawn (text) and whether it is dimmed."""
    lines = app.query_one(QuoteBoard).lines
    row = lines.row_of(symbol)
    assert row is not None, f"{symbol} is not on the board"
    strip = lines.render_line(row + 1 - int(lines.scroll_offset.y))
    dim = any(seg.style is not None and seg.style.dim for seg in strip if seg.text.strip())
    return strip.text, dim


async def test_a_dxlink_drop_shows_stale_data_then_recovers(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        assert sim.server is not None
        control = sim.server.control
        clock = sim.config.clock
        assert isinstance(clock, ManualClock)
        app = make_app(sim.base_url, tmp_path, clock=clock)
        async with app.run_test(size=SIZE) as pilot:
            await wait_ready(pilot, timeout=60)
            services = app.services
            assert services is not None
            health = services.health
            seen: list[LinkState] = []
            health.subscribe(lambda h: seen.append(h.dxlink))
            text, dim = board_row(app, "SPY")
            price = PRICE.search(text)
            assert price is not None and "age" not in text and not dim
            assert "DXLink ●" in status_lines(app)[1] and "Stale 0" in status_lines(app)[1]
            reconnects = services.dxlink.reconnects

            # The connection drops, and tastytrade refuses new quote tokens for a while: the
            # client cannot come back until the test lets it (no race with its backoff).
            sim.run(lambda: control.http_fault(403, fraction=1.0, path_prefix="/api-quote-tokens"))
            assert sim.call(control.drop_streams(dxlink=True, account=False)) >= 1
            await until(pilot, lambda: health.snapshot.dxlink is not LinkState.UP)
            await until(pilot, lambda: "DXLink ●" not in status_lines(app)[1])
            assert "Account ●" in status_lines(app)[1]  # only market data dropped

            # Nothing arrives while it is down: past stale_after (15 s) every quote is stale.
            clock.advance(20)
            await until(pilot, lambda: health.snapshot.stale_symbols > 0)
            await until(pilot, lambda: "Stale 0" not in status_lines(app)[1])
            stale = status_lines(app)[1].split("Stale ", 1)[1].split()[0]
            assert int(stale) > 0
            await until(pilot, lambda: "age 20s" in board_row(app, "SPY")[0])
            text, dim = board_row(app, "SPY")
            assert dim and price.group() in text  # dimmed with its age, never blanked

            # Tokens flow again: it reconnects, resubscribes and the snapshot is fresh.
            sim.run(control.clear_http_faults)
            await until(pilot, lambda: "DXLink ●" in status_lines(app)[1])
            assert services.dxlink.reconnects == reconnects + 1
            assert LinkState.UP in seen and seen[-1] is LinkState.UP
            await until(pilot, lambda: health.snapshot.stale_symbols == 0)
            await until(pilot, lambda: "Stale 0" in status_lines(app)[1])
            await until(pilot, lambda: not board_row(app, "SPY")[1])
            assert "age" not in board_row(app, "SPY")[0]
            # Live quotes, not only the snapshot: the tape moves and the row follows.
            before = board_row(app, "SPY")[0]
            sim.run(lambda: control.step(20))
            await until(pilot, lambda: board_row(app, "SPY")[0] != before)
            assert not board_row(app, "SPY")[1]
            await settle(pilot)
