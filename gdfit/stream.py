"""One streaming pass over large inputs: the sufficient statistics, chunk by chunk.

Gradient descent on the mean squared error needs only n, the means, the centred Gram matrix,
Xᵀy and yᵀy (:class:`~gdfit.objective.LeastSquares`). :func:`stream_statistics` computes them
in one pass over CSV (a file, ``-``, ``.gz``/``.zst`` by extension or by magic bytes on standard
input), Parquet, or several files read as one data set, in memory that does not grow with the
number of rows:

* the input is cut into blocks of whole records — whole lines, never ending inside quotes
  (:func:`_record_end`) — read at their offsets from plain files, streamed otherwise, and a
  small pool of threads parses each block with pyarrow's CSV reader (which
  releases the GIL);
* each block's moments come from the corrected two-pass formula (centre at the block mean, then
  subtract the rounding left in the centred sums), and blocks are merged in file order by a
  binary tree of pairwise updates (Chan, Golub & LeVeque, "Algorithms for computing the sample
  variance", 1983): for blocks a, b with n = nₐ + n_b and δ = x̄_b − x̄ₐ,

      x̄ = x̄ₐ + δ·n_b/n,    M = Mₐ + M_b + δδᵀ·nₐn_b/n     (M = Σ (x − x̄)(x − x̄)ᵀ)

  so the result does not depend on how many threads ran.

A block that pyarrow refuses, or that holds a missing value, is re-read line by line with
:mod:`gdfit.io`'s rules (blank lines skipped, NA spellings, ``float()`` for numbers), which gives
the exact line number for the error message, or skips malformed rows under
``on_bad_rows="skip"``. Columns are chosen as :func:`gdfit.io.read_dataset` does (names or
0-based indices; by default every numeric column but y, y the last), judging "numeric" on the
head by :mod:`gdfit.column_rule`, as every reader does. Whitespace-separated text has no
pyarrow reader and takes the line-by-line path throughout (slower, same memory).

This is an io module: it (and :mod:`gdfit.io`) may import pyarrow; nothing numeric here knows
about Rich or the command line. Progress is reported through a callback.
"""

from __future__ import annotations

import csv
import io
import math
import os
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, NamedTuple

import numpy as np

from gdfit.cells import _NA_TOKENS, WHITESPACE, to_number
from gdfit.cells import split_line as _split_line
from gdfit.column_rule import HEAD_BYTES, complete_head, head_rows, judge
from gdfit.column_rule import cell_kind as _is_number
from gdfit.errors import DataError, OptionError
from gdfit.io import (
    _check_overlap,
    _choose_columns,
    _detect_sep,
    _normalize_sep,
    _parse_column_ref,
    _quote,
    check_decimal,
    check_line_ends,
    check_unique_names,
    decimal_hint,
    free_byte,
    header_names,
    unclosed_quote,
    unclosed_record,
)
from gdfit.magnitude import Units
from gdfit.objective import LeastSquares

#: Bytes per parsed block: big enough to amortise pyarrow's per-call cost, small enough that
#: the blocks in flight (two per thread) stay a few tens of MiB.
BLOCK_BYTES = 1 << 22
#: Up to this many rows the statistics are computed from the rows kept in memory, by exactly
#: the arithmetic of LeastSquares.from_arrays, so that small inputs give the rows engine's
#: numbers to the last bit however they are split into blocks or files.
SMALL_ROWS = 1 << 16
LISTED = 5  # line numbers quoted in a message
BAD_ROWS = ("error", "skip")
PARQUET_SUFFIXES = (".parquet", ".pq")
_GZIP_MAGIC, _ZSTD_MAGIC = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"
_NA_LIST = sorted(_NA_TOKENS)

Progress = Callable[[int, "int | None"], None]  # (bytes done, total bytes or None)


# ---------------------------------------------------------------------------------------------
# Moments and their merge


