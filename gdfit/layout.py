"""Tables that fit any width without cutting a number or the column that says which row is which.

Rich shrinks a table that is too wide for the terminal by cutting cells (``1945…``, ``3.56e…``).
A :class:`FittedTable` chooses, at the width it is drawn at, the first layout that fits and
shows every cell whole:

1. one table: every column, headers on one line;
2. one table: prose columns (a message) wrapped at their spaces, then long headers too;
3. several tables, one under the other, as R prints a wide data frame: each repeats the key
   columns (those that say which row is which) and takes as many of the others as fit, the
   most useful first (lowest :attr:`Column.priority`);
4. one block per row (:func:`stacked`): the keys on a line, then each field as ``label
   value``, or the label and the value on lines of their own when both do not fit.

Numbers never wrap and are never shortened; prose wraps at its spaces. :mod:`gdfit.layout_lines`
does the same for ``label  value`` lines and titles. On a console whose encoding lacks gdfit's
symbols, a column's
:attr:`Column.ascii` header is used instead, so that the table is measured as it is printed
(see :mod:`gdfit.ascii`).

A pipe is not fitted: it gets the whole table at its natural width (:func:`natural_width`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich import box as boxes
from rich.box import Box
from rich.cells import cell_len
from rich.console import (
    Console,
    ConsoleOptions,
    Group,
    JustifyMethod,
    RenderableType,
    RenderResult,
)
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

Cell = str | Text
#: A layout never gives a prose column less than this (unless its longest word is shorter), and
#: a whole table (in a pipe) wraps its prose at the second.
PROSE_MIN, PROSE_WIDE = 20, 72
#: How far the fields of a stacked row are indented, and their values when on a line of their own.
INDENT, VALUE_INDENT = 2, 4


@dataclass(frozen=True)
class Column:
    """One column of a :class:`FittedTable`.

    Attributes
    ----------
    header : str
        Its heading.
    justify : str
        "right" for numbers, "left" for names and prose.
    key : bool
        Identifies the row (a policy, a file, a group): always shown, in every layout.
    priority : int
        When the table is split (too wide for one), the columns of lowest priority go into
        the first part, beside the keys.
    wrap : bool
        Prose (a message) that may wrap onto several lines; other cells never wrap.
    style : str
        Rich style of the column's cells.
    ascii : str or None
        The heading on a console that cannot encode ``header`` (default: ``header``).
    """

    header: str
    justify: JustifyMethod = "right"
    key: bool = False
    priority: int = 0
    wrap: bool = False
    style: str = ""
    ascii: str | None = None

    def heading(self, ascii_only: bool) -> str:
        """The header to print on a console that can (or cannot) encode Unicode."""
        return self.ascii if ascii_only and self.ascii is not None else self.header


def as_text(cell: Cell) -> Text:
    """A cell as a Text of its own (a copy, which a layout may restyle)."""
    return cell.copy() if isinstance(cell, Text) else Text(cell)


def longest_word(text: str) -> int:
    """The width of the longest word: how narrow wrapped text can get."""
    return max((cell_len(word) for word in text.split()), default=0)


def _width(text: Text) -> int:
    """The width of a cell: its widest line."""
    return max((cell_len(line) for line in text.plain.split("\n")), default=0)


class FittedTable:
    """A table that chooses its layout by the width it is drawn at (see the module docstring).

    Parameters
    ----------
    columns : sequence of Column
        The columns, in display order.
    rows : sequence of sequence of str or Text
        One cell per column in each row.
    title, caption : str, Text or a renderable, optional
        Above and below the table (text is wrapped at the width; a
        :class:`~gdfit.layout_lines.Heading` lays its parts out itself).
    box : rich.box.Box
        Rich's box style; ``show_edge``, ``pad_edge``, ``padding``, ``show_header`` and
        ``show_lines`` as for :class:`rich.table.Table`.
    """

    def __init__(self, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], *,
                 title: RenderableType | None = None,
                 caption: RenderableType | None = None,
                 box: Box | None = boxes.HEAVY_HEAD, show_edge: bool = True,
                 pad_edge: bool = True, padding: tuple[int, int] = (0, 1),
                 show_header: bool = True, show_lines: bool = False) -> None:
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"a row of {len(row)} cells for {len(self.columns)} columns")
        self.title = title
        self.caption = caption
        self.box = box
        self.show_edge = show_edge
        self.pad_edge = pad_edge
        self.padding = padding
        self.show_header = show_header
        self.show_lines = show_lines

    # --- measuring ---------------------------------------------------------------------------

    def _cells(self, index: int) -> list[Text]:
        return [as_text(row[index]) for row in self.rows]

    def _content(self, index: int) -> int:
        """The width of the widest cell of a column (its longest word, for prose)."""
        cells = self._cells(index)
        if self.columns[index].wrap:
            return max((longest_word(c.plain) for c in cells), default=0)
        return max((_width(c) for c in cells), default=0)

    def _natural(self, index: int) -> int:
        """A column's width with nothing wrapped."""
        return max((_width(c) for c in self._cells(index)), default=0)

    def _widths(self, shown: Sequence[int], ascii_only: bool, *, fold_headers: bool,
                prose: int | None) -> list[int]:
        widths = []
        for i in shown:
            col = self.columns[i]
            head = col.heading(ascii_only) if self.show_header else ""
            head_width = longest_word(head) if fold_headers else cell_len(head)
            if col.wrap:
                body = self._natural(i) if prose is None else max(min(prose, self._natural(i)),
                                                                  self._content(i))
            else:
                body = self._natural(i)
            widths.append(max(head_width, body, 1))
        return widths

    def _overhead(self, count: int) -> int:
        """The columns a table of ``count`` columns spends on lines and padding."""
        pad = self.padding[1] if len(self.padding) > 1 else self.padding[0]
        inner = pad * 2 * count - (0 if self.pad_edge else 2 * pad)
        lines = (count - 1 if self.box is not None else 0) + (
            2 if self.box is not None and self.show_edge else 0)
        return inner + lines

    def width(self, ascii_only: bool = False) -> int:
        """The width of the whole table: every column, headers on one line, prose wrapped at
        :data:`PROSE_WIDE` columns (what a pipe gets)."""
        every = range(len(self.columns))
        return sum(self._widths(every, ascii_only, fold_headers=False, prose=PROSE_WIDE)) + \
            self._overhead(len(self.columns))

    def _fits(self, shown: Sequence[int], width: int, ascii_only: bool,
              attempts: Sequence[tuple[bool, int | None]]) -> list[int] | None:
        """The widths of the columns ``shown`` in the first of ``attempts`` (fold the headers?,
        prose width) that fits in ``width``; None if none does."""
        for fold, prose in attempts:
            widths = self._widths(shown, ascii_only, fold_headers=fold, prose=prose)
            if sum(widths) + self._overhead(len(shown)) <= width:
                return self._spread(shown, widths, width)
        return None

    def layout(self, width: int, ascii_only: bool = False
               ) -> list[tuple[list[int], list[int]]] | None:
        """The tables to draw at ``width``: for each, the columns it shows and their widths.

        One table when every column fits; else several, one under the other, each with the key
        columns and as many others as fit, taken by priority (then in order). None when the
        keys and a single other column do not fit, or when more than two tables would hold a
        single column: then the rows are stacked (:func:`stacked`).
        """
        attempts: list[tuple[bool, int | None]] = [(False, None)]
        if any(c.wrap for c in self.columns):  # prose wraps before a header folds
            attempts += [(False, PROSE_WIDE), (False, PROSE_MIN), (True, PROSE_MIN)]
        else:
            attempts.append((True, None))
        every = list(range(len(self.columns)))
        whole = self._fits(every, width, ascii_only, attempts)
        if whole is not None:
            return [(every, whole)]
        keys = [i for i in every if self.columns[i].key]
        others = sorted((i for i in every if not self.columns[i].key),
                        key=lambda i: (self.columns[i].priority, i))
        groups: list[list[int]] = []
        for i in others:
            if groups and self._fits(sorted([*keys, *groups[-1], i]), width, ascii_only,
                                     attempts[-1:]) is not None:
                groups[-1].append(i)
            else:
                groups.append([i])
        if len(groups) > 2 and min(len(g) for g in groups) < 2:
            return None  # a column or so at a time: the stacked rows read better
        tables = []
        for group in groups:
            shown = sorted([*keys, *group])
            widths = self._fits(shown, width, ascii_only, attempts)
            if widths is None:
                return None
            tables.append((shown, widths))
        return tables

    def _spread(self, shown: Sequence[int], widths: list[int], width: int) -> list[int]:
        """Give a prose column the room that is left, up to its natural width."""
        spare = width - sum(widths) - self._overhead(len(shown))
        out = list(widths)
        for pos, i in enumerate(shown):
            if self.columns[i].wrap and spare > 0:
                grow = min(spare, self._natural(i) - out[pos])
                if grow > 0:
                    out[pos] += grow
                    spare -= grow
        return out

    # --- drawing -----------------------------------------------------------------------------

    def _table(self, shown: Sequence[int], widths: Sequence[int], ascii_only: bool) -> Table:
        table = Table(box=self.box, show_edge=self.show_edge, pad_edge=self.pad_edge,
                      padding=self.padding, show_header=self.show_header,
                      show_lines=self.show_lines, expand=False)
        for i, w in zip(shown, widths, strict=True):
            col = self.columns[i]
            table.add_column(col.heading(ascii_only), justify=col.justify, style=col.style,
                             width=w, overflow="fold")  # the widths hold every number
        for row in self.rows:
            table.add_row(*(as_text(row[i]) for i in shown))
        return table

    def _heading(self, text: RenderableType | None, style: str = ""
                 ) -> RenderableType | None:
        if not isinstance(text, (str, Text)):
            return text
        heading = as_text(text)
        heading.overflow = "fold"
        if style:
            heading.stylize(style)
        return heading

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        ascii_only = options.ascii_only
        title = self._heading(self.title)
        if title is not None:
            yield title
        tables = self.layout(options.max_width, ascii_only)
        if tables is None:
            yield from stacked(self.columns, self.rows, options.max_width, ascii_only)
        else:
            for n, (shown, widths) in enumerate(tables):
                if n:
                    yield Text()
                yield self._table(shown, widths, ascii_only)
        caption = self._heading(self.caption, "dim")
        if caption is not None:
            yield caption

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        full = self.width(options.ascii_only)
        return Measurement(min(full, 20), full)


