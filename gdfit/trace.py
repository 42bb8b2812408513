"""``--trace FILE.csv``: every iteration of one or more descents, as a CSV file.

One row per iteration (iteration 0 is the starting point) with the columns::

    policy, iteration, loss, grad_norm, step_size, w_<feature>..., b

``loss`` is the mean squared error in the data's units and ``w_*``/``b`` are the parameters in
the data's units; ``grad_norm`` and ``step_size`` are measured in the space the descent runs in
(standardised under ``--scale standard``), as in the progress table. ``step_size`` is empty at
iteration 0, ``b`` is absent without an intercept. Floats are written with all their digits.

The rows are written as the descent makes them (:meth:`TraceWriter.history` is the sink of a
bounded :class:`~gdfit.history.History`), a block of rows at a time, so a trace of any length
costs no memory, into the
temporary file of :func:`gdfit.atomic.atomic_write`, renamed into place when the runs are done:
an interrupted run leaves no partial file.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TextIO

from gdfit.atomic import atomic_write, interrupts_deferred
from gdfit.history import HISTORY_LIMIT, History
from gdfit.result import FitResult, IterRecord

TRACE_COLUMNS = ("policy", "iteration", "loss", "grad_norm", "step_size")


def trace_header(features: Sequence[str], intercept: bool) -> list[str]:
    """The column names for a model with ``features`` (and b with an intercept)."""
    return [*TRACE_COLUMNS, *(f"w_{name}" for name in features), *(["b"] if intercept else [])]


def _cell(value: float | None) -> float | str:
    return "" if value is None or not math.isfinite(value) else value


def trace_row(label: str, rec: IterRecord, intercept: bool) -> list[object]:
    """One iteration's row."""
    row: list[object] = [label, rec.iteration, _cell(rec.loss), _cell(rec.grad_norm),
                         _cell(rec.step_size)]
    row += [_cell(float(v)) for v in rec.w]
    if intercept:
        row.append(_cell(rec.b))
    return row


class _Lines:
    """Where ``csv.writer`` puts each formatted row: appended to a list in one step, which a
    Ctrl-C cannot split."""

    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


class TraceWriter:
    """Writes trace rows to an open file, one per iteration, as the runs make them.

    Rows are formatted into a list and written a block of :attr:`BLOCK` rows at a time with
    Ctrl-C held (:func:`gdfit.atomic.interrupts_deferred`), so the count of rows written is
    exact at every moment. That count is what makes a repeat harmless: a descent that Ctrl-C
    interrupts hands its last iterate over again (in case the signal came before it was
    recorded), and a row already written is not written twice.

    Parameters
    ----------
    fh : TextIO
        Where the rows go (the header is written at once).
    features : sequence of str
        The x columns of every run traced.
    intercept : bool
        Whether the runs fit b.
    """

    BLOCK = 512

    def __init__(self, fh: TextIO, features: Sequence[str], intercept: bool) -> None:
        self._fh = fh
        self._width = len(features)
        self.intercept = intercept
        self._pending: list[str] = []
        self._written = 0
        self._writer = csv.writer(_Lines(self._pending), lineterminator="\n")
        self._writer.writerow(trace_header(features, intercept))
        self.flush()
        self._written = 0  # the header is not a row

    @property
    def rows(self) -> int:
        """Rows handed over so far (written, or waiting in the current block)."""
        return self._written + len(self._pending)

    def sink(self, label: str) -> Callable[[IterRecord], None]:
        """What writes ``label``'s records as rows (iterations 0, 1, 2, … of one run)."""
        writerow, intercept, pending = self._writer.writerow, self.intercept, self._pending
        start = self.rows

        def write(rec: IterRecord) -> None:
            if self._written + len(pending) - start > rec.iteration:
                return  # this iteration's row is there already
            if len(rec.w) != self._width:
                raise ValueError("every traced run must fit the same columns")
            writerow(trace_row(label, rec, intercept))
            if len(pending) >= self.BLOCK:
                self.flush()

        return write

    def history(self, label: str, limit: int | None = HISTORY_LIMIT) -> History:
        """A bounded history for one run that writes each of its records to the trace."""
        return History(limit, sink=self.sink(label))

    def flush(self) -> None:
        """Write the rows waiting in the current block."""
        with interrupts_deferred():
            self._fh.write("".join(self._pending))
            self._written += len(self._pending)
            self._pending.clear()


@contextlib.contextmanager
def open_trace(path: str | os.PathLike[str], features: Sequence[str], intercept: bool, *,
               force: bool = False, inputs: Iterable[str | os.PathLike[str]] = ()
               ) -> Iterator[TraceWriter]:
    """A :class:`TraceWriter` on ``path``, written atomically: the file appears, whole, when
    the block ends without an exception (see :func:`gdfit.atomic.atomic_write` for ``force``
    and ``inputs``)."""
    with atomic_write(path, force=force, inputs=inputs) as fh:
        writer = TraceWriter(fh, features, intercept)
        yield writer
        writer.flush()


def write_trace(path: str | os.PathLike[str], runs: Sequence[tuple[str, FitResult]], *,
                force: bool = False, inputs: Iterable[str | os.PathLike[str]] = ()) -> int:
    """Write the histories of ``runs`` (label, result) to ``path``; return the rows written.

    Every result must have been fitted with a history on the same columns. An existing file
    is replaced only with ``force``; the file appears whole or not at all.
    """
    if not runs:
        raise ValueError("no runs to trace")
    first = runs[0][1]
    with open_trace(path, first.features, first.intercept, force=force, inputs=inputs) as trace:
        for label, result in runs:
            if result.features != first.features or result.intercept != first.intercept:
                raise ValueError("every traced run must fit the same columns")
            if not result.history:
                raise ValueError("the result has no history; fit with history=True")
            write = trace.sink(label)
            for rec in result.history:
                write(rec)
    return trace.rows
