"""The risk guard: the user's own limits, checked on every order from every path.

Each refusal names the rule and the numbers ("max_contracts_per_order: 25 contracts > limit 20")
so the user knows what to change — the order or the limit in the config file.

Opening-only rules (max loss, daily loss, position per underlying, earnings blackout) do not
stop an order that only closes: refusing an exit would add risk, not remove it.  ``read_only``,
the contract count and the buying-power limit apply to every order.  Missing inputs fail safe:
an opening order whose buying-power effect or maximum loss is unknown is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal

from tastytui.config import RiskLimits
from tastytui.domain.orders import InstrumentType
from tastytui.domain.payoff import PayoffSummary
from tastytui.domain.ticket import SHARES_PER_CONTRACT, WEEKLY_ROOTS, Ticket, TicketError

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What the guard needs to know about the account, supplied by the caller (no I/O here)."""

    account: str
    net_liq: Decimal
    derivative_buying_power: Decimal
    #: Today's P&L (realized + unrealized change), negative for a loss.
    day_pnl: Decimal
    today: date
    #: Contracts (or 100-share lots) held per underlying, as a positive count.
    contracts_by_underlying: Mapping[str, Decimal] = field(default_factory=dict)
    #: Next earnings date per underlying, when known.
    earnings: Mapping[str, date | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RiskVerdict:
    allowed: bool
    rule: str | None
    message: str

    @classmethod
    def ok(cls) -> RiskVerdict:
        return cls(True, None, "within your risk limits")

    @classmethod
    def refuse(cls, rule: str, message: str) -> RiskVerdict:
        return cls(False, rule, f"{rule}: {message}")


def money(value: Decimal) -> str:
    """$1,234.50 (always two decimals, sign in front)."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _lots(quantity: Decimal, instrument_type: InstrumentType) -> Decimal:
    """Contracts, or 100-share lots for stock (rounded up: 150 shares count as 2 lots)."""
    if instrument_type is InstrumentType.EQUITY_OPTION:
        return quantity
    return (quantity / SHARES_PER_CONTRACT).to_integral_value(rounding=ROUND_CEILING)


def order_contracts(ticket: Ticket, *, opening_only: bool = False) -> Decimal:
    """Contracts in the order, summed over its legs (stock in 100-share lots)."""
    return sum(
        (
            _lots(leg.quantity, leg.instrument_type)
            for leg in ticket.legs
            if not opening_only or leg.action.is_opening
        ),
        _ZERO,
    )


class RiskGuard:
    """Checks one ticket against :class:`RiskLimits`; returns the first refusal or OK."""

    def __init__(
        self, limits: RiskLimits, root_to_underlying: Mapping[str, str] | None = None
    ) -> None:
        self.limits = limits
        self.root_to_underlying = WEEKLY_ROOTS if root_to_underlying is None else root_to_underlying

    def check(
        self,
        ticket: Ticket,
        ctx: RiskContext,
        *,
        bp_change: Decimal | None,
        payoff: PayoffSummary | None,
    ) -> RiskVerdict:
        """``bp_change`` is the dry-run's change in buying power (negative = uses buying power);
        ``payoff`` the order's max profit/loss at its price (``max_loss=None`` = unlimited)."""
        limits = self.limits
        if limits.read_only:
            return RiskVerdict.refuse(
                "read_only",
                "this profile is read-only: no orders are sent (set read_only = false in the "
                "risk settings to trade)",
            )
        contracts = order_contracts(ticket)
        if contracts > limits.max_contracts_per_order:
            return RiskVerdict.refuse(
                "max_contracts_per_order",
                f"{contracts} contracts > limit {limits.max_contracts_per_order}",
            )
        opening = ticket.is_opening
        if bp_change is None:
            if opening:
                return RiskVerdict.refuse(
                    "max_bp_effect_per_order",
                    "the buying-power effect is unknown: preview the order again",
                )
        elif -bp_change > limits.max_bp_effect_per_order:
            return RiskVerdict.refuse(
                "max_bp_effect_per_order",
                f"uses {money(-bp_change)} of buying power > limit "
                f"{money(limits.max_bp_effect_per_order)}",
            )
        if not opening:
            return RiskVerdict.ok()
        try:
            underlying = ticket.underlying(self.root_to_underlying)
        except TicketError as exc:
            return RiskVerdict.refuse("ticket", str(exc))

        if ctx.day_pnl < -limits.daily_loss_limit:
            return RiskVerdict.refuse(
                "daily_loss_limit",
                f"today's P&L {money(ctx.day_pnl)} is below -{money(limits.daily_loss_limit)}: "
                "no new opening orders today (closing orders are still allowed)",
            )

        blackout = limits.earnings_blackout_days
        earnings = ctx.earnings.get(underlying)
        if blackout > 0 and earnings is not None:
            days = (earnings - ctx.today).days
            if 0 <= days <= blackout:
                return RiskVerdict.refuse(
                    "earnings_blackout_days",
                    f"{underlying} reports earnings on {earnings} ({days} days away) — within "
                    f"the {blackout}-day blackout: no opening orders",
                )

        held = abs(ctx.contracts_by_underlying.get(underlying, _ZERO))
        opened = order_contracts(ticket, opening_only=True)
        if held + opened > limits.max_position_per_underlying:
            return RiskVerdict.refuse(
                "max_position_per_underlying",
                f"{held} {underlying} contracts held + {opened} opened = {held + opened} > "
                f"limit {limits.max_position_per_underlying}",
            )

        if payoff is None:
            return RiskVerdict.refuse(
                "max_loss_per_trade", "the maximum loss could not be computed: refusing to guess"
            )
        if payoff.max_loss is None:
            if not limits.allow_undefined_risk:
                return RiskVerdict.refuse(
                    "max_loss_per_trade",
                    "undefined risk (the loss is unlimited) and allow_undefined_risk is off: "
                    "add a protective leg or enable allow_undefined_risk",
                )
        elif payoff.max_loss > limits.max_loss_per_trade:
            return RiskVerdict.refuse(
                "max_loss_per_trade",
                f"max loss {money(payoff.max_loss)} > limit {money(limits.max_loss_per_trade)}",
            )
        return RiskVerdict.ok()
