"""A line chart drawn with braille dots: y-axis money labels on the left, date labels below.

The layout (:func:`plot`) is pure — values in, rows of (text, role) segments out — so it is
tested without a terminal; :class:`LineChart` styles the roles from theme component classes.
Points are spaced by index, not by time, so nights and weekends leave no gaps (as trading
charts do).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.widget import Widget

from tastytui.ui import format as fmt

Segment = tuple[str, str]  # (text, role): role is "label", "axis", "line" or "empty"
Row = list[Segment]

# Braille dot bits by (column, row) inside a 2×4 cell.
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
_MIN_WIDTH, _MIN_HEIGHT = 24, 5


def money_label(places: int) -> Callable[[float], str]:
    return lambda value: fmt.money(value, places)


def y_ticks(lo: float, hi: float, rows: int) -> dict[int, float]:
    """Rows that carry a y label (top, bottom and about every fourth row), with their value."""
    if rows <= 1:
        return {0: hi}
    step = max(2, min(4, rows // 3 or 1))
    marks = list(range(0, rows, step))
    if rows - 1 - marks[-1] < 2 and len(marks) > 1:
        marks[-1] = rows - 1  # avoid two labels on adjacent rows at the bottom
    else:
        marks.append(rows - 1)
    return {r: hi - r / (rows - 1) * (hi - lo) for r in marks}


def _line(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """Bresenham's line between two pixels, both ends included."""
    points = []
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    while True:
        points.append((x0, y0))
        if x0 == x1 and y0 == y1:
            return points
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy


def plot(
    values: Sequence[float],
    x_labels: Sequence[str],
    width: int,
    height: int,
    y_label: Callable[[float], str] | None = None,
) -> list[Row]:
    """Lay out a chart of ``values`` in ``width`` × ``height`` cells.

    ``x_labels`` has one label per value (shown under a few evenly spaced ticks).  Returns
    ``height`` rows; each row's segments add up to ``width`` characters.
    """
    if not values:
        return [[(" " * width, "empty")] for _ in range(height)]
    if width < _MIN_WIDTH or height < _MIN_HEIGHT:
        text = "enlarge the window to see the chart"[:width].ljust(width)
        return [[(text, "label")]] + [[(" " * width, "empty")] for _ in range(height - 1)]
    lo, hi = min(values), max(values)
    if math.isclose(lo, hi):
        pad = max(abs(hi) * 0.001, 1.0)
        lo, hi = lo - pad, hi + pad
    label = y_label or money_label(0 if hi - lo >= 50 else 2)
    plot_h = height - 2
    ticks = y_ticks(lo, hi, plot_h)
    labels = {r: label(v) for r, v in ticks.items()}
    label_w = max(len(t) for t in labels.values())
    axis_w = label_w + 2  # "label ┤"
    plot_w = width - axis_w
    px_w, px_h = plot_w * 2, plot_h * 4
    count = len(values)

    def pixel(i: int) -> tuple[int, int]:
        x = px_w // 2 if count == 1 else round(i * (px_w - 1) / (count - 1))
        y = round((hi - values[i]) / (hi - lo) * (px_h - 1))
        return x, min(max(y, 0), px_h - 1)

    cells = [[0] * plot_w for _ in range(plot_h)]
    previous = pixel(0)
    dots = [previous]
    for i in range(1, count):
        current = pixel(i)
        dots.extend(_line(*previous, *current))
        previous = current
    for x, y in dots:
        cells[y // 4][x // 2] |= _DOTS[x % 2][y % 4]

    rows: list[Row] = []
    for r in range(plot_h):
        text = labels.get(r, "")
        rows.append(
            [
                (text.rjust(label_w) + " ", "label"),
                ("┤" if r in labels else "│", "axis"),
                ("".join(chr(0x2800 + c) if c else " " for c in cells[r]), "line"),
            ]
        )
    # X axis with ticks under evenly spaced points, then their labels.
    x_w = max((len(t) for t in x_labels), default=0)
    slots = max(2, min(count, plot_w // (x_w + 4))) if x_w else 0
    tick_cols: list[tuple[int, str]] = []
    if count == 1 and x_w:
        tick_cols = [(plot_w // 2, x_labels[0])]
    elif slots:
        for k in range(slots):
            col = round(k * (plot_w - 1) / (slots - 1))
            index = round(col / max(1, plot_w - 1) * (count - 1))
            tick_cols.append((col, x_labels[index]))
    axis = ["─"] * plot_w
    under = [" "] * plot_w
    last_end = -2
    for col, text in tick_cols:
        start = min(max(col - len(text) // 2, 0), plot_w - len(text))
        if start <= last_end + 1:
            continue  # never let two labels touch
        axis[col] = "┬"
        under[start : start + len(text)] = list(text)
        last_end = start + len(text) - 1
    rows.append([(" " * (axis_w - 1), "empty"), ("└" + "".join(axis), "axis")])
    rows.append([(" " * axis_w, "empty"), ("".join(under), "label")])
    return rows


class LineChart(Widget):
    """A braille line chart; ``set_data`` replaces the series, ``trend`` colours the line."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "line-chart--up",
        "line-chart--down",
        "line-chart--axis",
        "line-chart--label",
    }

    DEFAULT_CSS = """
    LineChart { height: 1fr; min-height: 6; }
    LineChart > .line-chart--up { color: $price-up; }
    LineChart > .line-chart--down { color: $price-down; }
    LineChart > .line-chart--axis { color: $muted; }
    LineChart > .line-chart--label { color: $foreground; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.values: list[float] = []
        self.x_labels: list[str] = []
        self.rising = True
        self._cache: tuple[tuple[int, int, int], Text] | None = None
        self._version = 0

    def set_data(self, values: Sequence[float], x_labels: Sequence[str]) -> None:
        self.values = list(values)
        self.x_labels = list(x_labels)
        self.rising = len(self.values) < 2 or self.values[-1] >= self.values[0]
        self._version += 1
        self.refresh()

    def rows(self) -> list[Row]:
        return plot(self.values, self.x_labels, self.size.width, self.size.height)

    def render(self) -> Text:
        key = (self._version, self.size.width, self.size.height)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        styles = {
            "line": self.get_component_rich_style(
                "line-chart--up" if self.rising else "line-chart--down", partial=True
            ),
            "axis": self.get_component_rich_style("line-chart--axis", partial=True),
            "label": self.get_component_rich_style("line-chart--label", partial=True),
            "empty": None,
        }
        lines = []
        for row in self.rows():
            line = Text(no_wrap=True, overflow="crop")
            for text, role in row:
                line.append(text, styles[role])
            lines.append(line)
        result = Text("\n").join(lines)
        self._cache = (key, result)
        return result

    def notify_style_update(self) -> None:
        # A theme switch changes the component colours: drop the cached text.
        self._cache = None
        super().notify_style_update()
