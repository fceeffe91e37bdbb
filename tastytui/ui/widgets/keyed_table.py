"""A small table diffed by row key, drawn with the Line API: one cached strip per row.

For the slow tables (positions, live orders — tens of rows): a caller hands over the whole
list of rows on every refresh.  Same keys in the same order: only the rows whose cells changed
get a new version, and only the span of their changed cells is repainted; other keys or another
order: the rows are laid out again (the cursor stays on its key).  Cells are ``(text, style)``
pairs; the style is a component class name resolved from the theme, and the text goes through
:func:`tastytui.ui.format.clean` and is never parsed as markup (broker text stays inert).

Why not a ``DataTable`` (textual-practices §3a): its row cache keys carry a table-wide update
count, so any ``update_cell`` re-rendered every visible row — 15-19 ms for the positions pane in
the frame that paints a fill (benchmarks/round_trip.py) and the storm's slowest frames.  This
widget draws what a ``DataTable`` with fixed column widths, a row cursor and optional fixed
columns draws (same component styles and cell padding), so the pictures do not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tastytui.ui import format as fmt

#: (text, style) — style is "" or one of :data:`STYLES`.
Cell = tuple[str, str]
Row = tuple[str, tuple[Cell, ...]]

STYLES = ("up", "down", "stale", "muted", "error", "warn", "bold", "accent", "group")

#: Blank cells each side of a column's text (what ``DataTable.cell_padding`` gives).
PAD = 1
_HEADER = "\x00header"  # the header line's slot in the line cache (no row key starts with NUL)


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    right: bool = False


@lru_cache(maxsize=4096)
def fit(text: str, width: int, right: bool, ellipsis: bool = True) -> str:
    """``text`` in exactly ``width`` cells, as Rich justifies a one-line ``Text``.

    First line only; right-justified text loses its trailing blanks; too long: cut with an
    ellipsis (headers are cropped).
    """
    line = text.split("\n", 1)[0]
    if right:
        line = line.rstrip()
    length = cell_len(line)
    if length > width:
        line = set_cell_size(line, width - 1) + "…" if ellipsis else set_cell_size(line, width)
        length = cell_len(line)
    pad = " " * max(0, width - length)
    return pad + line if right else line + pad


class KeyedTable(ScrollView, can_focus=True):
    """Rows keyed by a string; ``set_rows`` diffs against what is on screen."""

    ALLOW_SELECT = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_row", "Select", show=False),
        Binding("up", "cursor(-1)", "Row up", show=False),
        Binding("down", "cursor(1)", "Row down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,ctrl+home", "edge(0)", "First row", show=False),
        Binding("end,ctrl+end", "edge(1)", "Last row", show=False),
        # left / right (and ctrl+pageup / ctrl+pagedown) scroll sideways: ScrollView's own.
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "keyed-table--header",
        "keyed-table--fixed",
        "keyed-table--cursor",
        "keyed-table--fixed-cursor",
    } | {f"keyed-table--{name}" for name in STYLES}

    # The frame rules are Textual's DataTable's own (so the pictures stay as they were).
    DEFAULT_CSS = """
    KeyedTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .keyed-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .keyed-table--header { background-tint: $foreground 5%; }
            & > .keyed-table--fixed-cursor {
                color: $block-cursor-foreground;
                background: $block-cursor-background;
            }
        }
        & > .keyed-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .keyed-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .keyed-table--fixed { background: $secondary-muted; color: $foreground; }
        & > .keyed-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .keyed-table--fixed-cursor {
            background: $block-cursor-blurred-background;
            color: $foreground;
        }
    }
    KeyedTable > .keyed-table--up { color: $price-up; }
    KeyedTable > .keyed-table--down { color: $price-down; }
    KeyedTable > .keyed-table--stale { color: $stale; }
    KeyedTable > .keyed-table--muted { color: $muted; }
    KeyedTable > .keyed-table--error { color: $error; text-style: bold; }
    KeyedTable > .keyed-table--warn { color: $warning; }
    KeyedTable > .keyed-table--bold { text-style: bold; }
    KeyedTable > .keyed-table--accent { color: $primary; }
    KeyedTable > .keyed-table--group { text-style: bold; color: $foreground; }
    """

    class _RowMessage(Message):
        def __init__(self, table: KeyedTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> KeyedTable:
            return self.table

    class RowHighlighted(_RowMessage):
        """The cursor is on another row (a key, a click, or the rows changed under it)."""

    class RowSelected(_RowMessage):
        """Enter on the cursor row, or a click on it."""

    def __init__(self, columns: Sequence[Column], *, fixed_columns: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns_spec = tuple(columns)
        self.fixed_columns = max(0, min(fixed_columns, len(self.columns_spec)))
        self.cursor_row = 0
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._cells: dict[str, tuple[Cell, ...]] = {}
        self._versions: dict[str, int] = {}
        #: row key (or the header's slot) → (cache key, finished line).
        self._lines: dict[str, tuple[tuple[Any, ...], Strip]] = {}
        self._styles: dict[str, Style] = {}
        self._epoch = 0  # bumped when styles change: every cached line is stale
        self._highlighted: str | None = None
        # Left edge of each column in the full row (padding included), and the total width.
        self._x: list[int] = []
        x = 0
        for column in self.columns_spec:
            self._x.append(x)
            x += column.width + 2 * PAD
        self.table_width = x
        self.fixed_width = self._x[self.fixed_columns] if self.fixed_columns < len(self._x) else x
        #: Cells updated since mount (a measure that only changed cells are touched).
        self.cell_updates = 0
        self.rebuilds = 0
        #: Rows rendered (strip built) since mount: a test and benchmark counter.
        self.rows_rendered = 0
        self.virtual_size = Size(self.table_width, 1)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    # ------------------------------------------------------------------ rows

    @property
    def keys(self) -> list[str]:
        return list(self._order)

    @property
    def row_count(self) -> int:
        return len(self._order)

    def cells(self, key: str) -> tuple[Cell, ...] | None:
        return self._cells.get(key)

    def get_cell(self, key: str, column_key: str) -> Text:
        """The cell as drawn (before fitting to the column): inert text in its style."""
        cells = self._cells[key]
        index = next(i for i, c in enumerate(self.columns_spec) if c.key == column_key)
        text, style = cells[index]
        column = self.columns_spec[index]
        return Text(
            fmt.clean(text),
            style=self._cell_style(style),
            no_wrap=True,
            justify="right" if column.right else "left",
            overflow="ellipsis",
        )

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show ``rows``: lay out again when the keys changed, else repaint only changed cells."""
        keys = [key for key, _ in rows]
        if keys != self._order:
            self._rebuild(rows)
            return
        for index, (key, cells) in enumerate(rows):
            old = self._cells[key]
            if cells == old:
                continue
            changed = [i for i, cell in enumerate(cells) if i >= len(old) or old[i] != cell]
            self.cell_updates += len(changed)
            self._cells[key] = cells
            self._versions[key] += 1
            self._refresh_cells(index, changed)

    def _rebuild(self, rows: Sequence[Row]) -> None:
        selected = self.selected_key()
        index = self.cursor_row
        self._order = [key for key, _ in rows]
        self._index = {key: i for i, key in enumerate(self._order)}
        old_cells, old_versions = self._cells, self._versions
        self._cells = dict(rows)
        # A row that stays keeps its version (its cached line is still good) unless its cells
        # changed; a new row starts afresh.
        self._versions = {
            key: old_versions.get(key, 0) + (0 if old_cells.get(key) == cells else 1)
            for key, cells in rows
        }
        self._lines = {k: v for k, v in self._lines.items() if k in self._index or k == _HEADER}
        self.rebuilds += 1
        self.virtual_size = Size(self.table_width, len(rows) + 1)
        if selected is not None and selected in self._index:
            self.cursor_row = self._index[selected]
        else:
            self.cursor_row = min(max(index, 0), max(len(rows) - 1, 0))
        self.refresh()
        self._scroll_to_cursor()
        self._announce()

    def _theme_changed(self, _theme: object) -> None:
        self._restyle()

    def notify_style_update(self) -> None:
        # Theme, focus or CSS changed: resolved styles and every cached line are stale.
        super().notify_style_update()
        self._restyle()

    def _restyle(self) -> None:
        self._styles.clear()
        self._epoch += 1
        self.refresh()

    def on_focus(self) -> None:
        self._restyle()

    def on_blur(self) -> None:
        self._restyle()

    # ------------------------------------------------------------------ selection

    def selected_key(self) -> str | None:
        if not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]

    def select_key(self, key: str) -> bool:
        index = self._index.get(key)
        if index is None:
            return False
        self.move_cursor(index)
        return True

    def move_cursor(self, row: int) -> None:
        if not self._order:
            return
        row = max(0, min(row, len(self._order) - 1))
        old, self.cursor_row = self.cursor_row, row
        if old != row:
            self._refresh_row(old)
            self._refresh_row(row)
        self._scroll_to_cursor()
        self._announce()

    def _announce(self) -> None:
        key = self.selected_key()
        if key is not None and key != self._highlighted:
            self.post_message(self.RowHighlighted(self, key))
        self._highlighted = key

    def _page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)  # the header takes a line

    def _scroll_to_cursor(self) -> None:
        height = self._page_height()
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        height = self._page_height()
        self.scroll_to(
            y=max(0, int(self.scroll_offset.y) + direction * height), animate=False, immediate=True
        )
        self.move_cursor(self.cursor_row + direction * height)

    def action_edge(self, end: int) -> None:
        self.move_cursor(len(self._order) - 1 if end else 0)

    def action_select_row(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on that row; a click on the cursor row selects it."""
        row = event.y - 1 + int(self.scroll_offset.y)
        if event.y < 1 or not 0 <= row < len(self._order):
            return
        if row == self.cursor_row:
            self.action_select_row()
        else:
            self.move_cursor(row)

    # ------------------------------------------------------------------ repainting

    def _screen_y(self, row: int) -> int | None:
        y = row + 1 - int(self.scroll_offset.y)
        return y if 1 <= y < max(1, self.size.height) else None

    def _refresh_row(self, row: int) -> None:
        y = self._screen_y(row)
        if y is not None:
            self.refresh(Region(0, y, max(self.size.width, self.table_width), 1))

    def _refresh_cells(self, row: int, changed: Sequence[int]) -> None:
        """Repaint the span of ``row`` that holds the changed cells (not the whole line)."""
        y = self._screen_y(row)
        if y is None or not changed:
            return
        scroll_x = int(self.scroll_offset.x)
        spans: list[tuple[int, int]] = []
        for index in changed:
            if index >= len(self.columns_spec):
                continue
            left = self._x[index]
            right = left + self.columns_spec[index].width + 2 * PAD
            if index >= self.fixed_columns:
                # Scrollable cells slide under the fixed ones.
                left, right = max(self.fixed_width, left - scroll_x), right - scroll_x
            if right > left:
                spans.append((left, right))
        if spans:
            x0 = min(s[0] for s in spans)
            x1 = max(s[1] for s in spans)
            self.refresh(Region(x0, y, x1 - x0, 1))

    # ------------------------------------------------------------------ rendering

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            if name == "base":
                style = self.rich_style
            elif name in ("header", "fixed"):
                style = self.get_component_styles(f"keyed-table--{name}").rich_style
            else:
                style = self.get_component_rich_style(f"keyed-table--{name}")
            self._styles[name] = style
        return style

    def _cell_style(self, name: str) -> Style:
        if not name:
            return Style()
        key = f"cell:{name}"
        style = self._styles.get(key)
        if style is None:
            style = self.get_component_rich_style(f"keyed-table--{name}", partial=True)
            self._styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        base = self._style("base")
        if y == 0:
            slot, version, cursor = _HEADER, 0, False
        else:
            row = y - 1 + scroll_y
            if not 0 <= row < len(self._order):
                return Strip.blank(width, base)
            slot = self._order[row]
            version, cursor = self._versions[slot], row == self.cursor_row
        key = (version, cursor, width, scroll_x, self._epoch, self.has_focus)
        cached = self._lines.get(slot)
        if cached is not None and cached[0] == key:
            return cached[1]
        strip = self._render_row(slot, cursor, width, scroll_x, base)
        self._lines[slot] = (key, strip)
        return strip

    def _render_row(self, slot: str, cursor: bool, width: int, scroll_x: int, base: Style) -> Strip:
        """One line as a ``DataTable`` draws it: the fixed cells, then the scrollable ones."""
        self.rows_rendered += 1
        header = slot == _HEADER
        if header:
            row_style = fixed_style = self._style("header")
            texts = [
                (fit(c.label, c.width, c.right, ellipsis=False), Style()) for c in self.columns_spec
            ]
        else:
            row_style, fixed_style = base, self._style("fixed")
            texts = []
            for (raw, style), column in zip(self._cells[slot], self.columns_spec, strict=True):
                text = fmt.clean(raw)
                # An empty cell is blank in the row's style, whatever its own (as DataTable).
                texts.append(
                    (fit(text, column.width, column.right), self._cell_style(style if text else ""))
                )
        cursor_style = self._style("cursor") if cursor else Style()
        fixed_cursor = cursor_style + self._style("fixed-cursor") if cursor else Style()

        def cells(
            segments: list[Segment], columns: range, cell_base: Style, component: Style
        ) -> None:
            pre = cell_base + component
            # The cursor's colour wins over the cell's own (DataTable's "css" foreground).
            post = Style.from_color(component.color) if component.color is not None else None
            pad_style = pre + post if post else pre
            pad = " " * PAD
            for index in columns:
                text, style = texts[index]
                text_style = pre + style
                if post:
                    text_style += post
                segments.append(Segment(pad, pad_style))
                segments.append(Segment(text, text_style))
                segments.append(Segment(pad, pad_style))

        fixed: list[Segment] = []
        count = len(self.columns_spec)
        if self.fixed_columns:
            cells(fixed, range(self.fixed_columns), fixed_style, fixed_cursor)
        scrollable: list[Segment] = []
        # The fixed columns' copies are cropped away below (as DataTable does).
        cells(scrollable, range(count), row_style, cursor_style)
        remaining = max(0, width - (self.table_width - self.fixed_width))
        if remaining:
            scrollable.append(Segment(" " * remaining, row_style + cursor_style))
        view = Strip(scrollable).crop(scroll_x + self.fixed_width, scroll_x + width)
        line = Strip.join([Strip(fixed), view]) if fixed else view
        return line.adjust_cell_length(width, base).simplify()
