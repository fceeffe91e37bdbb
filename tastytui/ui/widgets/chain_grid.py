"""The option chain grid: calls | strike | puts for one expiration, as a Line API widget.

Dense and live, so no DataTable (textual-practices §3): one ``ScrollView`` whose
``render_line`` draws a row from the QuoteStore and caches the strip under a key made of the
row's version (bumped when one of its two contracts is in the flush's dirty set), the grid's
epoch (spot crossing a strike, columns, theme, focus), the cursor and the stale state.  A flush
repaints only the visible rows whose contracts changed.

Market data is subscribed for the rows on screen plus half a screen each way, never for the
whole chain; the window follows scrolling and expiration changes and is released on unmount.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tastytui.domain import blackscholes as bs
from tastytui.domain.chain import ChainExpiration, ChainStrike
from tastytui.domain.clock import NEW_YORK
from tastytui.domain.symbols import OptionSymbol, OptionType, format_strike
from tastytui.ui import format as fmt

if TYPE_CHECKING:
    from tastytui.domain.clock import Clock
    from tastytui.services.quotes import QuoteStore


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True, slots=True)
class Column:
    """One configurable chain column (shown for calls, mirrored for puts)."""

    name: str
    header: str
    width: int
    style: str = ""  # component class suffix for the values ("bid", "ask") or none


COLUMNS: dict[str, Column] = {
    c.name: c
    for c in (
        Column("bid", "Bid", 7, "bid"),
        Column("ask", "Ask", 7, "ask"),
        Column("mark", "Mark", 7),
        Column("delta", "Delta", 6),
        Column("theta", "Theta", 7),
        Column("vega", "Vega", 6),
        Column("iv", "IV", 6),
        Column("volume", "Vol", 6),
        Column("oi", "OI", 6),
        Column("prob_itm", "P(ITM)", 6),
    )
}
DEFAULT_COLUMNS: tuple[str, ...] = ("delta", "iv", "bid", "ask")
STRIKE_WIDTH = 10


def check_columns(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split configured column names into the known ones (in order, once each) and problems.

    Unknown names are skipped with a message naming them and the valid ones; with no valid
    name left the defaults are used (and said so).
    """
    valid: list[str] = []
    problems: list[str] = []
    known = ", ".join(COLUMNS)
    for raw in names:
        name = str(raw).strip().lower()
        if name in COLUMNS:
            if name not in valid:
                valid.append(name)
        else:
            problems.append(
                f"chain column {fmt.clean(str(raw))!r} is not known and is skipped; "
                f"valid columns: {known} (set [ui] chain_columns in the config file)"
            )
    if not valid:
        valid = list(DEFAULT_COLUMNS)
        if problems:
            problems.append(f"no valid chain column left: showing {', '.join(valid)}")
    return valid, problems


def kinds_for(columns: Sequence[str]) -> tuple[str, ...]:
    """DXLink event kinds the columns need (volume comes with Trade, open interest with Summary)."""
    kinds = ["Quote", "Greeks"]
    if "volume" in columns:
        kinds.append("Trade")
    if "oi" in columns:
        kinds.append("Summary")
    return tuple(kinds)


def years_to_expiry(expiration: ChainExpiration, now: datetime) -> float:
    """Years until the 16:00 New York close of ``expiration`` (at least an hour)."""
    close = datetime.combine(expiration.expiration, time(16, 0), tzinfo=NEW_YORK)
    seconds = (close - now).total_seconds()
    return max(seconds, 3600.0) / (365.0 * 86400.0)


# --------------------------------------------------------------------------- the grid


@dataclass(slots=True)
class Feed:
    """Where the grid reads and subscribes market data (injected by the pane)."""

    store: QuoteStore
    dxlink: Any  # tastytui.services.dxlink.DxLinkClient (subscribe/unsubscribe/release)
    clock: Clock
    stale_after: float


