"""The live orders pane against the simulator: working orders, cancel, replace, re-mid, rejects.

The simulator's fill model is ``never`` so placed orders stay working; orders are placed through
the real order service (review + send), as the order builder does.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static

from tastytui.domain.orders import InstrumentType, Leg, OrderAction
from tastytui.domain.ticket import PriceMode, Ticket
from tastytui.domain.ticks import PENNY_PILOT
from tastytui.services.orders import SentOrder
from tastytui.sim.config import SIM_MARGIN_ACCOUNT, FillModel
from tastytui.ui.app import TastyApp
from tastytui.ui.screens.order_confirm import ConfirmCancel, ConfirmReplace
from tastytui.ui.screens.replace_order import NewPriceScreen, PriceError, parse_new_price
from tastytui.ui.widgets.orders import COLUMNS, OrdersPane, _cache_behind
from tests.ui.harness import SimThread, make_app, picture_sim_config, until, wait_ready

SIZE = (200, 50)
HOSTILE = "[bold]margin[/] call \x1b]52;c;SGVsbG8=\x07 exceeded \x1b[31mred"


def cell(pane: OrdersPane, order_id: int, name: str) -> tuple[str, str]:
    cells = pane.table.cells(f"o:{order_id}")
    if cells is None:
        return "", ""
    return cells[[c.key for c in COLUMNS].index(name)]


def status(pane: OrdersPane, order_id: int) -> str:
    return cell(pane, order_id, "status")[0]


def record_notes(app: TastyApp) -> list[str]:
    notes: list[str] = []
    original = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        notes.append(message)
        original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return notes


async def place(app: TastyApp, price: str = "-0.50") -> SentOrder:
    """Buy one SPY call about a month out, well below its mid (it rests)."""
    services = app.services
    assert services is not None
    chain = await services.accounts.chain("SPY")
    today = services.accounts.today()
    expiration = chain.nearest_dte(today, 30)
    assert expiration is not None
    spot = services.accounts.mark("SPY").price or 680.0
    row = expiration.strikes[expiration.nearest_index(spot * 1.03)]
    ticket = Ticket(
        legs=(
            Leg(InstrumentType.EQUITY_OPTION, row.call.occ, OrderAction.BUY_TO_OPEN, Decimal(1)),
        ),
        price=Decimal(price),
    )
    review = await services.orders.review(ticket, SIM_MARGIN_ACCOUNT, price_mode=PriceMode.CUSTOM)
    assert review.sendable, review.problems
    return await services.orders.send(review)


def screen_text(pane: OrdersPane) -> str:
    return "\n".join(pane.table.render_line(y).text for y in range(pane.table.size.height))


async def start(pilot: Pilot[Any]) -> OrdersPane:
    await wait_ready(pilot, timeout=60)
    pane = pilot.app.query_one(OrdersPane)
    return pane


def test_new_price_validation_messages() -> None:
    debit = Decimal("-0.50")
    assert parse_new_price("0.55", debit, PENNY_PILOT, multi_leg=False) == Decimal("-0.55")
    assert parse_new_price("$1.25", Decimal("2.00"), PENNY_PILOT, multi_leg=True) == Decimal("1.25")
    cases = {
        "": "enter a price",
        "abc": "is not a number",
        "-0.55": "without a sign",
        "0.503": "not on the 0.01 tick grid: use 0.50 or 0.51",
        "3.07": "not on the 0.05 tick grid: use 3.05 or 3.10",
        "0.50": "is the current price",
        "0": "cannot be priced at 0",
    }
    for text, message in cases.items():
        try:
            parse_new_price(text, debit, PENNY_PILOT, multi_leg=False)
        except PriceError as exc:
            assert message in str(exc), (text, str(exc))
        else:
            raise AssertionError(f"{text!r} was accepted")


async def test_working_order_shows_and_cancel_needs_a_yes(tmp_path: Path) -> None:
    with SimThread(picture_sim_config(fill_model=FillModel.NEVER)) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE) as pilot:
            pane = await start(pilot)
            assert "No orders today —" in str(pane.query_one("#orders-empty", Static).render())
            sent = await place(app)
            await until(pilot, lambda: status(pane, sent.order_id) == "Live")
            assert cell(pane, sent.order_id, "filled")[0] == "0/1"
            assert cell(pane, sent.order_id, "price")[0] == "0.50 debit"
            assert "SPY" in cell(pane, sent.order_id, "order")[0]
            assert f"#{sent.order_id}" in screen_text(pane)

            await pilot.press("5")
            assert pane.select_order(sent.order_id)
            # "n" keeps the order working.
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, ConfirmCancel))
            await pilot.press("n")
            await until(pilot, lambda: not isinstance(app.screen, ConfirmCancel))
            await pilot.pause(0.5)
            assert status(pane, sent.order_id) == "Live"
            # "y" cancels it.
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, ConfirmCancel))
            await pilot.press("y")
            await until(pilot, lambda: status(pane, sent.order_id) == "Cancelled")
            assert cell(pane, sent.order_id, "status")[1] == "muted"


async def test_replace_at_a_new_price_validates_then_reviews_then_sends(tmp_path: Path) -> None:
    with SimThread(picture_sim_config(fill_model=FillModel.NEVER)) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE) as pilot:
            pane = await start(pilot)
            sent = await place(app)
            await until(pilot, lambda: status(pane, sent.order_id) == "Live")
            await pilot.press("5")
            pane.select_order(sent.order_id)
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, NewPriceScreen))
            dialog = app.screen
            field = dialog.query_one(Input)
            assert field.value == "0.50"
            # Off the tick grid: a clear message, the dialog stays.
            field.value = ""
            await pilot.press(*"0.503", "enter")
            error = dialog.query_one("#price-error", Static)
            await until(pilot, lambda: "tick grid" in str(error.render()))
            assert "use 0.50 or 0.51" in str(error.render())
            assert app.screen is dialog
            field.value = ""
            await pilot.press(*"0.55", "enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmReplace))
            review_screen = app.screen
            assert isinstance(review_screen, ConfirmReplace) and review_screen.sendable
            shown = " ".join(review_screen.lines)
            assert f"Replace #{sent.order_id}" in shown and "0.55 debit" in shown
            # The plain confirm key of the yes/no prompt does not send a replacement.
            await pilot.press("y")
            await pilot.pause(0.2)
            assert app.screen is review_screen
            await pilot.press("ctrl+y")
            await until(pilot, lambda: status(pane, sent.order_id) == "Cancelled")
            old_reason = cell(pane, sent.order_id, "reason")[0]
            assert old_reason.startswith("replaced by #")
            new_id = int(old_reason.removeprefix("replaced by #"))
            await until(pilot, lambda: status(pane, new_id) == "Live")
            assert cell(pane, new_id, "price")[0] == "0.55 debit"
            # The cursor follows the replacement once the send completes.
            await until(pilot, lambda: pane.table.selected_key() == f"o:{new_id}")


async def test_reprice_at_mid_goes_through_a_review(tmp_path: Path) -> None:
    with SimThread(picture_sim_config(fill_model=FillModel.NEVER)) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE) as pilot:
            pane = await start(pilot)
            sent = await place(app)
            await until(pilot, lambda: status(pane, sent.order_id) == "Live")
            await pilot.press("5")
            pane.select_order(sent.order_id)
            await pilot.press("m")
            await until(pilot, lambda: isinstance(app.screen, ConfirmReplace))
            review_screen = app.screen
            assert isinstance(review_screen, ConfirmReplace)
            terms = next(line for line in review_screen.lines if "(mid)" in line)
            price = terms.split()[1]  # "Limit 1.23 debit (mid) · Day · natural … · mid …"
            await pilot.press("ctrl+y")
            await until(pilot, lambda: status(pane, sent.order_id) == "Cancelled")
            new_id = int(cell(pane, sent.order_id, "reason")[0].removeprefix("replaced by #"))
            await until(pilot, lambda: status(pane, new_id) == "Live")
            assert cell(pane, new_id, "price")[0] == f"{price} debit"
            assert price != "0.50"


async def test_rejected_order_shows_its_reason_inert_and_is_notified_once(
    tmp_path: Path,
) -> None:
    with SimThread(picture_sim_config(fill_model=FillModel.NEVER)) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE) as pilot:
            notes = record_notes(app)
            pane = await start(pilot)
            control = sim.server.control  # type: ignore[union-attr]
            sim.run(lambda: control.reject_next_order(HOSTILE))
            sent = await place(app)
            await until(pilot, lambda: status(pane, sent.order_id) == "Rejected")
            reason, style = cell(pane, sent.order_id, "reason")
            assert style == "error"
            # The cell drawn on screen: the markup literally, no escape sequence.
            drawn = pane.table.get_cell(f"o:{sent.order_id}", "reason").plain
            assert drawn.startswith("[bold]margin[/] call") and reason.startswith(drawn[:20])
            assert "\x1b" not in drawn and "\x07" not in drawn and "SGVsbG8" not in drawn
            # The selected order's reason in full under the table: markup shows as typed,
            # escape sequences never reach the terminal.
            await pilot.press("5")
            pane.select_order(sent.order_id)
            detail = pane.query_one("#orders-detail", Static)
            await until(pilot, lambda: "margin" in str(detail.render()))
            shown = str(detail.render())
            assert "Rejected — [bold]margin[/] call" in shown
            assert "\x1b" not in shown and "\x07" not in shown and "SGVsbG8" not in shown
            assert detail.has_class("-rejected")
            assert "\x1b" not in screen_text(pane)
            await until(pilot, lambda: any(n.startswith("Rejected") for n in notes))
            await pilot.pause(1.5)  # a periodic sync and more events had their chance
            rejected = [n for n in notes if "Rejected" in n]
            assert len(rejected) == 1, rejected
            assert "\x1b" not in rejected[0]
            # A finished order cannot be cancelled: a message, no prompt.
            await pilot.press("x")
            await until(pilot, lambda: any("nothing to cancel" in n for n in notes))
            assert not isinstance(app.screen, ConfirmCancel)


async def test_a_refused_replacement_shows_the_verdict_and_sends_nothing(tmp_path: Path) -> None:
    from tastytui.config import RiskLimits
    from tastytui.services.risk import RiskGuard

    with SimThread(picture_sim_config(fill_model=FillModel.NEVER)) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=SIZE) as pilot:
            pane = await start(pilot)
            sent = await place(app)
            await until(pilot, lambda: status(pane, sent.order_id) == "Live")
            assert app.services is not None
            app.services.orders.risk = RiskGuard(RiskLimits(read_only=True))
            await pilot.press("5")
            pane.select_order(sent.order_id)
            await pilot.press("m")
            await until(pilot, lambda: isinstance(app.screen, ConfirmReplace))
            review_screen = app.screen
            assert isinstance(review_screen, ConfirmReplace) and not review_screen.sendable
            # Pushed is not yet composed: wait for its widgets.
            await until(pilot, lambda: bool(review_screen.query("#confirm-problem")))
            problem = review_screen.query_one("#confirm-problem", Static)
            assert "read_only" in str(problem.render()) or "read-only" in str(problem.render())
            await pilot.press("ctrl+y")
            await pilot.pause(0.3)
            assert app.screen is review_screen  # the confirm key does nothing here
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, ConfirmReplace))
            await pilot.pause(1.2)
            assert status(pane, sent.order_id) == "Live"
            assert cell(pane, sent.order_id, "price")[0] == "0.50 debit"
            assert len(pane.orders) == 1


def test_live_orders_are_read_again_only_when_the_cache_is_behind_an_event() -> None:
    # An event learnt by polling says more than the cache: read live orders again.
    assert _cache_behind("Live", "Filled") and _cache_behind("Received", "Live")
    # Events queue behind the pushes that already filled the cache: nothing to read.
    assert not _cache_behind("Filled", "Routed") and not _cache_behind("Filled", "Live")
    assert not _cache_behind("Filled", "Filled")
    # Two different final statuses cannot both be right: ask the broker.
    assert _cache_behind("Cancelled", "Filled")
