"""Read a delimited text table into float64 arrays ready to fit.

This is the only gdfit module that touches pandas: every parser exception is
turned into a one-line :class:`~gdfit.errors.DataError` here, so the rest of
the package deals only with NumPy arrays and gdfit's own errors.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple

import numpy as np

from gdfit.cells import _DECIMAL_COMMA, _NA_TOKENS, WHITESPACE
from gdfit.cells import split_line as _split_line
from gdfit.column_rule import judge_bytes
from gdfit.errors import DataError, OptionError

if TYPE_CHECKING:  # pandas is slow to import: each function that parses imports it
    import pandas as pd


def __getattr__(name: str) -> Any:
    # ``gdfit.io.pd`` still names pandas (imported on first use), e.g. for tests that patch it.
    if name == "pd":
        import pandas

        return pandas
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")



_CANDIDATE_SEPS = (",", "\t", ";")
_SAMPLE_BYTES = 1 << 16
_SAMPLE_LINES = 20
_LISTED_LINES = 5
_NON_SPACE = re.compile(rb"\S")
_EXPECTED_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_EOF_IN_STRING = re.compile(r"EOF inside string starting at row (\d+)")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Numeric columns read from one table, ready to fit.

    Attributes
    ----------
    X : numpy.ndarray
        Shape ``(n, d)``, float64, C-contiguous, all finite.
    y : numpy.ndarray
        Shape ``(n,)``, float64, all finite.
    features : tuple of str
        Names of the x columns, in the order of the columns of `X`.
    target : str
        Name of the y column.
    source : str
        The path as given, or ``"<stdin>"``.
    sep : str
        Delimiter used (detected or given); ``"whitespace"`` means runs of whitespace.
    dropped_rows : tuple of int
        1-based file line numbers of the rows dropped by ``dropna``.
    auto_columns : bool
        True when x or y was chosen automatically.
    ignored_columns : tuple of str
        Non-numeric columns skipped by the automatic choice.
    comma_columns : tuple of str
        Those of them whose text looks like numbers with decimal commas (``3,5``).
    columns : tuple of str
        Every column name of the table, in file order.
    key_columns : tuple of str
        The ``by`` (group key) columns, when asked for.
    keys : numpy.ndarray or None
        The key columns' text (stripped), shape ``(n, len(key_columns))``, object dtype,
        aligned with the rows of `X`; None without ``by``.
    """

    X: np.ndarray
    y: np.ndarray
    features: tuple[str, ...]
    target: str
    source: str
    sep: str
    dropped_rows: tuple[int, ...] = ()
    auto_columns: bool = False
    ignored_columns: tuple[str, ...] = ()
    comma_columns: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    key_columns: tuple[str, ...] = ()
    keys: np.ndarray | None = None


class _Layout(NamedTuple):
    """Where the table is and how to parse it; row ``r`` starts on line ``row_lines[r]``."""

    source: str
    data: bytes  # a multi-byte delimiter replaced by one free byte (single_byte_sep)
    sep: str  # the delimiter in `data`
    skip: int  # physical lines before the first data row
    ncols: int
    shape_from: str  # the line that fixed ncols, for messages
    given_sep: str = ","  # the delimiter in the file
    width: int = 0  # fields pandas is told to expect (ncols, or ncols + 1: trailing delimiter)
    row_lines: np.ndarray | None = None  # 1-based line each parsed row starts on
    decimal: str = "."


class _Records(NamedTuple):
    """The records of the data part of a table, as pandas will parse them (one per row)."""

    lines: np.ndarray  # 1-based physical line each record starts on
    counts: np.ndarray  # fields in each record
    blank: np.ndarray  # only spaces, quotes and delimiters
    tail_blank: np.ndarray  # the last field is empty (a trailing delimiter, when one too many)
    trailing: bool  # some non-blank record has one field too many, the last one empty
    quoted: bool = True  # read by the csv module: `blank` is complete (else see _blank_rows)


class _Column(NamedTuple):
    values: np.ndarray  # float64, NaN where the cell is missing or not a number
    bad: np.ndarray | None  # rows whose text is not a number (text columns only)
    cells: pd.Series | None  # stripped raw text, kept so messages can quote it
    numeric: bool  # gdfit.column_rule's judgement of the head (when x or y is automatic)
    commas: bool | None = None  # the head looks like decimal commas (None: not judged)


