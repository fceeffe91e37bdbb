"""A canonical form of Textual's SVG screenshots.

Textual emits one ``<text>``/``<rect>`` per run of segments, and how a line is split into
segments depends on how it reached the compositor (a whole-widget repaint or a line refresh),
not on what it shows.  Merging touching runs of the same style on the same line gives one
form per picture, so a snapshot changes only when the screen does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TEXT = re.compile(
    r'<text class="([^"]+)" x="([\d.]+)" y="([\d.]+)" textLength="([\d.]+)" '
    r'clip-path="([^"]+)">([^<]*)</text>'
)
_RECT = re.compile(
    r'<rect fill="([^"]+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" '
    r'shape-rendering="crispEdges"/>'
)

Groups = list[str]


def _merge(
    svg: str,
    pattern: re.Pattern[str],
    same: Callable[[Groups], tuple[str, ...]],
    length: int,
    build: Callable[[Groups], str],
    join: Callable[[Groups, Groups], None],
) -> str:
    """Merge consecutive matches that touch (x + length == next x) and agree on ``same``."""
    out: list[str] = []
    pos = 0
    run: Groups | None = None
    for match in pattern.finditer(svg):
        between = svg[pos : match.start()]
        groups = list(match.groups())
        touching = (
            run is not None
            and not between.strip()
            and same(run) == same(groups)
            and abs(float(run[1]) + float(run[length]) - float(groups[1])) < 0.05
        )
        if run is not None and touching:
            join(run, groups)
        else:
            if run is not None:
                out.append(build(run))
            out.append(between)
            run = groups
        pos = match.end()
    if run is not None:
        out.append(build(run))
    out.append(svg[pos:])
    return "".join(out)


def _grow(run: Groups, index: int, other: Groups) -> None:
    run[index] = f"{float(run[index]) + float(other[index]):.4f}".rstrip("0").rstrip(".")


def _text(groups: Groups) -> str:
    cls, x, y, width, clip, content = groups
    return (
        f'<text class="{cls}" x="{x}" y="{y}" textLength="{width}" clip-path="{clip}">'
        f"{content}</text>"
    )


def _join_text(run: Groups, other: Groups) -> None:
    _grow(run, 3, other)
    run[5] += other[5]


def _rect(groups: Groups) -> str:
    fill, x, y, width, height = groups
    return (
        f'<rect fill="{fill}" x="{x}" y="{y}" width="{width}" height="{height}" '
        'shape-rendering="crispEdges"/>'
    )


def canonical(svg: str) -> str:
    """The same picture with touching same-style runs merged (text and backgrounds)."""
    svg = _merge(svg, _TEXT, lambda g: (g[0], g[2], g[4]), 3, _text, _join_text)
    return _merge(svg, _RECT, lambda g: (g[0], g[2], g[4]), 3, _rect, lambda r, o: _grow(r, 3, o))
