"""``--engine dask``: the sufficient statistics of files beyond one machine, on a Dask cluster.

Text inputs are cut into blocks of lines by ``dask.bytes.read_bytes`` (any path fsspec
understands: local files, globs, ``s3://…`` with s3fs installed) and each block is parsed where
it lives by the streaming reader's own rules (:mod:`gdfit.stream`), so that the engines read
text alike; Parquet is read by ``dask.dataframe.read_parquet``. Each partition's moments are
computed where the partition lives, and they are merged on the cluster by a binary
tree of the same pairwise update the streaming reader uses (Chan, Golub & LeVeque). Only the
merged statistics — O(d²) numbers — come back; the descent then runs locally.

``scheduler`` is the address of a running ``dask.distributed`` scheduler
(``tcp://host:8786``); without one a local cluster is started for the run. The workers need
gdfit (and numpy, pandas) installed, since they run :func:`partition_moments`.

Dask is an optional extra: ``pip install 'gdfit[dask]'``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from gdfit.errors import DataError, OptionError
from gdfit.magnitude import Units
from gdfit.objective import LeastSquares
from gdfit.stream import (
    HEAD_BYTES,
    Moments,
    StreamInfo,
    _BlockError,
    _is_parquet,
    _normalize_sep,
    _parse_block,
    _Plan,
    _quote,
    _resolve,
    _Table,
    sniff_head,
)

MISSING = "--engine dask needs Dask: pip install 'gdfit[dask]' (dask[dataframe] and distributed)"


def _require_dask() -> Any:
    try:
        import dask.dataframe as dd
        import distributed  # noqa: F401
    except ImportError:
        raise OptionError(MISSING) from None
    return dd


def partition_moments(frame: Any, columns: Sequence[str], dropna: bool,
                      exponents: Sequence[int] | None = None) -> tuple[Moments, int]:
    """The moments of one partition's ``columns`` (x columns, then y) and the rows dropped;
    with ``exponents``, of the columns divided by those powers of two (see gdfit.magnitude)."""
    data = frame[list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)
    if exponents is not None:
        with np.errstate(under="ignore"):
            data = np.ldexp(data, -np.asarray(exponents, dtype=np.int64))
    finite = np.isfinite(data).all(axis=1)
    dropped = 0
    if not finite.all():
        if not dropna:
            j = int(np.flatnonzero(~np.isfinite(data).all(axis=0))[0])
            raise DataError(f"missing or non-finite values in column {_quote(columns[j])}; use "
                            "--dropna to drop such rows (--engine gram names the line)")
        dropped = int(data.shape[0] - np.count_nonzero(finite))
        data = data[finite]
    return Moments.of_array(data), dropped


def merge_pair(a: tuple[Moments, int], b: tuple[Moments, int]) -> tuple[Moments, int]:
    """Merge two partitions' (moments, dropped rows)."""
    return a[0].merge(b[0]), a[1] + b[1]


