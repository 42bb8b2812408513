"""A descent's history in bounded memory: a decimated record, and a sink that sees every iterate.

``--plot`` and ``--plot-file`` need the path of a descent, ``--trace`` needs every iterate of it;
neither may cost memory in proportion to the iterations (a million iterations kept whole took
1.26 GB). A :class:`History` therefore does two things with each record appended to it:

* it hands the record to its ``sink``, if it has one (the trace file writes the row at once and
  forgets it);
* it keeps the record only if its position is a multiple of the current *stride*. The stride
  starts at 1 (every iterate is kept); when ``limit`` records are kept and one more is due, every
  second kept record is dropped and the stride doubles. So after N records, the kept ones are
  positions 0, s, 2s, … with s the smallest power of two for which ⌈N/s⌉ ≤ ``limit``, and the
  latest record is always kept as well: at most ``limit + 1`` records, the first and the last
  among them, evenly spaced in between.

``limit=None`` keeps everything (``history=True`` in the library: the caller asked for it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from gdfit.result import IterRecord

#: Records a bounded history keeps (at most one more: the latest). 4096 points draw a smooth
#: line at any plot width and cost about 1.4 MB (four x columns) whatever the iterations.
HISTORY_LIMIT = 4096


class Recorder(Protocol):
    """What a fit hands its iterations to (:class:`History`, or a converting view of one)."""

    def append(self, record: IterRecord) -> None:
        """Take one iteration's record, in iteration order."""

    def records(self) -> tuple[IterRecord, ...]:
        """The records kept, in iteration order."""


class History:
    """A record of a descent's iterations that keeps at most ``limit + 1`` of them.

    Parameters
    ----------
    limit : int or None
        How many records to keep at most (besides the latest); None keeps every one.
    sink : callable, optional
        Called with every record appended, kept or not (e.g. to write a trace row).

    Examples
    --------
    >>> import numpy as np
    >>> from gdfit.result import IterRecord
    >>> h = History(limit=4)
    >>> for k in range(11):
    ...     h.append(IterRecord(k, 1.0 / (k + 1), 0.0, 0.1, np.zeros(1), 0.0))
    >>> [r.iteration for r in h.records()], h.stride, h.seen
    ([0, 4, 8, 10], 4, 11)
    """

    def __init__(self, limit: int | None = HISTORY_LIMIT,
                 sink: Callable[[IterRecord], None] | None = None) -> None:
        if limit is not None and limit < 2:
            raise ValueError(f"a history keeps at least 2 records, got limit={limit}")
        self.limit = limit
        self.sink = sink
        self.stride = 1
        self.seen = 0
        self._kept: list[IterRecord] = []
        self._last: IterRecord | None = None

    def append(self, record: IterRecord) -> None:
        """Hand ``record`` to the sink and keep it if its position is due (see the module).

        A record whose iteration is not after the latest one's is a repeat and is dropped (a
        descent that Ctrl-C interrupts hands over its last iterate again, in case the signal
        came before it was recorded).
        """
        last = self._last
        if last is not None and record.iteration <= last.iteration:
            return
        if self.sink is not None:
            self.sink(record)
        # Set only once the sink is done: a Ctrl-C inside the sink lets the repeat through.
        self._last = record
        position = self.seen
        self.seen += 1
        if position % self.stride:
            return
        if self.limit is not None and len(self._kept) >= self.limit:
            # Kept positions are the multiples of the stride: every second one is a multiple
            # of twice the stride.
            del self._kept[1::2]
            self.stride *= 2
            if position % self.stride:
                return
        self._kept.append(record)

    def records(self) -> tuple[IterRecord, ...]:
        """The kept records in iteration order, the latest always among them."""
        if self._last is not None and (not self._kept or self._kept[-1] is not self._last):
            return (*self._kept, self._last)
        return tuple(self._kept)

    def __len__(self) -> int:
        return len(self.records())


def converting(recorder: Recorder, convert: Callable[[IterRecord], IterRecord]) -> Recorder:
    """A recorder that appends ``convert(record)`` to ``recorder`` (e.g. coefficients restated
    from a basis to the raw columns before they are kept or traced)."""
    return _Converting(recorder, convert)


class _Converting:
    """See :func:`converting`."""

    def __init__(self, recorder: Recorder, convert: Callable[[IterRecord], IterRecord]) -> None:
        self._history = recorder
        self._convert = convert

    def append(self, record: IterRecord) -> None:
        self._history.append(self._convert(record))

    def records(self) -> tuple[IterRecord, ...]:
        return self._history.records()


def as_recorder(history: bool | Recorder) -> Recorder | None:
    """The recorder a fit writes to: ``history`` itself, a :class:`History` that keeps every
    record for ``True``, or None for ``False``."""
    if isinstance(history, bool):
        return History(limit=None) if history else None
    return history