@dataclass(frozen=True, eq=False)
class Moments:
    """Count, mean and centred second moments of p columns (x columns, then y).

    ``m2`` is Σ (a − ā)(a − ā)ᵀ, not divided by n; ``n = 0`` is the empty set.
    """

    n: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def empty(cls, p: int) -> Moments:
        return cls(0, np.zeros(p), np.zeros((p, p)))

    @classmethod
    def of_columns(cls, columns: Sequence[np.ndarray], work: np.ndarray | None = None,
                   shift: np.ndarray | None = None) -> Moments:
        """Moments of equal-length float64 columns, less ``shift``, by the corrected two-pass
        formula.

        Centre at the computed mean ā, then correct for the rounding left in it: with
        s = Σ (a − ā), the exact moments are ā + s/n and Σ(a − ā)(a − ā)ᵀ − ssᵀ/n (Chan, Golub
        & LeVeque 1983, eq. 1.7). A ``shift`` K near the data (one of their rows) makes the
        means small, so that the merge's δ = ā_b − ā_a keeps its digits when |ā| ≫ σ; the
        moments are then those of a − K (add K back with :meth:`unshifted`). ``work``
        (p × ≥ n) is scratch space reused between calls.
        """
        p = len(columns)
        k = int(columns[0].shape[0])
        if k == 0:
            return cls.empty(p)
        buf = work[:, :k] if work is not None and work.shape[1] >= k else np.empty((p, k))
        mean = np.empty(p)
        with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf: the caller looks
            for j, col in enumerate(columns):
                if shift is None:
                    m = float(np.add.reduce(col)) / k  # pairwise summation
                    np.subtract(col, m, out=buf[j])
                else:
                    np.subtract(col, shift[j], out=buf[j])
                    m = float(np.add.reduce(buf[j])) / k
                    buf[j] -= m
                mean[j] = m
            s = np.add.reduce(buf, axis=1)
            # einsum keeps small Gram matrices off BLAS, whose threads fight the parsers'.
            m2 = _pairwise_gram(buf) if p <= 16 else buf @ buf.T
            m2 -= np.outer(s, s) / k
            return cls(k, mean + s / k, m2)

    @classmethod
    def of_array(cls, data: np.ndarray, shift: np.ndarray | None = None) -> Moments:
        """Moments of the rows of ``data`` (n × p), less ``shift`` (see :meth:`of_columns`)."""
        data = np.asarray(data, dtype=np.float64)
        return cls.of_columns([np.ascontiguousarray(data[:, j]) for j in range(data.shape[1])],
                              shift=shift)

    def unshifted(self, shift: np.ndarray | None) -> Moments:
        """The moments of a + K from those of a (the second moments do not change)."""
        if shift is None or self.n == 0:
            return self
        return Moments(self.n, self.mean + shift, self.m2)

    def merge(self, other: Moments) -> Moments:
        """The moments of both sets together (Chan, Golub & LeVeque's pairwise update)."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN: problem() refuses them
            delta = other.mean - self.mean
            mean = self.mean + delta * (other.n / n)
            m2 = self.m2 + other.m2 + np.outer(delta, delta) * (self.n * other.n / n)
        return Moments(n, mean, m2)

    def problem(self, intercept: bool = True, names: Sequence[str] = ()) -> LeastSquares:
        """The least-squares statistics, with y the last column (``names``: the columns', for
        messages)."""
        if self.n == 0:
            raise DataError("no observations to fit")
        if not (np.isfinite(self.mean).all() and np.isfinite(self.m2).all()):
            raise DataError(too_large(names, self.mean, self.m2))
        d = self.mean.shape[0] - 1
        n = self.n
        return LeastSquares(n=n, x_mean=self.mean[:d].copy(), y_mean=float(self.mean[d]),
                            gram=self.m2[:d, :d] / n, xty=self.m2[:d, d] / n,
                            yty=float(self.m2[d, d]) / n, intercept=intercept)


#: Rows per partial Gram matrix in :func:`_pairwise_gram`.
GRAM_CHUNK = 1024


def _pairwise_gram(buf: np.ndarray) -> np.ndarray:
    """buf·bufᵀ (p × k) summed pairwise: one partial product per GRAM_CHUNK rows, added in a
    binary tree.

    A running sum of k products rounds k times at the size of the whole sum (error ~√k·ε
    of it, typically); the tree rounds log₂(k/GRAM_CHUNK) times. On nearly collinear columns
    the small eigenvalue of the Gram matrix is 10¹² times smaller than its entries, and this
    is most of what it keeps (66000 rows: 15× smaller errors). It is as fast as one einsum.
    """
    p, k = buf.shape
    chunks = k // GRAM_CHUNK
    rest = buf[:, chunks * GRAM_CHUNK:]
    out = np.einsum("ik,jk->ij", rest, rest)
    if chunks:
        b3 = buf[:, :chunks * GRAM_CHUNK].reshape(p, chunks, GRAM_CHUNK)
        parts = np.einsum("icr,jcr->cij", b3, b3)
        while parts.shape[0] > 1:
            if parts.shape[0] % 2:
                parts = np.concatenate([parts, np.zeros((1, p, p))])
            parts = parts[0::2] + parts[1::2]
        out = out + parts[0]
    return np.asarray(out)


def too_large(names: Sequence[str], mean: np.ndarray, m2: np.ndarray | None = None) -> str:
    """The message for moments that overflowed, naming the first column concerned."""
    diag = np.diag(m2) if m2 is not None else np.zeros_like(mean)
    bad = [j for j in range(mean.shape[0])
           if not (math.isfinite(float(mean[j])) and math.isfinite(float(diag[j])))]
    which = (f"column {_quote(names[bad[0]])}: its values are"
             if bad and bad[0] < len(names) else "the values are")
    return (f"{which} too large to square and sum in double precision (gdfit divides each "
            "column by a power of two near its first value; these grow far beyond it)")


class TreeMerge:
    """Merge moments in arrival order by a balanced binary tree, in O(log blocks) memory.

    Like pairwise summation, this keeps the rounding of the merges at O(log B) instead of the
    O(B) of a running merge.
    """

    def __init__(self, p: int) -> None:
        self.p = p
        self._stack: list[tuple[int, Moments]] = []

    def add(self, m: Moments) -> None:
        level = 0
        while self._stack and self._stack[-1][0] == level:
            m = self._stack.pop()[1].merge(m)
            level += 1
        self._stack.append((level, m))

    def total(self) -> Moments:
        out = Moments.empty(self.p)
        for _, m in reversed(self._stack):
            out = m.merge(out)
        return out


# ---------------------------------------------------------------------------------------------
# What was read


@dataclass(frozen=True)
class StreamInfo:
    """What a streaming pass read.

    ``skipped`` lists (source, line) of the first malformed rows skipped (``skipped_rows``
    counts them all); ``dropped_rows`` counts the rows dropped for missing values.
    """

    sources: tuple[str, ...]
    features: tuple[str, ...]
    target: str
    rows: int
    columns: tuple[str, ...] = ()
    dropped_rows: int = 0
    skipped_rows: int = 0
    skipped: tuple[tuple[str, int], ...] = ()
    auto_columns: bool = False
    ignored_columns: tuple[str, ...] = ()
    comma_columns: tuple[str, ...] = ()  # ignored ones that look like decimal commas
    bytes_read: int = 0
    reader: str = "pyarrow"
    #: Powers of two the columns were divided by (values that cannot be squared, see
    #: :mod:`gdfit.magnitude`): the statistics are those of the scaled columns. None: as read.
    units: Units | None = None
    #: The rows (X, y, in the units above) of a small input, which the statistics were computed
    #: from: they give an exact reference too (see :func:`gdfit.reference.reference_from_rows`).
    rows_kept: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False,
                                                            compare=False)

    @property
    def source(self) -> str:
        """The inputs as one name."""
        return ", ".join(self.sources)


class ReadInterrupted(KeyboardInterrupt):
    """Ctrl-C while reading: carries the moments of the rows read so far."""

    def __init__(self, moments: Moments, info: StreamInfo) -> None:
        super().__init__()
        self.moments = moments
        self.info = info


@dataclass
class _Tally:
    rows: int = 0
    dropped: int = 0
    skipped: int = 0
    skipped_at: list[tuple[str, int]] = field(default_factory=list)
    bytes_done: int = 0


# ---------------------------------------------------------------------------------------------
# Public entry points


def stream_statistics(
    paths: Sequence[str],
    *,
    x: Sequence[str] | None = None,
    y: str | None = None,
    header: bool = True,
    sep: str | None = None,
    dropna: bool = False,
    intercept: bool = True,
    on_bad_rows: str = "error",
    progress: Progress | None = None,
    threads: int | None = None,
    block_bytes: int = BLOCK_BYTES,
    stdin: BinaryIO | None = None,
    decimal: str = ".",
) -> tuple[LeastSquares, StreamInfo]:
    """Sufficient statistics of several inputs read as one data set, in one streaming pass.

    Parameters
    ----------
    paths : sequence of str
        CSV/TSV files (``.gz``/``.zst`` are decompressed), Parquet files (``.parquet``/``.pq``),
        or ``-`` for standard input. Globs must be expanded already
        (:func:`gdfit.sources.expand_inputs`).
    x, y, header, sep, dropna, decimal :
        As in :func:`gdfit.io.read_dataset`; every input must have the same columns.
    intercept : bool
        Passed on to the :class:`LeastSquares` returned.
    on_bad_rows : {"error", "skip"}
        Stop at the first malformed row (wrong number of fields, or text that is not a number
        in a used column) with its line number, or skip such rows and count them.
    progress : callable, optional
        Called with (bytes done, total bytes or None) as blocks complete.
    threads : int, optional
        Parsing threads (default: the number of CPUs, at most 8).

    Returns
    -------
    (LeastSquares, StreamInfo)

    Raises
    ------
    DataError
        Unreadable input or unusable values (one line, starting with the source name).
    ReadInterrupted
        Ctrl-C while reading (a KeyboardInterrupt carrying the moments read so far).
    """
    run = _Pass(paths, keep_rows=SMALL_ROWS, x=x, y=y, header=header, sep=sep, dropna=dropna,
                on_bad_rows=on_bad_rows, progress=progress, threads=threads,
                block_bytes=block_bytes, stdin=stdin, decimal=decimal)
    moments, info = run.run()
    if moments.n == 0:
        raise DataError(f"{info.source}: no rows left after dropping {info.dropped_rows} rows "
                        "with missing or non-finite values" if info.dropped_rows else
                        f"{info.source}: no rows left after skipping {info.skipped_rows} "
                        "malformed rows")
    if run.kept is not None:  # a small input: the same arithmetic as the rows engine
        X, y_rows = run.rows()
        if info.units is None:
            units = Units.of_rows(X, y_rows)
            if units is not None:  # values that cannot be squared (see gdfit.magnitude)
                X, y_rows = units.rows(X, y_rows)
                info = replace(info, units=units)
        return (LeastSquares.from_arrays(X, y_rows, intercept=intercept),
                replace(info, rows_kept=(X, y_rows)))
    return moments.problem(intercept, (*info.features, info.target)), info


def stream_moments(paths: Sequence[str], **options: Any) -> tuple[Moments, StreamInfo]:
    """The :class:`Moments` (x columns, then y) of the inputs; see :func:`stream_statistics`."""
    return _Pass(paths, keep_rows=0, **options).run()


def read_rows(paths: Sequence[str], **options: Any) -> tuple[np.ndarray, np.ndarray, StreamInfo]:
    """The rows themselves (X n × d, y), read by the same pass as :func:`stream_statistics`."""
    run = _Pass(paths, keep_rows=-1, **options)
    run.run()
    X, y = run.rows()
    return X, y, run.info()


# ---------------------------------------------------------------------------------------------
# Columns


class _Numeric(NamedTuple):
    numeric: bool  # what gdfit.io's column chooser looks at
    commas: bool = False  # text that looks like numbers with decimal commas


@dataclass(frozen=True)
class _Table:
    """One input's layout: where the data start, how to split it, which columns to use."""

    source: str
    kind: str  # "csv", "text" (line by line) or "parquet"
    names: tuple[str, ...]
    sep: str
    data_offset: int  # byte offset of the first data line
    data_line: int  # its 1-based line number
    shape_from: str  # "the header" or "line N", for messages
    numeric: tuple[bool, ...]
    first: tuple[float, ...] = ()  # each column's first finite value in the sample, or NaN
    decimal: str = "."  # the decimal mark ("," reads 1,5 as 1.5)
    commas: frozenset[int] = frozenset()  # text columns whose sample looks like 1,5
    trailing: bool = False  # the sample's rows end in a delimiter (1,2,3,): one field more


