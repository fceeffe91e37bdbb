"""The order builder against the simulator: legs, merging, price modes, keys, staging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tastytui.domain import strategies
from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType, TimeInForce
from tastytui.domain.ticket import PriceMode, Ticket
from tastytui.ui.app import TastyApp
from tastytui.ui.messages import AddLeg, StageTicket
from tastytui.ui.screens.review import ReviewScreen
from tastytui.ui.widgets.builder import BuilderPane, TicketView, contract_label, parse_price
from tests.ui.harness import SimThread, make_app, picture_sim_config, until, wait_ready

D1 = Decimal(1)
HOSTILE = "[bold]x[/] \x1b]52;c;aGk=\x07done"


@asynccontextmanager
async def console(
    tmp_path: Path, config_text: str = ""
) -> AsyncIterator[tuple[SimThread, TastyApp, Pilot[Any]]]:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock, config_text=config_text)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            yield sim, app, pilot


async def spy_vertical(app: TastyApp) -> tuple[Leg, ...]:
    """A real 1-wide SPY put credit spread from the simulator's chain, about 30 days out."""
    services = app.services
    assert services is not None
    chain = await services.accounts.chain("SPY")
    expiration = chain.nearest_dte(services.accounts.today(), 30)
    assert expiration is not None
    quote = (await services.accounts.leg_quotes(["SPY"]))["SPY"]
    spot = (quote.bid + quote.ask) / 2
    return strategies.build_template(strategies.StrategyKind.VERTICAL, chain, expiration, spot)


def mode(pane: BuilderPane) -> PriceMode:
    """Read through a call so the type checker does not narrow it between key presses."""
    return pane.price_mode


def tif(pane: BuilderPane) -> TimeInForce:
    return pane.ticket.time_in_force


def builder(app: TastyApp) -> BuilderPane:
    return app.query_one(BuilderPane)


