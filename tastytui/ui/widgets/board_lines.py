"""The quote board's grid: a Line API widget with one cached strip per row.

Only rows on screen are ever rendered.  Each row's strip is cached under a key made of the
symbol, its data version (bumped when the QuoteStore reports it dirty, or its IV rank arrives),
what the clock-driven parts show (the stale age, the sparkline's last bar), the cursor state and
the width; a flush repaints only the lines whose key changed (``refresh_line``).  The header is
line 0 and never scrolls.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from tastytui.ui import format as fmt

if TYPE_CHECKING:
    from tastytui.domain.clock import Clock
    from tastytui.services.quotes import QuoteStore

# --------------------------------------------------------------------------- columns


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    width: int  # cells of content; every column but the first is preceded by one space
    priority: int  # lower fits first when the board is narrow
    right: bool = True


#: Canonical left-to-right order; narrow boards keep the columns of lowest priority.
COLUMNS: tuple[Column, ...] = (
    Column("symbol", "Symbol", 6, 0, right=False),
    Column("last", "Last", 8, 1),
    Column("change", "Chg", 7, 5),
    Column("pct", "Chg%", 6, 2),
    Column("bid", "Bid", 8, 6),
    Column("ask", "Ask", 8, 7),
    Column("size", "Size", 9, 8),
    Column("ivr", "IVR", 3, 4),
    Column("spark", "Day", 8, 3, right=False),
)


@lru_cache(maxsize=32)
def fit_columns(width: int) -> tuple[Column, ...]:
    """The columns that fit ``width`` cells, chosen by priority, shown in canonical order."""
    chosen: set[str] = set()
    used = 0
    for column in sorted(COLUMNS, key=lambda c: c.priority):
        need = column.width + (1 if chosen else 0)
        if used + need <= width:
            chosen.add(column.key)
            used += need
    return tuple(c for c in COLUMNS if c.key in chosen)


# --------------------------------------------------------------------------- row values


@dataclass(frozen=True, slots=True)
class RowValues:
    """What one board row shows, read from the QuoteStore (no formatting yet)."""

    symbol: str
    last: float | None
    change: float | None
    pct: float | None  # fraction, 0.0123 = 1.23 %
    bid: float | None
    ask: float | None
    bid_size: float | None
    ask_size: float | None


def read_row(store: QuoteStore | None, symbol: str) -> RowValues:
    """The row's values; change is against the previous close (Summary), else Trade.change."""
    if store is None:
        return RowValues(symbol, None, None, None, None, None, None, None)
    last = store.last(symbol)
    summary = store.summary(symbol)
    prev = summary.prev_close if summary is not None else None
    change: float | None = None
    if last is not None and prev is not None:
        change = last - float(prev)
    else:
        trade = store.trade(symbol)
        if trade is not None and trade.change is not None:
            change = float(trade.change)
            if last is not None:
                prev = last - change
    pct = change / float(prev) if change is not None and prev else None
    quote = store.quote(symbol)
    if quote is None:
        return RowValues(symbol, last, change, pct, None, None, None, None)
    return RowValues(
        symbol,
        last,
        change,
        pct,
        _f(quote.bid),
        _f(quote.ask),
        _f(quote.bid_size),
        _f(quote.ask_size),
    )


def _f(value: float | None) -> float | None:
    return None if value is None else float(value)


def price_text(value: float | None, width: int) -> str:
    """A price that fits ``width``: drop the thousands separator, then the cents, if needed."""
    if value is None:
        return "—"
    for text in (f"{value:,.2f}", f"{value:.2f}", f"{value:.0f}"):
        if len(text) <= width:
            return text
    return f"{value:.0f}"


def change_text(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.2f}" if abs(value) < 1000 else f"{value:+.0f}"


def pct_text(value: float | None) -> str:
    if value is None:
        return "—"
    percent = value * 100
    if abs(percent) < 10:
        return f"{percent:+.2f}%"
    if abs(percent) < 100:
        return f"{percent:+.1f}%"
    return f"{percent:+.0f}%"


def size_text(bid_size: float | None, ask_size: float | None) -> str:
    if bid_size is None and ask_size is None:
        return "—"
    return f"{fmt.compact(bid_size)}×{fmt.compact(ask_size)}"


def downsample(values: list[float], width: int) -> list[float]:
    """At most ``width`` points spread over the whole series (the last point always kept)."""
    count = len(values)
    if count <= width or width <= 0:
        return values
    return [values[min(count - 1, math.ceil((i + 1) * count / width) - 1)] for i in range(width)]