def _resolve(table: _Table, x: Sequence[str] | None, y: str | None
             ) -> tuple[list[int], int, bool, tuple[str, ...]]:
    """x and y as column indices, chosen as gdfit.io.read_dataset does."""
    names = list(table.names)
    feat = None if x is None else [_parse_column_ref(r, names, table.source) for r in x]
    tgt = None if y is None else _parse_column_ref(y, names, table.source)
    _check_overlap(feat, tgt, names)
    auto = feat is None or tgt is None
    cols = {j: _Numeric(table.numeric[j], j in table.commas) for j in range(len(names))}
    feat, tgt, ignored = _choose_columns(table.source, names, cols, feat, tgt)  # type: ignore[arg-type]
    return feat, tgt, auto, ignored


def _first_values(rows: list[list[str]], ncols: int, decimal: str = ".") -> tuple[float, ...]:
    """Each column's first finite number in the sample rows (NaN when there is none)."""
    out = []
    for j in range(ncols):
        value = math.nan
        for r in rows:
            if j < len(r) and _is_number(r[j], decimal) and \
                    math.isfinite(v := to_number(r[j].strip(), decimal)):
                value = v
                break
        out.append(value)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Byte sources


class _Bytes:
    """An input's bytes: its head for sniffing, then blocks of whole lines."""

    def __init__(self, path: str, stdin: BinaryIO | None) -> None:
        self.path = path
        self.source = "<stdin>" if path == "-" else path
        self.total: int | None = None
        self._fd: int | None = None  # a regular file, read with pread at any offset
        self._stream: Any = None
        self._raw: BinaryIO | None = None
        self._buffer = b""  # streams: the head, read for sniffing but not yet handed out
        self.raw_done = 0  # bytes of the file itself (compressed) read so far
        if path == "-":
            from gdfit.sources import standard_input

            raw = standard_input(stdin)
            head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
            self._open_stream(raw, _codec_of_magic(head))
            return
        try:
            fh = open(path, "rb")  # closed by close()
        except IsADirectoryError:
            raise DataError(f"{path}: is a directory, not a file") from None
        except (FileNotFoundError, NotADirectoryError):
            raise DataError(f"{path}: no such file") from None
        except PermissionError:
            raise DataError(f"{path}: cannot read file (permission denied)") from None
        except OSError as exc:
            raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from None
        self._raw = fh
        self.total = os.fstat(fh.fileno()).st_size
        codec = _codec_of_name(path)
        if codec is None and stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            self._fd = fh.fileno()
            return
        self._open_stream(fh, codec)

    def _open_stream(self, raw: BinaryIO, codec: str | None) -> None:
        if codec is None:
            self._stream = _Counting(raw, self)
            return
        import pyarrow as pa

        self._stream = pa.CompressedInputStream(pa.PythonFile(_Counting(raw, self), mode="r"),
                                                codec)

    def _read(self, n: int) -> bytes:
        try:
            return bytes(self._stream.read(n))
        except OSError as exc:
            raise DataError(f"{self.source}: cannot read ({exc})") from None

    def head(self, n: int) -> bytes:
        """The first (up to) n bytes, without consuming them."""
        if self._fd is not None:
            return self._pread(0, n)
        while len(self._buffer) < n:
            more = self._read(max(n - len(self._buffer), 1 << 16))
            if not more:
                break
            self._buffer += more
        return self._buffer[:n]

    def blocks(self, start: int, size: int) -> Iterator[tuple[int, Any]]:
        """(offset, bytes) blocks of whole lines from byte ``start`` to the end."""
        if self._fd is not None:
            # Only the block boundaries are found here (after the last newline before each
            # nominal end); each block's bytes are read by the worker that parses it (a
            # _Span), so the copying is shared between the threads. Blocks are freed once
            # parsed: the memory in use is that of the blocks in flight, whatever the size.
            while self._pread(start, 1):
                end = self._block_end(start, size)
                whole = _record_end(self._pread(start, end - start))
                grow = size
                while whole is None and grow < max(4 * size, 1 << 20):  # a quoted field
                    grow *= 2
                    end = self._block_end(start, grow)
                    whole = _record_end(self._pread(start, end - start))
                if whole is not None:
                    end = start + whole
                self.raw_done = end
                yield start, _Span(self, start, end - start)
                start = end
            return
        buf, self._buffer = self._buffer[start:], b""
        offset = start
        while True:
            more = self._read(size)
            if more:
                buf += more
                cut = buf.rfind(b"\n")
                if cut < 0:
                    continue
                whole = _record_end(buf[:cut + 1])
                if whole is None and cut < max(4 * size, 1 << 20):  # a quoted field
                    continue
                cut = cut if whole is None else whole - 1
                block, buf = buf[:cut + 1], buf[cut + 1:]
            else:
                block, buf = buf, b""
            if block:
                yield offset, block
                offset += len(block)
            if not more:
                return

    def _block_end(self, start: int, size: int, window: int = 1 << 16) -> int:
        """Where the block of whole lines from ``start`` ends: after the last newline before
        ``start + size``; at the end of the file; or, for a line longer than a block, after
        the next newline."""
        nominal = start + size
        if not self._pread(nominal, 1):
            return start + len(self._pread(start, size))
        hi = nominal
        while hi > start:  # back from the nominal end, one window at a time
            lo = max(start, hi - window)
            at = self._pread(lo, hi - lo).rfind(b"\n")
            if at >= 0:
                return lo + at + 1
            hi = lo
        at = nominal
        while True:  # no newline in the block: the line goes on past it
            chunk = self._pread(at, window)
            if not chunk:
                return at
            cut = chunk.find(b"\n")
            if cut >= 0:
                return at + cut + 1
            at += len(chunk)

    def line_of(self, offset: int, known: tuple[int, int]) -> int:
        """1-based line number at byte ``offset`` of a regular file, counting on from a
        known (offset, line) pair."""
        at, line = known
        if offset < at:
            at, line = 0, 1
        while at < offset:
            chunk = self._pread(at, min(1 << 24, offset - at))
            if not chunk:
                break
            line += chunk.count(b"\n")
            at += len(chunk)
        return line

    def _pread(self, offset: int, n: int) -> bytes:
        assert self._fd is not None
        try:
            return os.pread(self._fd, n, offset)
        except OSError as exc:
            raise DataError(f"{self.source}: cannot read file ({exc.strerror or exc})") from None

    @property
    def seekable(self) -> bool:
        return self._fd is not None

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()