async def test_empty_builder_explains_how_to_add_legs_and_review_refuses(tmp_path: Path) -> None:
    app = make_app("http://127.0.0.1:9", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        pane = builder(app)
        await pilot.pause(0.1)
        text = pane.view_text()
        assert "No legs yet" in text and "b (buy) or s (sell)" in text and "t in the chain" in text
        assert "close/roll a position" in text
        pane.view.focus()
        await pilot.press("ctrl+o")
        assert not isinstance(app.screen, ReviewScreen)
        assert "Not connected yet" in pane.message
        # A note from the broker or the model is shown literally, never as markup or escapes.
        pane.load_ticket(Ticket(legs=()), note=HOSTILE)
        await pilot.pause(0.05)
        assert "[bold]x[/]" in pane.view_text() and "\x1b" not in pane.view_text()


async def test_legs_merge_show_readable_symbols_and_live_prices(tmp_path: Path) -> None:
    async with console(tmp_path) as (_, app, pilot):
        pane = builder(app)
        long_leg, short_leg = await spy_vertical(app)
        app.post_message(AddLeg(long_leg))
        app.post_message(AddLeg(short_leg))
        await until(pilot, lambda: len(pane.ticket.legs) == 2)
        # Live mid per leg and for the ticket, pulled at the flush rate.
        await until(pilot, lambda: pane.live_prices()[1] is not None)
        text = pane.view_text()
        label = contract_label(short_leg.symbol)
        assert label.startswith("SPY ") and label.endswith(" P") and " Dec 26 " in label
        assert label in text and "Short put vertical" in text
        assert "nat " in text and " cr" in text and "Limit mid" in text
        natural, mid = pane.live_prices()
        assert natural is not None and mid is not None and mid >= natural > 0

        # Same contract, same side: one more contract in that leg.
        pane.add_leg(short_leg)
        await pilot.pause(0.05)
        assert len(pane.ticket.legs) == 2
        assert pane.ticket.legs[1].quantity == 2 and "quantity now 2" in pane.message
        # Same contract, other side: refused with a way out.
        pane.add_leg(replace(short_leg, action=OrderAction.BUY_TO_OPEN))
        await pilot.pause(0.05)
        assert len(pane.ticket.legs) == 2 and pane.ticket.legs[1].quantity == 2
        assert "already selling" in pane.message and "flip it with f" in pane.message
        # Another underlying: refused.
        pane.add_leg(Leg(InstrumentType.EQUITY, "QQQ", OrderAction.BUY_TO_OPEN, Decimal(1)))
        await pilot.pause(0.05)
        assert len(pane.ticket.legs) == 2 and "another underlying" in pane.message
        # A buy of a contract the account holds short closes it.
        held_short = "SPY   261218P00648000"
        services = app.services
        assert services is not None
        assert any(p.symbol == held_short and p.quantity < 0 for p in services.accounts.held())
        pane.add_leg(Leg(InstrumentType.EQUITY_OPTION, held_short, OrderAction.BUY_TO_OPEN, D1))
        await pilot.pause(0.05)
        assert pane.ticket.legs[-1].action is OrderAction.BUY_TO_CLOSE
        assert "BTC  1 SPY 18 Dec 26 648 P" in pane.view_text()


async def test_builder_keys_price_mode_nudge_quantity_tif_flip_remove_clear(
    tmp_path: Path,
) -> None:
    async with console(tmp_path) as (_, app, pilot):
        pane = builder(app)
        for leg in await spy_vertical(app):
            app.post_message(AddLeg(leg))
        await until(pilot, lambda: len(pane.ticket.legs) == 2)
        await until(pilot, lambda: pane.limit_price() is not None and pane.schedule is not None)
        await pilot.press("4")
        assert isinstance(app.focused, TicketView)

        assert mode(pane) is PriceMode.MID
        mid = pane.limit_price()
        # p cycles mid → custom (starting at the mid) → natural → mid.
        await pilot.press("p")
        assert mode(pane) is PriceMode.CUSTOM and pane.ticket.price == mid
        await pilot.press("p")
        assert mode(pane) is PriceMode.NATURAL and pane.ticket.price is None
        natural = pane.limit_price()
        assert natural is not None and natural > 0  # a credit spread
        # One tick of SPY's schedule (pennies) more credit, and the mode is now custom.
        await pilot.press("plus")
        assert mode(pane) is PriceMode.CUSTOM
        assert pane.ticket.price == natural + Decimal("0.01")
        await pilot.press("minus", "minus")
        assert pane.ticket.price == natural - Decimal("0.01")
        assert "Limit custom" in pane.view_text()
        await pilot.press("p")
        assert mode(pane) is PriceMode.NATURAL and pane.ticket.price is None
        await pilot.press("p")
        assert mode(pane) is PriceMode.MID

        await pilot.press("less_than_sign")
        assert pane.ticket.quantity == 1 and "already 1" in pane.message
        await pilot.press("greater_than_sign", "greater_than_sign")
        assert pane.ticket.quantity == 3 and all(leg.quantity == 3 for leg in pane.ticket.legs)
        await pilot.press("less_than_sign")
        assert pane.ticket.quantity == 2

        await pilot.press("i")
        assert tif(pane) is TimeInForce.GTC
        await pilot.press("i")
        assert tif(pane) is TimeInForce.GTD and pane.ticket.gtd_date is None
        assert "needs a date" in pane.message
        await pilot.press(*"nope", "enter")
        assert "is not a date" in pane.message and pane.ticket.gtd_date is None
        prompt = app.focused
        assert prompt is not None and prompt.id == "builder-prompt"
        await pilot.press(*["backspace"] * 4, *"2026-12-18", "enter")
        assert str(pane.ticket.gtd_date) == "2026-12-18"
        assert "18 Dec 26" in pane.view_text()
        await pilot.press("i")
        assert tif(pane) is TimeInForce.IOC and pane.ticket.gtd_date is None
        # Escape gives up a typed entry and nothing changes.
        await pilot.press("e", "1", "escape")
        assert "Entry cancelled" in pane.message and isinstance(app.focused, TicketView)
        assert pane.ticket.price is None

        await pilot.press("m")
        assert pane.ticket.order_type is OrderType.MARKET and "Market" in pane.view_text()
        await pilot.press("m")
        assert "Limit mid" in pane.view_text()  # back to a limit order at the mid

        await pilot.press("up")
        assert pane.cursor == 0
        before = pane.ticket.legs[0].action
        await pilot.press("f")
        assert pane.ticket.legs[0].action.is_buy != before.is_buy
        await pilot.press("down", "delete")
        assert len(pane.ticket.legs) == 1
        await pilot.press("ctrl+l")
        assert "No legs yet" in pane.view_text()
        assert not pane.ticket.legs


async def test_stage_ticket_loads_with_note_and_can_open_review(tmp_path: Path) -> None:
    async with console(tmp_path) as (_, app, pilot):
        pane = builder(app)
        legs = await spy_vertical(app)
        app.post_message(StageTicket(Ticket(legs), note="Staged by the assistant"))
        await until(pilot, lambda: len(pane.ticket.legs) == 2)
        assert pane.view_text().startswith("Staged by the assistant")
        assert not isinstance(app.screen, ReviewScreen)
        app.post_message(StageTicket(Ticket(legs[:1]), note="Staged again", review=True))
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen), timeout=60)
        assert len(pane.ticket.legs) == 1 and "Staged again" in pane.view_text()


def test_typed_prices_follow_the_ticket_or_say_credit_or_debit() -> None:
    assert parse_price("1.25", 1) == Decimal("1.25")
    assert parse_price("1.25", -1) == Decimal("-1.25")
    assert parse_price("1.25 db", 1) == Decimal("-1.25")
    assert parse_price("-0.5", 0) == Decimal("-0.5")
    assert parse_price(" 2 cr ", 0) == Decimal("2")
    for bad in ("abc", "1.2.3", ""):
        try:
            parse_price(bad, 1)
        except ValueError as exc:
            assert "is not a price" in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")
    try:
        parse_price("1.25", 0)
    except ValueError as exc:
        assert "credit or a debit" in str(exc)
    else:
        raise AssertionError("an ambiguous price was accepted")
