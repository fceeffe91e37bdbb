"""A small DataTable diffed by row key: fixed column widths, pre-styled inert ``Text`` cells.

For the slow tables (positions, live orders — tens of rows): a caller hands over the whole
list of rows on every refresh; the table rebuilds only when the row keys or their order changed,
and otherwise calls ``update_cell`` for exactly the cells whose text or style changed.  Cells are
``(text, style)`` pairs; the style is a component class name resolved from the theme, and the
text goes through :func:`tastytui.ui.format.inert` (broker text never becomes markup).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from tastytui.ui import format as fmt

#: (text, style) — style is "" or one of :data:`STYLES`.
Cell = tuple[str, str]
Row = tuple[str, tuple[Cell, ...]]

STYLES = ("up", "down", "stale", "muted", "error", "warn", "bold", "accent", "group")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    right: bool = False


class KeyedTable(DataTable[Text]):
    """Rows keyed by a string; ``set_rows`` diffs against what is on screen."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        f"keyed-table--{name}" for name in STYLES
    }
    DEFAULT_CSS = """
    KeyedTable { height: 1fr; }
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

    def __init__(self, columns: Sequence[Column], **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", False)
        super().__init__(**kwargs)
        self.columns_spec = tuple(columns)
        self._order: list[str] = []
        self._cells: dict[str, tuple[Cell, ...]] = {}
        #: Cells updated since mount (a measure that only changed cells are touched).
        self.cell_updates = 0
        self.rebuilds = 0

    def on_mount(self) -> None:
        for column in self.columns_spec:
            label = Text(column.label, justify="right" if column.right else "left")
            self.add_column(label, width=column.width, key=column.key)
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    # ------------------------------------------------------------------ cells

    def _text(self, cell: Cell, column: Column) -> Text:
        text, style = cell
        rich_style = (
            self.get_component_rich_style(f"keyed-table--{style}", partial=True) if style else ""
        )
        return Text(
            fmt.clean(text),
            style=rich_style,
            no_wrap=True,
            justify="right" if column.right else "left",
            overflow="ellipsis",
        )

    def _texts(self, cells: tuple[Cell, ...]) -> list[Text]:
        return [
            self._text(cell, column) for cell, column in zip(cells, self.columns_spec, strict=True)
        ]

    # ------------------------------------------------------------------ rows

    @property
    def keys(self) -> list[str]:
        return list(self._order)

    def cells(self, key: str) -> tuple[Cell, ...] | None:
        return self._cells.get(key)

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show ``rows``: rebuild when the keys changed, else update only the changed cells."""
        keys = [key for key, _ in rows]
        if keys != self._order:
            self._rebuild(rows)
            return
        for key, cells in rows:
            old = self._cells.get(key, ())
            if cells == old:
                continue
            for index, (cell, column) in enumerate(zip(cells, self.columns_spec, strict=True)):
                if index < len(old) and old[index] == cell:
                    continue
                self.update_cell(key, column.key, self._text(cell, column))
                self.cell_updates += 1
            self._cells[key] = cells

    def _rebuild(self, rows: Sequence[Row]) -> None:
        selected = self.selected_key()
        index = self.cursor_row
        self.clear()
        self._cells = {}
        self._order = []
        for key, cells in rows:
            self.add_row(*self._texts(cells), key=key)
            self._cells[key] = cells
            self._order.append(key)
        self.rebuilds += 1
        if not rows:
            return
        if selected is not None and selected in self._cells:
            self.select_key(selected)
        else:
            self.move_cursor(row=min(max(index, 0), len(rows) - 1), scroll=False)

    def _theme_changed(self, _theme: object) -> None:
        # Cell styles are resolved once; a new theme means every cell is styled again.
        for key in self._order:
            cells = self._cells[key]
            for cell, column in zip(cells, self.columns_spec, strict=True):
                self.update_cell(key, column.key, self._text(cell, column))

    # ------------------------------------------------------------------ selection

    def selected_key(self) -> str | None:
        if not self._order or not self.is_valid_row_index(self.cursor_row):
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:  # an empty or changing table has no cell under the cursor
            return None
        return row_key.value

    def select_key(self, key: str) -> bool:
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return False
        self.move_cursor(row=index)
        return True
