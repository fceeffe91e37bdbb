"""Option and equity symbols in their two wire forms.

tastytrade's REST API names an equity option in OCC form (``SPY   251219P00685000``: the root
padded to six, ``yymmdd``, ``C``/``P``, strike × 1000 in eight digits), while DXLink streams it in
dxfeed form (``.SPY251219P685``).  The SDK's own streamer→OCC helper is wrong for two-decimal
strikes, so we parse both forms here and never derive one from the other through the SDK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache

_OCC_RE = re.compile(r"^([A-Z][A-Z0-9 ]{5})(\d{6})([CP])(\d{8})$")
_STREAMER_RE = re.compile(r"^\.([A-Z][A-Z0-9]*?)(\d{6})([CP])(\d+(?:\.\d+)?)$")
_EQUITY_RE = re.compile(r"^[A-Z][A-Z0-9]{0,5}(?:/[A-Z])?$")
_ROOT_RE = re.compile(r"[A-Z][A-Z0-9]{0,5}")
_MAX_STRIKE = Decimal("99999.999")
_ZERO = Decimal(0)
_MILLI = Decimal("0.001")


class SymbolError(ValueError):
    """A symbol that is not a valid equity, OCC option or streamer option symbol."""


class OptionType(StrEnum):
    CALL = "C"
    PUT = "P"


_OPTION_TYPES = {t.value: t for t in OptionType}


@dataclass(frozen=True, slots=True, order=True)
class OptionSymbol:
    """One equity option contract, identified by root, expiration, type and strike."""

    root: str
    expiration: date
    option_type: OptionType
    strike: Decimal

    def __post_init__(self) -> None:
        # Module-level constants and compiled patterns: an index chain parses ~30,000 of these.
        if not _ROOT_RE.fullmatch(self.root):
            raise SymbolError(f"option root {self.root!r} must be 1-6 letters or digits")
        if not (_ZERO < self.strike <= _MAX_STRIKE):
            raise SymbolError(f"strike {self.strike} is outside 0 < strike <= 99999.999")
        if self.strike != self.strike.quantize(_MILLI):
            raise SymbolError(f"strike {self.strike} has more than three decimals")

    @property
    def is_call(self) -> bool:
        return self.option_type is OptionType.CALL

    @property
    def occ(self) -> str:
        """The 21-character OCC symbol used by tastytrade's REST API."""
        millis = int(self.strike * 1000)
        return f"{self.root:<6}{self.expiration:%y%m%d}{self.option_type.value}{millis:08d}"

    @property
    def streamer(self) -> str:
        """The dxfeed symbol used by DXLink: whole strikes without decimals."""
        strike = format_strike(self.strike)
        return f".{self.root}{self.expiration:%y%m%d}{self.option_type.value}{strike}"


def format_strike(strike: Decimal) -> str:
    """A strike without trailing zeros: 685 → '685', 682.50 → '682.5'."""
    text = format(strike.normalize(), "f")
    return text


@lru_cache(maxsize=1024)  # a chain repeats a few hundred dates thousands of times
def _parse_yymmdd(text: str) -> date:
    try:
        return date(2000 + int(text[0:2]), int(text[2:4]), int(text[4:6]))
    except ValueError as exc:
        raise SymbolError(f"{text!r} is not a valid yymmdd expiration") from exc


def parse_occ(symbol: str) -> OptionSymbol:
    """Parse a 21-character OCC option symbol."""
    match = _OCC_RE.match(symbol)
    if match is None:
        raise SymbolError(
            f"{symbol!r} is not an OCC option symbol (expected e.g. 'SPY   251219P00685000')"
        )
    root, yymmdd, kind, millis = match.groups()
    root = root.rstrip()
    if " " in root:
        raise SymbolError(f"{symbol!r} has a space inside its root")
    strike = Decimal(int(millis)) / 1000
    return OptionSymbol(root, _parse_yymmdd(yymmdd), _OPTION_TYPES[kind], strike)


def parse_streamer(symbol: str) -> OptionSymbol:
    """Parse a dxfeed option symbol such as '.SPY251219P685' or '.AAPL250620C1.25'."""
    match = _STREAMER_RE.match(symbol)
    if match is None:
        raise SymbolError(
            f"{symbol!r} is not a streamer option symbol (expected e.g. '.SPY251219P685')"
        )
    root, yymmdd, kind, strike_text = match.groups()
    try:
        strike = Decimal(strike_text)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise SymbolError(f"{symbol!r} has an invalid strike") from exc
    return OptionSymbol(root, _parse_yymmdd(yymmdd), OptionType(kind), strike)


def parse_option(symbol: str) -> OptionSymbol:
    """Parse an option symbol in either OCC or streamer form."""
    if symbol.startswith("."):
        return parse_streamer(symbol)
    return parse_occ(symbol)


def is_option_symbol(symbol: str) -> bool:
    return bool(_OCC_RE.match(symbol) or _STREAMER_RE.match(symbol))


def occ_to_streamer(symbol: str) -> str:
    return parse_occ(symbol).streamer


def streamer_to_occ(symbol: str) -> str:
    return parse_streamer(symbol).occ


def normalize_equity(text: str) -> str:
    """Upper-case and validate an equity or index ticker typed by a user.

    Raises :class:`SymbolError` with a message saying what a ticker looks like.
    """
    candidate = text.strip().upper()
    if not candidate:
        raise SymbolError("empty symbol: type a ticker such as SPY or AAPL")
    if not _EQUITY_RE.match(candidate):
        raise SymbolError(
            f"{text.strip()!r} is not a ticker: use 1-6 letters or digits starting with a "
            "letter, optionally with a class suffix such as BRK/B"
        )
    return candidate