def stale_label(
    store: QuoteStore | None, symbol: str, stale_after: float, since: float | None, clock: Clock
) -> str:
    """'' when fresh, the age when stale, '…' while the first value is awaited, 'no data'."""
    if store is None:
        return "…"
    age = store.age(symbol)
    if age is None:
        waited = clock.monotonic() - since if since is not None else 0.0
        return "no data" if waited > stale_after else "…"
    return fmt.age(age) if age > stale_after else ""


# --------------------------------------------------------------------------- the grid

_STYLE_NAMES = (
    "header",
    "symbol",
    "up",
    "down",
    "flat",
    "bid",
    "ask",
    "muted",
    "stale",
    "cursor",
    "cursor-blur",
    "empty",
)


class BoardLines(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows of the quote board; its keys live on the pane (``keymap`` scope ``board``)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"board--{name}" for name in _STYLE_NAMES}

    DEFAULT_CSS = """
    BoardLines { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    BoardLines > .board--header { color: $muted; text-style: bold; }
    BoardLines > .board--symbol { color: $foreground; text-style: bold; }
    BoardLines > .board--up { color: $price-up; }
    BoardLines > .board--down { color: $price-down; }
    BoardLines > .board--flat { color: $foreground; }
    BoardLines > .board--bid { color: $bid; }
    BoardLines > .board--ask { color: $ask; }
    BoardLines > .board--muted { color: $muted; }
    BoardLines > .board--stale { color: $stale; text-style: dim; }
    BoardLines > .board--cursor { background: $primary 35%; }
    BoardLines > .board--cursor-blur { background: $panel-lighten-1; }
    BoardLines > .board--empty { color: $muted; text-style: italic; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.symbols: list[str] = []
        self.cursor = 0
        self.store: QuoteStore | None = None
        self.clock: Clock | None = None
        self.stale_after = 15.0
        #: symbol → IV rank in percent (0–100), from the market metrics.
        self.iv_rank: dict[str, float] = {}
        #: symbol → candle symbol of its intraday series (when subscribed).
        self.candle_of: dict[str, str] = {}
        #: symbol → clock.monotonic() when it was added (for "no data").
        self.added_at: dict[str, float] = {}
        self.empty_text = "connecting…"
        #: Rows actually rendered (strip built): a benchmark and test counter.
        self.rows_rendered = 0
        self._index: dict[str, int] = {}
        self._symbol_set: set[str] = set()
        self._versions: dict[str, int] = {}
        # One strip per symbol, replaced when its key changes: an LRU of old versions kept
        # each strip alive long enough to reach the oldest GC generation (ui/heap.py).
        self._lines: dict[str, tuple[tuple[Any, ...], Strip]] = {}
        self._shown: dict[str, tuple[Any, ...]] = {}
        self._styles: dict[str, Style] | None = None

    # ------------------------------------------------------------ contents

    def set_symbols(self, symbols: Iterable[str]) -> None:
        """Replace the rows (duplicates dropped, order kept); the cursor stays in range."""
        self.symbols = list(dict.fromkeys(symbols))
        self._index = {s: i for i, s in enumerate(self.symbols)}
        self._symbol_set = set(self.symbols)
        self._lines = {k: v for k, v in self._lines.items() if k in self._symbol_set}
        self.cursor = max(0, min(self.cursor, len(self.symbols) - 1))
        self._shown.clear()
        self.virtual_size = Size(0, len(self.symbols) + 1)
        self.refresh()

    @property
    def current(self) -> str | None:
        """The symbol under the cursor."""
        return self.symbols[self.cursor] if self.symbols else None

    def row_of(self, symbol: str) -> int | None:
        return self._index.get(symbol)

    def invalidate(self, symbols: Iterable[str]) -> int:
        """New data for ``symbols``: bump their versions and repaint the visible ones.

        Returns how many visible lines were refreshed (symbols not on the board are ignored).
        """
        index = self._index
        wanted = symbols if isinstance(symbols, (set, frozenset)) else set(symbols)
        hits = wanted & self._symbol_set  # iterates the smaller set (C level)
        if not hits:
            return 0
        versions = self._versions
        first, last = self.visible_rows()
        refreshed = 0
        for symbol in hits:
            versions[symbol] = versions.get(symbol, 0) + 1
            row = index[symbol]
            if first <= row < last:
                self.refresh_line(row + 1)
                refreshed += 1
        return refreshed

    def check_visible(self) -> int:
        """Repaint visible rows whose clock-driven parts changed (age, sparkline bars)."""
        first, last = self.visible_rows()
        refreshed = 0
        for row in range(first, last):
            symbol = self.symbols[row]
            if self._shown.get(symbol) != self._key_tail(symbol):
                self.refresh_line(row + 1)
                refreshed += 1
        return refreshed

    def visible_rows(self) -> tuple[int, int]:
        """[first, last) row indexes on screen (the header line excluded)."""
        first = int(self.scroll_offset.y)
        height = max(0, self.scrollable_content_region.height - 1)
        return first, min(len(self.symbols), first + height)

    # ------------------------------------------------------------ cursor

    def move_cursor(self, row: int) -> None:
        if not self.symbols:
            return
        row = max(0, min(row, len(self.symbols) - 1))
        old = self.cursor
        self.cursor = row
        if old != row:
            if old < len(self.symbols):
                self.refresh_line(old + 1)
            self.refresh_line(row + 1)
        self._scroll_to_cursor()

    def page_size(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _scroll_to_cursor(self) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def on_click(self, event: events.Click) -> None:
        row = event.y - 1 + int(self.scroll_offset.y)
        if event.y >= 1 and 0 <= row < len(self.symbols):
            self.move_cursor(row)

    def on_focus(self) -> None:
        self.refresh_line(self.cursor + 1)

    def on_blur(self) -> None:
        self.refresh_line(self.cursor + 1)

    def on_resize(self) -> None:
        self._lines.clear()
        self._shown.clear()

    def notify_style_update(self) -> None:
        # Theme or CSS changed: every cached strip holds old colours.
        super().notify_style_update()
        self._styles = None
        self._lines.clear()
        self._shown.clear()

    # ------------------------------------------------------------ rendering

    def _style(self, name: str) -> Style:
        if self._styles is None:
            self._styles = {
                n: self.get_component_rich_style(f"board--{n}", partial=True) for n in _STYLE_NAMES
            }
        return self._styles[name]

    def _key_tail(self, symbol: str) -> tuple[Any, ...]:
        """The clock- and stream-driven part of a row's cache key."""
        candle = self.candle_of.get(symbol)
        series = self.store.candles(candle) if candle and self.store is not None else None
        label = (
            stale_label(self.store, symbol, self.stale_after, self.added_at.get(symbol), self.clock)
            if self.clock is not None
            else "…"
        )
        return (self._versions.get(symbol, 0), label, series.updated if series else None)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            return self._strip(self._header(width), width, base)
        row = y - 1 + int(self.scroll_offset.y)
        if not self.symbols:
            if y == 1:
                return self._strip(Text(self.empty_text, self._style("empty")), width, base)
            return Strip.blank(width, base)
        if row >= len(self.symbols):
            return Strip.blank(width, base)
        symbol = self.symbols[row]
        tail = self._key_tail(symbol)
        focused = self.has_focus
        cursor = 0 if row != self.cursor else (1 if focused else 2)
        key = (width, cursor, *tail)
        self._shown[symbol] = tail
        cached = self._lines.get(symbol)
        if cached is not None and cached[0] == key:
            return cached[1]
        self.rows_rendered += 1
        text = self._row_text(symbol, width, tail[1])
        if cursor:
            text.stylize_before(self._style("cursor" if cursor == 1 else "cursor-blur"))
        strip = self._strip(text, width, base)
        self._lines[symbol] = (key, strip)
        return strip

    def _strip(self, text: Text, width: int, base: Style) -> Strip:
        text.truncate(width, overflow="ellipsis", pad=True)
        segments = list(text.render(self.app.console, end=""))
        # Adjacent cells of one style become one segment: one SGR sequence on the wire.
        return Strip(segments, width).apply_style(base).simplify()

    def _header(self, width: int) -> Text:
        text = Text(no_wrap=True)
        style = self._style("header")
        for i, column in enumerate(fit_columns(width)):
            if i:
                text.append(" ")
            title = column.title
            cell = title.rjust(column.width) if column.right else title.ljust(column.width)
            text.append(cell, style)
        return text

    def _row_text(self, symbol: str, width: int, label: str) -> Text:
        values = read_row(self.store, symbol)
        stale = bool(label) and label != "…"
        sign = values.change or 0.0
        trend = "up" if sign > 0 else ("down" if sign < 0 else "flat")
        muted = self._style("muted")
        cells: list[tuple[str, Style]] = []
        columns = fit_columns(width)
        for column in columns:
            key = column.key
            if key == "symbol":
                cells.append((fmt.clean(symbol, max_length=column.width), self._style("symbol")))
            elif key == "last":
                cells.append((price_text(values.last, column.width), self._style(trend)))
            elif key == "change":
                cells.append((change_text(values.change), self._style(trend)))
            elif key == "pct":
                cells.append((pct_text(values.pct), self._style(trend)))
            elif key == "bid":
                cells.append((price_text(values.bid, column.width), self._style("bid")))
            elif key == "ask":
                cells.append((price_text(values.ask, column.width), self._style("ask")))
            elif key == "size":
                cells.append((size_text(values.bid_size, values.ask_size), muted))
            elif key == "ivr":
                rank = self.iv_rank.get(symbol)
                cells.append(("—" if rank is None else f"{rank:.0f}", muted))
            elif key == "spark":
                cells.append(self._spark_cell(symbol, column.width, label))
        text = Text(no_wrap=True)
        for i, (column, (value, style)) in enumerate(zip(columns, cells, strict=True)):
            if i:
                text.append(" ")
            if len(value) > column.width:
                value = value[: column.width - 1] + "…"
            text.append(value.rjust(column.width) if column.right else value.ljust(column.width))
            # The separating space takes the cell's style (a space shows no colour), so that
            # neighbours of one style (last, change, % of a rising stock) merge into one segment.
            text.stylize(style, len(text) - column.width - (1 if i else 0), len(text))
        if stale:
            # Never blanked: the values stay, dimmed, and the age says how old they are.
            text.stylize(self._style("stale"))
        return text

    def _spark_cell(self, symbol: str, width: int, label: str) -> tuple[str, Style]:
        if label and label != "…":
            return ("no data" if label == "no data" else f"age {label}"), self._style("stale")
        candle = self.candle_of.get(symbol)
        series = self.store.candles(candle) if candle and self.store is not None else None
        closes = series.closes() if series is not None else []
        if len(closes) < 2:
            return "", self._style("muted")
        points = downsample(closes, width)
        trend = "up" if points[-1] >= points[0] else "down"
        return fmt.sparkline(points, width), self._style(trend)