def dask_statistics(
    paths: Sequence[str],
    *,
    x: Sequence[str] | None = None,
    y: str | None = None,
    header: bool = True,
    sep: str | None = None,
    dropna: bool = False,
    intercept: bool = True,
    scheduler: str | None = None,
    blocksize: str | int | None = "64MiB",
    storage_options: dict[str, Any] | None = None,
    decimal: str = ".",
) -> tuple[LeastSquares, StreamInfo]:
    """Sufficient statistics of the inputs, computed and reduced on a Dask cluster.

    Parameters
    ----------
    paths : sequence of str
        Files or globs of CSV (compressed by extension) or Parquet, local or remote
        (``s3://bucket/part-*.csv`` with s3fs installed). Standard input cannot be distributed.
    x, y, header, sep, dropna, intercept, decimal :
        As in :func:`gdfit.stream.stream_statistics`; the columns are chosen from the first
        file's head, read here.
    scheduler : str, optional
        Address of a running scheduler; None starts a local cluster for this call.
    blocksize :
        Bytes per CSV partition (compressed files are one partition each).

    Raises
    ------
    OptionError
        Dask is not installed, the scheduler cannot be reached, or standard input was given.
    DataError
        Unusable values (the message names the column; ``--engine gram`` names the line).
    """
    dd = _require_dask()
    from dask import delayed

    if not paths:
        raise DataError("no input given")
    if "-" in paths:
        raise OptionError("--engine dask cannot read standard input; give file paths or globs")
    table = _head_table(paths[0], header, sep, storage_options, decimal)
    feat, tgt, auto, ignored = _resolve(table, x, None if y is None else y)
    used = [table.names[j] for j in (*feat, tgt)]
    # Values that cannot be squared: every column divided by a power of two near its first
    # value in the head (see gdfit.magnitude).
    first = [table.first[j] if j < len(table.first) else math.nan for j in (*feat, tgt)]
    peaks = [abs(v) if math.isfinite(v) else 0.0 for v in first]
    units = Units.of_peaks(peaks[:-1], peaks[-1])
    exponents = None if units is None else [*map(int, units.x_exp), units.y_exp]
    if all(_is_parquet(p) for p in paths):
        frame = dd.read_parquet(list(paths), columns=used, storage_options=storage_options)
        parts = [delayed(partition_moments)(part, used, dropna, exponents)
                 for part in frame.to_delayed()]
    else:
        parts = _text_parts(paths, table, used, header, sep, dropna, blocksize,
                            storage_options, decimal, exponents)
    if not parts:
        raise DataError(f"{', '.join(paths)}: no data rows")
    while len(parts) > 1:  # a binary tree of merges, run on the cluster
        pairs = [delayed(merge_pair)(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        parts = pairs + ([parts[-1]] if len(parts) % 2 else [])
    with _client(scheduler) as client:
        try:
            moments, dropped = client.compute(parts[0]).result()
        except DataError as exc:
            _locate(paths, x=x, y=y, header=header, sep=sep, dropna=dropna, decimal=decimal)
            raise DataError(f"{', '.join(paths)}: {exc}") from None
        except Exception as exc:  # a parser's error, raised on a worker: never a traceback
            _locate(paths, x=x, y=y, header=header, sep=sep, dropna=dropna, decimal=decimal)
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"{', '.join(paths)}: cannot read: {text} (--engine gram names the "
                            "line)") from None
    if moments.n == 0:
        raise DataError(f"{', '.join(paths)}: no rows left after dropping {dropped} rows with "
                        "missing or non-finite values")
    info = StreamInfo(sources=tuple(paths), features=tuple(used[:-1]), target=used[-1],
                      rows=moments.n, columns=table.names, dropped_rows=dropped,
                      auto_columns=auto, ignored_columns=ignored,
                      comma_columns=tuple(n for j, n in enumerate(table.names)
                                          if n in ignored and j in table.commas),
                      bytes_read=sum(os.path.getsize(p) for p in paths if os.path.isfile(p)),
                      reader="dask", units=units)
    return moments.problem(intercept, used), info


def _locate(paths: Sequence[str], **read: Any) -> None:
    """After a partition failed: when every input is a local file, read them with the streaming
    reader, whose error names the file, the line and the column, as ``--engine gram`` would."""
    if not all(os.path.isfile(p) for p in paths):
        return
    from gdfit.stream import stream_moments

    try:
        stream_moments(list(paths), threads=1, **read)
    except DataError as exc:  # --on-bad-rows is the gram engine's; dask stops at the row
        raise DataError(str(exc).replace(" (--on-bad-rows skip skips such rows)", "")) from None


def _head_table(path: str, header: bool, sep: str | None,
                storage_options: dict[str, Any] | None, decimal: str = ".") -> _Table:
    """The layout of the first input, from its head (read locally through fsspec)."""
    if _is_parquet(path):
        from gdfit.stream import _parquet_table

        return _parquet_table(path)[0]
    import fsspec

    try:
        with fsspec.open(path, "rb", compression="infer", **(storage_options or {})) as fh:
            head = fh.read(HEAD_BYTES)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError) as exc:  # EOFError: a .gz cut short
        raise DataError(f"{path}: cannot read ({exc})") from None
    return sniff_head(path, head, len(head) < HEAD_BYTES, header, _normalize_sep(sep), decimal)