def read_dataset(
    path: str | os.PathLike[str],
    *,
    x: Sequence[str] | None = None,
    y: str | None = None,
    header: bool = True,
    sep: str | None = None,
    dropna: bool = False,
    stdin: BinaryIO | None = None,
    by: Sequence[str] | None = None,
    decimal: str = ".",
) -> Dataset:
    """Read a CSV/TSV/whitespace table and select the x and y columns.

    Parameters
    ----------
    path : str or os.PathLike
        File to read; the string ``"-"`` reads all of `stdin`.
    x : sequence of str, optional
        Feature columns, by header name or 0-based index (``"0"``); default:
        every numeric column except y. "Numeric" is judged on the head of the input
        (:mod:`gdfit.column_rule`), as by the streaming reader: a column that is text there
        is skipped, and one that is numeric there but holds text further down is a
        DataError naming its line.
    y : str, optional
        Target column; default: the last numeric column not in x.
    header : bool
        Whether the first non-blank line holds column names; without it the
        columns are named ``"0"``, ``"1"``, ...
    sep : str, optional
        Delimiter; None detects one of ``,`` tab ``;`` or whitespace.
    dropna : bool
        Drop rows with a missing or non-finite value in a selected column
        instead of failing.
    stdin : binary stream, optional
        Stream read when `path` is ``"-"``; defaults to ``sys.stdin.buffer``.
    by : sequence of str, optional
        Group key columns (names or indices): kept as text in ``Dataset.keys``, and never
        chosen automatically as x or y.
    decimal : {".", ","}
        The decimal mark of the numbers (``1,5`` with ``","``, which then cannot be the
        delimiter).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        The input cannot be read or holds unusable values (one-line message
        starting with the source name).
    OptionError
        `sep` is invalid, a column reference is empty, or x and y overlap or
        repeat a column.
    """
    given_sep = _normalize_sep(sep)
    check_decimal(decimal, given_sep)
    x_refs = [x] if isinstance(x, str) else (None if x is None else list(x))
    if x_refs is not None and not x_refs:
        raise OptionError("no x columns given")
    source, raw_data = _read_source(path, stdin)
    data = _check_text(source, raw_data)
    bom = len(raw_data) - len(data)

    # Leading blank lines are skipped but still counted, so that reported line
    # numbers match what an editor shows.
    first_char = _NON_SPACE.search(data)
    assert first_char is not None  # _check_text rejected blank input
    first_offset = data.rfind(b"\n", 0, first_char.start()) + 1
    first_line = data.count(b"\n", 0, first_offset)
    lines = _sample_lines(data, first_offset)
    if not lines:  # only characters that are blank as text ("\x1c", a lone "\x85" …)
        raise DataError(f"{source}: the {'input' if source == '<stdin>' else 'file'} is empty")
    used_sep = given_sep if given_sep is not None else _detect_sep("\n".join(lines))
    check_decimal(decimal, used_sep, detected=given_sep is None)
    fields = _split_line(lines[0], used_sep)
    parse_data, parse_sep = single_byte_sep(source, data, used_sep)
    if header:
        names = header_names(source, fields)
        layout = _Layout(source, parse_data, parse_sep, first_line + 1, len(fields),
                         "the header", used_sep, decimal=decimal)
    else:
        names = [str(i) for i in range(len(fields))]
        layout = _Layout(source, parse_data, parse_sep, first_line, len(fields),
                         f"line {first_line + 1}", used_sep, decimal=decimal)
    records = _scan_records(layout)
    _check_widths(layout, records)
    if records.trailing:  # a trailing delimiter on some rows: room for its empty field
        layout = layout._replace(width=layout.ncols + 1)
    table = _read_table(
        layout, na_values=list(_NA_TOKENS), keep_default_na=False, decimal=layout.decimal,
        **_float_kwargs()
    )
    if len(table) == len(records.lines):
        keep, row_lines = ~records.blank, records.lines
        if not records.quoted:  # record r is line skip + r + 1: blank lines of full width
            numeric_dtype = [_is_numeric_dtype(table[j].dtype) for j in range(layout.ncols)]
            keep &= ~_blank_rows(layout, table, numeric_dtype)
    else:  # the scan and pandas disagree about the records: count lines as before
        numeric_dtype = [_is_numeric_dtype(table[j].dtype) for j in range(layout.ncols)]
        keep = ~_blank_rows(layout, table, numeric_dtype)
        row_lines = np.arange(len(table)) + layout.skip + 1
    layout = layout._replace(row_lines=row_lines)
    numeric_dtype = [_is_numeric_dtype(table[j].dtype) for j in range(layout.ncols)]
    if not keep.any():
        raise DataError(f"{source}: no data rows" + (" (only a header)" if header else ""))

    feat = None if x_refs is None else [_parse_column_ref(r, names, source) for r in x_refs]
    tgt = None if y is None else _parse_column_ref(y, names, source)
    _check_overlap(feat, tgt, names)
    key_idx = [_parse_column_ref(r, names, source) for r in by or ()]
    for k, j in enumerate(key_idx):
        if j in key_idx[:k]:  # a repeated key would group by nothing more: say so
            raise OptionError(f"column {_quote(names[j])} is given more than once to group by")
    for j in key_idx:
        if j in (feat or ()) or j == tgt:
            raise OptionError(f"column {_quote(names[j])} is used both to group by and as x or y")
    auto = feat is None or tgt is None
    wanted = {*(feat or ()), *(() if tgt is None else (tgt,))}
    if auto:  # which columns are numeric: the head decides, as for every reader
        data_offset = first_offset
        if header:
            data_offset = data.find(b"\n", first_offset) + 1 or len(data)
        head = judge_bytes(data, data_offset, used_sep, layout.ncols, decimal, skipped=bom)
        wanted |= {j for j in range(layout.ncols) if head.numeric[j]}
    # only the columns that can be used are converted: text in the head is never read as numbers
    text_cols = [j for j in range(layout.ncols) if not numeric_dtype[j] and j in wanted]
    cols = _convert_columns(layout, table, text_cols, keep)
    if auto:
        cols = {j: col._replace(numeric=head.numeric[j], commas=j in head.commas)
                for j, col in cols.items()}
    feat, tgt, ignored = _choose_columns(source, names, cols, feat, tgt, exclude=key_idx)
    selected = [*feat, tgt]
    _check_bad_cells(layout, names, selected, cols)

    values = np.empty((int(keep.sum()), len(selected)), dtype=np.float64)
    for k, j in enumerate(selected):
        values[:, k] = cols[j].values[keep]
    line_numbers = row_lines[keep]
    finite = np.isfinite(values)
    keys = None
    if key_idx:
        raw = _read_table(layout, usecols=key_idx, dtype=str, na_filter=False)
        keys = np.column_stack(
            [_restore_sep(layout, raw[j].fillna("").str.strip()).to_numpy(dtype=object)[keep]
             for j in key_idx])
    dropped: tuple[int, ...] = ()
    if not finite.all():
        if not dropna:
            raise DataError(_missing_message(source, names, selected, finite, line_numbers))
        good = finite.all(axis=1)
        dropped = tuple(int(n) for n in line_numbers[~good])
        if not good.any():
            raise DataError(
                f"{source}: no rows left after dropping {len(dropped)} rows with missing "
                "or non-finite values"
            )
        values = values[good]
        keys = None if keys is None else keys[good]
    return Dataset(
        X=np.ascontiguousarray(values[:, :-1]),
        y=np.ascontiguousarray(values[:, -1]),
        features=tuple(names[j] for j in feat),
        target=names[tgt],
        source=source,
        sep=used_sep,
        dropped_rows=dropped,
        auto_columns=auto,
        ignored_columns=ignored,
        comma_columns=tuple(n for j, n in enumerate(names)
                            if n in ignored and _comma_column(cols[j])),
        columns=tuple(names),
        key_columns=tuple(names[j] for j in key_idx),
        keys=keys,
    )


