"""Making text safe to hand to the model and to the screen.

Two kinds of text cross the chat:

- **Broker text** (descriptions, watchlist names, reject reasons, warnings — anything a third
  party could have written) goes to the model wrapped as ``{"untrusted_text": "…"}`` after its
  control and escape sequences are stripped.  The system prompt tells the model that such values
  are data, never instructions; the wrapping lets it tell them apart from our own fields.
- **Model text** is stripped of escape sequences before it reaches the screen; the pane renders
  it as Markdown (never as Rich/Textual markup) with links disabled.

Secrets never leave: every tool result and user message passes through :func:`scrub`, which
masks the registered secrets (``tastytui.secrets``) and any extra live values (the bearer token).
The patterns mirror ``tastytui.ui.format`` (the UI may not be imported from the service layer).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tastytui.secrets import redact

# CSI, OSC (terminated by BEL or ST), DCS/PM/APC/SOS, other ESC sequences, then C0/C1 controls.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")
# A plain ticker (SPY, BRK/B, /ES, .SPXW…) or an OCC option symbol: data, not prose.
_SYMBOL = re.compile(r"^[A-Z0-9./]{1,12}$|^[A-Z0-9.]{1,6} {0,5}\d{6}[CP]\d{8}$")
_MASK = "«redacted»"

#: The key under which broker text is handed to the model.
UNTRUSTED = "untrusted_text"


def strip_controls(text: str, *, max_length: int | None = None) -> str:
    """Remove escape sequences, control characters (tab → space) and bidi overrides."""
    out = _BIDI.sub("", _ESCAPES.sub("", text)).replace("\t", " ")
    if max_length is not None and len(out) > max_length:
        out = out[: max_length - 1] + "…"
    return out


def untrusted(text: object, *, max_length: int = 200) -> dict[str, str] | None:
    """Broker text for the model: stripped and wrapped so it reads as data, not instructions."""
    if text is None:
        return None
    return {UNTRUSTED: strip_controls(str(text), max_length=max_length)}


def symbol(text: object) -> str | dict[str, str] | None:
    """A symbol from the broker: kept plain when it looks like one, else marked untrusted."""
    if text is None:
        return None
    value = str(text)
    if _SYMBOL.match(value):
        return value
    return untrusted(value, max_length=40)


def scrub(text: str, extra: Iterable[str] = ()) -> str:
    """Mask registered secrets and ``extra`` live values (e.g. the bearer token) in ``text``."""
    out = redact(text)
    for value in extra:
        if value and len(value) >= 6 and value in out:
            out = out.replace(value, _MASK)
    return out


class StreamCleaner:
    """Strips escape sequences from streamed model text, even when one spans two deltas.

    A delta ending inside an escape sequence is held back (up to a bounded length) until the
    sequence completes, so no fragment of it reaches the screen as ``]52;c;…`` text either.
    """

    _HOLD_LIMIT = 512

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, delta: str) -> str:
        text = self._pending + delta
        self._pending = ""
        cut = text.rfind("\x1b")
        if cut != -1 and len(text) - cut <= self._HOLD_LIMIT and not _complete(text[cut:]):
            text, self._pending = text[:cut], text[cut:]
        return strip_controls(text)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return strip_controls(text)


def _complete(sequence: str) -> bool:
    """Whether an escape sequence starting at ``sequence[0]`` (ESC) is complete."""
    if len(sequence) < 2:
        return False
    kind = sequence[1]
    if kind == "[":
        return re.match(r"\x1b\[[0-?]*[ -/]*[@-~]", sequence) is not None
    if kind in "]P^_X":
        return "\x07" in sequence or "\x1b\\" in sequence[1:]
    return True


def compact(value: Any) -> Any:
    """Drop empty fields (None, empty lists/dicts) recursively so tool results stay small."""
    if isinstance(value, dict):
        out = {k: compact(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [compact(v) for v in value]
    return value
