"""Every risk rule on the real order path (OrderService → SDK → simulator): each refuses the
order it should, naming the rule and the numbers, and allows the one next to it.

One rig for all rules: only reviews (dry-runs) go to the simulator, so nothing accumulates;
the refused order is then offered to ``send`` to show nothing is journalled or sent.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tastytui.config import RiskLimits
from tastytui.domain.clock import new_york_today
from tastytui.domain.orders import InstrumentType, Leg, OrderAction
from tastytui.domain.ticket import PriceMode, Ticket
from tastytui.services.orders import OrderRefused, Review
from tastytui.services.risk import RiskGuard
from tests.conftest import SimFactory
from tests.services.test_orders import ACCOUNT, Rig, order_rig
from tests.sim.simkit import call

D = Decimal
STO = OrderAction.SELL_TO_OPEN


async def review(rig: Rig, ticket: Ticket, limits: RiskLimits) -> Review:
    rig.service.risk = RiskGuard(limits)
    return await rig.service.review(ticket, ACCOUNT, price_mode=PriceMode.NATURAL)


async def refuses_then_allows(
    rig: Rig,
    limits: RiskLimits,
    rule: str,
    words: str,
    refused: Ticket,
    allowed: Ticket,
) -> None:
    no = await review(rig, refused, limits)
    assert not no.sendable and no.verdict.rule == rule, no.verdict
    assert no.verdict.message.startswith(f"{rule}: ") and words in no.verdict.message
    sent_before = rig.sim_order_count()
    with pytest.raises(OrderRefused, match=rule):
        await rig.service.send(no)
    assert rig.sim_order_count() == sent_before and rig.journal.recent() == []
    yes = await review(rig, allowed, limits)
    assert yes.sendable, (rule, yes.problems)


async def test_every_rule_refuses_and_allows_on_the_real_path(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    async with order_rig(make_sim, tmp_path, polling=False) as rig:
        one, two = rig.vertical(1), rig.vertical(2)
        base = await review(rig, one, RiskLimits())
        assert base.sendable, base.problems
        assert base.bp_change is not None and base.payoff is not None
        bp_one = -base.bp_change
        loss_one = base.payoff.max_loss
        assert bp_one > 0 and loss_one is not None and loss_one > 0

        # Read-only refuses everything; the same ticket passes with it off (checked above).
        no = await review(rig, one, RiskLimits(read_only=True))
        assert no.verdict.rule == "read_only" and "read_only = false" in no.verdict.message

        await refuses_then_allows(
            rig,
            RiskLimits(max_contracts_per_order=3),
            "max_contracts_per_order",
            "4 contracts > limit 3",
            two,
            one,
        )
        await refuses_then_allows(
            rig,
            RiskLimits(max_bp_effect_per_order=bp_one * D("1.5")),
            "max_bp_effect_per_order",
            "of buying power > limit",
            two,
            one,
        )
        await refuses_then_allows(
            rig,
            RiskLimits(max_loss_per_trade=loss_one * D("1.5")),
            "max_loss_per_trade",
            "max loss $",
            two,
            one,
        )
        ctx = await rig.context.risk_context(ACCOUNT)
        held = ctx.contracts_by_underlying.get("SPY", D(0))
        await refuses_then_allows(
            rig,
            RiskLimits(max_position_per_underlying=int(held) + 3),
            "max_position_per_underlying",
            f"+ 4 opened = {held + 4} > limit {int(held) + 3}",
            two,
            one,
        )

        rig.context.day_pnl = D(-3000)
        no = await review(rig, one, RiskLimits(daily_loss_limit=D(2500)))
        assert no.verdict.rule == "daily_loss_limit" and "-$3,000.00" in no.verdict.message
        rig.context.day_pnl = D(-2000)
        assert (await review(rig, one, RiskLimits(daily_loss_limit=D(2500)))).sendable
        rig.context.day_pnl = D(0)

        today = new_york_today(rig.clock)
        rig.context.earnings = {"SPY": today + timedelta(days=3)}
        no = await review(rig, one, RiskLimits(earnings_blackout_days=5))
        assert no.verdict.rule == "earnings_blackout_days" and "3 days away" in no.verdict.message
        rig.context.earnings = {"SPY": today + timedelta(days=9)}
        assert (await review(rig, one, RiskLimits(earnings_blackout_days=5))).sendable

        # Undefined risk: a naked call is refused unless the profile allows undefined risk.
        naked = Ticket((Leg(InstrumentType.EQUITY_OPTION, call(rig.sim, "SPY", 6).occ, STO, D(1)),))
        await refuses_then_allows(
            rig,
            RiskLimits(),
            "max_loss_per_trade",
            "undefined risk",
            naked,
            one,
        )
        assert (await review(rig, naked, RiskLimits(allow_undefined_risk=True))).sendable