def stacked(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int,
            ascii_only: bool = False) -> Iterable[RenderableType]:
    """The rows as blocks: the key cells on a line, then one line per field (label and value
    on lines of their own when they do not fit side by side). Empty cells are left out."""
    keys = [i for i, c in enumerate(columns) if c.key]
    fields = [i for i, c in enumerate(columns) if not c.key]
    label_width = max((cell_len(columns[i].heading(ascii_only)) for i in fields), default=0)
    for n, row in enumerate(rows):
        if n:
            yield Text()
        head = Text("  ").join(as_text(row[i]) for i in keys) if keys else Text(f"#{n + 1}")
        head.stylize("bold")
        head.overflow = "fold"
        yield head
        for i in fields:
            value = as_text(row[i])
            if not value.plain.strip():
                continue
            label = columns[i].heading(ascii_only)
            if not columns[i].wrap and "\n" not in value.plain:
                aligned = label.ljust(label_width)
                if INDENT + cell_len(aligned) + 2 + value.cell_len > width:
                    aligned = label
                if INDENT + cell_len(aligned) + 2 + value.cell_len <= width:
                    yield Text(" " * INDENT) + Text(aligned, style="dim") + Text("  ") + value
                    continue
            yield Padding(Text(label, style="dim", overflow="fold"), (0, 0, 0, INDENT),
                          expand=False)
            value.overflow = "fold"
            room = max(0, min(VALUE_INDENT, width - _width(value)))  # keep a number whole
            yield Padding(value, (0, 0, 0, room), expand=False)


def natural_width(renderable: RenderableType, ascii_only: bool = False) -> int:
    """The width ``renderable``'s tables need to be drawn whole: the widest
    :class:`FittedTable` in it (0 when there is none)."""
    if isinstance(renderable, FittedTable):
        return renderable.width(ascii_only)
    if isinstance(renderable, Group):
        return max((natural_width(r, ascii_only) for r in renderable.renderables), default=0)
    return 0