DECIMALS = (".", ",")



def check_decimal(decimal: str, sep: str | None, detected: bool = False) -> str:
    """The decimal mark, ``"."`` or ``","``, checked against the delimiter.

    Raises
    ------
    OptionError
        Another mark, or the delimiter itself (given, or ``detected``).
    """
    if decimal not in DECIMALS:
        raise OptionError(f"invalid decimal mark {decimal!r}: give '.' or ','")
    if sep == decimal:
        how = "the delimiter detected is" if detected else "--sep is"
        raise OptionError(f"--decimal {decimal}: {how} {decimal!r} too; give another "
                          "delimiter with --sep (e.g. --sep ';')")
    return decimal


def decimal_hint(cell: str, decimal: str) -> str:
    """``"; looks like decimal commas: try --decimal ,"`` for a cell such as ``1,5``."""
    if decimal == "." and _DECIMAL_COMMA.fullmatch(cell):
        return "; looks like decimal commas: try --decimal ,"
    return ""


def header_names(source: str, fields: Sequence[str], what: str = "the header") -> list[str]:
    """Column names from the header's fields: stripped, an empty one named by its 0-based index.

    Raises
    ------
    DataError
        Two columns end up with the same name (``x,x,y``, or ``1,,y`` where the empty name of
        column 1 becomes ``"1"``): the message names both positions.
    """
    names = [f.strip() or str(i) for i, f in enumerate(fields)]
    check_unique_names(source, names, [f.strip() for f in fields], what)
    return names


def check_unique_names(source: str, names: Sequence[str], given: Sequence[str] | None = None,
                       what: str = "the header") -> None:
    """A :class:`DataError` naming both positions (0-based) of the first repeated name.

    ``given`` holds the names as written, when some were made up (an empty one named by its
    index), so that the message can say so.
    """
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name not in seen:
            seen[name] = j
            continue
        i = seen[name]
        empty = [k for k in (i, j) if given is not None and not given[k]]
        if empty:
            k = empty[0]
            other = j if k == i else i
            raise DataError(
                f"{source}: column {k} has no name in {what}, so it is called {_quote(name)}, "
                f"but column {other} is named {_quote(name)} too; give every column its own "
                "name")
        raise DataError(f"{source}: column name {_quote(name)} appears twice in {what} "
                        f"(columns {i} and {j}, counted from 0); give every column its own "
                        "name")


