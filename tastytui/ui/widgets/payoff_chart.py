"""The P&L-at-expiration curve, drawn with braille dots (2×4 dots per terminal cell).

:func:`plot_payoff` is pure: it turns a :class:`PayoffSummary` into a grid of (character, role)
cells — the y-axis labels, the curve (profit or loss), the zero line, breakeven and
underlying-price markers and a row of price labels — so it can be tested without a terminal.
:class:`PayoffChart` paints that grid with theme colours (component classes, no hex).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from rich.text import Text
from textual.widget import Widget

from tastytui.domain.payoff import PayoffSummary

#: Braille dot bits by [dot row 0..3][dot column 0..1] (Unicode's 2×4 braille cell layout).
_DOT_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
_BRAILLE = 0x2800
BREAKEVEN_MARK = "▲"
SPOT_MARK = "◆"
_GUIDE = "┊"

#: Roles a cell can have; the widget maps each to a component class.
ROLES = ("profit", "loss", "zero", "breakeven", "spot", "axis", "label")

Cell = tuple[str, str]  # (character, role; "" = plain)


@dataclass(frozen=True, slots=True)
class PayoffPlot:
    """A rendered chart: ``rows`` of cells, plus where the markers ended up (for tests)."""

    rows: tuple[tuple[Cell, ...], ...]
    lo: Decimal
    hi: Decimal
    pnl_min: Decimal
    pnl_max: Decimal
    #: Terminal column (from the left edge, gutter included) of each breakeven in range.
    breakeven_columns: tuple[int, ...]
    spot_column: int | None
    gutter: int

    @property
    def lines(self) -> list[str]:
        return ["".join(char for char, _ in row) for row in self.rows]

    def plain(self) -> str:
        return "\n".join(self.lines)

    def roles_at(self, column: int) -> set[str]:
        """Every role drawn in one terminal column (any row)."""
        return {row[column][1] for row in self.rows if column < len(row)}


def price_range(summary: PayoffSummary, spot: Decimal | None) -> tuple[Decimal, Decimal]:
    """The prices worth showing: every strike, breakeven and the underlying, with margins."""
    points = [leg.strike for leg in summary.legs if leg.strike is not None]
    points.extend(summary.breakevens)
    if spot is not None and spot > 0:
        points.append(spot)
    if not points:
        # Stock only: a band around the entry price.
        entries = [leg.entry_price for leg in summary.legs if leg.entry_price > 0]
        points = entries or [Decimal(100)]
    lo, hi = min(points), max(points)
    middle = (lo + hi) / 2
    pad = max((hi - lo) * Decimal("0.35"), abs(middle) * Decimal("0.02"), Decimal(1))
    return max(Decimal(0), lo - pad), hi + pad


def _money_label(value: Decimal) -> str:
    if value == 0:
        return "$0"
    sign = "+" if value > 0 else "-"
    return f"{sign}${abs(value):,.0f}"


def _price_label(value: Decimal) -> str:
    return f"{value:.2f}"


def plot_payoff(
    summary: PayoffSummary,
    width: int,
    height: int,
    spot: Decimal | None = None,
    *,
    lo: Decimal | None = None,
    hi: Decimal | None = None,
) -> PayoffPlot:
    """Draw ``summary``'s P&L at expiration in ``width`` × ``height`` cells.

    The last two rows are the marker row (▲ breakeven, ◆ underlying price) and price labels;
    the rows above hold the curve with the P&L scale in a left gutter.
    """
    if lo is None or hi is None:
        lo, hi = price_range(summary, spot)
    plot_rows = max(2, height - 2)
    # The scale comes from the ends and every strike in range: exact for a piecewise-linear
    # payoff, and it fixes the gutter's width before the curve is sampled at the final width.
    kinks = [lo, hi, *(leg.strike for leg in summary.legs if leg.strike and lo < leg.strike < hi)]
    extremes = [summary.pnl_at(price) for price in kinks]
    extremes.extend(pnl for _, pnl in summary.curve(lo, hi, 64))
    top, bottom = max(max(extremes), Decimal(0)), min(min(extremes), Decimal(0))
    top, bottom = top.quantize(Decimal("0.01")), bottom.quantize(Decimal("0.01"))
    gutter = max(len(_money_label(top)), len(_money_label(bottom)), 2) + 1
    cols = max(4, width - gutter)
    dots_x, dots_y = cols * 2, plot_rows * 4
    curve = summary.curve(lo, hi, dots_x)
    span = top - bottom or Decimal(1)

    def dot_row(value: Decimal) -> int:
        # Clamped: a curved (calendar) payoff may peak between the sampled kinks.
        return max(0, min(dots_y - 1, round((top - value) / span * (dots_y - 1))))

    def dot_col(price: Decimal) -> int:
        return round((price - lo) / (hi - lo) * (dots_x - 1))

    zero = dot_row(Decimal(0))
    bits = [[0] * cols for _ in range(plot_rows)]
    # Per cell: dots above the zero line minus dots below it (decides profit or loss colour).
    side = [[0] * cols for _ in range(plot_rows)]
    previous: int | None = None
    for x, (_, pnl) in enumerate(curve):
        y = dot_row(pnl)
        # Join to the previous sample so steep segments stay one unbroken line.
        start, end = (y, y) if previous is None else (min(previous, y), max(previous, y))
        for yy in range(start, end + 1):
            bits[yy // 4][x // 2] |= _DOT_BITS[yy % 4][x % 2]
            side[yy // 4][x // 2] += (yy < zero) - (yy > zero)
        previous = y

    breakeven_cols = tuple(
        dot_col(b) // 2 for b in summary.breakevens if lo <= b <= hi
    )  # plot columns
    spot_col = dot_col(spot) // 2 if spot is not None and lo <= spot <= hi else None

    rows: list[tuple[Cell, ...]] = []
    for r in range(plot_rows):
        label = ""
        if r == 0:
            label = _money_label(top)
        elif r == plot_rows - 1:
            label = _money_label(bottom)
        if r == zero // 4 and label == "":
            label = "$0"
        row: list[Cell] = [(ch, "axis") for ch in label.rjust(gutter - 1)] + [("│", "axis")]
        for c in range(cols):
            cell_bits = bits[r][c]
            if cell_bits:
                lean = side[r][c]
                role = "profit" if lean > 0 else ("loss" if lean < 0 else "zero")
                row.append((chr(_BRAILLE + cell_bits), role))
            elif r == zero // 4:
                row.append(
                    (chr(_BRAILLE + _DOT_BITS[zero % 4][0] + _DOT_BITS[zero % 4][1]), "zero")
                )
            elif c == spot_col:
                row.append((_GUIDE, "spot"))
            elif c in breakeven_cols:
                row.append((_GUIDE, "breakeven"))
            else:
                row.append((" ", ""))
        rows.append(tuple(row))

    markers: list[Cell] = [(" ", "")] * (gutter - 1) + [("└", "axis")] + [("─", "axis")] * cols
    for c in breakeven_cols:
        markers[gutter + c] = (BREAKEVEN_MARK, "breakeven")
    if spot_col is not None:
        markers[gutter + spot_col] = (SPOT_MARK, "spot")
    rows.append(tuple(markers))

    labels: list[Cell] = [(" ", "")] * (gutter + cols)
    taken: list[tuple[int, int]] = []

    def place(text: str, center: int, role: str) -> None:
        start = max(gutter, min(gutter + cols - len(text), center - len(text) // 2))
        end = start + len(text)
        if any(start <= b and a <= end for a, b in taken):  # keep one space between labels
            return
        taken.append((start, end))
        for i, ch in enumerate(text):
            labels[start + i] = (ch, role)

    for c, value in zip(
        breakeven_cols, (b for b in summary.breakevens if lo <= b <= hi), strict=True
    ):
        place(_price_label(value), gutter + c, "breakeven")
    if spot_col is not None and spot is not None:
        place(_price_label(spot), gutter + spot_col, "spot")
    place(_price_label(lo), gutter, "label")
    place(_price_label(hi), gutter + cols - 1, "label")
    rows.append(tuple(labels))

    return PayoffPlot(
        rows=tuple(rows),
        lo=lo,
        hi=hi,
        pnl_min=bottom,
        pnl_max=top,
        breakeven_columns=tuple(gutter + c for c in breakeven_cols),
        spot_column=None if spot_col is None else gutter + spot_col,
        gutter=gutter,
    )


class PayoffChart(Widget):
    """The payoff curve of a review; repainted only when its summary or size changes."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"payoff-chart--{role}" for role in ROLES}

    DEFAULT_CSS = """
    PayoffChart { height: 10; }
    PayoffChart > .payoff-chart--profit { color: $price-up; }
    PayoffChart > .payoff-chart--loss { color: $price-down; }
    PayoffChart > .payoff-chart--zero { color: $muted; }
    PayoffChart > .payoff-chart--breakeven { color: $warning; }
    PayoffChart > .payoff-chart--spot { color: $primary; text-style: bold; }
    PayoffChart > .payoff-chart--axis { color: $muted; }
    PayoffChart > .payoff-chart--label { color: $muted; }
    """

    def __init__(
        self, summary: PayoffSummary | None, spot: Decimal | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.summary = summary
        self.spot = spot

    def set_payoff(self, summary: PayoffSummary | None, spot: Decimal | None) -> None:
        self.summary = summary
        self.spot = spot
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        if self.summary is None:
            return Text(
                "No payoff curve: the P&L could not be computed for this order.",
                style=self.get_component_rich_style("payoff-chart--label", partial=True),
            )
        if width < 20 or height < 4:
            return Text("")
        plot = plot_payoff(self.summary, width, height, self.spot)
        styles = {
            role: self.get_component_rich_style(f"payoff-chart--{role}", partial=True)
            for role in ROLES
        }
        out = Text(no_wrap=True, overflow="crop")
        for i, row in enumerate(plot.rows):
            if i:
                out.append("\n")
            # Consecutive cells of one role become one span.
            run, role_now = "", ""
            for char, role in row:
                if role != role_now and run:
                    out.append(run, styles.get(role_now, ""))
                    run = ""
                role_now = role
                run += char
            if run:
                out.append(run, styles.get(role_now, ""))
        return out
