"""Reading the model's tool arguments: each problem raises a message saying how to fix it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from tastytui.domain.symbols import OptionSymbol, SymbolError, normalize_equity, parse_option
from tastytui.services.chat.sanitize import strip_controls

#: An OCC symbol with any padding between root and date ("SPY 261218P00648000").
OCC_LOOSE = re.compile(r"^([A-Z][A-Z0-9]{0,5})\s*(\d{6})([CP])(\d{8})$")


class ToolInputError(ValueError):
    """The model called a tool with arguments that cannot work; the message says how to fix it."""


def text_arg(args: Mapping[str, Any], key: str, *, required: bool = False, limit: int = 80) -> str:
    """A text argument, stripped of control characters and cut to ``limit``."""
    value = args.get(key)
    if value is None or value == "":
        if required:
            raise ToolInputError(f"'{key}' is required")
        return ""
    if not isinstance(value, str):
        raise ToolInputError(f"'{key}' must be text")
    return strip_controls(value).strip()[:limit]


def int_arg(args: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    """A whole-number argument clamped to [low, high]."""
    value = args.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ToolInputError(f"'{key}' must be a whole number")
    return max(low, min(high, int(value)))


def date_arg(args: Mapping[str, Any], key: str) -> date | None:
    """A YYYY-MM-DD argument."""
    value = args.get(key)
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ToolInputError(f"'{key}' must be a date such as 2026-12-18") from None


def decimal_arg(value: Any, what: str) -> Decimal:
    """A finite number as a Decimal."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ToolInputError(f"'{what}' must be a number") from None
    if not number.is_finite():
        raise ToolInputError(f"'{what}' must be a finite number")
    return number


def parse_option_text(text: str) -> OptionSymbol | None:
    """An option symbol typed by the model (OCC with any padding, or streamer form)."""
    candidate = text.strip().upper()
    match = OCC_LOOSE.match(candidate)
    if match is not None:
        root, yymmdd, kind, millis = match.groups()
        candidate = f"{root:<6}{yymmdd}{kind}{millis}"
    try:
        return parse_option(candidate)
    except SymbolError:
        return None


def instrument(text: str) -> tuple[str, OptionSymbol | None]:
    """(streamer/ticker key, option) for a symbol the model gave; raises ToolInputError."""
    option = parse_option_text(text)
    if option is not None:
        return option.streamer, option
    try:
        return normalize_equity(text), None
    except SymbolError as exc:
        raise ToolInputError(str(exc)) from None


def symbol_list(args: Mapping[str, Any], key: str, limit: int) -> list[str]:
    """A list of at most ``limit`` symbols (a single string is accepted)."""
    value = args.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ToolInputError(f"'{key}' must be a list of symbols such as [\"SPY\"]")
    if len(value) > limit:
        raise ToolInputError(f"at most {limit} symbols at a time (got {len(value)})")
    return [str(v) for v in value]
