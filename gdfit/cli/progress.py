"""A Rich progress bar for long descents, on stderr and only when stderr is a terminal.

The bar is fed by the step policy rather than by ``fit``'s callback: the callback turns each
iterate it reports into an :class:`~gdfit.result.IterRecord` in data units, which costs about
half an iteration on small problems (measured on housing.csv), so calling it at every iteration
would slow the run. :meth:`DescentBar.watch` instead wraps the policy in a transparent proxy whose
``update`` reads the clock and, at most ten times a second, moves the bar; everything else
(name, parameters, state, description) is the wrapped policy's own. The bar appears only once a
run has lasted half a second, so quick fits show nothing, and it is cleared when it ends.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, cast

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from gdfit.objective import LeastSquares, Vector
from gdfit.steps import StepInfo, StepPolicy

#: Seconds a run must last before the bar appears, and between two updates of it.
SHOW_AFTER = 0.5
REFRESH = 0.1


class _Watched:
    """A step policy that reports each update to a :class:`DescentBar`; otherwise the policy."""

    def __init__(self, inner: StepPolicy, bar: DescentBar, label: str, loss_factor: float):
        self._inner = inner
        self._bar = bar
        self._label = label
        self._factor = loss_factor
        self._count = 0
        self._start = 0.0
        self._next = 0.0
        self._task: TaskID | None = None

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: Any) -> tuple[Vector, StepInfo, Any]:
        now = time.perf_counter()
        if self._count == 0:
            self._start, self._next = now, now + SHOW_AFTER
        elif now >= self._next:
            self._next = now + REFRESH
            self._task = self._bar.show(self._task, self._label, self._count,
                                        loss * self._factor)
        self._count += 1
        return self._inner.update(problem, theta, loss, grad, state)


def bar_columns(width: int, total: int, loss_name: str = "loss") -> list[ProgressColumn]:
    """The bar's columns for a terminal ``width`` wide: the policy, the bar, iterations done,
    the loss, the time and the ETA when they fit; on a narrower terminal the time goes first,
    then the bar and the policy, then the loss: the count and the loss are never cut."""
    count = 2 * len(str(total)) + 2  # " done/total"
    loss = len(loss_name) + 1 + 12  # the loss, with 6 significant digits: 12 characters at most
    if count + 1 + loss > width:  # too narrow for both: the count alone
        return [MofNCompleteColumn()]
    columns: list[ProgressColumn] = [MofNCompleteColumn(),
                                     TextColumn(f"{loss_name} {{task.fields[loss]}}")]
    used = count + 1 + loss
    if used + 1 + 12 <= width:  # the policy's name (up to 12 characters)
        columns.insert(0, TextColumn("[bold]{task.description}"))
        used += 13
    if used + 1 + 24 + 18 <= width:  # the time and the ETA: 0:00:01 ETA 0:00:05
        columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
        used += 19
    bar = min(40, width - used - 2)
    if bar >= 10:
        columns.insert(1 if len(columns) > 2 and isinstance(columns[0], TextColumn) else 0,
                       BarColumn(bar_width=bar))
    return columns


class DescentBar:
    """Iterations done against ``total`` (the iteration budget), the current loss and an ETA.

    Use as a context manager; :meth:`watch` the policies to follow. Disabled, it does nothing
    and :meth:`watch` returns the policy itself.
    """

    def __init__(self, console: Console, total: int, *, enabled: bool,
                 loss_name: str = "loss") -> None:
        self.enabled = enabled and total > 0
        self.total = total
        self.console = console
        self.loss_name = loss_name
        self._progress: Progress | None = None
        self._current: TaskID | None = None

    def watch(self, policy: StepPolicy, label: str = "", loss_factor: float = 1.0) -> StepPolicy:
        """``policy``, reporting to this bar when enabled (``loss_factor`` converts the loss
        the policy sees into the unit shown)."""
        if not self.enabled:
            return policy
        return cast(StepPolicy, _Watched(policy, self, label or policy.name, loss_factor))

    def show(self, task: TaskID | None, label: str, done: int, loss: float) -> TaskID:
        """Move (or create) the bar of one run."""
        if self._progress is None:
            self._progress = Progress(*bar_columns(self.console.width, self.total,
                                                   self.loss_name),
                                      console=self.console, transient=True)
            self._progress.start()
        if task is None:
            if self._current is not None:
                self._progress.remove_task(self._current)
            task = self._progress.add_task(label, total=self.total, loss="")
            self._current = task
        self._progress.update(task, completed=done, loss=f"{loss:.6g}")
        return task

    def __enter__(self) -> DescentBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