class ChainGrid(ScrollView, can_focus=True):
    """Calls | strike | puts of one expiration; the cursor is a (row, side) cell."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "chain-grid--header",
        "chain-grid--strike",
        "chain-grid--atm",
        "chain-grid--itm",
        "chain-grid--bid",
        "chain-grid--ask",
        "chain-grid--stale",
        "chain-grid--cursor",
        "chain-grid--rule",
    }

    DEFAULT_CSS = """
    ChainGrid { height: 1fr; background: $surface; color: $foreground; }
    ChainGrid > .chain-grid--header { color: $muted; text-style: bold; }
    ChainGrid > .chain-grid--strike { text-style: bold; }
    ChainGrid > .chain-grid--atm { color: $atm; text-style: bold; }
    ChainGrid > .chain-grid--itm { background: $itm; }
    ChainGrid > .chain-grid--bid { color: $bid; }
    ChainGrid > .chain-grid--ask { color: $ask; }
    ChainGrid > .chain-grid--stale { color: $stale; text-style: italic; }
    ChainGrid > .chain-grid--cursor { background: $primary 35%; text-style: bold; }
    ChainGrid:focus > .chain-grid--cursor { background: $primary; color: $text; }
    ChainGrid > .chain-grid--rule { color: $muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to('first')", "First strike", show=False),
        Binding("end", "cursor_to('last')", "Last strike", show=False),
        Binding("left", "side('call')", "Calls", show=False),
        Binding("right", "side('put')", "Puts", show=False),
    ]

    class CursorMoved(Message):
        """The cursor moved to another contract (a key press, not a tick)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.feed: Feed | None = None
        self.expiration: ChainExpiration | None = None
        self.columns: list[str] = list(DEFAULT_COLUMNS)
        self.spot: float | None = None
        self.cursor_row = 0
        self.side = OptionType.CALL
        #: Rows re-rendered (cache misses) since mount: benchmarks and tests read it.
        self.rows_rendered = 0
        self._strikes: tuple[ChainStrike, ...] = ()
        self._prices: list[float] = []
        self._rows_of: dict[str, int] = {}  # streamer symbol → row
        self._versions: list[int] = []
        self._epoch = 0
        self._cache: dict[int, tuple[tuple[Any, ...], Strip]] = {}
        self._lines: dict[int, tuple[tuple[Any, ...], Strip]] = {}
        self._header: tuple[tuple[Any, ...], Strip] | None = None
        self._atm = -1
        self._below = 0  # strikes below spot: where in-the-money shading flips
        self._stale_seen: dict[int, tuple[bool, bool]] = {}
        self._subscribed: set[str] = set()
        self._sub_kinds: tuple[str, ...] = ()
        self._styles: dict[str, Style] = {}
        self._t_years = 0.0
        self._pending_center = False

    # ------------------------------------------------------------------ wiring

    def attach(self, feed: Feed) -> None:
        self.feed = feed

    def on_mount(self) -> None:
        self.set_interval(1.0, self._check_stale)

    def on_unmount(self) -> None:
        if self.feed is not None:
            self.feed.dxlink.release(self)
        self._subscribed.clear()

    def on_resize(self) -> None:
        if self._pending_center and self.visible_rows > 0:
            self._pending_center = False
            self.center_on(self.cursor_row)
        self._sync_subscriptions()

    def on_focus(self) -> None:
        # The cursor is drawn brighter while focused: styles and every cached row change.
        self._styles.clear()
        self._bump_epoch()

    def on_blur(self) -> None:
        self._styles.clear()
        self._bump_epoch()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._bump_epoch()

    # ------------------------------------------------------------------ content

    @property
    def row_count(self) -> int:
        return len(self._strikes)

    @property
    def atm_row(self) -> int:
        """The at-the-money row (nearest strike to spot), -1 without a price."""
        return self._atm

    @property
    def subscribed_count(self) -> int:
        """Contracts (calls and puts) this grid holds market-data subscriptions for."""
        return len(self._subscribed)

    @property
    def subscribed_symbols(self) -> frozenset[str]:
        return frozenset(self._subscribed)

    @property
    def visible_rows(self) -> int:
        """Strike rows that fit on screen (the header takes one line)."""
        return max(0, self.scrollable_content_region.height - 1)

    def visible_range(self) -> range:
        first = int(self.scroll_offset.y)
        return range(first, min(self.row_count, first + self.visible_rows))

    def set_columns(self, names: Sequence[str]) -> None:
        self.columns = [n for n in names if n in COLUMNS] or list(DEFAULT_COLUMNS)
        self._update_virtual_size()
        self._bump_epoch()
        self._sync_subscriptions()

    def load(self, expiration: ChainExpiration, spot: float | None, strike: Decimal | None) -> None:
        """Show ``expiration``; the cursor goes to ``strike`` if listed, else to the money."""
        self.expiration = expiration
        self._strikes = expiration.strikes
        self._prices = [float(s.strike) for s in self._strikes]
        self._rows_of = {}
        for i, row in enumerate(self._strikes):
            self._rows_of[row.call.streamer] = i
            self._rows_of[row.put.streamer] = i
        self._versions = [0] * len(self._strikes)
        self._cache.clear()
        self._lines.clear()
        self._stale_seen.clear()
        self.spot = spot
        self._update_money()
        self._update_t()
        target = expiration.find(strike) if strike is not None else None
        if target is not None:
            self.cursor_row = self._strikes.index(target)
        else:
            self.cursor_row = self._atm if self._atm >= 0 else len(self._strikes) // 2
        self._update_virtual_size()
        self._bump_epoch()
        if self.visible_rows > 0:
            self.center_on(self.cursor_row)
        else:
            # Not laid out yet (just shown): centre and subscribe once the size is known.
            self._pending_center = True

    def clear(self) -> None:
        """Show nothing (a new symbol is loading) and drop every subscription."""
        self.expiration = None
        self._strikes = ()
        self._prices = []
        self._rows_of = {}
        self._versions = []
        self._cache.clear()
        self._lines.clear()
        self._atm = -1
        self._update_virtual_size()
        self._sync_subscriptions()
        self.refresh()

    def contract(
        self, row: int | None = None, side: OptionType | None = None
    ) -> OptionSymbol | None:
        """The contract under the cursor (or at ``row``/``side``)."""
        index = self.cursor_row if row is None else row
        if not 0 <= index < self.row_count:
            return None
        return self._strikes[index].contract(side or self.side)

    def set_spot(self, spot: float | None) -> None:
        """A new underlying price: repaint everything only if the money moved across a strike."""
        if spot is None or spot == self.spot:
            return
        self.spot = spot
        if self._update_money():
            self._bump_epoch()

    def refresh_dirty(self, dirty: set[str]) -> int:
        """Bump the rows whose contracts changed and repaint the visible ones; returns how many."""
        if not self._rows_of or not dirty:
            return 0
        rows = {self._rows_of[s] for s in self._rows_of.keys() & dirty}
        if not rows:
            return 0
        versions = self._versions
        visible = self.visible_range()
        # Only the table's cells, not the blank margins beside it: the margins never change,
        # and repainting them cost a fifth of the chain's terminal output (benchmarks/storm.py).
        left = max(0, self._pad() - int(self.scroll_offset.x))
        cells = min(self.table_width, self.scrollable_content_region.width - left)
        top = int(self.scroll_offset.y)
        for row in rows:
            versions[row] += 1
            if row in visible:
                self.refresh(Region(left, row + 1 - top, cells, 1))  # line 0 is the header
        return len(rows)

    def tick_clock(self) -> None:
        """The time to expiry (for P(ITM)) moves on; cheap, called at the flush rate."""
        self._update_t()

    # ------------------------------------------------------------------ cursor & scrolling

    def center_on(self, row: int) -> None:
        height = self.visible_rows or 1
        self.scroll_to(y=max(0, row - height // 2), animate=False, immediate=True)
        self._sync_subscriptions()

    def center(self) -> None:
        """Cursor back to the money, that row in the middle of the screen."""
        if self._atm >= 0:
            self._move_cursor(self._atm)
        self.center_on(self.cursor_row)

    def action_cursor(self, step: int) -> None:
        self._move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        page = max(1, self.visible_rows - 1)
        self._move_cursor(self.cursor_row + direction * page)
        if self.row_count:
            first = int(self.scroll_offset.y) + direction * page
            self.scroll_to(y=max(0, first), animate=False, immediate=True)
            self._ensure_visible()

    def action_cursor_to(self, where: str) -> None:
        self._move_cursor(0 if where == "first" else self.row_count - 1)

    def action_side(self, side: str) -> None:
        self.set_side(OptionType.CALL if side == "call" else OptionType.PUT)

    def set_side(self, side: OptionType) -> None:
        if side is self.side:
            return
        self.side = side
        self._refresh_row(self.cursor_row)
        # A narrow pane scrolls sideways to the side the cursor is on.
        self.scroll_to(
            x=0 if side is OptionType.CALL else self.max_scroll_x, animate=False, immediate=True
        )
        self.post_message(self.CursorMoved())

    def toggle_side(self) -> None:
        self.set_side(OptionType.PUT if self.side is OptionType.CALL else OptionType.CALL)

    def _move_cursor(self, row: int) -> None:
        if not self.row_count:
            return
        row = max(0, min(self.row_count - 1, row))
        if row == self.cursor_row:
            self._ensure_visible()
            return
        old, self.cursor_row = self.cursor_row, row
        self._refresh_row(old)
        self._refresh_row(row)
        self._ensure_visible()
        self.post_message(self.CursorMoved())

    def _ensure_visible(self) -> None:
        height = self.visible_rows
        if height <= 0:
            return
        first = int(self.scroll_offset.y)
        if self.cursor_row < first:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= first + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False, immediate=True)

    def on_click(self, event: events.Click) -> None:
        """The mouse works too: a click puts the cursor on that strike and side."""
        if event.y < 1 or not self.row_count:
            return
        row = int(self.scroll_offset.y) + event.y - 1
        x = event.x + int(self.scroll_offset.x) - self._pad()
        side_width = self._side_width()
        if x < side_width:
            self.set_side(OptionType.CALL)
        elif x >= side_width + STRIKE_WIDTH + 2:
            self.set_side(OptionType.PUT)
        self._move_cursor(row)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self._sync_subscriptions()

    def _refresh_row(self, row: int) -> None:
        if 0 <= row < self.row_count and row in self.visible_range():
            self.refresh_line(row + 1)

    # ------------------------------------------------------------------ subscriptions

    def window(self) -> range:
        """Rows whose contracts are subscribed: the visible ones plus half a screen each way."""
        height = self.visible_rows
        if not self.row_count or height <= 0:
            return range(0)
        first = int(self.scroll_offset.y)
        margin = max(2, height // 2)
        return range(max(0, first - margin), min(self.row_count, first + height + margin))

    def _sync_subscriptions(self) -> None:
        feed = self.feed
        if feed is None:
            return
        if self.expiration is not None and self.visible_rows <= 0:
            return  # not laid out yet: keep what we hold until we know the viewport
        want: set[str] = set()
        for row in self.window():
            strike = self._strikes[row]
            want.add(strike.call.streamer)
            want.add(strike.put.streamer)
        kinds = kinds_for(self.columns)
        if kinds != self._sub_kinds and self._subscribed:
            feed.dxlink.unsubscribe(self, self._sub_kinds, self._subscribed)
            self._subscribed = set()
        self._sub_kinds = kinds
        drop = self._subscribed - want
        add = want - self._subscribed
        if drop:
            feed.dxlink.unsubscribe(self, kinds, sorted(drop))
        if add:
            feed.dxlink.subscribe(self, kinds, sorted(add))
        self._subscribed = want

    # ------------------------------------------------------------------ staleness

    def _stale_pair(self, row: int) -> tuple[bool, bool]:
        feed = self.feed
        if feed is None:
            return (False, False)
        strike = self._strikes[row]
        limit = feed.stale_after
        store = feed.store
        call_age = store.age(strike.call.streamer)
        put_age = store.age(strike.put.streamer)
        # No data at all shows as "—", not as stale numbers.
        return (
            call_age is not None and call_age > limit,
            put_age is not None and put_age > limit,
        )

    def _check_stale(self) -> None:
        """Once a second: repaint visible rows whose data went stale (or fresh again)."""
        if not self.row_count:
            return
        self._update_t()
        for row in self.visible_range():
            pair = self._stale_pair(row)
            if self._stale_seen.get(row, pair) != pair:
                self.refresh_line(row + 1)
            self._stale_seen[row] = pair

    def stale_count(self) -> tuple[int, float | None]:
        """Stale contracts among the visible rows and the oldest age among them."""
        feed = self.feed
        if feed is None or not self.row_count:
            return 0, None
        count, oldest = 0, None
        for row in self.visible_range():
            strike = self._strikes[row]
            for symbol in (strike.call.streamer, strike.put.streamer):
                age = feed.store.age(symbol)
                if age is not None and age > feed.stale_after:
                    count += 1
                    oldest = age if oldest is None else max(oldest, age)
        return count, oldest

    # ------------------------------------------------------------------ geometry

    def _side_width(self) -> int:
        return sum(COLUMNS[name].width + 1 for name in self.columns)

    @property
    def table_width(self) -> int:
        return 2 * self._side_width() + STRIKE_WIDTH + 2

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self.table_width, self.row_count + 1)

    def _pad(self) -> int:
        width = self.scrollable_content_region.width
        return max(0, (width - self.table_width) // 2)

    def _bump_epoch(self) -> None:
        self._epoch += 1
        self.refresh()

    def _update_money(self) -> bool:
        """Recompute the ATM row and the ITM boundary; True when either changed."""
        if self.spot is None or not self._prices:
            atm, below = -1, 0
        else:
            atm = self.expiration.nearest_index(self.spot) if self.expiration else -1
            below = bisect.bisect_left(self._prices, self.spot)
        changed = (atm, below) != (self._atm, self._below)
        self._atm, self._below = atm, below
        return changed

    def _update_t(self) -> None:
        if self.expiration is not None and self.feed is not None:
            self._t_years = years_to_expiry(self.expiration, self.feed.clock.now())

    # ------------------------------------------------------------------ rendering

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            if name == "base":
                style = self.rich_style
            else:
                style = self.get_component_rich_style(f"chain-grid--{name}", partial=True)
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self._style("base")
        frame = (self._pad(), int(self.scroll_offset.x), width)
        if y == 0:
            return self._frame(self._header_strip(), frame)
        row = int(self.scroll_offset.y) + y - 1
        if not 0 <= row < self.row_count:
            return Strip.blank(width, base)
        # The final (padded, cropped) line is cached too: a repaint of unchanged rows costs a
        # key comparison.
        key = (self._row_key(row), frame)
        cached = self._lines.get(row)
        if cached is not None and cached[0] == key:
            return cached[1]
        strip = self._frame(self._row_strip(row, key[0]), frame)
        self._lines[row] = (key, strip)
        return strip

    def _frame(self, strip: Strip, frame: tuple[int, int, int]) -> Strip:
        pad, scroll_x, width = frame
        base = self._style("base")
        # One SGR sequence per run of equal styles, not per cell: fewer bytes on the wire.  The
        # margin stays a segment of its own, so a repaint of the cells alone can skip it.
        strip = strip.simplify()
        if pad:
            strip = Strip([Segment(" " * pad, base), *strip])
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _header_strip(self) -> Strip:
        key = (self._epoch, tuple(self.columns))
        if self._header is not None and self._header[0] == key:
            return self._header[1]
        base = self._style("base")
        head = base + self._style("header")
        rule = base + self._style("rule")
        segments: list[Segment] = []
        for name in self.columns:
            column = COLUMNS[name]
            segments.append(Segment(column.header.rjust(column.width) + " ", head))
        segments.append(Segment("│", rule))
        segments.append(Segment("Strike".center(STRIKE_WIDTH), head))
        segments.append(Segment("│", rule))
        for name in reversed(self.columns):
            column = COLUMNS[name]
            segments.append(Segment(" " + column.header.rjust(column.width), head))
        strip = Strip(segments)
        self._header = (key, strip)
        return strip

    def _row_key(self, row: int) -> tuple[Any, ...]:
        cursor = self.side if row == self.cursor_row else None
        return (self._versions[row], self._epoch, cursor, self._stale_pair(row))

    def _row_strip(self, row: int, key: tuple[Any, ...] | None = None) -> Strip:
        """The row's cells (unpadded), re-rendered only when its key changed."""
        key = key or self._row_key(row)
        cached = self._cache.get(row)
        if cached is not None and cached[0] == key:
            return cached[1]
        _, _, cursor, stale = key
        strip = self._render_row(row, cursor, stale)
        self._cache[row] = (key, strip)
        self._stale_seen[row] = stale
        self.rows_rendered += 1
        return strip

    def _render_row(self, row: int, cursor: OptionType | None, stale: tuple[bool, bool]) -> Strip:
        strike = self._strikes[row]
        base = self._style("base")
        spot = self.spot
        price = self._prices[row]
        call_itm = spot is not None and price < spot
        put_itm = spot is not None and price > spot
        segments: list[Segment] = []
        on_call = cursor is OptionType.CALL
        call_base = self._side_base(call_itm, stale[0], on_call)
        plain = stale[0] or on_call  # the cursor and stale data keep one colour
        for name in self.columns:
            segments.append(self._cell(name, strike.call, call_base, plain, right_gap=True))
        rule = base + self._style("rule")
        segments.append(Segment("│", rule))
        label = format_strike(strike.strike)
        if row == self._atm:
            marked = f"▶ {label} ◀"
            text = (marked if len(marked) <= STRIKE_WIDTH else f"▶{label}").center(STRIKE_WIDTH)
            segments.append(Segment(text, base + self._style("atm")))
        else:
            segments.append(Segment(label.center(STRIKE_WIDTH), base + self._style("strike")))
        segments.append(Segment("│", rule))
        on_put = cursor is OptionType.PUT
        put_base = self._side_base(put_itm, stale[1], on_put)
        plain = stale[1] or on_put
        for name in reversed(self.columns):
            segments.append(self._cell(name, strike.put, put_base, plain, right_gap=False))
        return Strip(segments)

    def _side_base(self, itm: bool, stale: bool, cursor: bool) -> Style:
        style = self._style("base")
        if itm:
            style += self._style("itm")
        if cursor:
            style += self._style("cursor")
        return style + self._style("stale") if stale else style

    def _cell(
        self, name: str, option: OptionSymbol, side: Style, plain: bool, *, right_gap: bool
    ) -> Segment:
        column = COLUMNS[name]
        text = self.value(name, option).rjust(column.width)
        style = side
        if column.style and not plain:
            style = side + self._style(column.style)
        return Segment(text + " " if right_gap else " " + text, style)

    def value(self, name: str, option: OptionSymbol) -> str:
        """The text of column ``name`` for ``option`` (an em dash when nothing arrived)."""
        feed = self.feed
        if feed is None:
            return "—"
        store = feed.store
        symbol = option.streamer
        if name in ("bid", "ask", "mark"):
            quote = store.quote(symbol)
            if quote is None:
                return "—"
            if name == "bid":
                return fmt.num(_f(quote.bid))
            if name == "ask":
                return fmt.num(_f(quote.ask))
            return fmt.num(store.mid(symbol))
        if name == "volume":
            trade = store.trade(symbol)
            return fmt.compact(_f(trade.day_volume) if trade else None)
        if name == "oi":
            summary = store.summary(symbol)
            return fmt.compact(_f(summary.open_interest) if summary else None)
        greeks = store.greeks(symbol)
        if greeks is None:
            return "—"
        if name == "delta":
            return fmt.num(_f(greeks.delta), 2)
        if name == "theta":
            return fmt.num(_f(greeks.theta), 3)
        if name == "vega":
            return fmt.num(_f(greeks.vega), 2)
        if name == "iv":
            return fmt.pct(_f(greeks.volatility))
        # prob_itm: risk-neutral N(d2) from the contract's own IV and the live spot.
        iv = _f(greeks.volatility)
        if iv is None or self.spot is None or iv <= 0:
            return "—"
        p = bs.prob_itm(self.spot, float(option.strike), self._t_years, iv, option.is_call)
        return fmt.pct(p, 0)

    # Plain-text rows for tests and the accessibility of screenshots' text.
    def row_text(self, row: int) -> str:
        if not 0 <= row < self.row_count:
            return ""
        return self._row_strip(row).text

    def header_text(self) -> str:
        return self._header_strip().text


def _f(value: float | int | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def contracts_near(
    expiration: ChainExpiration,
    spot: float,
    band: float,
    sides: Iterable[OptionType],
    limit: int,
) -> list[OptionSymbol]:
    """Contracts of ``sides`` whose strike is within ``band`` of ``spot`` (at most ``limit`` rows
    each way from the money): what a by-delta template needs greeks for."""
    if not expiration.strikes:
        return []
    atm = expiration.nearest_index(spot)
    lo = max(0, atm - limit)
    hi = min(len(expiration.strikes), atm + limit + 1)
    out: list[OptionSymbol] = []
    for row in expiration.strikes[lo:hi]:
        if abs(float(row.strike) - spot) <= band:
            out.extend(row.contract(side) for side in sides)
    return out
