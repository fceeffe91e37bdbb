"""Formatting for the screen: numbers, money, ages — and making untrusted text inert.

Broker text (descriptions, reject reasons, symbols) and the model's text may carry Rich markup
(``[bold]``) or terminal escape sequences (``\\x1b]52;…``).  :func:`inert` strips control and
escape sequences and returns a ``rich.text.Text`` (never parsed as markup), so what is shown is
exactly the characters received, minus anything a terminal would interpret.
"""

from __future__ import annotations

import math
import re

from rich.text import Text

# CSI, OSC (terminated by BEL or ST), other ESC sequences, then remaining C0/C1 controls.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"  # DCS, PM, APC, SOS
    r"|\x1b[@-Z\\-_]?"  # other two-byte escapes (and a lone ESC)
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # C0 (except tab/newline) and C1 controls
)
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def clean(text: str, *, max_length: int | None = None) -> str:
    """Remove escape sequences, control characters and bidi overrides from untrusted text."""
    out = _BIDI.sub("", _ESCAPES.sub("", text)).replace("\t", " ")
    if max_length is not None and len(out) > max_length:
        out = out[: max_length - 1] + "…"
    return out


def inert(text: str, style: str = "", *, max_length: int | None = None) -> Text:
    """Untrusted text as a Rich ``Text``: literal characters, never markup."""
    return Text(clean(text, max_length=max_length), style=style, no_wrap=True)


def num(value: float | None, places: int = 2, width: int = 0) -> str:
    """A number with thousands separators, or an em dash when there is none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        text = "—"
    else:
        text = f"{value:,.{places}f}"
    return text.rjust(width) if width else text


def signed(value: float | None, places: int = 2, width: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—".rjust(width) if width else "—"
    text = f"{value:+,.{places}f}"
    return text.rjust(width) if width else text


def money(value: float | None, places: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{places}f}"


def pct(value: float | None, places: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value * 100:.{places}f}%"


def age(seconds: float | None) -> str:
    """A compact data age: 4s, 3m, 2h."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h"


def compact(value: float | None) -> str:
    """Sizes and volumes: 950, 12.3K, 4.5M."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    magnitude = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if magnitude >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int) -> str:
    """A one-line chart of the last ``width`` values (gaps tolerated)."""
    points = [v for v in values if v is not None and math.isfinite(v)][-width:]
    if not points:
        return " " * width
    lo, hi = min(points), max(points)
    span = hi - lo or 1.0
    chars = "".join(SPARK[min(7, int((v - lo) / span * 7.999))] for v in points)
    return chars.rjust(width)
