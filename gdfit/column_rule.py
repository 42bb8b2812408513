"""The one rule for which columns are numeric, shared by every reader.

Without ``--x``/``--y`` gdfit uses the numeric columns and skips the others. Whether a column is
numeric is judged on the **head** of the input, the same rows for every engine:

* the head is the first :data:`HEAD_BYTES` bytes of the (decompressed) input, whole lines only
  (all of it when it is shorter), and of its data lines the first :data:`SAMPLE_ROWS` that are
  not blank (a line of only spaces, quotes and delimiters is blank, as everywhere);
* a cell is a number when ``float()`` reads it (with ``decimal=","``: ``1,5``), missing when
  it is empty or an NA spelling (:data:`gdfit.cells._NA_TOKENS`), text otherwise;
* a column is numeric when it has at least one number and more than half of its non-missing
  cells are numbers: with ``k`` numbers and ``t`` text cells in the head, numeric ⇔
  ``k > 0`` and ``2k > k + t`` (that is, ``k > t``).

The streaming reader (``--engine gram``, ``dask``) can see only a head before it chooses
columns, so the in-memory reader (``--engine rows``, ``--each-file``, ``--group-by``,
``compare``) judges on the same head rather than on the whole column. What the head says holds
for the whole file: a column chosen as numeric that holds text further down is a data error
naming the file, the column and the line, on every engine; a column that is text in the head is
skipped (named in the "ignored non-numeric" note) even when it holds numbers further down.

Parquet columns carry a type in the schema, and that type decides instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import NamedTuple

from gdfit.cells import _NA_TOKENS, looks_like_commas, to_number
from gdfit.cells import split_line as _split_line

#: Non-blank data rows of the head that decide which columns are numeric.
SAMPLE_ROWS = 1000
#: Bytes at the start of the input where the column names and those rows are looked for.
HEAD_BYTES = 1 << 20


def cell_kind(cell: str, decimal: str = ".") -> bool | None:
    """True for a number, None for a missing cell, False for other text."""

    cell = cell.strip()
    if cell in _NA_TOKENS:
        return None
    try:
        to_number(cell, decimal)
    except ValueError:
        return False
    return True


def _counts(cells: Iterable[str], decimal: str) -> tuple[int, int]:
    """Numbers and text cells among `cells` (:func:`cell_kind`, without its per-cell imports)."""

    number: Callable[[str], float] = float if decimal == "." else partial(to_number,
                                                                          decimal=decimal)
    good = text = 0
    for cell in cells:
        cell = cell.strip()
        if cell in _NA_TOKENS:
            continue
        try:
            number(cell)
        except ValueError:
            text += 1
        else:
            good += 1
    return good, text


def is_numeric(cells: Iterable[str], decimal: str = ".") -> bool:
    """Whether a column with these head cells is numeric (see the module docstring).

    Parameters
    ----------
    cells : iterable of str
        The column's cells in the head rows (:func:`head_rows`).
    decimal : {".", ","}
        The decimal mark.

    Returns
    -------
    bool
        ``k > 0 and k > t`` for ``k`` numbers and ``t`` text cells (missing cells do not count).
    """
    good, text = _counts(cells, decimal)
    return good > 0 and good > text


def numeric_columns(rows: Sequence[Sequence[str]], ncols: int, decimal: str = "."
                    ) -> tuple[bool, ...]:
    """:func:`is_numeric` for each of ``ncols`` columns of the head rows (short rows skip)."""
    return tuple(is_numeric((r[j] for r in rows if j < len(r)), decimal) for j in range(ncols))


class Judgement(NamedTuple):
    """What the head says of each column."""

    numeric: tuple[bool, ...]  # :func:`is_numeric`
    commas: frozenset[int]  # columns not numeric whose cells look like 1,5 (decimal commas)


def judge(rows: Sequence[Sequence[str]], ncols: int, decimal: str = ".") -> Judgement:
    """The :class:`Judgement` of the head rows (:func:`head_rows`)."""

    numeric = numeric_columns(rows, ncols, decimal)
    commas = frozenset(j for j in range(ncols) if not numeric[j] and decimal == "." and
                       looks_like_commas([r[j] for r in rows if j < len(r)]))
    return Judgement(numeric, commas)


def complete_head(head: bytes, whole: bool) -> bytes:
    """The whole lines of ``head`` (all of it when it is the whole input, or one long line)."""
    if whole:
        return head
    return head[:head.rfind(b"\n") + 1] or head


def head_rows(lines: Sequence[str], sep: str, limit: int = SAMPLE_ROWS) -> list[list[str]]:
    """The first ``limit`` non-blank lines of ``lines`` (the data lines of the head), split.

    A line is blank when it holds nothing but spaces, quotes and delimiters: the readers skip
    such lines in the data too.
    """

    rows: list[list[str]] = []
    for ln in lines:
        if len(rows) >= limit:
            break
        # blank as the readers skip it: no field holds more than spaces (",,," too)
        if not ln.strip():
            continue
        fields = _split_line(ln.rstrip("\r\n"), sep)
        if any(f.strip() for f in fields):
            rows.append(fields)
    return rows


def judge_bytes(data: bytes, data_offset: int, sep: str, ncols: int, decimal: str = ".",
                skipped: int = 0) -> Judgement:
    """The head's :class:`Judgement`, for a reader that holds all of the input's bytes.

    Parameters
    ----------
    data : bytes
        The whole input (less the first ``skipped`` bytes, a byte-order mark the streaming
        reader counts in its head).
    data_offset : int
        Offset in ``data`` of the first data line (after the header).
    sep : str
        The delimiter, as in the file.
    ncols : int
        Number of columns.
    decimal : {".", ","}
        The decimal mark.
    skipped : int
        Bytes removed from the start of the input before ``data``.
    """
    head = data[:HEAD_BYTES - skipped]
    head = complete_head(head, len(head) + skipped < HEAD_BYTES)
    text = head[data_offset:].decode("utf-8", errors="replace")
    return judge(head_rows(text.split("\n"), sep), ncols, decimal)
