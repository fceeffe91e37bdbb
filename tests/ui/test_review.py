"""The review step against the simulator: the only place an order is sent, and only once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot

from tastytui.domain.orders import InstrumentType, Leg, OrderAction
from tastytui.domain.payoff import PayoffLeg, analyze
from tastytui.domain.ticket import PriceMode, Ticket
from tastytui.services.orders import Review
from tastytui.services.risk import RiskVerdict
from tastytui.sim.ledger import Order as SimOrder
from tastytui.ui.app import TastyApp
from tastytui.ui.messages import AddLeg
from tastytui.ui.screens.review import ReviewScreen
from tastytui.ui.themes import DOMAIN_DEFAULTS
from tastytui.ui.widgets.builder import BuilderPane
from tastytui.ui.widgets.payoff_chart import BREAKEVEN_MARK, SPOT_MARK, PayoffChart, plot_payoff
from tests.ui.harness import SimThread, until
from tests.ui.test_builder import console, spy_vertical

D1 = Decimal(1)


def sim_orders(sim: SimThread) -> list[SimOrder]:
    assert sim.server is not None
    ledger = sim.server.exchange.ledger
    return sim.run(lambda: sorted(ledger.orders.values(), key=lambda o: o.id))


async def build_and_review(app: TastyApp, pilot: Pilot[Any]) -> tuple[tuple[Leg, ...], Any]:
    """Add a real SPY vertical with AddLeg, press ctrl+o in the builder, wait for the review."""
    legs = await spy_vertical(app)
    pane = app.query_one(BuilderPane)
    for leg in legs:
        app.post_message(AddLeg(leg))
    await until(pilot, lambda: len(pane.ticket.legs) == 2)
    await pilot.press("4")
    await pilot.press("ctrl+o")
    assert pane.reviewing or isinstance(app.screen, ReviewScreen)
    await until(pilot, lambda: isinstance(app.screen, ReviewScreen) or not pane.reviewing, 60)
    screen = app.screen
    assert isinstance(screen, ReviewScreen), pane.message
    await until(pilot, lambda: screen.is_mounted and screen.status_text != "")
    return legs, screen


def summary(screen: ReviewScreen) -> str:
    return screen.summary_text().plain


async def test_review_shows_the_dry_run_and_confirm_sends_exactly_one_order(
    tmp_path: Path,
) -> None:
    async with console(tmp_path) as (sim, app, pilot):
        before = sim_orders(sim)
        legs, screen = await build_and_review(app, pilot)
        text = summary(screen)
        assert "Short put vertical" in text and "SIM" in text and "5WT00001" in text
        assert "Buying power  -$" in text and "→ new $" in text  # the dry-run's BP effect
        assert "Fees  -$" in text
        assert "Max loss  $" in text and "Max profit  $" in text and "Breakeven  6" in text
        assert "✓ within your risk limits" in text
        assert "credit (mid)" in text and "natural " in text
        assert screen.query_one(PayoffChart).summary is not None
        assert "ctrl+y sends this order" in screen.status_text
        # Reviewing sends nothing.
        assert [o.id for o in sim_orders(sim)] == [o.id for o in before]

        # Two presses in a row: the second finds the first in flight (or the review closed).
        await pilot.press("ctrl+y", "ctrl+y")
        await until(pilot, lambda: not isinstance(app.screen, ReviewScreen))
        await pilot.press("ctrl+y")
        pane = app.query_one(BuilderPane)
        await until(pilot, lambda: pane.sent_ids != set())
        await pilot.pause(0.5)
        new = [o for o in sim_orders(sim) if o.id not in {b.id for b in before}]
        assert len(new) == 1
        order = new[0]
        assert sorted(leg.symbol for leg in order.legs) == sorted(leg.symbol for leg in legs)
        assert order.price == screen.review.ticket.price
        assert f"Sent #{order.id}" in pane.message or f"#{order.id}" in pane.message
        assert any(f"Sent: #{order.id}" in n.message for n in app._notifications)
        # The trader's ticket is cleared once the order is at the broker.
        assert not pane.ticket.legs


async def test_a_ticket_changed_after_review_is_not_sent(tmp_path: Path) -> None:
    async with console(tmp_path) as (sim, app, pilot):
        before = sim_orders(sim)
        legs, screen = await build_and_review(app, pilot)
        # The chat (or a chain key) changes the ticket while the review is open.
        app.post_message(AddLeg(legs[0]))
        pane = app.query_one(BuilderPane)
        await until(pilot, lambda: pane.ticket.legs[0].quantity == 2)
        assert screen.ticket_changed_after_review
        assert "changed after this review" in screen.status_text
        await pilot.press("ctrl+y")
        await until(pilot, lambda: screen.final_message is not None)
        assert "the ticket changed after it was reviewed" in screen.status_text
        assert isinstance(app.screen, ReviewScreen)
        # Pressing again only repeats why; a new review is required.
        await pilot.press("ctrl+y")
        assert "review the ticket again" in screen.status_text
        assert [o.id for o in sim_orders(sim)] == [o.id for o in before]
        await pilot.press("escape")
        assert type(app.screen).__name__ != "ReviewScreen"
        assert len(pane.ticket.legs) == 2  # going back keeps the ticket


async def test_a_risk_refusal_shows_the_rule_and_confirm_sends_nothing(tmp_path: Path) -> None:
    limits = "[profiles.sim.risk]\nmax_contracts_per_order = 1\n"
    async with console(tmp_path, config_text=limits) as (sim, app, pilot):
        before = sim_orders(sim)
        _, screen = await build_and_review(app, pilot)
        assert "refused by risk limit max_contracts_per_order: 2 contracts > limit 1" in summary(
            screen
        )
        assert "Cannot be sent" in screen.status_text
        assert "max_contracts_per_order" in screen.status_text
        await pilot.press("ctrl+y")
        await pilot.press("ctrl+y")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ReviewScreen) and not screen.sending
        assert "max_contracts_per_order: 2 contracts > limit 1" in screen.status_text
        assert [o.id for o in sim_orders(sim)] == [o.id for o in before]


async def test_a_simulator_rejection_shows_its_reason(tmp_path: Path) -> None:
    reason = "Exchange halted trading in SPY options"
    async with console(tmp_path) as (sim, app, pilot):
        assert sim.server is not None
        control = sim.server.control
        _, screen = await build_and_review(app, pilot)
        sim.run(lambda: control.reject_next_order(reason))
        await pilot.press("ctrl+y")
        pane = app.query_one(BuilderPane)
        # Either the POST itself is refused (shown in the review) or the order is rejected
        # after it was received (shown in the builder and as a notification).
        await until(
            pilot,
            lambda: reason in screen.status_text or reason in pane.message,
        )
        await until(pilot, lambda: any(reason in n.message for n in app._notifications))
        rejected = [o for o in sim_orders(sim) if o.reject_reason == reason]
        assert len(rejected) == 1


async def test_a_broker_refusal_of_the_post_is_shown_and_never_resent(tmp_path: Path) -> None:
    async with console(tmp_path) as (sim, app, pilot):
        assert sim.server is not None
        control = sim.server.control
        before = sim_orders(sim)
        _, screen = await build_and_review(app, pilot)
        sim.run(lambda: control.http_fault(422, count=1, path_prefix="/accounts/", method="POST"))
        await pilot.press("ctrl+y")
        await until(pilot, lambda: screen.final_message is not None)
        assert screen.status_text.startswith("Not sent — ") and "HTTP 422" in screen.status_text
        assert "Nothing is sent again automatically" in screen.status_text
        await pilot.press("ctrl+y")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ReviewScreen) and not screen.sending
        assert [o.id for o in sim_orders(sim)] == [o.id for o in before]


async def test_a_lost_answer_keeps_the_review_busy_then_says_not_placed(tmp_path: Path) -> None:
    async with console(tmp_path) as (sim, app, pilot):
        assert sim.server is not None
        control = sim.server.control
        before = sim_orders(sim)
        _, screen = await build_and_review(app, pilot)
        # The POST's answer is lost (502): the service looks the order up, never re-sends it.
        sim.run(lambda: control.http_fault(502, count=1, path_prefix="/accounts/", method="POST"))
        await pilot.press("ctrl+y")
        assert screen.sending and "Sending…" in screen.status_text
        # While it is in flight the confirm key is disabled and going back is refused.
        await pilot.press("ctrl+y", "escape")
        assert isinstance(app.screen, ReviewScreen) and screen.sending
        assert "wait for tastytrade's answer" in screen.status_text
        await until(pilot, lambda: screen.final_message is not None, timeout=60)
        assert screen.status_text.startswith("Not placed:"), screen.status_text
        assert "Nothing was sent twice" in screen.status_text
        assert [o.id for o in sim_orders(sim)] == [o.id for o in before]
        await pilot.press("escape")
        assert type(app.screen).__name__ != "ReviewScreen"


async def test_an_invalid_ticket_shows_a_clear_message_and_sends_nothing(tmp_path: Path) -> None:
    async with console(tmp_path) as (sim, app, pilot):
        before = sim_orders(sim)
        pane = app.query_one(BuilderPane)
        legs = await spy_vertical(app)
        zero = tuple(Leg(leg.instrument_type, leg.symbol, leg.action, Decimal(0)) for leg in legs)
        pane.load_ticket(Ticket(zero), note="Staged by the assistant")
        await pilot.press("4", "ctrl+o")
        await until(pilot, lambda: not pane.reviewing)
        assert not isinstance(app.screen, ReviewScreen)
        assert "must be at least 1" in pane.message and pane.error_field == "quantity"

        # A custom price off SPY's penny grid.
        pane.load_ticket(Ticket(legs))
        await pilot.press("e", *"0.555", "enter")
        assert pane.ticket.price == Decimal("0.555") and "custom 0.555 cr" in pane.view_text()
        await pilot.press("ctrl+o")
        await until(pilot, lambda: not pane.reviewing)
        assert not isinstance(app.screen, ReviewScreen)
        assert "not a multiple of the 0.01 tick: use 0.55 or 0.56" in pane.message
        assert pane.error_field == "price"
        assert [o.id for o in sim_orders(sim)] == [o.id for o in before]


async def test_broker_text_on_the_review_is_inert_and_a_refused_review_never_sends() -> None:
    hostile = "[bold]x[/] \x1b]52;c;aGk=\x07done"
    legs = (
        Leg(InstrumentType.EQUITY_OPTION, "SPY   261218P00680000", OrderAction.SELL_TO_OPEN, D1),
    )
    review = Review(
        review_id="r1",
        account="5WT00001",
        source="keys",
        ticket=Ticket(legs, price=Decimal("3.50")),
        price_mode=PriceMode.MID,
        underlying="SPY",
        description=f"1× SPY {hostile}",
        natural=Decimal("3.45"),
        mid=Decimal("3.50"),
        bp_change=Decimal("-6500"),
        new_buying_power=Decimal("76000"),
        fees=Decimal("-1.14"),
        warnings=(hostile,),
        errors=(f"{hostile} (bad_order)",),
        payoff=None,
        verdict=RiskVerdict.refuse("max_loss_per_trade", hostile),
        fingerprint="f",
        created_at=datetime(2026, 11, 18, 15, 30, tzinfo=UTC),
        created_mono=0.0,
    )
    sent: list[Review] = []

    async def send(r: Review, t: Ticket) -> Any:
        sent.append(r)
        raise AssertionError("a refused review must not reach send")

    screen = ReviewScreen(review, current_ticket=lambda r: r.ticket, send=send, profile="live")

    class Host(App[None]):
        def get_theme_variable_defaults(self) -> dict[str, str]:
            return dict(DOMAIN_DEFAULTS)

        def on_mount(self) -> None:
            self.push_screen(screen)

    async with Host().run_test(size=(120, 35)) as pilot:
        await pilot.pause(0.1)
        text = screen.summary_text().plain
        assert text.count("[bold]x[/]") == 4 and "\x1b" not in text and "\x07" not in text
        assert "LIVE" in text and "real money" in text
        assert "Warning: [bold]x[/]" in text and "tastytrade error: [bold]x[/]" in text
        assert "\x1b" not in screen.status_text and "Cannot be sent" in screen.status_text
        await pilot.press("ctrl+y", "ctrl+y")
        assert not sent and "max_loss_per_trade" in screen.status_text
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, ReviewScreen)


def test_payoff_chart_marks_breakevens_zero_and_the_underlying() -> None:
    expiry = date(2026, 12, 18)
    # Short 680/676 put vertical for 1.47 credit: breakeven 678.53, max loss 253.
    legs = [
        PayoffLeg("put", Decimal(-1), Decimal(680), expiry, 100, Decimal("3.50")),
        PayoffLeg("put", Decimal(1), Decimal(676), expiry, 100, Decimal("2.03")),
    ]
    payoff = analyze(legs, Decimal(682))
    assert payoff.breakevens == (Decimal("678.53"),)
    plot = plot_payoff(payoff, 70, 10, Decimal("682.83"))
    lines = plot.lines
    assert all(len(line) == 70 for line in lines), [len(line) for line in lines]
    markers, labels = lines[-2], lines[-1]
    (column,) = plot.breakeven_columns
    assert markers[column] == BREAKEVEN_MARK
    assert "678.53" in labels and abs(labels.index("678.53") + 3 - column) <= 3
    assert plot.spot_column is not None and markers[plot.spot_column] == SPOT_MARK
    assert "682.83" in labels and plot.spot_column > column
    assert lines[0].lstrip().startswith("+$147") and "-$253" in lines[-3]
    assert any(line.lstrip().startswith("$0") for line in lines)
    # Profit to the right of the breakeven (price up), loss to the left.
    right = {role for row in plot.rows[:-2] for _, role in row[column + 2 :]}
    left = {role for row in plot.rows[:-2] for _, role in row[plot.gutter : column - 1]}
    assert "profit" in right and "loss" not in right
    assert "loss" in left and "profit" not in left
    # The curve is drawn in braille.
    assert any("\u2800" < ch <= "\u28ff" for line in lines[:-2] for ch in line)

    # A long straddle: two breakevens, both marked.
    straddle = analyze(
        [
            PayoffLeg("call", Decimal(1), Decimal(680), expiry, 100, Decimal(5)),
            PayoffLeg("put", Decimal(1), Decimal(680), expiry, 100, Decimal(5)),
        ],
        Decimal(680),
    )
    plot = plot_payoff(straddle, 60, 8)
    assert len(plot.breakeven_columns) == 2
    assert all(plot.lines[-2][c] == BREAKEVEN_MARK for c in plot.breakeven_columns)
    assert "670.00" in plot.lines[-1] and "690.00" in plot.lines[-1]