def _record_end(data: bytes) -> int | None:
    """Where the last whole record of `data` (whole lines, starting at a record) ends: after
    the last newline outside quotes; None when every newline is inside a quoted field.

    Quotes are counted: a newline is outside when an even number of them comes before it
    (a doubled quote ``""`` inside a field counts twice, so the parity holds).
    """
    quotes = data.count(b'"')
    if quotes % 2 == 0:
        return len(data)
    pos = len(data) - 1  # data ends with a newline
    while True:
        prev = data.rfind(b"\n", 0, pos)
        if prev < 0:
            return None
        quotes -= data.count(b'"', prev + 1, pos + 1)
        if quotes % 2 == 0:
            return prev + 1
        pos = prev


class _Span(NamedTuple):
    """``length`` bytes of a regular file from ``offset``, read when a worker parses them."""

    src: _Bytes
    offset: int
    length: int

    def read(self) -> bytes:
        return self.src._pread(self.offset, self.length)


class _Counting:
    """A raw binary stream that counts the bytes read from it (for the progress bar)."""

    def __init__(self, raw: BinaryIO, owner: _Bytes) -> None:
        self._raw = raw
        self._owner = owner
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._owner.raw_done += len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def _codec_of_name(path: str) -> str | None:
    lower = path.lower()
    if lower.endswith(".gz"):
        return "gzip"
    if lower.endswith((".zst", ".zstd")):
        return "zstd"
    return None


def _codec_of_magic(head: bytes) -> str | None:
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_ZSTD_MAGIC):
        return "zstd"
    return None