def _normalize_sep(sep: str | None) -> str | None:
    """Map a user-given delimiter to one character or ``"whitespace"``."""
    if sep is None:
        return None
    if sep in ("\\t", "tab"):
        return "\t"
    if sep in (WHITESPACE, " ", r"\s+"):
        return WHITESPACE
    if len(sep) != 1 or sep in '"\r\n':
        raise OptionError(
            f"sep= must be one character (not a quote or a line end), '\\t' for tab, or "
            f"'whitespace', got {sep!r}")
    return sep


def _read_source(path: str | os.PathLike[str], stdin: BinaryIO | None) -> tuple[str, bytes]:
    """Return the source name and all bytes of the file or of stdin."""
    # Only the str "-" means stdin, so that Path("-") can still name a file.
    if isinstance(path, str) and path == "-":
        from gdfit.sources import standard_input

        try:
            return "<stdin>", standard_input(stdin).read()
        except (OSError, ValueError) as exc:
            raise DataError(f"<stdin>: cannot read input ({exc})") from None
    source = os.fspath(path)
    try:
        with open(source, "rb") as fh:
            return source, fh.read()
    except IsADirectoryError:
        raise DataError(f"{source}: is a directory, not a file") from None
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(f"{source}: no such file") from None
    except PermissionError:
        raise DataError(f"{source}: cannot read file (permission denied)") from None
    except OSError as exc:
        raise DataError(f"{source}: cannot read file ({exc.strerror or exc})") from None


