"""Lines that fit any width: ``label  value`` fields and titles in parts.

A :class:`Fields` block (the summary under a result, a model's details) puts labels and values
in two columns when they fit, else each label on a line above its value; a :class:`Heading`
keeps the parts of a title (``y ~ x``, then the source) on one line when they fit, else one per
line. Values wrap at their spaces, so a number is never broken (see :mod:`gdfit.layout`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from gdfit.layout import INDENT, PROSE_MIN, Cell, as_text, longest_word


class Heading:
    """Parts of a title (``y ~ x``, then where the data came from) on one line when they fit,
    else each on its own lines (a long part wraps at its spaces)."""

    def __init__(self, *parts: str | Text, gap: int = 3) -> None:
        self.parts = [as_text(p) for p in parts if (p.plain if isinstance(p, Text) else p)]
        self.gap = gap

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        joined = Text(" " * self.gap).join(self.parts)
        if joined.cell_len <= options.max_width:
            yield joined
            return
        for part in self.parts:
            part.overflow = "fold"
            yield part

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        joined = sum(p.cell_len for p in self.parts) + self.gap * max(len(self.parts) - 1, 0)
        return Measurement(min(joined, 20), joined)


class Fields:
    """Lines of ``label  value`` (a result's summary): in two columns when the labels and the
    values' longest words fit side by side, else each label on a line above its value. Values
    wrap at their spaces; a number is never broken."""

    def __init__(self, rows: Sequence[tuple[str, Cell]], *, label_style: str = "bold",
                 gap: int = 2) -> None:
        self.rows = list(rows)
        self.label_style = label_style
        self.gap = gap

    def _side_by_side(self, width: int) -> bool:
        label = max((cell_len(k) for k, _ in self.rows), default=0)
        longest = max((longest_word(as_text(v).plain) for _, v in self.rows), default=0)
        return label + self.gap + max(longest, min(PROSE_MIN, width)) <= width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if self._side_by_side(width):
            grid = Table.grid(padding=(0, self.gap))
            grid.add_column(style=self.label_style, no_wrap=True)
            grid.add_column(overflow="fold")
            for label, value in self.rows:
                grid.add_row(Text(label), as_text(value))  # a label is text, never markup
            yield grid
            return
        for label, value in self.rows:
            yield Text(label, style=self.label_style, overflow="fold")
            text = as_text(value)
            text.overflow = "fold"
            yield Padding(text, (0, 0, 0, INDENT), expand=False)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        label = max((cell_len(k) for k, _ in self.rows), default=0)
        value = max((as_text(v).cell_len for _, v in self.rows), default=0)
        return Measurement(min(label + self.gap + value, 20), label + self.gap + value)