class BoardDetail(Widget):
    """Two lines under the grid: the cursor symbol's description and its full quote.

    Everything a narrow board has no column for (bid/ask with sizes, IV rank, volume) is here,
    and the description (broker text) is rendered inert.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "board-detail--symbol",
        "board-detail--muted",
        "board-detail--bid",
        "board-detail--ask",
        "board-detail--stale",
    }

    DEFAULT_CSS = """
    BoardDetail {
        height: 3; border-top: hkey $pane-border; text-wrap: nowrap; text-overflow: ellipsis;
    }
    BoardDetail > .board-detail--symbol { color: $foreground; text-style: bold; }
    BoardDetail > .board-detail--muted { color: $muted; }
    BoardDetail > .board-detail--bid { color: $bid; }
    BoardDetail > .board-detail--ask { color: $ask; }
    BoardDetail > .board-detail--stale { color: $warning; }
    """

    def __init__(self, lines: BoardLines, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lines = lines

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"board-detail--{name}", partial=True)

    def render(self) -> Text:
        lines = self.lines
        symbol = lines.current
        if symbol is None:
            return Text("/ adds a symbol · w loads a watchlist", self._style("muted"), no_wrap=True)
        store = lines.store
        muted = self._style("muted")
        # Line 1: symbol, IV rank, volume, then the description (broker text, inert), which
        # is what gets cut with an ellipsis on a narrow board.
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(fmt.clean(symbol), self._style("symbol"))
        rank = lines.iv_rank.get(symbol)
        head.append(f"  IVR {'—' if rank is None else f'{rank:.0f}'}", muted)
        trade = store.trade(symbol) if store is not None else None
        if trade is not None and trade.day_volume is not None:
            head.append(f"  vol {fmt.compact(trade.day_volume)}", muted)
        profile = store.profile(symbol) if store is not None else None
        if profile is not None and profile.description:
            head.append("  ")
            description = fmt.inert(profile.description)
            description.stylize(muted)
            head.append_text(description)
        # Line 2: the full market with sizes, and the data's age when it is stale.
        values = read_row(store, symbol)
        body = Text(no_wrap=True, overflow="ellipsis")
        body.append("bid ", muted)
        body.append(price_text(values.bid, 10), self._style("bid"))
        body.append(f"×{fmt.compact(values.bid_size)}", muted)
        body.append("  ask ", muted)
        body.append(price_text(values.ask, 10), self._style("ask"))
        body.append(f"×{fmt.compact(values.ask_size)}", muted)
        if lines.clock is not None:
            label = stale_label(
                store, symbol, lines.stale_after, lines.added_at.get(symbol), lines.clock
            )
            if label and label != "…":
                body.append(
                    "  no data yet" if label == "no data" else f"  stale {label}",
                    self._style("stale"),
                )
        return Text("\n", no_wrap=True, overflow="ellipsis").join([head, body])
