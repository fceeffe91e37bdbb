"""Buying-power requirements, approximating tastytrade's Reg-T rules.

The frame: derivative buying power = net liquidating value − Σ requirements, where net liq already
counts every position at its mark (shorts as liabilities).  So a requirement is what the position
ties up *beyond* its mark value: a long option ties up its whole value, a credit spread its width
less the credit, a cash-secured put its strike less the premium already sitting in cash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from tastytui.domain.symbols import OptionSymbol, format_strike

_ZERO = Decimal(0)
_NAKED_RATE = Decimal("0.20")
_MIN_RATE = Decimal("0.10")
_STOCK_RATE = Decimal("0.50")


class MarginError(ValueError):
    """A position the account type may not hold (naked calls or short stock in a cash account)."""


@dataclass(frozen=True, slots=True)
class MarginPosition:
    """One holding: stock when ``symbol_or_option`` is None, else an option contract.

    ``quantity`` is signed (shares or contracts), ``mark`` is per share, ``multiplier`` is shares
    per unit (100 for a standard option, 1 for stock).
    """

    symbol_or_option: OptionSymbol | None
    quantity: Decimal
    mark: Decimal
    multiplier: int

    @property
    def option(self) -> OptionSymbol | None:
        return self.symbol_or_option

    @property
    def value(self) -> Decimal:
        """Signed mark value: positive for longs, negative for shorts."""
        return self.quantity * self.mark * self.multiplier


@dataclass(slots=True)
class _Lot:
    option: OptionSymbol
    remaining: Decimal
    mark: Decimal
    multiplier: int

    @property
    def unit_value(self) -> Decimal:
        return self.mark * self.multiplier


@dataclass(slots=True)
class _Pair:
    """``units`` shorts paired with as many longs (a vertical, calendar or diagonal)."""

    short: _Lot
    long: _Lot
    units: Decimal
    width: Decimal  # unfavourable strike distance per share

    @property
    def same_expiration(self) -> bool:
        return self.short.option.expiration == self.long.option.expiration

    @property
    def unit_value(self) -> Decimal:
        """Signed value of one unit: the long's mark minus the short's."""
        return self.long.unit_value - self.short.unit_value

    @property
    def unit_requirement(self) -> Decimal:
        return max(_ZERO, self.width * self.short.multiplier + self.unit_value)


def _unfavourable_width(short: OptionSymbol, long: OptionSymbol) -> Decimal:
    """How far the long protects worse than the short: the spread's worst case per share."""
    if short.is_call:
        return max(_ZERO, long.strike - short.strike)
    return max(_ZERO, short.strike - long.strike)


def _naked_unit(lot: _Lot, spot: Decimal, margin_account: bool) -> Decimal | None:
    """Requirement of one uncovered short contract; None when the account cannot hold it."""
    option, mult = lot.option, lot.multiplier
    if not margin_account:
        if option.is_call:
            return None
        # Cash-secured: the strike in cash; the premium received already sits in that cash.
        return max(_ZERO, option.strike * mult - lot.unit_value)
    if option.is_call:
        otm = max(_ZERO, option.strike - spot)
        floor = _MIN_RATE * spot
    else:
        otm = max(_ZERO, spot - option.strike)
        floor = _MIN_RATE * option.strike
    return max(_NAKED_RATE * spot - otm, floor) * mult + lot.unit_value


def _lots(positions: Sequence[MarginPosition]) -> tuple[Decimal, Decimal, list[_Lot], list[_Lot]]:
    """Net shares, their value, and the option longs and shorts, merged by contract."""
    shares = share_value = _ZERO
    merged: dict[tuple[OptionSymbol, int], _Lot] = {}
    for position in positions:
        option = position.symbol_or_option
        if option is None:
            shares += position.quantity
            share_value += position.value
            continue
        key = (option, position.multiplier)
        lot = merged.get(key)
        if lot is None:
            merged[key] = _Lot(option, position.quantity, position.mark, position.multiplier)
        else:
            lot.remaining += position.quantity
    ordered = sorted(merged.values(), key=lambda lot: (lot.option, lot.multiplier))
    longs = [lot for lot in ordered if lot.remaining > 0]
    shorts = [lot for lot in ordered if lot.remaining < 0]
    for lot in shorts:
        lot.remaining = -lot.remaining
    return shares, share_value, longs, shorts