def block_moments(plan: _Plan, block: bytes, skip: int) -> tuple[Moments, int]:
    """The moments of one block of whole lines (after its first ``skip`` bytes) and the rows
    dropped, parsed by the streaming reader's own rules (:func:`gdfit.stream._parse_block`)."""
    try:
        out = _parse_block(plan, block[skip:])
    except _BlockError as exc:  # the line is found locally (see _locate), or not at all
        text = exc.message.replace(" (--on-bad-rows skip skips such rows)", "")
        raise DataError(text.replace("{line}", "a line") + " (--engine gram names the line)"
                        ) from None
    return out.moments, out.dropped


def _text_parts(paths: Sequence[str], table: _Table, used: list[str], header: bool,
                sep: str | None, dropna: bool, blocksize: str | int | None,
                storage_options: dict[str, Any] | None, decimal: str = ".",
                exponents: Sequence[int] | None = None) -> list[Any]:
    """One delayed (moments, dropped) per block of lines of every text input (with
    ``exponents``, of the columns divided by those powers of two, see gdfit.magnitude).

    The blocks are cut at newlines by ``dask.bytes.read_bytes`` and parsed on the workers by
    the streaming reader's rules, so that every engine reads text the same way: delimiters
    (one of several bytes too), quotes, blank lines, NA spellings, field counts.
    """
    from dask import delayed
    from dask.bytes import read_bytes

    if any(_is_parquet(p) for p in paths):
        raise OptionError("--engine dask reads either CSV or Parquet inputs, not both at once")
    compressed = any(p.lower().endswith((".gz", ".zst", ".zstd", ".bz2", ".xz"))
                     for p in paths)
    _, files = read_bytes(list(paths), delimiter=b"\n", sample=False, compression="infer",
                          blocksize=None if compressed else blocksize,
                          **(storage_options or {}))
    parts: list[Any] = []
    for k, (path, blocks) in enumerate(zip(paths, files, strict=True)):
        this = table if k == 0 else _head_table(path, header, sep, storage_options, decimal)
        if this.names != table.names:
            raise DataError(f"{path}: its columns differ from {paths[0]}'s "
                            f"({', '.join(this.names)} vs {', '.join(table.names)})")
        plan = _Plan(this, tuple(this.names.index(c) for c in used), dropna, False, False,
                     False, exponents=None if exponents is None else np.asarray(exponents))
        parts.extend(delayed(block_moments)(plan, block, this.data_offset if i == 0 else 0)
                     for i, block in enumerate(blocks))
    return parts


@contextmanager
def _client(scheduler: str | None) -> Iterator[Any]:
    """A client of ``scheduler``, or of a local cluster started (and stopped) here."""
    import logging

    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    # A task that fails on the data is reported once, as gdfit's own error: not also logged
    # by the worker with the task's traceback.
    logging.getLogger("distributed.worker").setLevel(logging.CRITICAL)
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="5s")
        except (OSError, TimeoutError) as exc:
            raise OptionError(f"cannot reach the Dask scheduler at {scheduler} ({exc})"
                              ) from None
        try:
            yield client
        finally:
            client.close()
        return
    # Threads in this process: pandas' parser and numpy release the GIL, and nothing has to
    # be shipped between processes for a run on one machine.
    with warnings.catch_warnings():  # its HTTP server moves off a busy port: nothing to say
        warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
        cluster = LocalCluster(n_workers=1, threads_per_worker=os.cpu_count() or 1,
                               processes=False, dashboard_address=None)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
