"""Many fits in one run: several files as one data set, one fit per file, one per group.

The command line's ``--each-file`` and ``--group-by`` are clients of :func:`fit_each_file`
and :func:`fit_dataset`, which yield one :class:`BatchRow` per fit as soon as it is done.
A file or a group that cannot be fitted becomes a row holding its error, and the loop goes
on; :func:`batch_exit_code` then summarises the run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

import numpy as np

from gdfit.api import fit
from gdfit.errors import DataError, ExitCode
from gdfit.io import Dataset, read_dataset
from gdfit.render import CSV_SUMMARY_FIELDS, result_dict
from gdfit.result import FitResult
from gdfit.stopping import StopReason


@dataclass(frozen=True, eq=False)
class BatchRow:
    """One fit of a batch: where its rows came from, and its result or its error."""

    source: str
    group: tuple[tuple[str, str], ...] = ()  # (key column, value) pairs
    result: FitResult | None = None
    error: str | None = None

    @property
    def status(self) -> str:
        """The result's status, or ``error`` when the fit could not be made."""
        return "error" if self.result is None else self.result.status

    @property
    def message(self) -> str:
        """The result's message, or the error."""
        return (self.error or "") if self.result is None else self.result.message

    @property
    def exit_code(self) -> ExitCode:
        """What this fit alone would exit with."""
        return ExitCode.DATA_ERROR if self.result is None else self.result.exit_code


def batch_exit_code(rows: Iterable[BatchRow]) -> ExitCode:
    """The run's exit code: 130 when interrupted, else 1 when any file or group could not be
    fitted, else the largest of the fits' codes (4 diverged, 3 not converged, 0)."""
    codes = [row.exit_code for row in rows]
    if ExitCode.INTERRUPTED in codes:
        return ExitCode.INTERRUPTED
    if ExitCode.DATA_ERROR in codes:
        return ExitCode.DATA_ERROR
    return max(codes, default=ExitCode.OK)


def read_inputs(paths: Sequence[str], *, stdin: BinaryIO | None = None,
                **read: Any) -> Dataset:
    """Read several inputs as one data set (their rows concatenated in order).

    `read` holds :func:`gdfit.io.read_dataset`'s options. Every input must have the same
    columns (their order may differ) and, when x and y are chosen automatically, the same
    choice must come out.

    Raises
    ------
    DataError
        An input cannot be read, or differs from the first (the message names the file and
        the difference).
    """
    if not paths:
        raise DataError("no input given")
    first = read_dataset(paths[0], stdin=stdin, **read)
    if len(paths) == 1:
        return first
    parts = [first]
    for path in paths[1:]:
        data = read_dataset(path, stdin=stdin, **read)
        _check_same_columns(first, data)
        if data.features != first.features:  # the same columns in another order
            order = [data.features.index(f) for f in first.features]
            data = replace(data, X=np.ascontiguousarray(data.X[:, order]),
                           features=first.features)
        parts.append(data)
    keys = None
    if first.keys is not None:
        keys = np.concatenate([p.keys for p in parts if p.keys is not None])
    return replace(
        first,
        X=np.concatenate([p.X for p in parts]),
        y=np.concatenate([p.y for p in parts]),
        source=", ".join(p.source for p in parts),
        dropped_rows=tuple(n for p in parts for n in p.dropped_rows),
        keys=keys,
    )


def _check_same_columns(first: Dataset, data: Dataset) -> None:
    if set(data.columns) != set(first.columns):
        lacking = [c for c in first.columns if c not in data.columns]
        extra = [c for c in data.columns if c not in first.columns]
        parts = []
        if lacking:
            parts.append("no column " + ", ".join(_quote(c) for c in lacking))
        if extra:
            parts.append(("extra columns " if len(extra) > 1 else "extra column ")
                         + ", ".join(_quote(c) for c in extra))
        raise DataError(f"{data.source}: its columns differ from {first.source}'s: "
                        + "; ".join(parts))
    if set(data.features) != set(first.features) or data.target != first.target:
        raise DataError(
            f"{data.source}: the automatic choice gives y = {data.target}, x = "
            f"{', '.join(data.features)}, but {first.source} gives y = {first.target}, x = "
            f"{', '.join(first.features)}; name the columns with --x and --y")


def group_rows(keys: np.ndarray) -> list[tuple[tuple[str, ...], np.ndarray]]:
    """Split row numbers by their key tuple, groups in order of first appearance.

    Parameters
    ----------
    keys : ndarray, shape (n, k)
        The key columns' text.

    Returns
    -------
    list of (key tuple, row numbers in their original order)
    """
    n = keys.shape[0]
    if n == 0:
        return []
    codes = np.column_stack([np.unique(keys[:, k], return_inverse=True)[1].ravel()
                             for k in range(keys.shape[1])])
    _, first_row, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    by_group = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse))[:-1]
    members = np.split(by_group, bounds)
    return [(tuple(str(v) for v in keys[members[g][0]]), members[g])
            for g in np.argsort(first_row, kind="stable")]


