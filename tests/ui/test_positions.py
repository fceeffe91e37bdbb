"""The positions pane against the simulator's seeded book (tastytui/sim/seed_book.py).

The margin account starts with AAPL stock + a short call (covered call), a 2× SPY short put
vertical, a QQQ iron condor, 2 NVDA long calls and an IWM short put.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.message import Message
from textual.pilot import Pilot

from tastytui.domain.orders import InstrumentType, OrderAction
from tastytui.domain.symbols import parse_occ
from tastytui.domain.ticks import PENNY_PILOT
from tastytui.services.fills import is_terminal_status
from tastytui.sim.config import SIM_MARGIN_ACCOUNT
from tastytui.ui.app import TastyApp
from tastytui.ui.messages import StageTicket
from tastytui.ui.widgets.positions import TOTAL_KEY, PositionsPane
from tests.ui.harness import SimThread, make_app, picture_sim_config, until, wait_ready

SIZE = (200, 50)


def pane_of(app: TastyApp) -> PositionsPane:
    return app.query_one(PositionsPane)


def texts(pane: PositionsPane, key: str) -> list[str]:
    cells = pane.table.cells(key)
    assert cells is not None, key
    return [text for text, _ in cells]


def column(pane: PositionsPane, key: str, name: str) -> tuple[str, str]:
    from tastytui.ui.widgets.positions import COLUMNS

    cells = pane.table.cells(key)
    assert cells is not None, key
    return cells[[c.key for c in COLUMNS].index(name)]


def strategy_row(pane: PositionsPane, underlying: str, label_part: str) -> str:
    for key, row in pane.rows.items():
        if row.kind == "strategy" and row.underlying == underlying and label_part in row.label:
            return key
    raise AssertionError(f"no {underlying} {label_part} row in {list(pane.rows)}")


def record_notes(app: TastyApp) -> list[str]:
    """Every notification text (App.notify wrapped; Widget.notify goes through it)."""
    notes: list[str] = []
    original = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        notes.append(message)
        original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return notes


def staged(messages: list[Message]) -> list[StageTicket]:
    # The hook sees a bubbling message at every node: keep each message once.
    out: list[StageTicket] = []
    for message in messages:
        if isinstance(message, StageTicket) and all(message is not m for m in out):
            out.append(message)
    return out


async def ready_app(pilot: Pilot[Any]) -> PositionsPane:
    await wait_ready(pilot, timeout=60)
    pane = pane_of(pilot.app)  # type: ignore[arg-type]
    await until(pilot, lambda: any(k.startswith("s:SPY:") for k in pane.table.keys))
    return pane


async def test_positions_grouped_by_strategy_with_greeks_and_totals(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE) as pilot:
            pane = await ready_app(pilot)
            labels = [row.label for row in pane.rows.values() if row.kind == "strategy"]
            for kind in ("Covered call", "Short put vertical", "Iron condor", "Long call"):
                assert any(label.startswith(kind) for label in labels), labels
            assert [k for k in pane.table.keys if k.startswith("u:")] == [
                "u:AAPL",
                "u:IWM",
                "u:NVDA",
                "u:QQQ",
                "u:SPY",
            ]
            vertical = strategy_row(pane, "SPY", "Short put vertical")
            assert column(pane, vertical, "qty")[0] == "2×"
            # Live greeks arrived: the strategy's delta and theta are numbers, not dashes.
            for name in ("delta", "gamma", "theta", "vega", "bwd", "mark"):
                text, style = column(pane, vertical, name)
                assert text not in ("", "—") and style != "stale", (name, text)
            assert column(pane, vertical, "dte")[0].isdigit()
            # Totals: beta-weighted delta in SPY shares, and P&L coloured by sign.
            assert pane.table.keys[-1] == TOTAL_KEY
            assert texts(pane, TOTAL_KEY)[0] == "Total (βΔ SPY)"
            bwd = column(pane, TOTAL_KEY, "bwd")[0]
            assert bwd not in ("", "—")
            total = app.services.accounts.portfolio().totals  # type: ignore[union-attr]
            assert float(bwd.replace(",", "")) == round(total.beta_delta, 1)
            text, style = column(pane, TOTAL_KEY, "open")
            assert style == ("up" if float(text.replace(",", "")) > 0 else "down")
            # What the user sees: the rendered table shows the groups.
            await pilot.press("2")
            await pilot.pause(0.1)
            screen = "\n".join(
                pane.table.render_line(y).text for y in range(pane.table.size.height)
            )
            assert "Iron condor" in screen and "SPY" in screen and "Total" in screen
            # Subscribed Quote + Greeks for held options, Quote for underlyings (released later).
            subs = app.services.dxlink.subscriptions()  # type: ignore[union-attr]
            legs = [v for v in app.services.accounts.portfolio().positions if v.held.option]  # type: ignore[union-attr]
            for view in legs:
                assert ("Greeks", view.held.streamer_symbol) in subs
            assert ("Quote", "SPY") in subs


async def test_space_expands_a_strategy_to_its_legs_and_collapses_it(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE) as pilot:
            pane = await ready_app(pilot)
            await pilot.press("2")
            vertical = strategy_row(pane, "SPY", "Short put vertical")
            before = len(pane.table.keys)
            assert pane.table.select_key(vertical)
            await pilot.press("space")
            await until(pilot, lambda: len(pane.table.keys) == before + 2)
            legs = [k for k in pane.table.keys if k.startswith(vertical + "/")]
            assert len(legs) == 2
            quantities = sorted(column(pane, k, "qty")[0] for k in legs)
            assert quantities == ["-2", "2"]
            assert all("put" in texts(pane, k)[0] for k in legs)
            assert texts(pane, vertical)[0].lstrip("\u00a0").startswith("▾")
            # Space on a leg folds its strategy again.
            assert pane.table.select_key(legs[0])
            await pilot.press("space")
            await until(pilot, lambda: len(pane.table.keys) == before)
            assert pane.table.selected_key() == vertical


async def test_x_stages_a_closing_ticket_for_the_strategy(tmp_path: Path) -> None:
    messages: list[Message] = []
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
            pane = await ready_app(pilot)
            await pilot.press("2")
            vertical = strategy_row(pane, "SPY", "Short put vertical")
            held = {v.held.symbol: v.held.quantity for v in pane.rows[vertical].legs}
            pane.table.select_key(vertical)
            await pilot.press("x")
            await until(pilot, lambda: bool(staged(messages)))
            message = staged(messages)[0]
            ticket = message.ticket
            assert message.note.startswith("Closing SPY Short put vertical")
            assert {leg.symbol for leg in ticket.legs} == set(held)
            for leg in ticket.legs:
                assert leg.instrument_type is InstrumentType.EQUITY_OPTION
                assert leg.quantity == abs(held[leg.symbol]) == 2
                expected = (
                    OrderAction.BUY_TO_CLOSE if held[leg.symbol] < 0 else OrderAction.SELL_TO_CLOSE
                )
                assert leg.action is expected
            # Buying back a credit spread is a debit, priced at the mid on the tick grid.
            assert ticket.price is not None and ticket.price < 0
            assert PENNY_PILOT.is_on_grid(ticket.price)
            # Nothing was sent: the account has no working order.
            working = [
                o
                for o in app.services.accounts.live_orders()  # type: ignore[union-attr]
                if not is_terminal_status(o.status.value)
            ]
            assert working == []


async def test_x_on_a_stock_leg_closes_only_that_leg(tmp_path: Path) -> None:
    messages: list[Message] = []
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
            pane = await ready_app(pilot)
            await pilot.press("2")
            covered = strategy_row(pane, "AAPL", "Covered call")
            pane.table.select_key(covered)
            await pilot.press("space")
            stock = f"{covered}/AAPL"
            await until(pilot, lambda: stock in pane.table.keys)
            pane.table.select_key(stock)
            await pilot.press("x")
            await until(pilot, lambda: bool(staged(messages)))
            (leg,) = staged(messages)[0].ticket.legs
            assert leg.symbol == "AAPL" and leg.instrument_type is InstrumentType.EQUITY
            assert leg.action is OrderAction.SELL_TO_CLOSE and leg.quantity == 100


async def test_r_rolls_to_the_next_expiration_or_says_why_not(tmp_path: Path) -> None:
    messages: list[Message] = []
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
            notes = record_notes(app)
            pane = await ready_app(pilot)
            await pilot.press("2")
            vertical = strategy_row(pane, "SPY", "Short put vertical")
            old = {parse_occ(v.held.symbol): v.held.quantity for v in pane.rows[vertical].legs}
            pane.table.select_key(vertical)
            await pilot.press("r")
            await until(pilot, lambda: bool(staged(messages)))
            message = staged(messages)[0]
            assert message.note.startswith("Rolling SPY Short put vertical")
            legs = message.ticket.legs
            assert len(legs) == 4
            closing = [leg for leg in legs if not leg.action.is_opening]
            opening = [leg for leg in legs if leg.action.is_opening]
            assert {parse_occ(leg.symbol) for leg in closing} == set(old)
            new = [parse_occ(leg.symbol) for leg in opening]
            old_exp = next(iter(old)).expiration
            chain = await app.services.accounts.chain("SPY")  # type: ignore[union-attr]
            following = min(
                e.expiration
                for e in chain.expirations
                if e.root == "SPY" and e.expiration > old_exp
            )
            assert {o.expiration for o in new} == {following}
            # Same structure: one short and one long put, same width and size.
            shorts = [parse_occ(leg.symbol) for leg in opening if not leg.action.is_buy]
            longs = [parse_occ(leg.symbol) for leg in opening if leg.action.is_buy]
            assert len(shorts) == len(longs) == 1
            assert all(leg.quantity == 2 for leg in opening)
            assert {o.option_type for o in new} == {o.option_type for o in old}
            old_short = next(o.strike for o, q in old.items() if q < 0)
            old_long = next(o.strike for o, q in old.items() if q > 0)
            assert shorts[0].strike - longs[0].strike == old_short - old_long

            # An iron condor would need 8 legs: a clear message, nothing staged.
            condor = strategy_row(pane, "QQQ", "Iron condor")
            pane.table.select_key(condor)
            await pilot.press("r")
            await until(pilot, lambda: any("Cannot roll QQQ Iron condor" in n for n in notes))
            assert any("more than the 4" in n for n in notes)
            # Stock has nothing to roll.
            pane.table.select_key(covered := strategy_row(pane, "AAPL", "Covered call"))
            await pilot.press("space")
            stock = f"{covered}/AAPL"
            await until(pilot, lambda: stock in pane.table.keys)
            pane.table.select_key(stock)
            await pilot.press("r")
            await until(pilot, lambda: any("nothing to roll" in n for n in notes))
            assert len(staged(messages)) == 1


async def test_stale_marks_are_dimmed_with_their_age(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE) as pilot:
            pane = await ready_app(pilot)
            vertical = strategy_row(pane, "SPY", "Short put vertical")
            assert column(pane, vertical, "mark")[1] != "stale"
            before = column(pane, vertical, "mark")[0]
            rebuilds, updates = pane.table.rebuilds, pane.table.cell_updates
            # The tape is frozen: nothing new arrives while the clock moves past stale_after.
            sim.config.clock.advance(18)  # type: ignore[attr-defined]
            await until(pilot, lambda: column(pane, vertical, "mark")[1] == "stale")
            text = column(pane, vertical, "mark")[0]
            assert text.startswith(before) and text.endswith("18s"), text
            # Diffed by key: same rows, so no rebuild — only the changed cells were updated
            # (marks turned stale), never the whole table.
            assert pane.table.rebuilds == rebuilds
            changed = pane.table.cell_updates - updates
            assert 0 < changed < len(pane.table.keys) * 4


async def test_empty_book_shows_a_helpful_message(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE) as pilot:
            pane = await ready_app(pilot)
            services = app.services
            assert services is not None
            symbols = [p.symbol for p in services.accounts.held()]
            control = sim.server.control  # type: ignore[union-attr]
            for symbol in symbols:
                sim.run(lambda s=symbol: control.close_position_silently(SIM_MARGIN_ACCOUNT, s))
            await services.reconciler.reconcile("test")
            await until(pilot, lambda: not pane.table.display)
            empty = pane.query_one("#positions-empty")
            assert "No positions —" in str(empty.render())
            assert not pane.rows
            assert Decimal(0) == sum((p.quantity for p in services.accounts.held()), Decimal(0))


def test_roll_moves_unlisted_strikes_to_the_nearest_and_refuses_collisions() -> None:
    from datetime import date

    from tastytui.domain.chain import ChainExpiration, ChainStrike, OptionChain
    from tastytui.domain.closing import RollError, closing_legs, roll_legs
    from tastytui.domain.symbols import OptionSymbol, OptionType

    def strike_row(when: date, k: str) -> ChainStrike:
        strike = Decimal(k)
        return ChainStrike(
            strike,
            OptionSymbol("XYZ", when, OptionType.CALL, strike),
            OptionSymbol("XYZ", when, OptionType.PUT, strike),
        )

    near, far = date(2026, 12, 18), date(2027, 1, 15)
    chain = OptionChain(
        "XYZ",
        (
            ChainExpiration(
                "XYZ",
                near,
                "Regular",
                "PM",
                tuple(strike_row(near, k) for k in ("95", "97.5", "100")),
            ),
            ChainExpiration(
                "XYZ",
                far,
                "Regular",
                "PM",
                tuple(strike_row(far, k) for k in ("90", "95", "96", "100")),
            ),
        ),
    )
    short = OptionSymbol("XYZ", near, OptionType.PUT, Decimal("97.5"))
    long_ = OptionSymbol("XYZ", near, OptionType.PUT, Decimal("95"))
    plan = roll_legs([(short.occ, short, Decimal(-1)), (long_.occ, long_, Decimal(1))], chain)
    assert plan.to_expiration == far
    assert plan.moved == ((Decimal("97.5"), Decimal("96")),)
    assert "Dec 18 → Jan 15" in plan.describe_move() and "97.5→" in plan.describe_move()
    opening = [leg for leg in plan.legs if leg.action.is_opening]
    assert len({leg.symbol for leg in opening}) == 2
    # Two strikes that both land on one listed strike would change the structure: refused.
    tight = OptionSymbol("XYZ", near, OptionType.PUT, Decimal("97.5"))
    wide = OptionSymbol("XYZ", near, OptionType.PUT, Decimal("100"))
    sparse = OptionChain(
        "XYZ",
        (
            chain.expirations[0],
            ChainExpiration("XYZ", far, "Regular", "PM", (strike_row(far, "100"),)),
        ),
    )
    try:
        roll_legs([(tight.occ, tight, Decimal(-1)), (wide.occ, wide, Decimal(1))], sparse)
    except RollError as exc:
        assert "pick the new strikes in the chain" in str(exc)
    else:
        raise AssertionError("a collapsed structure was accepted")
    # Nothing after the last expiration.
    last = OptionSymbol("XYZ", far, OptionType.PUT, Decimal("95"))
    try:
        roll_legs([(last.occ, last, Decimal(-1))], chain)
    except RollError as exc:
        assert "nothing to roll to" in str(exc)
    else:
        raise AssertionError("rolled past the last expiration")
    legs = closing_legs([("XYZ", None, Decimal(100)), ("XYZ", None, Decimal(-40))])
    assert [(leg.symbol, leg.quantity) for leg in legs] == [("XYZ", Decimal(60))]
