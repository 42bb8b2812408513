"""Read a delimited text table a chunk of rows at a time, in constant memory.

:mod:`gdfit.io` reads a whole table for fitting; prediction streams instead. This module
uses only the standard library's :mod:`csv` (no pandas, so ``gdfit predict`` starts fast)
and keeps every field's text as written, so that rows can be echoed back unchanged. It
follows :mod:`gdfit.io`'s conventions: the same delimiter detection, the same missing-value
spellings, blank lines skipped but counted, and one-line :class:`~gdfit.errors.DataError`
messages that start with the source name and give the line number.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from typing import BinaryIO, TextIO

import numpy as np

from gdfit.cells import _NA_TOKENS as NA_TOKENS
from gdfit.cells import WHITESPACE, to_number
from gdfit.cells import split_line as _split_line
from gdfit.choices import DEFAULT_CHUNK_ROWS
from gdfit.errors import DataError, OptionError
from gdfit.io import (
    _detect_sep,
    _normalize_sep,
    check_decimal,
    check_line_ends,
    decimal_hint,
    header_names,
    unclosed_quote,
)

_SAMPLE_LINES = 20
_SAMPLE_CHARS = 1 << 16

#: The same delimiter rules as :mod:`gdfit.io` (which imports pandas only when it parses).
normalize_sep = _normalize_sep
_split = _split_line


def detect_sep(lines: Sequence[str]) -> str:
    """Guess the delimiter from the first non-blank lines, exactly as :mod:`gdfit.io` does."""
    return _detect_sep("\n".join(lines))


@dataclass(frozen=True)
class Chunk:
    """Consecutive data rows: their fields as text and the line each row starts on."""

    rows: list[list[str]]
    lines: list[int]

    def __len__(self) -> int:
        return len(self.rows)


class TableStream:
    """An open table: its column names, then its rows a chunk at a time.

    Use :func:`open_table` to make one, as a context manager so that the file is closed.
    """

    def __init__(self, source: str, text: TextIO, *, header: bool, sep: str | None,
                 owns: bool, decimal: str = ".") -> None:
        self.source = source
        self.decimal = decimal
        self._text = text
        self._owns = owns
        sample: list[str] = []
        size = 0
        nonblank = 0
        lines = self._lines(text)
        for line in lines:
            sample.append(line)
            size += len(line)
            nonblank += bool(line.strip())
            if nonblank >= _SAMPLE_LINES or size >= _SAMPLE_CHARS:
                break
        if not nonblank:
            what = "input" if source == "<stdin>" else "file"
            raise DataError(f"{source}: the {what} is empty")
        if len(sample) > 1 and sample[0].endswith("\r") and not sample[0].endswith("\r\n"):
            check_line_ends(source, "".join(sample[:2]).encode())
        self.sep = sep if sep is not None else detect_sep(sample)
        check_decimal(decimal, self.sep, detected=sep is None)
        self._rows = self._records(itertools.chain(sample, text))
        record = next(self._rows, None)
        if record is None:  # nothing but blank lines and delimiters (",\n")
            what = "input" if source == "<stdin>" else "file"
            raise DataError(f"{source}: the {what} is empty")
        first, first_line = record
        if header:
            self.names = tuple(header_names(source, first))
            self._pending: list[tuple[list[str], int]] = []
            self._shape_from = "the header"
        else:
            self.names = tuple(str(i) for i in range(len(first)))
            self._pending = [(first, first_line)]
            self._shape_from = f"line {first_line}"
        self.rows_read = 0

    def __enter__(self) -> TableStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (standard input is left open)."""
        if self._owns:
            self._text.close()

    def _lines(self, text: TextIO) -> Iterator[str]:
        """The first physical lines (for the sample), a UTF-8 BOM dropped."""
        number = 0
        while True:
            try:
                line = text.readline()
            except (UnicodeDecodeError, OSError) as exc:
                raise self._read_error(exc, number + 1) from None
            if not line:
                return
            number += 1
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield line

    def _read_error(self, exc: Exception, line: int) -> DataError:
        if isinstance(exc, UnicodeDecodeError):
            return DataError(f"{self.source}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}"
                             f" near line {line}); save it as UTF-8")
        return DataError(f"{self.source}: cannot read ({getattr(exc, 'strerror', '') or exc})")

    def _records(self, lines: Iterable[str]) -> Iterator[tuple[list[str], int]]:
        """Non-blank records (not only spaces and delimiters) and the line each starts on."""
        if self.sep == WHITESPACE:
            number = 0
            try:
                for number, line in enumerate(lines, start=1):
                    fields = line.split()
                    if fields:
                        yield fields, number
            except (UnicodeDecodeError, OSError) as exc:
                raise self._read_error(exc, number + 1) from None
            return
        text: list[str] = []  # the lines of the record being read

        def kept(lines: Iterable[str]) -> Iterator[str]:
            for line in lines:
                text.append(line)
                yield line

        reader = csv.reader(kept(lines), delimiter=self.sep, strict=False)
        done = 0
        last: tuple[list[str], int] | None = None  # held back: is it cut by an open quote?
        try:
            record, opened = "", 0  # the text of the last record read, and its line
            for fields in reader:
                start, done = done + 1, reader.line_num
                record, opened = "".join(text), start
                text.clear()
                if fields and (fields[0].strip() or any(f.strip() for f in fields)):
                    if last is not None:
                        yield last
                    last = fields, start
            # Lenient, the csv module reads an unclosed quote to the end of the input.
            if record and unclosed_quote([record], self.sep):
                raise DataError(f"{self.source}: unclosed quote starting on line {opened}")
            if last is not None:
                yield last
        except csv.Error as exc:
            raise DataError(f"{self.source}: cannot parse line {reader.line_num}: {exc}"
                            ) from None
        except (UnicodeDecodeError, OSError) as exc:
            raise self._read_error(exc, reader.line_num + 1) from None

    def chunks(self, size: int = DEFAULT_CHUNK_ROWS) -> Iterator[Chunk]:
        """The data rows, at most `size` at a time; a row of the wrong width is a DataError."""
        if size < 1:
            raise OptionError(f"--chunk-size must be ≥ 1, got {size}")
        width = len(self.names)
        records = itertools.chain(self._pending, self._rows)
        while True:
            block = list(itertools.islice(records, size))
            if not block:
                return
            for fields, line in block:
                if len(fields) == width + 1 and not fields[-1].strip():
                    fields.pop()  # a trailing delimiter (1,2,3,), as gdfit.io reads it
                if len(fields) != width:
                    raise DataError(f"{self.source}: line {line} has {len(fields)} fields, but "
                                    f"{self._shape_from} has {width}")
            self.rows_read += len(block)
            yield Chunk([f for f, _ in block], [n for _, n in block])