def _check_text(source: str, data: bytes) -> bytes:
    """Strip a UTF-8 BOM and check that `data` is non-blank UTF-8 text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{source}: the file is UTF-16 text; save it as UTF-8")
    data = data.removeprefix(b"\xef\xbb\xbf")
    if not _NON_SPACE.search(data):
        what = "input" if source == "<stdin>" else "file"
        raise DataError(f"{source}: the {what} is empty")
    check_line_ends(source, data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as UTF-8"
        ) from None
    return data


def check_line_ends(source: str, head: bytes) -> None:
    """Refuse lines ended by CR alone (classic Mac OS): one rule for every reader, which all
    count lines by their LF (a CR before it, CRLF, is fine)."""
    end = head.find(b"\n")
    first = head if end < 0 else head[:end]
    if b"\r" in first.rstrip(b"\r"):
        raise DataError(f"{source}: the lines end in CR alone (classic Mac OS line ends); "
                        "convert them to LF or CRLF (e.g. tr '\\r' '\\n')")


def unclosed_record(lines: Sequence[str], sep: str, first_line: int) -> int | None:
    """The line on which the last record of `lines` (a whole input, from line `first_line`)
    opens a quote it never closes, or None."""
    text = "".join(lines)
    if sep == WHITESPACE or '"' not in text:
        return None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=False)
    start = done = 0
    try:
        for _ in reader:
            start, done = done, reader.line_num
    except csv.Error:
        return None
    if unclosed_quote(text.split("\n")[start:], sep):
        return first_line + start
    return None


def _sample_lines(data: bytes, offset: int) -> list[str]:
    """Return the first few complete non-blank lines from `offset` on."""
    first_end = data.find(b"\n", offset)
    first_end = len(data) if first_end < 0 else first_end
    # Always take the whole first line: a wide header may exceed the sample.
    stop = max(offset + _SAMPLE_BYTES, first_end)
    chunk = data[offset:stop]
    if first_end < stop < len(data):
        chunk = chunk[: chunk.rfind(b"\n")]  # the last line may be cut short
    text = chunk.decode("utf-8", errors="replace")
    return [ln for ln in text.splitlines() if ln.strip()][:_SAMPLE_LINES]


def _detect_sep(sample: str) -> str:
    """Guess the delimiter of a table from its first lines.

    Parameters
    ----------
    sample : str
        Text whose first non-blank line is the header (or the first data row).

    Returns
    -------
    str
        ``","``, ``"\\t"``, ``";"`` or ``"whitespace"``; ``","`` when unsure.
    """
    lines = [ln for ln in sample.splitlines() if ln.strip()][:_SAMPLE_LINES]
    if not lines:
        return ","
    best, best_count = ",", 1
    for cand in _CANDIDATE_SEPS:
        if cand not in lines[0]:
            continue
        counts = {len(_split_line(ln, cand)) for ln in lines}
        if len(counts) == 1 and (count := counts.pop()) > best_count:
            best, best_count = cand, count
    if best_count > 1:
        return best
    counts = {len(ln.split()) for ln in lines}
    return WHITESPACE if len(counts) == 1 and counts.pop() > 1 else ","


#: Bytes that stand in for a multi-byte delimiter (pandas' and pyarrow's parsers split on one).
_FREE_BYTES = (0x1F, 0x1E, 0x1D, 0x1C, 0x1A, 0x19, 0x18, 0x17, 0x16, 0x01, 0x02, 0x03)


def free_byte(data: bytes) -> int | None:
    """A control byte that does not occur in `data`, or None."""
    return next((b for b in _FREE_BYTES if bytes((b,)) not in data), None)


def single_byte_sep(source: str, data: bytes, sep: str) -> tuple[bytes, str]:
    """`data` and `sep`, a delimiter of several UTF-8 bytes (``§``) replaced by a free byte.

    Quoted fields keep their text: :func:`_restore_sep` turns the byte back in the text cells.
    """
    if sep == WHITESPACE or len(sep.encode()) == 1:
        return data, sep
    byte = free_byte(data)
    if byte is None:
        raise DataError(f"{source}: cannot read the delimiter {sep!r} (the file uses every "
                        "control character); give a one-byte --sep")
    return data.replace(sep.encode(), bytes((byte,))), chr(byte)


def _restore_sep(layout: _Layout, text: pd.Series) -> pd.Series:
    if layout.sep == layout.given_sep:
        return text
    return text.str.replace(layout.sep, layout.given_sep, regex=False)


_SPACE_BYTES = b" \t\r\v\f"


#: Bytes of the data scanned at a time by :func:`_scan_records` (its scratch memory).
_SCAN_BYTES = 1 << 24


def _scan_records(layout: _Layout) -> _Records:
    """Where each record of the data starts, its field count, and which ones are blank.

    Without quotes a record is a line, and the delimiters are counted with NumPy, a slice of
    lines at a time (scratch memory ≈ 3 × ``_SCAN_BYTES``, not proportional to the file);
    with quotes (a field may then hold a newline) the :mod:`csv` module reads the records.
    """
    data = layout.data
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    start = 0 if layout.skip == 0 else (
        int(newlines[layout.skip - 1]) + 1 if layout.skip <= newlines.size else len(data))
    quoted = layout.sep != WHITESPACE and data.find(b'"', start) >= 0  # (no copy of the data)
    body = np.frombuffer(data, dtype=np.uint8)[start:]
    starts = np.concatenate(([0], newlines[newlines >= start] - start + 1))
    if body.size == 0 or body[-1] == ord("\n"):
        starts = starts[:-1]  # no record after the last newline
    n = starts.size
    lines = np.arange(n) + layout.skip + 1
    counts = np.zeros(n, dtype=np.intp)
    whitespace = layout.sep == WHITESPACE
    sep = 0 if whitespace else layout.sep.encode()[0]
    i = 0
    while i < n:  # a slice of whole lines at a time
        lo = int(starts[i])
        j = max(int(np.searchsorted(starts, lo + _SCAN_BYTES)), i + 1)
        hi = int(starts[j]) if j < n else body.size
        seg, at = body[lo:hi], starts[i:j] - lo
        if whitespace:  # a field starts where text follows a space (or the line's start)
            text = ~((seg == 32) | (seg == 9) | (seg == 10) | (seg == 13) | (seg == 11)
                     | (seg == 12))
            text[1:] &= ~text[:-1]
            counts[i:j] = np.add.reduceat(text, at, dtype=np.intp)
        else:  # delimiters between one line start and the next
            where = np.flatnonzero(seg == sep)
            bounds = np.append(at, seg.size)
            if quoted and (quotes := np.flatnonzero(seg == ord('"'))).size:
                first = np.searchsorted(quotes, bounds)
                if (np.diff(first) % 2).any():  # a quote open at a line's end: a field
                    return _scan_quoted(layout, data[start:].decode("utf-8"))  # holds \n
                # Every line holds an even number of quotes, so a delimiter inside quotes
                # has an odd number of them before it in the slice.
                where = where[np.searchsorted(quotes, where) % 2 == 0]
            counts[i:j] = 1 + np.diff(np.searchsorted(where, bounds))
        i = j
    # Only the records of another width are looked at here: blank (spaces and delimiters
    # only), or ending in one empty field too many (a trailing delimiter). A blank line of
    # the right width is found after parsing (_blank_rows), among the rows with no value.
    blank = counts == 0
    tail_blank = np.zeros(n, dtype=bool)
    if not whitespace:
        ends = np.append(starts[1:], body.size) + start
        for r in np.flatnonzero(counts != layout.ncols):
            line = data[start + int(starts[r]):int(ends[r])].rstrip(b"\r\n").decode("utf-8")
            fields = _split_line(line, layout.sep)
            if not any(f.strip() for f in fields):
                blank[r] = True
            elif counts[r] == layout.ncols + 1:
                tail_blank[r] = not fields[-1].strip()
    return _Records(lines, counts, blank, tail_blank, bool(tail_blank.any()), quoted=False)


def _scan_quoted(layout: _Layout, text: str) -> _Records:
    from array import array

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=layout.sep, strict=False)
    lines, counts = array("q"), array("q")
    blank, tail = bytearray(), bytearray()
    done = 0
    try:
        for fields in reader:
            lines.append(layout.skip + done + 1)
            done = reader.line_num
            counts.append(len(fields))
            blank.append(not any(f.strip() for f in fields))
            tail.append(len(fields) > 1 and not fields[-1].strip())
    except csv.Error:  # pandas will say what is wrong
        pass
    if lines and unclosed_quote(text.split("\n")[lines[-1] - layout.skip - 1:], layout.sep):
        raise DataError(f"{layout.source}: unclosed quote starting on line {lines[-1]}")
    counts_a = np.frombuffer(counts, dtype=np.int64).astype(np.intp)
    blank_a = np.frombuffer(blank, dtype=bool).copy()
    tail_a = np.frombuffer(tail, dtype=bool) & ~blank_a & (counts_a == layout.ncols + 1)
    return _Records(np.frombuffer(lines, dtype=np.int64).astype(np.intp), counts_a, blank_a,
                    tail_a, bool(tail_a.any()), quoted=True)


def unclosed_quote(lines: list[str], sep: str) -> bool:
    """Whether the text of these lines (the last record of a table) ends inside a quote.

    The :mod:`csv` module, lenient (as pandas is) about stray quotes, reads such a record to
    the end of the input without complaint; reading it strictly tells.
    """
    try:
        for _ in csv.reader(io.StringIO("\n".join(lines), newline=""), delimiter=sep,
                            strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _check_widths(layout: _Layout, records: _Records) -> None:
    """Refuse the first non-blank record whose field count is not the table's.

    One field too many is accepted when it is empty: a trailing delimiter (``1,2,3,``).
    """
    ok = (records.counts == layout.ncols) | (
        (records.counts == layout.ncols + 1) & records.tail_blank)
    bad = np.flatnonzero(~records.blank & ~ok)
    if bad.size:
        r = int(bad[0])
        count = int(records.counts[r])
        raise DataError(f"{layout.source}: line {int(records.lines[r])} has {count} "
                        f"field{'s' if count != 1 else ''}, but {layout.shape_from} has "
                        f"{layout.ncols}")


def _float_kwargs() -> dict[str, Any]:
    import pandas as pd

    # pandas >= 3.1 always converts exactly and deprecates the option.
    major, minor = (int(p) for p in re.findall(r"\d+", pd.__version__)[:2])
    return {} if (major, minor) >= (3, 1) else {"float_precision": "round_trip"}


def _read_table(layout: _Layout, **kwargs: Any) -> pd.DataFrame:
    """Parse the data with pandas: one row per physical line after ``layout.skip``."""
    import pandas as pd

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.read_csv(
                io.BytesIO(layout.data),
                sep=r"\s+" if layout.sep == WHITESPACE else layout.sep,
                header=None,
                names=list(range(max(layout.width, layout.ncols))),
                index_col=False,
                skiprows=layout.skip,
                # Blank lines stay as empty rows so row r stays on line skip + r + 1.
                skip_blank_lines=False,
                engine="c",
                encoding="utf-8",
                **kwargs,
            )
    except MemoryError:
        raise
    except Exception as exc:  # no parser exception may reach the user
        text = str(exc).strip()
        message = text.splitlines()[0] if text else type(exc).__name__
        if m := _EXPECTED_FIELDS.search(message):
            expected, line, saw = m.groups()
            message = f"line {line} has {saw} fields, but {layout.shape_from} has {expected}"
        elif m := _EOF_IN_STRING.search(message):  # pandas counts rows from 0 here
            message = f"unclosed quote starting on line {int(m.group(1)) + 1}"
        else:
            message = "cannot parse the data: " + message.removeprefix(
                "Error tokenizing data. C error: "
            )
        raise DataError(f"{layout.source}: {message}") from None


def _is_numeric_dtype(dtype: Any) -> bool:
    # Booleans and strings need the raw text: "True" is not a number.
    return isinstance(dtype, np.dtype) and dtype.kind in ("i", "u", "f")


def _blank_rows(layout: _Layout, table: pd.DataFrame, numeric_dtype: list[bool]) -> np.ndarray:
    """Mark the rows that come from blank lines (or lines of only delimiters)."""
    empty = np.ones(len(table), dtype=bool)
    for j in (j for j, is_num in enumerate(numeric_dtype) if is_num):
        empty &= table[j].isna().to_numpy()
    rows = np.flatnonzero(empty)
    for j in (j for j, is_num in enumerate(numeric_dtype) if not is_num):
        cells = table[j].iloc[rows].tolist()
        rows = rows[[not (isinstance(c, str) and c.strip()) for c in cells]]
    empty[:] = False
    if rows.size == 0:
        return empty
    # A row of NA tokens ("nan,NA") is empty as well, but it is missing data,
    # not a blank line: look at the raw text of the remaining candidates.
    data = layout.data
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(data)]))
    junk = b' \t\r\n\v\f"' + (layout.sep.encode() if layout.sep != WHITESPACE else b"")
    for r in rows:
        k = min(layout.skip + int(r), len(starts) - 1)
        empty[r] = not data[starts[k] : ends[k]].translate(None, junk)
    return empty


def _convert_columns(
    layout: _Layout, table: pd.DataFrame, text_cols: list[int], keep: np.ndarray
) -> dict[int, _Column]:
    """Convert the columns to float64; reparse the text columns in `text_cols`."""
    import pandas as pd

    cols: dict[int, _Column] = {}
    for j in range(layout.ncols):
        if _is_numeric_dtype(table[j].dtype):
            vals = table[j].to_numpy(dtype=np.float64, na_value=np.nan)
            cols[j] = _Column(vals, None, None, bool((~np.isnan(vals[keep])).any()))
        else:
            cols[j] = _Column(np.full(len(table), np.nan), None, None, False)
    if not text_cols:
        return cols
    # Reread the text columns verbatim: the first pass may have changed cells
    # (bools, NA tokens, mixed chunks) that an error message has to quote.
    raw = _read_table(layout, usecols=text_cols, dtype=str, na_filter=False)
    for j in text_cols:
        text = raw[j].fillna("").str.strip()
        missing = text.isin(_NA_TOKENS).to_numpy() | ~keep
        numbers = text
        if layout.decimal == ",":  # 1,5 is read as 1.5; 1.5 is not a number (to_number)
            numbers = text.str.replace(",", ".", regex=False).where(
                ~text.str.contains(".", regex=False), "not a number")
        parsed = pd.to_numeric(numbers.where(~missing), errors="coerce").to_numpy(np.float64)
        ok = ~missing & ~np.isnan(parsed)
        # float() spells NaN in more ways than the NA tokens ("NAN", "+nan").
        missing |= text.str.lower().isin(["nan", "+nan", "-nan"]).to_numpy()
        bad = ~missing & ~ok
        vals = np.full(len(text), np.nan)
        if not bad.any():  # with a bad cell the values are never used
            good = numbers.to_numpy(dtype=object)[ok]
            try:  # reparse with float(): exact whatever pandas' converter
                vals[ok] = np.fromiter(map(float, good), dtype=np.float64, count=good.size)
            except ValueError:
                bad |= ok
        nonempty = int(np.count_nonzero(ok | bad))
        cols[j] = _Column(vals, bad, text, 2 * int(np.count_nonzero(ok & ~bad)) > nonempty)
    return cols


def _check_bad_cells(
    layout: _Layout, names: list[str], selected: list[int], cols: dict[int, _Column]
) -> None:
    """Raise for the first (lowest line) non-numeric cell in the selected columns."""
    first: tuple[int, int, int] | None = None  # (row, column, number of bad cells)
    for j in sorted(set(selected)):
        bad = cols[j].bad
        rows = np.flatnonzero(bad) if bad is not None else np.empty(0, dtype=np.intp)
        if rows.size and (first is None or rows[0] < first[0]):
            first = (int(rows[0]), j, int(rows.size))
    if first is None:
        return
    row, j, count = first
    cells = cols[j].cells
    assert cells is not None
    more = f" (and {count - 1} more in this column)" if count > 1 else ""
    line = layout.skip + row + 1 if layout.row_lines is None else int(layout.row_lines[row])
    cell = str(cells.iloc[row])
    if layout.sep != layout.given_sep:
        cell = cell.replace(layout.sep, layout.given_sep)
    raise DataError(
        f"{layout.source}: column {_quote(names[j])}, line {line}: "
        f"{_quote(cell)} is not a number{more}{decimal_hint(cell, layout.decimal)}"
    )


def _choose_columns(
    source: str,
    names: list[str],
    cols: dict[int, _Column],
    feat: list[int] | None,
    tgt: int | None,
    exclude: Sequence[int] = (),
) -> tuple[list[int], int, tuple[str, ...]]:
    """Fill in x and/or y from the numeric columns (never from `exclude`); also return the
    ignored ones."""
    if feat is not None and tgt is not None:
        return feat, tgt, ()
    numeric = [j for j in range(len(names)) if cols[j].numeric and j not in exclude]
    if feat is None and tgt is None:
        feat, tgt = numeric[:-1], (numeric[-1] if numeric else None)
    elif feat is not None:
        rest = [j for j in numeric if j not in feat]
        tgt = rest[-1] if rest else None
    else:
        feat = [j for j in numeric if j != tgt]
    if not feat or tgt is None:
        role = "y" if tgt is None else "x"
        raise DataError(_too_few_numeric(source, names, cols, numeric, role))
    chosen = {*feat, tgt, *exclude}
    ignored = tuple(n for j, n in enumerate(names) if j not in chosen and not cols[j].numeric)
    return feat, tgt, ignored


def _parse_column_ref(ref: str, names: list[str], source: str) -> int:
    """Resolve a column name, or else a 0-based index given as a string."""
    ref = str(ref).strip()
    if not ref:
        raise OptionError("empty column name")
    matches = [i for i, name in enumerate(names) if name == ref]
    if len(matches) > 1:
        where = ", ".join(str(i) for i in matches)
        raise DataError(
            f"{source}: column name {_quote(ref)} is ambiguous (columns {where}); "
            "refer to it by index"
        )
    if matches:
        return matches[0]
    if ref.isascii() and ref.isdigit():
        index = int(ref)
        if index < len(names):
            return index
        raise DataError(
            f"{source}: column index {index} is out of range (0-{len(names) - 1}); "
            f"columns are: {_list_names(names)}"
        )
    raise DataError(f"{source}: no column {_quote(ref)}{did_you_mean(ref, names)}; columns "
                    f"are: {_list_names(names)}")


def did_you_mean(ref: str, names: Sequence[str]) -> str:
    """``" (did you mean 'price_k'?)"`` for the name closest to `ref` (difflib), or ``""``."""
    import difflib

    folded = {name.casefold(): name for name in reversed(names)}
    match = folded.get(ref.casefold())  # the same name but for case: surely that one
    if match is None:
        close = difflib.get_close_matches(ref, list(names), n=1, cutoff=0.6)
        if not close:
            close = difflib.get_close_matches(ref.casefold(), list(folded), n=1, cutoff=0.6)
            close = [folded[c] for c in close]
        match = close[0] if close else None
    return "" if match is None else f" (did you mean {_quote(match)}?)"


def _check_overlap(feat: list[int] | None, tgt: int | None, names: list[str]) -> None:
    seen: set[int] = set()
    for j in feat or ():
        if j in seen:
            raise OptionError(f"column {_quote(names[j])} is given more than once as x")
        seen.add(j)
    if tgt in seen:
        raise OptionError(f"column {_quote(names[tgt])} is used both as x and as y")


def _too_few_numeric(
    source: str, names: list[str], cols: dict[int, _Column], numeric: list[int], role: str
) -> str:
    if len(numeric) >= 2:  # x or y was given and used up the numeric columns
        return f"{source}: no numeric column left to use as {role}"
    found = ": " + ", ".join(_quote(names[j]) for j in numeric) if numeric else ""
    message = f"{source}: needs at least two numeric columns; found {len(numeric)}{found}"
    other = [_quote(n) for j, n in enumerate(names) if not cols[j].numeric]
    if other:
        message += "; not numeric: " + _list_names(other)
    if len(names) == 1:  # usually a wrong delimiter rather than a one-column file
        message += " (only one column was found; is the separator right?)"
    if any(not cols[j].numeric and _comma_column(cols[j]) for j in range(len(names))):
        message += "; looks like decimal commas: try --decimal ,"
    return message


def _comma_column(col: Any) -> bool:
    """Whether the head of the column looks like decimal commas (gdfit.column_rule.judge)."""
    return bool(getattr(col, "commas", False))


def _missing_message(
    source: str, names: list[str], selected: list[int], finite: np.ndarray, lines: np.ndarray
) -> str:
    """Describe the column whose first missing/non-finite value comes earliest."""
    bad_rows = [np.flatnonzero(~finite[:, k]) for k in range(len(selected))]
    k = min((k for k in range(len(selected)) if bad_rows[k].size), key=lambda k: bad_rows[k][0])
    rows = bad_rows[k]
    where = ("line " if rows.size == 1 else "lines ") + ", ".join(
        str(int(lines[r])) for r in rows[:_LISTED_LINES]
    )
    if rows.size > _LISTED_LINES:
        where += f" (and {rows.size - _LISTED_LINES} more)"
    return (
        f"{source}: missing or non-finite values in column {_quote(names[selected[k]])} "
        f"on {where}; use --dropna to drop such rows"
    )


def _list_names(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} columns)" if len(names) > limit else "")


def _quote(text: str, limit: int = 40) -> str:
    """Quote a user-supplied value for a one-line message."""
    text = text.replace("\r", " ").replace("\n", " ")
    return "'" + (text if len(text) <= limit else text[: limit - 3] + "...") + "'"
