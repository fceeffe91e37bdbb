"""Option strategies: recognising them in legs and positions, and building them from a chain.

Quantities are signed (+ long, − short); a leg whose option is ``None`` is stock, in shares.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from tastytui.domain.chain import ChainExpiration, ChainStrike, OptionChain
from tastytui.domain.orders import InstrumentType, Leg, OrderAction
from tastytui.domain.symbols import OptionSymbol, OptionType, format_strike, parse_occ

StrategyLeg = tuple[OptionSymbol | None, Decimal]
Direction = Literal["credit", "debit"]

_ZERO = Decimal(0)


class StrategyError(ValueError):
    """A strategy the chain or the inputs cannot supply; the message says what to change."""


class StrategyKind(StrEnum):
    STOCK = "Stock"
    LONG_CALL = "Long call"
    SHORT_CALL = "Short call"
    LONG_PUT = "Long put"
    SHORT_PUT = "Short put"
    VERTICAL = "Vertical"
    STRADDLE = "Straddle"
    STRANGLE = "Strangle"
    IRON_CONDOR = "Iron condor"
    IRON_BUTTERFLY = "Iron butterfly"
    BUTTERFLY = "Butterfly"
    CALENDAR = "Calendar"
    DIAGONAL = "Diagonal"
    COVERED_CALL = "Covered call"
    CUSTOM = "Custom"


@dataclass(frozen=True, slots=True)
class Recognized:
    kind: StrategyKind
    label: str


# ---------------------------------------------------------------------------------------------
# Recognition


def _k(strike: Decimal) -> str:
    return format_strike(strike)


def _type_word(option: OptionSymbol) -> str:
    return "call" if option.is_call else "put"


def _merge(legs: Iterable[StrategyLeg]) -> list[StrategyLeg]:
    """Sum repeated instruments, drop flat ones, order stock first then by expiry/type/strike."""
    totals: dict[OptionSymbol | None, Decimal] = {}
    for option, quantity in legs:
        totals[option] = totals.get(option, _ZERO) + quantity
    items = [(o, q) for o, q in totals.items() if q != 0]
    return sorted(items, key=lambda item: _sort_key(item[0]))


def _sort_key(option: OptionSymbol | None) -> tuple[int, str, str, Decimal]:
    if option is None:
        return (0, "", "", _ZERO)
    # Puts before calls, so condors read low to high.
    return (1, option.expiration.isoformat(), "0" if not option.is_call else "1", option.strike)


_CUSTOM = Recognized(StrategyKind.CUSTOM, "Custom")


def classify(legs: Sequence[StrategyLeg], *, shares_per_contract: int = 100) -> Recognized:
    """The strategy formed by ``legs`` and a human label such as 'Short put vertical 670/665'."""
    items = _merge(legs)
    if not items:
        return Recognized(StrategyKind.CUSTOM, "No position")
    stock = [q for o, q in items if o is None]
    options = [(o, q) for o, q in items if o is not None]
    if stock and not options:
        shares = stock[0]
        return Recognized(
            StrategyKind.STOCK, f"{'Long' if shares > 0 else 'Short'} {abs(shares)} shares"
        )
    if stock:
        return _with_stock(stock[0], options, shares_per_contract)
    if len(options) == 1:
        return _single(*options[0])
    equal_size = len({abs(q) for _, q in options}) == 1
    if len(options) == 2 and equal_size:
        return _pair(options[0], options[1])
    if len(options) == 3:
        return _butterfly(options)
    if len(options) == 4 and equal_size:
        return _iron(options)
    return _CUSTOM


def _single(option: OptionSymbol, quantity: Decimal) -> Recognized:
    long = quantity > 0
    if option.is_call:
        kind = StrategyKind.LONG_CALL if long else StrategyKind.SHORT_CALL
    else:
        kind = StrategyKind.LONG_PUT if long else StrategyKind.SHORT_PUT
    return Recognized(kind, f"{kind.value} {_k(option.strike)}")


def _with_stock(
    shares: Decimal, options: list[tuple[OptionSymbol, Decimal]], per_contract: int
) -> Recognized:
    if len(options) == 1:
        option, contracts = options[0]
        if option.is_call and contracts < 0 and shares == -contracts * per_contract:
            return Recognized(StrategyKind.COVERED_CALL, f"Covered call {_k(option.strike)}")
    return _CUSTOM


def _pair(a: tuple[OptionSymbol, Decimal], b: tuple[OptionSymbol, Decimal]) -> Recognized:
    (oa, qa), (ob, qb) = a, b
    opposite = (qa > 0) != (qb > 0)
    if oa.expiration == ob.expiration:
        if oa.option_type is ob.option_type and opposite:
            return _vertical(a, b)
        if oa.option_type is not ob.option_type and not opposite:
            put, call = (oa, ob) if not oa.is_call else (ob, oa)
            side = "Long" if qa > 0 else "Short"
            if put.strike == call.strike:
                return Recognized(StrategyKind.STRADDLE, f"{side} straddle {_k(put.strike)}")
            return Recognized(
                StrategyKind.STRANGLE, f"{side} strangle {_k(put.strike)}/{_k(call.strike)}"
            )
        return _CUSTOM
    if oa.option_type is ob.option_type and opposite:
        front, back = (a, b) if oa.expiration < ob.expiration else (b, a)
        side = "Long" if back[1] > 0 else "Short"
        word = _type_word(oa)
        dates = f"{front[0].expiration}/{back[0].expiration}"
        if front[0].strike == back[0].strike:
            return Recognized(
                StrategyKind.CALENDAR, f"{side} {word} calendar {_k(front[0].strike)} {dates}"
            )
        return Recognized(
            StrategyKind.DIAGONAL,
            f"{side} {word} diagonal {_k(front[0].strike)}/{_k(back[0].strike)} {dates}",
        )
    return _CUSTOM


def _vertical(a: tuple[OptionSymbol, Decimal], b: tuple[OptionSymbol, Decimal]) -> Recognized:
    long, short = (a[0], b[0]) if a[1] > 0 else (b[0], a[0])
    if long.strike == short.strike:
        return _CUSTOM
    # The long leg is the more valuable one in a debit spread: the lower call, the higher put.
    debit = long.strike < short.strike if long.is_call else long.strike > short.strike
    bull = long.strike < short.strike
    word = _type_word(long)
    if debit:
        strikes = f"{_k(long.strike)}/{_k(short.strike)}"
        side = "Long"
    else:
        strikes = f"{_k(short.strike)}/{_k(long.strike)}"
        side = "Short"
    tags = f"({'bull' if bull else 'bear'}, {'debit' if debit else 'credit'})"
    return Recognized(StrategyKind.VERTICAL, f"{side} {word} vertical {strikes} {tags}")


def _butterfly(options: list[tuple[OptionSymbol, Decimal]]) -> Recognized:
    (lo, q1), (mid, q2), (hi, q3) = sorted(options, key=lambda item: item[0].strike)
    same = {o.expiration for o, _ in options} == {lo.expiration} and {
        o.option_type for o, _ in options
    } == {lo.option_type}
    if not same or not (lo.strike < mid.strike < hi.strike):
        return _CUSTOM
    if not (q1 == q3 and q2 == -2 * q1):
        return _CUSTOM
    side = "Long" if q1 > 0 else "Short"
    broken = "" if mid.strike - lo.strike == hi.strike - mid.strike else " (broken wing)"
    strikes = f"{_k(lo.strike)}/{_k(mid.strike)}/{_k(hi.strike)}"
    return Recognized(
        StrategyKind.BUTTERFLY, f"{side} {_type_word(lo)} butterfly {strikes}{broken}"
    )


def _iron(options: list[tuple[OptionSymbol, Decimal]]) -> Recognized:
    puts = sorted((item for item in options if not item[0].is_call), key=lambda i: i[0].strike)
    calls = sorted((item for item in options if item[0].is_call), key=lambda i: i[0].strike)
    if len(puts) != 2 or len({o.expiration for o, _ in options}) != 1:
        return _CUSTOM
    (p_lo, qp_lo), (p_hi, qp_hi) = puts
    (c_lo, qc_lo), (c_hi, qc_hi) = calls
    short_iron = qp_lo > 0 > qp_hi and qc_lo < 0 < qc_hi
    long_iron = qp_lo < 0 < qp_hi and qc_lo > 0 > qc_hi
    if not (short_iron or long_iron) or p_hi.strike > c_lo.strike:
        return _CUSTOM
    if p_lo.strike == p_hi.strike or c_lo.strike == c_hi.strike:
        return _CUSTOM
    side = "" if short_iron else "Long "
    if p_hi.strike == c_lo.strike:
        strikes = f"{_k(p_lo.strike)}/{_k(p_hi.strike)}/{_k(c_hi.strike)}"
        name = "iron butterfly" if side else "Iron butterfly"
        return Recognized(StrategyKind.IRON_BUTTERFLY, f"{side}{name} {strikes}")
    strikes = "/".join(_k(o.strike) for o in (p_lo, p_hi, c_lo, c_hi))
    name = "iron condor" if side else "Iron condor"
    return Recognized(StrategyKind.IRON_CONDOR, f"{side}{name} {strikes}")


def recognize(legs: Sequence[StrategyLeg], *, shares_per_contract: int = 100) -> StrategyKind:
    """The strategy formed by ``legs`` (signed quantities; ``None`` option = stock in shares)."""
    return classify(legs, shares_per_contract=shares_per_contract).kind


def describe(legs: Sequence[StrategyLeg], *, shares_per_contract: int = 100) -> str:
    """A human label for ``legs``, e.g. 'Iron condor 640/645/720/725' or 'Covered call 690'."""
    return classify(legs, shares_per_contract=shares_per_contract).label


# ---------------------------------------------------------------------------------------------
# Grouping positions


@dataclass(frozen=True, slots=True)
class StrategyGroup:
    """A recognised strategy inside a book of positions: its members and signed quantities."""

    kind: StrategyKind
    label: str
    members: tuple[tuple[str, Decimal], ...]


@dataclass(slots=True)
class _Held:
    symbol: str
    option: OptionSymbol | None
    remaining: Decimal


@dataclass(frozen=True, slots=True)
class _Pattern:
    """How many members to try together, whether one is stock, and the kinds accepted."""

    size: int
    kinds: frozenset[StrategyKind]
    with_stock: bool = False


_PATTERNS = (
    _Pattern(4, frozenset({StrategyKind.IRON_CONDOR, StrategyKind.IRON_BUTTERFLY})),
    _Pattern(3, frozenset({StrategyKind.BUTTERFLY})),
    _Pattern(2, frozenset({StrategyKind.COVERED_CALL}), with_stock=True),
    _Pattern(2, frozenset({StrategyKind.VERTICAL})),
    _Pattern(2, frozenset({StrategyKind.CALENDAR, StrategyKind.DIAGONAL})),
    _Pattern(2, frozenset({StrategyKind.STRADDLE, StrategyKind.STRANGLE})),
)


def group_positions(
    positions: Iterable[tuple[str, OptionSymbol | None, Decimal]],
    *,
    shares_per_contract: int = 100,
) -> list[StrategyGroup]:
    """Split one underlying's positions into strategies, greedily and deterministically.

    Larger structures are taken first (iron condors, butterflies, covered calls, verticals,
    calendars, straddles/strangles) and the narrowest candidates before wider ones; whatever is
    left becomes single-leg or stock groups.  The result does not depend on the input order.
    """
    merged: dict[str, _Held] = {}
    for symbol, option, quantity in positions:
        held = merged.setdefault(symbol, _Held(symbol, option, _ZERO))
        held.remaining += quantity
    pool = sorted(
        (h for h in merged.values() if h.remaining != 0),
        key=lambda h: (_sort_key(h.option), h.symbol),
    )
    groups: list[StrategyGroup] = []
    for pattern in _PATTERNS:
        for combo in _candidates(pool, pattern):
            group = _take(combo, pattern, shares_per_contract)
            if group is not None:
                groups.append(group)
    for held in pool:
        if held.remaining != 0:
            recognized = classify([(held.option, held.remaining)])
            groups.append(
                StrategyGroup(recognized.kind, recognized.label, ((held.symbol, held.remaining),))
            )
            held.remaining = _ZERO
    return groups


def _candidates(pool: list[_Held], pattern: _Pattern) -> list[tuple[_Held, ...]]:
    """Member combinations worth trying, narrowest first.

    Only combinations whose types, expirations, strikes and signs can form one of the
    pattern's kinds are built: ``_take`` refuses every other one without side effects, so
    skipping them changes nothing but the cost.  Trying them all was C(n, 4) tuples for n
    contracts of one underlying (110,000 for 42, rebuilt on every repaint of the P&L); this
    is about the number of fitting pairs.  The order is the exhaustive one's: by span, ties
    in canonical (pool) order.
    """
    live = [(i, h) for i, h in enumerate(pool) if h.remaining != 0]
    if pattern.with_stock:
        # Covered calls: long stock against short calls (spans are all zero: pool order).
        stock = [h for _, h in live if h.option is None]
        held = [h for _, h in live if h.option is not None]
        if pattern.kinds == {StrategyKind.COVERED_CALL}:
            stock = [h for h in stock if h.remaining > 0]
            held = [h for h in held if h.option and h.option.is_call and h.remaining < 0]
        return [(s, o) for s in stock for o in held]
    options: list[_Option] = [(i, h, h.option) for i, h in live if h.option is not None]
    found: list[tuple[int, ...]]
    if pattern.size == 2:
        found = [
            (i, j)
            for n, (i, a, oa) in enumerate(options)
            for j, b, ob in options[n + 1 :]
            if _pair_kinds(oa, a.remaining > 0, ob, b.remaining > 0) & pattern.kinds
        ]
    elif pattern.size == 3 and pattern.kinds == {StrategyKind.BUTTERFLY}:
        found = _butterflies(options)
    elif pattern.size == 4 and pattern.kinds <= {
        StrategyKind.IRON_CONDOR,
        StrategyKind.IRON_BUTTERFLY,
    }:
        found = _irons(options)
    else:  # a pattern without a shortcut: every combination of one expiration
        found = [
            tuple(i for i, _, _ in combo)
            for combo in itertools.combinations(options, pattern.size)
            if len({o.expiration for _, _, o in combo}) == 1
        ]

    def order(indices: tuple[int, ...]) -> tuple[Decimal, int, tuple[int, ...]]:
        members = [pool[i].option for i in indices]
        strikes = [o.strike for o in members if o is not None]
        days = [o.expiration.toordinal() for o in members if o is not None]
        return (max(strikes) - min(strikes), max(days) - min(days), indices)

    return [tuple(pool[i] for i in indices) for indices in sorted(found, key=order)]


_Option = tuple[int, _Held, OptionSymbol]
_NO_KINDS: frozenset[StrategyKind] = frozenset()
_SPREADS = frozenset({StrategyKind.VERTICAL})
_TIME_SPREADS = frozenset({StrategyKind.CALENDAR, StrategyKind.DIAGONAL})
_COMBINATIONS = frozenset({StrategyKind.STRADDLE, StrategyKind.STRANGLE})


def _pair_kinds(
    a: OptionSymbol, a_long: bool, b: OptionSymbol, b_long: bool
) -> frozenset[StrategyKind]:
    """The kinds ``classify`` can give two options held with these signs (as ``_pair``)."""
    same_type = a.option_type is b.option_type
    opposite = a_long != b_long
    if a.expiration == b.expiration:
        if same_type and opposite and a.strike != b.strike:
            return _SPREADS
        if not same_type and not opposite:
            return _COMBINATIONS
        return _NO_KINDS
    return _TIME_SPREADS if same_type and opposite else _NO_KINDS


def _butterflies(options: list[_Option]) -> list[tuple[int, ...]]:
    """Three strikes of one expiration and type, wings held one way and the body the other."""
    groups: dict[tuple[date, OptionType], list[_Option]] = {}
    for item in options:
        groups.setdefault((item[2].expiration, item[2].option_type), []).append(item)
    found: list[tuple[int, ...]] = []
    for group in groups.values():
        for i, body, ob in group:
            wings = [
                (j, o.strike) for j, h, o in group if (h.remaining > 0) != (body.remaining > 0)
            ]
            lows = [j for j, strike in wings if strike < ob.strike]
            highs = [j for j, strike in wings if strike > ob.strike]
            found.extend(tuple(sorted((lo, i, hi))) for lo in lows for hi in highs)
    return found


def _irons(options: list[_Option]) -> list[tuple[int, ...]]:
    """Two puts and two calls of one expiration: long wings and short bodies, or the reverse,
    the put strikes at or below the call strikes (as ``_iron``)."""
    by_expiration: dict[date, list[_Option]] = {}
    for item in options:
        by_expiration.setdefault(item[2].expiration, []).append(item)
    found: list[tuple[int, ...]] = []
    for group in by_expiration.values():
        # Pairs of one type with distinct strikes, keyed by (lower strike long?, higher long?).
        puts = _strike_pairs([x for x in group if not x[2].is_call])
        calls = _strike_pairs([x for x in group if x[2].is_call])
        for put_shape, call_shape in (
            ((True, False), (False, True)),
            ((False, True), (True, False)),
        ):
            for p_lo, p_hi in puts.get(put_shape, ()):
                for c_lo, c_hi in calls.get(call_shape, ()):
                    if p_hi[2].strike <= c_lo[2].strike:
                        found.append(tuple(sorted((p_lo[0], p_hi[0], c_lo[0], c_hi[0]))))
    return found


def _strike_pairs(
    same_type: list[_Option],
) -> dict[tuple[bool, bool], list[tuple[_Option, _Option]]]:
    pairs: dict[tuple[bool, bool], list[tuple[_Option, _Option]]] = {}
    for a, b in itertools.combinations(same_type, 2):
        if a[2].strike == b[2].strike:
            continue
        lo, hi = (a, b) if a[2].strike < b[2].strike else (b, a)
        shape = (lo[1].remaining > 0, hi[1].remaining > 0)
        if shape[0] != shape[1]:
            pairs.setdefault(shape, []).append((lo, hi))
    return pairs


def _ratios(combo: tuple[_Held, ...], pattern: _Pattern, per_contract: int) -> tuple[int, ...]:
    if pattern.with_stock:
        return (per_contract, 1)
    if pattern.size == 3:
        # A butterfly's body is twice its wings; the body is the middle strike.
        strikes = sorted(h.option.strike for h in combo if h.option is not None)
        return tuple(
            2 if h.option is not None and h.option.strike == strikes[1] else 1 for h in combo
        )
    return (1,) * pattern.size


def _take(combo: tuple[_Held, ...], pattern: _Pattern, per_contract: int) -> StrategyGroup | None:
    if any(h.remaining == 0 for h in combo):
        return None
    ratios = _ratios(combo, pattern, per_contract)
    units = min(abs(h.remaining) // r for h, r in zip(combo, ratios, strict=True))
    if units < 1:
        return None
    legs = [
        (h.option, (r * units) if h.remaining > 0 else -(r * units))
        for h, r in zip(combo, ratios, strict=True)
    ]
    recognized = classify(legs, shares_per_contract=per_contract)
    if recognized.kind not in pattern.kinds:
        return None
    members = tuple((h.symbol, q) for h, (_, q) in zip(combo, legs, strict=True))
    for h, (_, q) in zip(combo, legs, strict=True):
        h.remaining -= q
    return StrategyGroup(recognized.kind, recognized.label, members)


# ---------------------------------------------------------------------------------------------
# Templates

_DEFAULT_DIRECTION: dict[StrategyKind, Direction] = {
    StrategyKind.VERTICAL: "credit",
    StrategyKind.STRANGLE: "credit",
    StrategyKind.STRADDLE: "credit",
    StrategyKind.IRON_CONDOR: "credit",
    StrategyKind.BUTTERFLY: "debit",
    StrategyKind.CALENDAR: "debit",
}
_DEFAULT_TYPE = {
    StrategyKind.VERTICAL: OptionType.PUT,
    StrategyKind.BUTTERFLY: OptionType.CALL,
    StrategyKind.CALENDAR: OptionType.CALL,
}


@dataclass(frozen=True, slots=True)
class _Picker:
    """Strike selection within one expiration."""

    expiration: ChainExpiration
    spot: Decimal
    target_delta: float | None
    delta_of: Callable[[OptionSymbol], float | None] | None

    @property
    def strikes(self) -> tuple[ChainStrike, ...]:
        if not self.expiration.strikes:
            raise StrategyError(
                f"{self.expiration.expiration} has no strikes: choose another expiration"
            )
        return self.expiration.strikes

    def atm(self) -> ChainStrike:
        return self.strikes[self.expiration.nearest_index(self.spot)]

    def short(self, option_type: OptionType) -> ChainStrike:
        """The short strike: by target delta if given, else one strike out of the money."""
        if self.target_delta is not None:
            return self.by_delta(option_type)
        i = self.expiration.nearest_index(self.spot)
        j = i - 1 if option_type is OptionType.PUT else i + 1
        if not 0 <= j < len(self.strikes):
            where = "below" if option_type is OptionType.PUT else "above"
            raise StrategyError(
                f"no strike {where} the at-the-money {_k(self.strikes[i].strike)} in "
                f"{self.expiration.expiration}: choose another expiration"
            )
        return self.strikes[j]

    def center(self, option_type: OptionType) -> ChainStrike:
        """The body of a straddle, butterfly or calendar: by delta if given, else ATM."""
        return self.by_delta(option_type) if self.target_delta is not None else self.atm()

    def by_delta(self, option_type: OptionType) -> ChainStrike:
        target = self.target_delta
        assert target is not None
        if self.delta_of is None:
            raise StrategyError(
                "picking strikes by delta needs live greeks: wait for greeks or clear the delta"
            )
        best: tuple[float, int, ChainStrike] | None = None
        for index, row in enumerate(self.strikes):
            delta = self.delta_of(row.contract(option_type))
            if delta is None or delta != delta:  # None or NaN: no greeks for this strike yet
                continue
            # Ties go to the strike further out of the money.
            otm_rank = index if option_type is OptionType.PUT else -index
            key = (abs(abs(delta) - target), otm_rank, row)
            if best is None or key[:2] < best[:2]:
                best = key
        if best is None:
            raise StrategyError(
                f"no deltas for {self.expiration.expiration} yet: wait for greeks or clear "
                "the target delta"
            )
        return best[2]

    def wing(self, anchor: ChainStrike, below: bool, width: Decimal | None) -> ChainStrike:
        """The listed strike ``width`` below/above ``anchor`` (snapped to within half a width)."""
        prices = self.expiration.strike_prices()
        beyond = [
            row
            for row, price in zip(self.strikes, prices, strict=True)
            if (price < anchor.strike if below else price > anchor.strike)
        ]
        where = "below" if below else "above"
        when = self.expiration.expiration
        if not beyond:
            raise StrategyError(
                f"no strike {where} {_k(anchor.strike)} in {when}: "
                "move the short strike or choose another expiration"
            )
        if width is None:
            return beyond[-1] if below else beyond[0]  # the adjacent strike
        target = anchor.strike - width if below else anchor.strike + width
        # Ties go to the narrower wing (the strike nearer the anchor).
        nearest = min(
            beyond,
            key=lambda row: (abs(row.strike - target), abs(row.strike - anchor.strike)),
        )
        if abs(nearest.strike - target) * 2 > width:
            actual = abs(nearest.strike - anchor.strike)
            raise StrategyError(
                f"no strike {_k(width)} {where} {_k(anchor.strike)} in {when}: "
                f"the nearest listed is {_k(nearest.strike)}, choose a width of {_k(actual)}"
            )
        return nearest


def _leg(option: OptionSymbol, buy: bool, quantity: int) -> Leg:
    return Leg(
        InstrumentType.EQUITY_OPTION,
        option.occ,
        OrderAction.BUY_TO_OPEN if buy else OrderAction.SELL_TO_OPEN,
        Decimal(quantity),
    )


def build_template(
    kind: StrategyKind,
    chain: OptionChain,
    expiration: ChainExpiration,
    spot: Decimal,
    *,
    width: Decimal | None = None,
    target_delta: float | None = None,
    delta_of: Callable[[OptionSymbol], float | None] | None = None,
    quantity: int = 1,
    direction: Direction | None = None,
    option_type: OptionType | None = None,
    back_expiration: ChainExpiration | None = None,
) -> tuple[Leg, ...]:
    """Opening legs for a standard strategy in ``expiration``.

    Short strikes sit one strike out of the money (or at ``target_delta`` when ``delta_of``
    supplies deltas); wings are ``width`` away (default: the adjacent strike).  ``direction``
    "credit" sells the structure, "debit" buys it (defaults: credit for verticals, strangles,
    straddles and iron condors; debit for butterflies and calendars).  ``option_type`` picks
    puts or calls for verticals (default puts), butterflies and calendars (default calls).
    """
    if kind not in _DEFAULT_DIRECTION:
        raise StrategyError(f"there is no template for {kind.value}: build it leg by leg")
    if quantity < 1:
        raise StrategyError(f"quantity {quantity} must be at least 1: enter a whole number")
    if width is not None and width <= 0:
        raise StrategyError(f"width {width} must be positive: enter a width such as 5")
    if target_delta is not None and not 0 < target_delta < 1:
        raise StrategyError(
            f"target delta {target_delta} must be between 0 and 1: enter 0.16 for a 16 delta"
        )
    credit = (direction or _DEFAULT_DIRECTION[kind]) == "credit"
    kind_type = option_type or _DEFAULT_TYPE.get(kind, OptionType.PUT)
    pick = _Picker(expiration, spot, target_delta, delta_of)
    q = quantity
    put, call = OptionType.PUT, OptionType.CALL

    if kind is StrategyKind.VERTICAL:
        below = kind_type is put
        if credit:
            short = pick.short(kind_type)
            long = pick.wing(short, below, width)
        else:
            long = pick.center(kind_type)
            short = pick.wing(long, below, width)
        legs = [
            _leg(long.contract(kind_type), True, q),
            _leg(short.contract(kind_type), False, q),
        ]
    elif kind is StrategyKind.STRANGLE:
        put_row, call_row = pick.short(put), pick.short(call)
        legs = [_leg(put_row.put, not credit, q), _leg(call_row.call, not credit, q)]
    elif kind is StrategyKind.STRADDLE:
        row = pick.atm()
        legs = [_leg(row.put, not credit, q), _leg(row.call, not credit, q)]
    elif kind is StrategyKind.IRON_CONDOR:
        short_put, short_call = pick.short(put), pick.short(call)
        if short_put.strike >= short_call.strike:
            raise StrategyError(
                f"the short put {_k(short_put.strike)} is not below the short call "
                f"{_k(short_call.strike)}: choose a smaller target delta"
            )
        long_put = pick.wing(short_put, True, width)
        long_call = pick.wing(short_call, False, width)
        # A credit (short) condor buys the wings and sells the inner strikes.
        legs = [
            _leg(long_put.put, credit, q),
            _leg(short_put.put, not credit, q),
            _leg(short_call.call, not credit, q),
            _leg(long_call.call, credit, q),
        ]
    elif kind is StrategyKind.BUTTERFLY:
        body = pick.center(kind_type)
        lower, upper = pick.wing(body, True, width), pick.wing(body, False, width)
        legs = [
            _leg(lower.contract(kind_type), not credit, q),
            _leg(body.contract(kind_type), credit, 2 * q),
            _leg(upper.contract(kind_type), not credit, q),
        ]
    else:  # CALENDAR
        legs = _calendar(pick, kind_type, back_expiration, credit, q)
    for leg_ in legs:
        # Defensive: every strike above came from ``expiration``; the chain must agree.
        if chain.expirations and not _listed(chain, leg_.symbol):
            raise StrategyError(
                f"{leg_.symbol} is not in the {chain.underlying} chain: refresh the chain"
            )
    return tuple(legs)


def _listed(chain: OptionChain, occ: str) -> bool:
    return chain.contains(parse_occ(occ))


def _calendar(
    pick: _Picker,
    option_type: OptionType,
    back: ChainExpiration | None,
    credit: bool,
    quantity: int,
) -> list[Leg]:
    front = pick.expiration
    if back is None:
        raise StrategyError("a calendar needs a back-month expiration: choose one")
    if back.expiration <= front.expiration:
        raise StrategyError(
            f"the back month {back.expiration} is not after {front.expiration}: "
            "choose a later back-month expiration"
        )
    row = pick.center(option_type)
    back_row = back.find(row.strike)
    if back_row is None:
        raise StrategyError(
            f"strike {_k(row.strike)} is not listed in {back.expiration}: choose another back month"
        )
    # A long (debit) calendar sells the front month and buys the back month.
    return [
        _leg(row.contract(option_type), credit, quantity),
        _leg(back_row.contract(option_type), not credit, quantity),
    ]