def open_table(path: str | os.PathLike[str], *, header: bool = True, sep: str | None = None,
               stdin: BinaryIO | None = None, decimal: str = ".") -> TableStream:
    """Open a CSV/TSV/whitespace table for reading in chunks (``"-"`` is standard input).

    Raises
    ------
    DataError
        The file cannot be opened, is empty, or its first lines are not UTF-8.
    OptionError
        `sep` is not a valid delimiter.
    """
    given = normalize_sep(sep)
    check_decimal(decimal, given)
    if isinstance(path, str) and path == "-":
        from gdfit.sources import standard_input

        raw: BinaryIO = standard_input(stdin)
        source, owns = "<stdin>", False
    else:
        source, owns = os.fspath(path), True
        try:
            raw = open(source, "rb")  # closed by the TableStream
        except IsADirectoryError:
            raise DataError(f"{source}: is a directory, not a file") from None
        except (FileNotFoundError, NotADirectoryError):
            raise DataError(f"{source}: no such file") from None
        except PermissionError:
            raise DataError(f"{source}: cannot read file (permission denied)") from None
        except OSError as exc:
            raise DataError(f"{source}: cannot read file ({exc.strerror or exc})") from None
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if head in (b"\xff\xfe", b"\xfe\xff"):
        if owns:
            raw.close()
        raise DataError(f"{source}: the file is UTF-16 text; save it as UTF-8")
    text: io.TextIOWrapper = (io.TextIOWrapper(raw, encoding="utf-8", newline="") if owns
                              else _KeepOpen(raw, encoding="utf-8", newline=""))
    try:
        return TableStream(source, text, header=header, sep=given, owns=True, decimal=decimal)
    except BaseException:
        text.close()
        raise


class _KeepOpen(io.TextIOWrapper):
    """A text wrapper over a stream we do not own (stdin): closing it leaves the stream open."""

    def close(self) -> None:
        try:
            self.detach()
        except ValueError:  # already detached
            pass


def numeric_columns(chunk: Chunk, columns: Sequence[int], names: Sequence[str],
                    source: str, decimal: str = ".") -> np.ndarray:
    """The given columns of a chunk as float64, shape ``(rows, len(columns))``.

    Missing cells (empty or an NA spelling) become NaN, as do ``nan``/``inf`` themselves;
    text that is not a number is a DataError naming the column, the line and the text.
    """
    out = np.empty((len(chunk.rows), len(columns)), dtype=np.float64)
    for k, j in enumerate(columns):
        number = float if decimal == "." else partial(to_number, decimal=decimal)
        try:  # float() takes surrounding spaces, "nan" and "inf"; the fast path
            out[:, k] = np.fromiter(map(number, map(itemgetter(j), chunk.rows)),
                                    dtype=np.float64, count=len(chunk.rows))
            continue
        except ValueError:
            pass
        for r, row in enumerate(chunk.rows):
            cell = row[j].strip()
            if cell in NA_TOKENS:
                out[r, k] = np.nan
                continue
            try:
                out[r, k] = to_number(cell, decimal)
            except ValueError:
                shown = cell if len(cell) <= 40 else cell[:37] + "..."
                raise DataError(f"{source}: column '{names[j]}', line {chunk.lines[r]}: "
                                f"'{shown}' is not a number{decimal_hint(cell, decimal)}"
                                ) from None
    return out
