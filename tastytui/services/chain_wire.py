"""Decoding tastytrade's nested option chain (``GET /option-chains/{symbol}/nested``).

An index chain is a large answer (SPX: 72 expirations over two roots, ~15,000 strikes, 2.5 MB
of JSON).  The SDK's pydantic models of it cost about as much as the fetch, and building every
contract up front several times more, while the console shows one expiration at a time
(benchmarks/chain_open.py).  This decoder reads what the domain chain needs straight from the
parsed JSON and leaves each expiration's contracts to be built on first use
(:meth:`ChainExpiration.deferred`).

Tolerant, like the DXLink decoder: unknown fields are ignored, and a malformed strike row or
expiration is skipped (it must not hide the rest of the chain).  What the chain cannot do
without — the list of roots, their tick sizes and shares per contract — fails with a
:class:`BrokerUnavailable` that says what was wrong.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

from tastytui.domain.chain import ChainExpiration, ChainStrike, OptionChain
from tastytui.domain.symbols import OptionType, SymbolError, parse_occ
from tastytui.domain.ticks import TickError, TickSchedule
from tastytui.services.errors import BrokerRejected, BrokerUnavailable

_BY_STRIKE = itemgetter(0)


def nested_chain_path(symbol: str) -> str:
    """The REST path of ``symbol``'s nested chain (futures roots carry a slash)."""
    return f"/option-chains/{symbol.replace('/', '%2F')}/nested"


def decode_nested_chain(symbol: str, data: Any) -> OptionChain:
    """The domain chain of every root in ``data`` (the answer's ``data`` object).

    Raises :class:`BrokerRejected` when no root is listed, :class:`BrokerUnavailable` when the
    answer is not a chain tastytui can read.
    """
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise _unreadable(symbol, "no list of option roots")
    if not items:
        raise BrokerRejected(f"{symbol} has no listed options")
    roots = [item for item in items if isinstance(item, dict)]
    if not roots:
        raise _unreadable(symbol, "no option root is an object")
    first = roots[0]
    schedule = _tick_schedule(symbol, first.get("tick-sizes"))
    shares = _shares(symbol, first.get("shares-per-contract"))
    expirations: list[ChainExpiration] = []
    skipped = 0
    for root in roots:
        name, listed = root.get("root-symbol"), root.get("expirations")
        if not isinstance(name, str) or not name or not isinstance(listed, list):
            skipped += 1
            continue
        for raw in listed:
            expiration = _expiration(name, raw)
            if expiration is None:
                skipped += 1
            else:
                expirations.append(expiration)
    if skipped and not expirations:
        raise _unreadable(symbol, f"none of its {skipped} expirations is readable")
    expirations.sort(key=lambda e: (e.expiration, e.root))
    return OptionChain(symbol, tuple(expirations), schedule, shares)


def decode_strikes(rows: list[Any]) -> list[ChainStrike]:
    """An expiration's strike rows as domain strikes, lowest first; malformed rows are left out
    (a missing or unparsable OCC symbol, a call/put mix-up, a strike that is not a price)."""
    keyed: list[tuple[Decimal, str, str]] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        strike = _price(row.get("strike-price"))
        call, put = row.get("call"), row.get("put")
        if strike is None or not isinstance(call, str) or not isinstance(put, str):
            continue
        keyed.append((strike, call, put))
    keyed.sort(key=_BY_STRIKE)
    out: list[ChainStrike] = []
    for strike, call_occ, put_occ in keyed:
        try:
            call = parse_occ(call_occ)
            put = parse_occ(put_occ)
        except SymbolError:
            continue
        if call.option_type is not OptionType.CALL or put.option_type is not OptionType.PUT:
            continue
        out.append(ChainStrike(strike, call, put))
    return out


def _expiration(root: str, raw: Any) -> ChainExpiration | None:
    if not isinstance(raw, dict):
        return None
    when, rows = raw.get("expiration-date"), raw.get("strikes")
    if not isinstance(when, str) or not isinstance(rows, list):
        return None
    try:
        day = date.fromisoformat(when)
    except ValueError:
        return None
    return ChainExpiration.deferred(
        root,
        day,
        _text(raw.get("expiration-type")),
        _text(raw.get("settlement-type")),
        lambda: decode_strikes(rows),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _price(value: Any) -> Decimal | None:
    """A positive, finite strike price from a JSON string or number, else None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        price = Decimal(value if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError):
        return None
    return price if price.is_finite() and price > 0 else None


def _tick_schedule(symbol: str, entries: Any) -> TickSchedule:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise _unreadable(symbol, "no list of tick sizes")
    try:
        return TickSchedule.from_wire(entries)
    except (TickError, TypeError):
        raise _unreadable(symbol, "its tick sizes are not valid") from None


def _shares(symbol: str, value: Any) -> int:
    shares: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        shares = value
    elif isinstance(value, str) and value.isdigit() and len(value) < 10:
        shares = int(value)
    if shares is None or shares <= 0 or shares > 1_000_000:
        raise _unreadable(symbol, "no valid shares per contract")
    return shares


def _unreadable(symbol: str, why: str) -> BrokerUnavailable:
    return BrokerUnavailable(
        f"tastytrade sent the {symbol} option chain in a form tastytui could not read ({why}); "
        "try again — if it persists, tastytrade may have changed its API"
    )
