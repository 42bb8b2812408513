"""``--engine dask``: the sufficient statistics of files beyond one machine, on a Dask cluster.

The inputs are read as a Dask DataFrame (``dask.dataframe.read_csv``/``read_parquet``, so any
path fsspec understands: local files, globs, ``s3://…`` with s3fs installed); each partition's
moments are computed where the partition lives, and they are merged on the cluster by a binary
tree of the same pairwise update the streaming reader uses (Chan, Golub & LeVeque). Only the
merged statistics — O(d²) numbers — come back; the descent then runs locally.

``scheduler`` is the address of a running ``dask.distributed`` scheduler
(``tcp://host:8786``); without one a local cluster is started for the run. The workers need
gdfit (and numpy, pandas) installed, since they run :func:`partition_moments`.

Dask is an optional extra: ``pip install 'gdfit[dask]'``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from gdfit.errors import DataError, OptionError
from gdfit.objective import LeastSquares
from gdfit.stream import (
    _NA_LIST,
    HEAD_BYTES,
    WHITESPACE,
    Moments,
    StreamInfo,
    _is_parquet,
    _normalize_sep,
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


def partition_moments(frame: Any, columns: Sequence[str], dropna: bool
                      ) -> tuple[Moments, int]:
    """The moments of one partition's ``columns`` (x columns, then y) and the rows dropped."""
    data = frame[list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)
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
) -> tuple[LeastSquares, StreamInfo]:
    """Sufficient statistics of the inputs, computed and reduced on a Dask cluster.

    Parameters
    ----------
    paths : sequence of str
        Files or globs of CSV (compressed by extension) or Parquet, local or remote
        (``s3://bucket/part-*.csv`` with s3fs installed). Standard input cannot be distributed.
    x, y, header, sep, dropna, intercept :
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
    table = _head_table(paths[0], header, sep, storage_options)
    feat, tgt, auto, ignored = _resolve(table, x, None if y is None else y)
    used = [table.names[j] for j in (*feat, tgt)]
    frame = _read(dd, paths, table, used, header, blocksize, storage_options)
    parts = [delayed(partition_moments)(part, used, dropna) for part in frame.to_delayed()]
    if not parts:
        raise DataError(f"{', '.join(paths)}: no data rows")
    while len(parts) > 1:  # a binary tree of merges, run on the cluster
        pairs = [delayed(merge_pair)(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        parts = pairs + ([parts[-1]] if len(parts) % 2 else [])
    with _client(scheduler) as client:
        try:
            moments, dropped = client.compute(parts[0]).result()
        except DataError as exc:
            raise DataError(f"{', '.join(paths)}: {exc}") from None
        except (ValueError, TypeError, OSError, EOFError) as exc:  # EOFError: a cut .gz
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"{', '.join(paths)}: cannot read: {text} (--engine gram names the "
                            "line)") from None
    if moments.n == 0:
        raise DataError(f"{', '.join(paths)}: no rows left after dropping {dropped} rows with "
                        "missing or non-finite values")
    info = StreamInfo(sources=tuple(paths), features=tuple(used[:-1]), target=used[-1],
                      rows=moments.n, columns=table.names, dropped_rows=dropped,
                      auto_columns=auto, ignored_columns=ignored,
                      bytes_read=sum(os.path.getsize(p) for p in paths if os.path.isfile(p)),
                      reader="dask")
    return moments.problem(intercept), info


def _head_table(path: str, header: bool, sep: str | None,
                storage_options: dict[str, Any] | None) -> _Table:
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
    return sniff_head(path, head, len(head) < HEAD_BYTES, header, _normalize_sep(sep))


def _read(dd: Any, paths: Sequence[str], table: _Table, used: list[str], header: bool,
          blocksize: str | int | None, storage_options: dict[str, Any] | None) -> Any:
    if all(_is_parquet(p) for p in paths):
        return dd.read_parquet(list(paths), columns=used, storage_options=storage_options)
    if any(_is_parquet(p) for p in paths):
        raise OptionError("--engine dask reads either CSV or Parquet inputs, not both at once")
    compressed = any(p.lower().endswith((".gz", ".zst", ".zstd", ".bz2", ".xz"))
                     for p in paths)
    names = list(table.names)
    return dd.read_csv(
        list(paths), blocksize=None if compressed else blocksize,
        sep=r"\s+" if table.sep == WHITESPACE else table.sep,
        header=0 if header else None, names=names, usecols=used,
        dtype=dict.fromkeys(used, "float64"), na_values=_NA_LIST, keep_default_na=False,
        skip_blank_lines=True, storage_options=storage_options)


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
    cluster = LocalCluster(n_workers=1, threads_per_worker=os.cpu_count() or 1,
                           processes=False, dashboard_address=None)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