def fit_dataset(data: Dataset, **options: Any) -> Iterator[BatchRow]:
    """Fit one data set: once, or once per group when it has keys (``read_dataset(by=)``).

    `options` are :func:`gdfit.fit`'s keyword options (step, max_iter, scale, ...). A group that
    cannot be fitted (too few rows, a constant column) yields a row with its error. Stops
    after a fit that was interrupted.
    """
    if data.keys is None:
        yield _fit_rows(data.source, (), data, None, options)
        return
    for key, rows in group_rows(data.keys):
        group = tuple(zip(data.key_columns, key, strict=True))
        row = _fit_rows(data.source, group, data, rows, options)
        yield row
        if row.status == StopReason.interrupted.value:
            return


def fit_each_file(paths: Sequence[str], *, read: Mapping[str, Any] | None = None,
                  stdin: BinaryIO | None = None, **options: Any) -> Iterator[BatchRow]:
    """Fit each input on its own (and each of its groups, with ``read={"by": [...]}``).

    A file that cannot be read becomes a row holding its error, and the loop goes on.
    """
    for path in paths:
        try:
            data = read_dataset(path, stdin=stdin, **(read or {}))
        except DataError as exc:
            source = "<stdin>" if path == "-" else path
            yield BatchRow(source, error=_strip_source(str(exc), source))
            continue
        for row in fit_dataset(data, **options):
            yield row
            if row.status == StopReason.interrupted.value:
                return


def _fit_rows(source: str, group: tuple[tuple[str, str], ...], data: Dataset,
              rows: np.ndarray | None, options: Mapping[str, Any]) -> BatchRow:
    X, y = (data.X, data.y) if rows is None else (data.X[rows], data.y[rows])
    try:
        result = fit(X, y, features=data.features, target=data.target, **options)
    except DataError as exc:
        return BatchRow(source, group, error=_strip_source(str(exc), source))
    return BatchRow(source, group, result)


def _strip_source(message: str, source: str) -> str:
    return message.removeprefix(f"{source}: ")


def _quote(text: str) -> str:
    return f"'{text}'"


# ---- rows for programs -------------------------------------------------------------------

def row_dict(row: BatchRow) -> dict[str, Any]:
    """A row as JSON-ready data: ``source``, ``group`` (an object, when grouped), then the
    result's fields (as ``gdfit fit --format json``), or ``status``/``message``/``exit_code``
    for an error."""
    head: dict[str, Any] = {"source": row.source}
    if row.group:
        head["group"] = dict(row.group)
    if row.result is None:
        return {**head, "status": "error", "message": row.message,
                "exit_code": int(row.exit_code)}
    return result_dict(row.result, **head)


def flat_columns(rows: Sequence[BatchRow]) -> list[str]:
    """CSV/table columns for `rows`: source, the group keys, target, one ``w_<feature>`` for
    every feature of any row (in order of first appearance), b, the summary, message."""
    fixed = ["source", "target", "b", *CSV_SUMMARY_FIELDS, "message"]
    keys: list[str] = []
    weights: list[str] = []
    for row in rows:
        for name, _ in row.group:
            col = _key_column(name, fixed)
            if col not in keys:
                keys.append(col)
        for f in row.result.features if row.result is not None else ():
            if f"w_{f}" not in weights:
                weights.append(f"w_{f}")
    return ["source", *keys, "target", *weights, *fixed[2:]]


def flat_row(row: BatchRow) -> dict[str, Any]:
    """A row as flat cells for CSV or a table (absent cells are None)."""
    fixed = ["source", "target", "b", *CSV_SUMMARY_FIELDS, "message"]
    cells: dict[str, Any] = {"source": row.source}
    cells.update({_key_column(name, fixed): value for name, value in row.group})
    data = row_dict(row)
    if row.result is not None:
        cells["target"] = row.result.target
        cells.update({f"w_{f}": v for f, v in zip(row.result.features, data["w"], strict=True)})
        cells["b"] = data["b"]
        cells.update({k: data[k] for k in CSV_SUMMARY_FIELDS})
    else:
        cells["status"] = "error"
    cells["message"] = row.message
    return cells


def rows_csv(rows: Sequence[BatchRow]) -> str:
    """The rows as CSV text with a header (:func:`flat_columns`)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=flat_columns(rows), lineterminator="\n",
                            restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in flat_row(row).items()})
    return out.getvalue()


def _key_column(name: str, taken: Sequence[str]) -> str:
    """A group key's column name; prefixed with ``group_`` when a result column has it."""
    return f"group_{name}" if name in taken or name.startswith("w_") else name