def _is_parquet(path: str) -> bool:
    return path != "-" and path.lower().endswith(PARQUET_SUFFIXES)


# ---------------------------------------------------------------------------------------------
# Sniffing a text input


def _sniff(src: _Bytes, header: bool, sep: str | None, decimal: str = ".") -> _Table:
    """Read the head of a text input: delimiter, column names, which columns look numeric."""
    head = src.head(HEAD_BYTES)
    return sniff_head(src.source, head, len(head) < HEAD_BYTES, header, sep, decimal)


def sniff_head(source: str, head: bytes, whole: bool, header: bool, sep: str | None,
               decimal: str = ".") -> _Table:
    """The layout of a text table from its first bytes (``whole``: they are all of it)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{source}: the file is UTF-16 text; save it as UTF-8")
    bom = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    complete = complete_head(head, whole)
    try:
        text = complete[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        line = complete.count(b"\n", 0, exc.start + bom) + 1
        raise DataError(f"{source}: not UTF-8 text (byte 0x{complete[exc.start + bom]:02x} on "
                        f"line {line}); save it as UTF-8") from None
    lines = [ln + "\n" for ln in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        what = "input" if source == "<stdin>" else "file"
        raise DataError(f"{source}: the {what} is empty")
    check_line_ends(source, complete[bom:])
    sample = [ln for ln in lines[first:first + 40] if ln.strip()][:20]
    used = sep if sep is not None else _detect_sep("".join(sample))
    check_decimal(decimal, used, detected=sep is None)
    fields = _split_line(lines[first].rstrip("\r\n"), used)
    if header:
        names = tuple(header_names(source, fields))
        data_index = first + 1
        shape_from = "the header"
    else:
        names = tuple(str(i) for i in range(len(fields)))
        data_index = first
        shape_from = f"line {first + 1}"
    offset = bom + sum(len(ln.encode("utf-8")) for ln in lines[:data_index])
    if whole and (opened := unclosed_record(lines[data_index:], used, data_index + 1)):
        raise DataError(f"{source}: unclosed quote starting on line {opened}")
    rows = head_rows(lines[data_index:], used)  # the head: gdfit.column_rule decides
    if not rows and whole:
        raise DataError(f"{source}: no data rows" + (" (only a header)" if header else ""))
    numeric, commas = judge(rows, len(names), decimal)
    kind = "text" if used == WHITESPACE else "csv"
    trailing = bool(rows) and all(len(r) == len(names) + 1 and not r[-1].strip()
                                  for r in rows)
    return _Table(source, kind, names, used, offset, data_index + 1, shape_from, numeric,
                  _first_values(rows, len(names), decimal), decimal, commas,
                  trailing)


def _parquet_table(path: str) -> tuple[_Table, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{path}: cannot read as Parquet ({_first_line(exc)})") from None
    schema = pf.schema_arrow
    check_unique_names(path, schema.names, what="the schema")
    numeric = tuple(pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
                    or pa.types.is_decimal(f.type) for f in schema)
    first = [math.nan] * len(numeric)
    try:
        head = next(pf.iter_batches(batch_size=64), None)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{path}: cannot read as Parquet ({_first_line(exc)})") from None
    for j, is_num in enumerate(numeric):
        if is_num and head is not None:
            values = [float(v) for v in head.column(j).to_pylist() if v is not None]
            first[j] = next((v for v in values if math.isfinite(v)), math.nan)
    return _Table(path, "parquet", tuple(schema.names), "", 0, 1, "the schema", numeric,
                  tuple(first)), pf


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ---------------------------------------------------------------------------------------------
# Parsing one block


class _BlockError(Exception):
    """A problem at a line of a block (``rel`` counts lines from the block's start, 0-based)."""

    def __init__(self, rel: int, message: str, extra: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.rel = rel
        self.message = message  # contains {line} where the line number goes
        self.extra = list(extra)  # further relative lines, for "lines a, b, c"


class _Out(NamedTuple):
    moments: Moments
    rows: int
    dropped: int
    skipped: list[int]  # relative lines of skipped rows
    kept: np.ndarray | None  # the rows (p × k) when asked for
    newlines: int  # newlines in the block (streams only; -1 when not counted)


@dataclass(frozen=True, eq=False)
class _Plan:
    """How to parse every block of one input."""

    table: _Table
    selected: tuple[int, ...]  # x columns, then y
    dropna: bool
    skip: bool
    keep_rows: bool
    count_lines: bool
    shift: np.ndarray | None = None  # subtracted from every row (see Moments.of_columns)
    exponents: np.ndarray | None = None  # every column is divided by 2^e first (magnitude)

    def names(self) -> list[str]:
        return [self.table.names[j] for j in self.selected]


_local = threading.local()


#: Floats of the scratch buffer each parsing thread keeps between blocks (8 MiB): room for
#: 65536 rows of a narrow table, and for no more rows than the block at hand of a wide one
#: (1001 columns × 65536 rows would be 525 MB per thread).
WORK_FLOATS = 1 << 20


def _work(p: int, k: int) -> np.ndarray:
    """Scratch space of at least p × k floats for this thread, reused between blocks."""
    buf = getattr(_local, "buf", None)
    if buf is None or buf.shape[0] != p or buf.shape[1] < k:
        buf = np.empty((p, max(k, min(1 << 16, WORK_FLOATS // p))))
        _local.buf = buf
    return buf


def _parse_block(plan: _Plan, block: Any) -> _Out:
    """Moments of one block: pyarrow when it can, line by line (gdfit.io's rules) otherwise."""
    if isinstance(block, _Span):
        block = block.read()
    newlines = bytes(block).count(b"\n") if plan.count_lines else -1
    cols = None if plan.table.kind == "text" else _arrow_columns(plan, block)
    if cols is not None:
        out = _from_columns(plan, cols, None)
        if out is not None:
            return out._replace(newlines=newlines)
    return _python_block(plan, block)._replace(newlines=newlines)


def _arrow_columns(plan: _Plan, block: Any) -> list[np.ndarray] | None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    t = plan.table
    # With trailing delimiters pyarrow is told of the empty last field (other blocks fall
    # back to the line-by-line reader, which takes both).
    names = [f"c{j}" for j in range(len(t.names) + int(t.trailing))]
    wanted = [names[j] for j in plan.selected]
    sep = t.sep
    if len(sep.encode()) > 1:  # pyarrow splits on one byte: a free one stands in (§ → 0x1f)
        byte = free_byte(bytes(block))
        if byte is None:
            return None
        block, sep = bytes(block).replace(sep.encode(), bytes((byte,))), chr(byte)
    try:
        table = pacsv.read_csv(
            pa.py_buffer(block),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False,
                                           block_size=max(len(block) + 1, 1 << 20)),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.float64() for c in wanted}, include_columns=wanted,
                null_values=_NA_LIST, strings_can_be_null=True,
                quoted_strings_can_be_null=True, decimal_point=t.decimal))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        return None  # the line-by-line reader says exactly what is wrong, and where
    out = []
    for name in wanted:
        col = table.column(name)
        arr = col.chunk(0) if col.num_chunks == 1 else pa.concat_arrays(col.chunks)
        out.append(_float_values(arr))
    return out


def _float_values(arr: Any) -> np.ndarray:
    """A pyarrow float64 array as numpy, nulls as NaN (zero-copy without nulls).

    Built from the buffers: pyarrow's ``to_numpy`` imports pandas (a third of a second).
    """
    validity, data = arr.buffers()[:2]
    start, n = arr.offset, len(arr)
    values = np.frombuffer(data, dtype=np.float64, count=start + n)[start:]
    if arr.null_count == 0:
        return values
    values = values.copy()
    bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
    values[bits[start:start + n] == 0] = np.nan
    return values


def _from_columns(plan: _Plan, cols: list[np.ndarray], lines: list[int] | None) -> _Out | None:
    """Moments of parsed columns; None sends a block with missing values to the slow path
    (which knows their line numbers) unless they are simply dropped."""
    p = len(cols)
    k = int(cols[0].shape[0]) if cols else 0
    if plan.exponents is not None:
        with np.errstate(under="ignore", over="ignore"):
            scaled = [np.ldexp(c, -int(e)) for c, e in zip(cols, plan.exponents, strict=True)]
        for j, (raw, c) in enumerate(zip(cols, scaled, strict=True)):
            blown = np.flatnonzero(np.isinf(c) & np.isfinite(raw))
            if blown.size:  # a value far larger than the column's first one
                if lines is None:
                    return None  # the slow path names its line
                raise _BlockError(lines[int(blown[0])], (
                    f"column {_quote(plan.names()[j])}: the value on {{line}} is too large "
                    "beside the column's first value to be summed in double precision (gdfit "
                    "divides a column of extreme values by a power of two near its first "
                    "value); rescale the column, or put a typical row first"))
        cols = scaled
    moments = Moments.of_columns(cols, _work(p, k), plan.shift)
    dropped = 0
    if not np.isfinite(moments.mean).all():
        finite = np.logical_and.reduce([np.isfinite(c) for c in cols])
        if lines is None and not (plan.dropna and finite.any()):
            if finite.all():
                raise DataError(too_large(plan.names(), moments.mean))
            return None
        if not plan.dropna:
            bad = np.flatnonzero(~finite)
            first = int(bad[0])
            j = next(i for i, c in enumerate(cols) if not np.isfinite(c[first]))
            col_bad = np.flatnonzero(~np.isfinite(cols[j]))
            assert lines is not None
            rel = [lines[int(r)] for r in col_bad[:LISTED]]
            more = f" (and {col_bad.size - LISTED} more)" if col_bad.size > LISTED else ""
            raise _BlockError(rel[0], f"missing or non-finite values in column "
                                      f"{_quote(plan.names()[j])} on {{line}}{more}; use "
                                      "--dropna to drop such rows", rel[1:])
        dropped = int(k - np.count_nonzero(finite))
        cols = [c[finite] for c in cols]
        moments = Moments.of_columns(cols, _work(p, k), plan.shift)
        if moments.n and not np.isfinite(moments.mean).all():
            raise DataError(too_large(plan.names(), moments.mean))
    kept = np.stack(cols) if plan.keep_rows else None
    return _Out(moments, moments.n, dropped, [], kept, -1)


def _block_records(text: str, sep: str) -> Iterator[tuple[int, list[str], str | None]]:
    """(line, fields, None) for each record of a block, ``line`` counted from 0 at its start;
    (line, [], message) for one that cannot be read, ``{line}`` in the message.

    A quoted field may hold newlines: the record is then on the line where it starts.
    """
    if sep == WHITESPACE:
        for rel, line in enumerate(text.split("\n")):
            yield rel, line.split(), None
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=False)
    done = 0
    last = text.count("\n") + (not text.endswith("\n"))  # lines in the block
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield done, [], f"cannot parse {{line}}: {exc}"
            return
        rel, done = done, reader.line_num
        if done >= last and unclosed_quote(text.split("\n")[rel:], sep):
            yield rel, [], "unclosed quote starting on {line}"
            return
        yield rel, fields, None


def _python_block(plan: _Plan, block: Any) -> _Out:
    """Parse a block line by line with gdfit.io's rules; exact line numbers for every problem."""
    t = plan.table
    raw = bytes(block)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        rel = raw.count(b"\n", 0, exc.start)
        raise _BlockError(rel, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on {{line}}); "
                               "save it as UTF-8") from None
    ncols = len(t.names)
    sel = plan.selected
    names = plan.names()
    values: list[list[float]] = [[] for _ in sel]
    lines: list[int] = []
    skipped: list[int] = []
    for rel, fields, error in _block_records(text, t.sep):
        if error is not None:
            if plan.skip and not error.startswith("unclosed"):
                skipped.append(rel)
                continue
            raise _BlockError(rel, error)
        if not any(f.strip() for f in fields):  # only spaces and delimiters: a blank line
            continue
        if len(fields) == ncols + 1 and not fields[-1].strip():
            fields.pop()  # a trailing delimiter (1,2,3,), as gdfit.io reads it
        if len(fields) != ncols:
            if plan.skip:
                skipped.append(rel)
                continue
            raise _BlockError(rel, f"{{line}} has {len(fields)} fields, but {t.shape_from} has "
                                   f"{ncols} (--on-bad-rows skip skips such rows)")
        row = []
        for k, j in enumerate(sel):
            cell = fields[j].strip()
            if cell in _NA_TOKENS:
                row.append(math.nan)
                continue
            try:
                row.append(to_number(cell, t.decimal))
            except ValueError:
                if plan.skip:
                    row = []
                    break
                raise _BlockError(rel, f"column {_quote(names[k])}, {{line}}: {_quote(cell)} "
                                       f"is not a number{decimal_hint(cell, t.decimal)} "
                                       "(--on-bad-rows skip skips such rows)") from None
        if not row:
            skipped.append(rel)
            continue
        for k, v in enumerate(row):
            values[k].append(v)
        lines.append(rel)
    cols = [np.array(v, dtype=np.float64) for v in values]
    out = _from_columns(plan, cols, lines)
    assert out is not None
    return out._replace(skipped=skipped)


# ---------------------------------------------------------------------------------------------
# The pass


class _Pass:
    """One pass over every input, parsing blocks on a thread pool and merging in order."""

    def __init__(self, paths: Sequence[str], *, keep_rows: int, x: Sequence[str] | None = None,
                 y: str | None = None, header: bool = True, sep: str | None = None,
                 dropna: bool = False, on_bad_rows: str = "error",
                 progress: Progress | None = None, threads: int | None = None,
                 block_bytes: int = BLOCK_BYTES, stdin: BinaryIO | None = None,
                 decimal: str = ".") -> None:
        if not paths:
            raise DataError("no input given")
        if on_bad_rows not in BAD_ROWS:
            raise OptionError(f"on_bad_rows= must be one of {', '.join(BAD_ROWS)}, got "
                              f"{on_bad_rows!r}")
        if block_bytes < 1:
            raise OptionError(f"block size must be ≥ 1 byte, got {block_bytes}")
        x_refs = [x] if isinstance(x, str) else (None if x is None else list(x))
        if x_refs is not None and not x_refs:
            raise OptionError("no x columns given")
        self.paths = list(paths)
        self.x, self.y, self.header, self.dropna = x_refs, y, header, dropna
        self.sep = _normalize_sep(sep)
        self.decimal = check_decimal(decimal, self.sep)
        self.skip = on_bad_rows == "skip"
        # Rows to keep: all (-1), none (0), or up to this many (then none; kept is None).
        self.keep_rows = keep_rows
        self.progress = progress
        self.threads = max(1, threads if threads is not None else min(os.cpu_count() or 1, 8))
        self.block_bytes = block_bytes
        self.stdin = stdin
        self.tally = _Tally()
        self.tree: TreeMerge | None = None
        self.kept: list[np.ndarray] | None = [] if keep_rows else None
        self.kept_rows = 0
        self.features: tuple[str, ...] = ()
        self.target = ""
        self.columns: tuple[str, ...] = ()
        self.auto = False
        self.ignored: tuple[str, ...] = ()
        self.readers: set[str] = set()
        self.done_before = 0  # bytes of the inputs already finished
        self.total = 0
        self.first: _Table | None = None
        self.shift: np.ndarray | None = None
        self.units: Units | None = None

    def info(self) -> StreamInfo:
        return StreamInfo(
            sources=tuple("<stdin>" if p == "-" else p for p in self.paths),
            features=self.features, target=self.target, rows=self.tally.rows,
            columns=self.columns, dropped_rows=self.tally.dropped,
            skipped_rows=self.tally.skipped, skipped=tuple(self.tally.skipped_at),
            auto_columns=self.auto, ignored_columns=self.ignored,
            comma_columns=self._commas(),
            bytes_read=self.tally.bytes_done, reader="+".join(sorted(self.readers)),
            units=self.units)

    def _commas(self) -> tuple[str, ...]:
        table = self.first
        if table is None:
            return ()
        return tuple(n for j, n in enumerate(table.names) if n in self.ignored
                     and j in table.commas)

    def run(self) -> tuple[Moments, StreamInfo]:
        self.total = sum(os.path.getsize(p) for p in self.paths
                         if p != "-" and os.path.isfile(p))
        pool = ThreadPoolExecutor(self.threads, thread_name_prefix="gdfit-read")
        try:
            for path in self.paths:
                if _is_parquet(path):
                    self._parquet(path)
                else:
                    self._text(path, pool)
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            p = len(self.features) + 1
            moments = (self.tree.total().unshifted(self.shift) if self.tree is not None
                       else Moments.empty(p))
            raise ReadInterrupted(moments, self.info()) from None
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        assert self.tree is not None
        return self.tree.total().unshifted(self.shift), self.info()

    # -- columns -------------------------------------------------------------------------

    def _plan(self, table: _Table, count_lines: bool) -> _Plan:
        feat, tgt, auto, ignored = _resolve(table, self.x, self.y)
        features = tuple(table.names[j] for j in feat)
        target = table.names[tgt]
        if self.first is None:
            self.first = table
            self.features, self.target, self.auto, self.ignored = features, target, auto, ignored
            self.columns = table.names
            self.tree = TreeMerge(len(feat) + 1)
            # Every block is shifted by the first row's values (see Moments.of_columns).
            first = [table.first[j] if j < len(table.first) else math.nan for j in (*feat, tgt)]
            shift = np.array([v if math.isfinite(v) else 0.0 for v in first])
            # Values that cannot be squared: every column divided by a power of two near its
            # first value (see gdfit.magnitude); the shift is then in those units too.
            self.units = Units.of_peaks([abs(v) for v in shift[:-1]], abs(float(shift[-1])))
            if self.units is not None:
                shift = np.ldexp(shift, -np.append(self.units.x_exp, self.units.y_exp))
            self.shift = shift
        else:
            self._check_same(table, features, target)
            feat = [table.names.index(f) for f in self.features]
            tgt = table.names.index(self.target)
        return _Plan(table, (*feat, tgt), self.dropna, self.skip, self.kept is not None,
                     count_lines, self.shift,
                     None if self.units is None else np.append(self.units.x_exp,
                                                               self.units.y_exp))

    def _check_same(self, table: _Table, features: tuple[str, ...], target: str) -> None:
        first = self.first
        assert first is not None
        if set(table.names) != set(first.names) or len(table.names) != len(first.names):
            lacking = [c for c in first.names if c not in table.names]
            extra = [c for c in table.names if c not in first.names]
            parts = []
            if lacking:
                parts.append("no column " + ", ".join(_quote(c) for c in lacking))
            if extra:
                parts.append(("extra columns " if len(extra) > 1 else "extra column ")
                             + ", ".join(_quote(c) for c in extra))
            raise DataError(f"{table.source}: its columns differ from {first.source}'s: "
                            + ("; ".join(parts) or "a name is repeated"))
        if set(features) != set(self.features) or target != self.target:
            raise DataError(
                f"{table.source}: the automatic choice gives y = {target}, x = "
                f"{', '.join(features)}, but {first.source} gives y = {self.target}, x = "
                f"{', '.join(self.features)}; name the columns with --x and --y")

    # -- text ----------------------------------------------------------------------------

    def _text(self, path: str, pool: ThreadPoolExecutor) -> None:
        src = _Bytes(path, self.stdin)
        try:
            table = _sniff(src, self.header, self.sep, self.decimal)
            plan = self._plan(table, count_lines=not src.seekable)
            self.readers.add("pyarrow.csv" if table.kind == "csv" else "csv module")
            self._blocks(src, plan, pool)
        finally:
            src.close()
        if src.total is not None:
            self.done_before += src.total

    def _blocks(self, src: _Bytes, plan: _Plan, pool: ThreadPoolExecutor) -> None:
        source = src.source
        # Line numbers are needed only for messages. A regular file counts its newlines when
        # asked, on from the last (offset, line) it knows; a stream counts each block's in the
        # worker, and blocks finish in order, so ``next_line`` is where the next one starts.
        known = (plan.table.data_offset, plan.table.data_line)
        next_line = plan.table.data_line
        pending: list[tuple[int, Future[_Out]]] = []
        limit = 2 * self.threads
        rows_before = self.tally.rows + self.tally.dropped + self.tally.skipped

        def line_at(offset: int) -> int:
            nonlocal known
            if not src.seekable:
                return next_line
            known = (offset, src.line_of(offset, known))
            return known[1]

        def finish(offset: int, fut: Future[_Out]) -> None:
            nonlocal next_line
            try:
                out = fut.result()
            except _BlockError as exc:
                first = line_at(offset)
                where = [first + exc.rel, *(first + r for r in exc.extra)]
                text = (("lines " if len(where) > 1 else "line ")
                        + ", ".join(str(n) for n in where))
                raise DataError(f"{source}: " + exc.message.replace("{line}", text)) from None
            except DataError as exc:
                raise DataError(f"{source}: {exc}") from None
            if out.skipped:
                self.tally.skipped += len(out.skipped)
                room = LISTED - len(self.tally.skipped_at)
                if room > 0:
                    first = line_at(offset)
                    self.tally.skipped_at.extend((source, first + r) for r in out.skipped[:room])
            next_line += out.newlines
            self.tally.rows += out.rows
            self.tally.dropped += out.dropped
            assert self.tree is not None
            self.tree.add(out.moments)
            self._keep(out.kept)
            self._report(src)

        for offset, block in src.blocks(plan.table.data_offset, self.block_bytes):
            if plan.keep_rows and self.kept is None:
                plan = replace(plan, keep_rows=False)
            pending.append((offset, pool.submit(_parse_block, plan, block)))
            del block
            while len(pending) >= limit or (pending and pending[0][1].done()):
                finish(*pending.pop(0))
        while pending:
            finish(*pending.pop(0))
        if self.tally.rows + self.tally.dropped + self.tally.skipped == rows_before:
            raise DataError(f"{source}: no data rows" + (" (only a header)" if self.header
                                                          else ""))

    def _keep(self, rows: np.ndarray | None) -> None:
        if rows is None or self.kept is None:
            return
        self.kept.append(rows)
        self.kept_rows += rows.shape[1]
        if 0 <= self.keep_rows < self.kept_rows:  # not small after all: stop keeping
            self.kept = None

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The kept rows as (X, y)."""
        p = len(self.features) + 1
        data = np.concatenate(self.kept, axis=1) if self.kept else np.empty((p, 0))
        return np.ascontiguousarray(data[:-1].T), np.ascontiguousarray(data[-1])

    def _report(self, src: _Bytes) -> None:
        self.tally.bytes_done = self.done_before + src.raw_done
        if self.progress is not None:
            self.progress(self.tally.bytes_done, self.total or None)

    # -- parquet -------------------------------------------------------------------------

    def _parquet(self, path: str) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        table, pf = _parquet_table(path)
        plan = self._plan(table, count_lines=False)
        self.readers.add("pyarrow.parquet")
        names = [table.names[j] for j in plan.selected]
        assert self.tree is not None
        row0 = 1
        rows_total = max(pf.metadata.num_rows, 1)
        size = os.path.getsize(path)
        try:
            batches = pf.iter_batches(batch_size=1 << 16, columns=names, use_threads=False)
            for batch in batches:
                if plan.keep_rows and self.kept is None:
                    plan = replace(plan, keep_rows=False)
                cols = [_float_values(pc.cast(batch.column(i), pa.float64()))
                        for i in range(len(names))]
                try:
                    out = _from_columns(plan, cols, list(range(len(cols[0]))))
                except _BlockError as exc:
                    where = [row0 + exc.rel, *(row0 + r for r in exc.extra)]
                    text = (("rows " if len(where) > 1 else "row ")
                            + ", ".join(str(n) for n in where))
                    raise DataError(f"{path}: " + exc.message.replace("{line}", text)) from None
                assert out is not None
                self.tally.rows += out.rows
                self.tally.dropped += out.dropped
                self.tree.add(out.moments)
                self._keep(out.kept)
                row0 += len(cols[0])
                self.tally.bytes_done = self.done_before + int(size * (row0 - 1) / rows_total)
                if self.progress is not None:
                    self.progress(self.tally.bytes_done, self.total or None)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{path}: cannot read as Parquet ({_first_line(exc)})") from None
        self.done_before += size
