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
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple

import numpy as np

from gdfit.errors import DataError, OptionError

if TYPE_CHECKING:  # pandas is slow to import: each function that parses imports it
    import pandas as pd


def __getattr__(name: str) -> Any:
    # ``gdfit.io.pd`` still names pandas (imported on first use), e.g. for tests that patch it.
    if name == "pd":
        import pandas

        return pandas
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


WHITESPACE = "whitespace"
_CANDIDATE_SEPS = (",", "\t", ";")
_SAMPLE_BYTES = 1 << 16
_SAMPLE_LINES = 20
_LISTED_LINES = 5
# pandas' default NA spellings, fixed here so that both parsing passes (and
# every pandas version) agree on what counts as a missing cell.
_NA_TOKENS = frozenset(
    ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
     "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
)  # fmt: skip
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
    columns: tuple[str, ...] = ()
    key_columns: tuple[str, ...] = ()
    keys: np.ndarray | None = None


class _Layout(NamedTuple):
    """Where the table is and how to parse it; row ``r`` is on line ``skip + r + 1``."""

    source: str
    data: bytes
    sep: str
    skip: int  # physical lines before the first data row
    ncols: int
    shape_from: str  # the line that fixed ncols, for messages


class _Column(NamedTuple):
    values: np.ndarray  # float64, NaN where the cell is missing or not a number
    bad: np.ndarray | None  # rows whose text is not a number (text columns only)
    cells: pd.Series | None  # stripped raw text, kept so messages can quote it
    numeric: bool  # more than half of the non-empty cells are numbers


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
) -> Dataset:
    """Read a CSV/TSV/whitespace table and select the x and y columns.

    Parameters
    ----------
    path : str or os.PathLike
        File to read; the string ``"-"`` reads all of `stdin`.
    x : sequence of str, optional
        Feature columns, by header name or 0-based index (``"0"``); default:
        every numeric column except y.
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
    x_refs = [x] if isinstance(x, str) else (None if x is None else list(x))
    if x_refs is not None and not x_refs:
        raise OptionError("no x columns given")
    source, data = _read_source(path, stdin)
    data = _check_text(source, data)

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
    fields = _split_line(lines[0], used_sep)
    if header:
        names = [f.strip() or str(i) for i, f in enumerate(fields)]
        layout = _Layout(source, data, used_sep, first_line + 1, len(fields), "the header")
    else:
        names = [str(i) for i in range(len(fields))]
        layout = _Layout(source, data, used_sep, first_line, len(fields), f"line {first_line + 1}")
    table = _read_table(
        layout, na_values=list(_NA_TOKENS), keep_default_na=False, **_float_kwargs()
    )
    numeric_dtype = [_is_numeric_dtype(table[j].dtype) for j in range(layout.ncols)]
    keep = ~_blank_rows(layout, table, numeric_dtype)
    if not keep.any():
        raise DataError(f"{source}: no data rows" + (" (only a header)" if header else ""))

    feat = None if x_refs is None else [_parse_column_ref(r, names, source) for r in x_refs]
    tgt = None if y is None else _parse_column_ref(y, names, source)
    _check_overlap(feat, tgt, names)
    key_idx = list(dict.fromkeys(_parse_column_ref(r, names, source) for r in by or ()))
    for j in key_idx:
        if j in (feat or ()) or j == tgt:
            raise OptionError(f"column {_quote(names[j])} is used both to group by and as x or y")
    auto = feat is None or tgt is None
    wanted = set(range(layout.ncols)) if auto else {*(feat or ()), tgt}
    text_cols = [j for j in range(layout.ncols) if not numeric_dtype[j] and j in wanted]
    cols = _convert_columns(layout, table, text_cols, keep)
    feat, tgt, ignored = _choose_columns(source, names, cols, feat, tgt, exclude=key_idx)
    selected = [*feat, tgt]
    _check_bad_cells(layout, names, selected, cols)

    values = np.empty((int(keep.sum()), len(selected)), dtype=np.float64)
    for k, j in enumerate(selected):
        values[:, k] = cols[j].values[keep]
    line_numbers = np.flatnonzero(keep) + layout.skip + 1
    finite = np.isfinite(values)
    keys = None
    if key_idx:
        raw = _read_table(layout, usecols=key_idx, dtype=str, na_filter=False)
        keys = np.column_stack(
            [raw[j].fillna("").str.strip().to_numpy(dtype=object)[keep] for j in key_idx])
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
        columns=tuple(names),
        key_columns=tuple(names[j] for j in key_idx),
        keys=keys,
    )


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
        stream = stdin if stdin is not None else sys.stdin.buffer
        try:
            return "<stdin>", stream.read()
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
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as UTF-8"
        ) from None
    return data


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


def _split_line(line: str, sep: str) -> list[str]:
    """Split one line into fields the way the parser will (quotes included)."""
    if sep == WHITESPACE:
        return line.split()
    try:
        return next(csv.reader([line], delimiter=sep), [])
    except csv.Error:
        return line.split(sep)


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
                names=list(range(layout.ncols)),
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
        parsed = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(np.float64)
        ok = ~missing & ~np.isnan(parsed)
        # float() spells NaN in more ways than the NA tokens ("NAN", "+nan").
        missing |= text.str.lower().isin(["nan", "+nan", "-nan"]).to_numpy()
        bad = ~missing & ~ok
        vals = np.full(len(text), np.nan)
        if not bad.any():  # with a bad cell the values are never used
            good = text.to_numpy(dtype=object)[ok]
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
    raise DataError(
        f"{layout.source}: column {_quote(names[j])}, line {layout.skip + row + 1}: "
        f"{_quote(str(cells.iloc[row]))} is not a number{more}"
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
    raise DataError(f"{source}: no column {_quote(ref)}; columns are: {_list_names(names)}")


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
    return message


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