def requirement(
    positions: Sequence[MarginPosition], spot: Decimal, margin_account: bool
) -> Decimal:
    """The buying power tied up by one underlying's positions (≥ 0).

    Raises :class:`MarginError` for positions the account type may not hold.
    """
    shares, share_value, longs, shorts = _lots(positions)
    total = _stock_requirement(shares, share_value, margin_account)
    # Calls covered by stock need nothing beyond the stock's own requirement.
    pairs, naked = _pair_shorts(longs, shorts, shares, spot, margin_account)
    total += _spread_requirement(pairs)
    total += sum((lot.remaining * lot.unit_value for lot in longs), _ZERO)
    for lot, units in naked:
        unit = _naked_unit(lot, spot, margin_account)
        if unit is None:
            raise MarginError(
                f"naked calls need a margin account: cover the short {lot.option.root} "
                f"{format_strike(lot.option.strike)} call with a long call or 100 shares, "
                "or use a margin account"
            )
        total += unit * units
    return max(_ZERO, total)


def _stock_requirement(shares: Decimal, value: Decimal, margin_account: bool) -> Decimal:
    if shares < 0 and not margin_account:
        raise MarginError(
            "short stock needs a margin account: buy the shares back or use a margin account"
        )
    rate = _STOCK_RATE if margin_account else Decimal(1)
    return abs(value) * rate


def _pair_shorts(
    longs: list[_Lot],
    shorts: list[_Lot],
    shares: Decimal,
    spot: Decimal,
    margin_account: bool,
) -> tuple[list[_Pair], list[tuple[_Lot, Decimal]]]:
    """Cover each short as cheaply as possible: by a long option, by stock, or not at all.

    Candidates are ranked by what they add over leaving both sides alone (a long on its own costs
    its value; a naked short its naked requirement) and taken greedily, cheapest first.
    """
    candidates: list[tuple[Decimal, int, int, int]] = []  # (marginal cost, kind, short, long)
    for si, short in enumerate(shorts):
        naked = _naked_unit(short, spot, margin_account)
        for li, long in enumerate(longs):
            if (
                long.option.option_type is not short.option.option_type
                or long.option.root != short.option.root
                or long.option.expiration < short.option.expiration
                or long.multiplier != short.multiplier
            ):
                continue
            pair = _Pair(short, long, _ZERO, _unfavourable_width(short.option, long.option))
            marginal = pair.unit_requirement - long.unit_value
            if naked is None or marginal < naked:
                candidates.append((marginal, 0, si, li))
        if short.option.is_call and shares >= short.multiplier:
            candidates.append((_ZERO, 1, si, -1))
    candidates.sort()
    pairs: list[_Pair] = []
    free_shares = max(_ZERO, shares)
    for _, kind, si, li in candidates:
        short = shorts[si]
        if short.remaining == 0:
            continue
        if kind == 0:
            long = longs[li]
            units = min(short.remaining, long.remaining)
            if units == 0:
                continue
            pairs.append(_Pair(short, long, units, _unfavourable_width(short.option, long.option)))
            long.remaining -= units
        else:
            units = min(short.remaining, free_shares // short.multiplier)
            if units == 0:
                continue
            free_shares -= units * short.multiplier
        short.remaining -= units
    naked_lots = [(lot, lot.remaining) for lot in shorts if lot.remaining > 0]
    return pairs, naked_lots


def _spread_requirement(pairs: list[_Pair]) -> Decimal:
    """Σ spread requirements, charging iron condors/butterflies only their riskier side."""
    puts = [p for p in pairs if not p.short.option.is_call and p.same_expiration]
    calls = [p for p in pairs if p.short.option.is_call and p.same_expiration]
    total = _ZERO
    for put in puts:
        for call in calls:
            if put.units == 0:
                break
            if call.units == 0 or call.short.option.expiration != put.short.option.expiration:
                continue
            if call.short.multiplier != put.short.multiplier:
                continue
            combined = max(
                _ZERO,
                max(put.width, call.width) * put.short.multiplier
                + put.unit_value
                + call.unit_value,
            )
            if combined >= put.unit_requirement + call.unit_requirement:
                continue
            units = min(put.units, call.units)
            total += combined * units
            put.units -= units
            call.units -= units
    total += sum((p.unit_requirement * p.units for p in pairs), _ZERO)
    return total


def order_requirement_change(
    before: Sequence[MarginPosition],
    after: Sequence[MarginPosition],
    spot: Decimal,
    margin_account: bool,
) -> Decimal:
    """How much more buying power ``after`` ties up than ``before`` (negative = frees some)."""
    return requirement(after, spot, margin_account) - requirement(before, spot, margin_account)
