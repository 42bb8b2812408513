"""Seeing the descent from the command line: ``--trace``, ``--plot``, ``--plot-file``,
``--explain``, the progress bar, and the mini-batch options ``--batch-size``/``--seed``.

``gdfit fit`` and ``gdfit compare`` declare these options with the aliases below and hand them to
a :class:`DescentViews`, which checks them before any work is done, runs the fits (full or
mini-batch, followed by the progress bar) and shows what was asked for afterwards. Everything
here writes to stderr or to files: stdout carries only the result.

The fits' histories are bounded (:mod:`gdfit.history`: decimated for the plots, every row of the
trace streamed to its file as the descent runs), so memory does not grow with the iterations.

``--plot`` is a flag that draws in the terminal; ``--plot-file FILE`` writes an image. Two
options rather than one that is either a flag or takes a value, which Click cannot parse
without guessing whether the next word is a file name or the input path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gdfit.choices import EXPLAIN_MAX_ITER, Scale
from gdfit.cli.common import OUTPUT, STEP, err, note
from gdfit.cli.params import to_options
from gdfit.errors import OptionError

if TYPE_CHECKING:  # numpy-backed modules load inside the functions: keep --help fast
    from gdfit.cli.progress import DescentBar
    from gdfit.history import History, Recorder
    from gdfit.result import FitResult
    from gdfit.steps import StepPolicy
    from gdfit.trace import TraceWriter

TraceOption = Annotated[str | None, typer.Option(
    "--trace", help="Write every iteration to this CSV file (policy, iteration, loss, "
    "grad_norm, step_size, w_<x>…, b) as the descent runs; it appears when the run ends.",
    rich_help_panel=OUTPUT, show_default=False, metavar="FILE.csv")]
PlotOption = Annotated[bool, typer.Option(
    "--plot", help="Draw the loss above its minimum (log scale) against iteration in the "
    "terminal, on stderr.", rich_help_panel=OUTPUT)]
PlotFileOption = Annotated[str | None, typer.Option(
    "--plot-file", help="Write that plot as an image (.png, .svg or .pdf; needs matplotlib: "
    "pip install 'gdfit\\[plot]'). With one x column, a second panel shows the path over the "
    "loss contours.", rich_help_panel=OUTPUT, show_default=False, metavar="FILE.png")]
ExplainOption = Annotated[bool, typer.Option(
    "--explain", help=f"Print each iteration's arithmetic on stderr: gradient components, "
    f"step size and why, the update with numbers (needs --max-iter ≤ {EXPLAIN_MAX_ITER}).",
    rich_help_panel=OUTPUT)]
BatchSizeOption = Annotated[int | None, typer.Option(
    "--batch-size", min=1, help="Mini-batch gradient descent: each step uses this many rows, "
    "reshuffled every epoch (1 = stochastic) \\[default: all rows]", rich_help_panel=STEP,
    show_default=False)]
SeedOption = Annotated[int | None, typer.Option(
    "--seed", min=0, help="Seed of the mini-batch shuffle \\[default: 0]",
    rich_help_panel=STEP, show_default=False)]
ScaleOption = Annotated[Scale, typer.Option(
    "--scale", help="Descend on standardised columns or on the raw ones; results are always "
    "in the data's units.", rich_help_panel=STEP)]


class Recording:
    """Hands each run of a command its history: bounded (see :mod:`gdfit.history`), and
    streaming its rows to the trace file when there is one."""

    def __init__(self, trace: TraceWriter | None, wanted: bool) -> None:
        self.trace = trace
        self.wanted = wanted

    def recorder(self, label: str) -> History:
        """A bounded history for the run labelled ``label``, writing the trace if there is one."""
        from gdfit.history import History

        return self.trace.history(label) if self.trace is not None else History()

    def history(self, label: str) -> bool | History:
        """What the fit labelled ``label`` takes as ``history`` (False when nothing is shown)."""
        return self.recorder(label) if self.wanted else False


@dataclass(frozen=True)
class DescentViews:
    """The view and mini-batch options of one command, and what its files may not overwrite.

    ``force`` and ``inputs`` are for the files written (``--trace``, ``--plot-file``): an
    existing file is replaced only with ``force``, an input never (see :mod:`gdfit.atomic`).
    """

    trace: str | None = None
    plot: bool = False
    plot_file: str | None = None
    explain: bool = False
    batch_size: int | None = None
    seed: int | None = None
    quiet: bool = False
    force: bool = False
    inputs: tuple[str, ...] = ()

    @property
    def history(self) -> bool:
        """Whether the fits must record their iterates (for the trace or a plot)."""
        return self.trace is not None or self.plot or self.plot_file is not None

    @contextmanager
    def recording(self, features: Sequence[str], intercept: bool) -> Iterator[Recording]:
        """Around the fits: the trace file, written as they run, appears when the block ends.

        An exception (or Ctrl-C that the fits do not catch) leaves no file behind.
        """
        if self.trace is None:
            yield Recording(None, self.history)
            return
        from gdfit.trace import open_trace

        with open_trace(self.trace, features, intercept, force=self.force,
                        inputs=self.inputs) as writer:
            yield Recording(writer, True)
        if not self.quiet:
            note(f"gdfit: wrote {writer.rows} iterations to {self.trace}")

    def check(self, policies: Sequence[StepPolicy], max_iter: int, *,
              batch: bool = False) -> None:
        """Refuse what cannot work, before any data is read or fitted.

        ``batch`` says the command fits many data sets (``--each-file``, ``--group-by``), for
        which these options are not offered.
        """
        from gdfit.minibatch import check_stochastic

        given = [name for name, on in (("--trace", self.trace is not None),
                                       ("--plot", self.plot),
                                       ("--plot-file", self.plot_file is not None),
                                       ("--explain", self.explain),
                                       ("--batch-size", self.batch_size is not None)) if on]
        if batch and given:
            raise OptionError(f"{', '.join(given)} work on a single fit, not with --each-file "
                              "or --group-by")
        if self.seed is not None and self.batch_size is None:
            raise OptionError("--seed only shuffles mini-batches: give --batch-size too")
        if self.explain:
            if max_iter > EXPLAIN_MAX_ITER:
                raise OptionError(f"--explain prints every iteration, so it needs --max-iter ≤ "
                                  f"{EXPLAIN_MAX_ITER} (got {max_iter})")
            if self.batch_size is not None:
                raise OptionError("--explain follows full-batch descent; drop --batch-size")
        if self.batch_size is not None:
            for policy in policies:
                check_stochastic(policy)
        if self.plot_file is not None:
            from gdfit.plot import check_image_support

            check_image_support(self.plot_file)

    def bar(self, max_iter: int) -> DescentBar:
        """The progress bar for runs of at most ``max_iter`` iterations (on a terminal only)."""
        from gdfit.cli.progress import DescentBar

        return DescentBar(err, max_iter, enabled=not self.quiet and not self.explain
                          and err.is_terminal,
                          loss_name="batch loss" if self.batch_size else "loss")

    def fit(self, X: Any, y: Any, policy: StepPolicy, bar: DescentBar, *,
            history: bool | Recorder = False, **options: Any) -> FitResult:
        """Fit with ``policy`` (full or mini-batch), followed by ``bar``, recorded by
        ``history`` (from :meth:`recording`)."""
        from gdfit.minibatch import fit_minibatch

        watched = bar.watch(policy, loss_factor=bar_loss_factor(X, y, options, bar))
        return fit_minibatch(X, y, batch_size=self.batch_size, seed=self.seed or 0,
                             step=watched, history=history, **options)

    def show(self, X: Any, y: Any, runs: Sequence[tuple[str, FitResult]], *,
             policy: StepPolicy | None = None, scale: Scale = Scale.standard,
             title: str = "") -> None:
        """After the fits: the explanation and the plots (the trace is written already)."""
        first = runs[0][1]
        title = title or (f"{first.target} ~ {' + '.join(first.features)}: loss − "
                          "least-squares minimum (log scale)")
        if self.explain and policy is not None:
            from gdfit.explain import explain_lines

            for line in explain_lines(X, y, features=first.features, target=first.target,
                                      intercept=first.intercept, scale=scale, policy=policy,
                                      iterations=first.iterations):
                note(to_options(line))
        if self.plot or self.plot_file is not None:
            import numpy as np

            from gdfit.objective import LeastSquares
            from gdfit.plot import image_plot, series_of, terminal_plot

            problem = LeastSquares.from_arrays(np.asarray(X).reshape(len(y), -1), y,
                                               intercept=first.intercept)
            series = [series_of(label, result, problem) for label, result in runs]
            if self.plot:
                err.file.write(terminal_plot(series, width=min(err.width, 110), color=(
                    err.is_terminal and not err.no_color), title=title) + "\n")
                err.file.flush()
            if self.plot_file is not None:
                contours = image_plot(self.plot_file, series, problem=problem,
                                      best=first.lstsq_theta, title=title, force=self.force,
                                      inputs=self.inputs)
                if not self.quiet:
                    note(f"gdfit: wrote the plot{' and the contours' if contours else ''} to "
                         f"{self.plot_file}")


def bar_loss_factor(X: Any, y: Any, options: dict[str, Any], bar: DescentBar) -> float:
    """What turns the loss the policy sees into the MSE in y's units (for the bar only)."""
    if not bar.enabled or Scale(options.get("scale", Scale.standard)) is Scale.none:
        return 1.0
    import numpy as np

    from gdfit.objective import LeastSquares
    from gdfit.scaling import AffineScaling

    problem = LeastSquares.from_arrays(np.asarray(X, dtype=np.float64).reshape(len(y), -1),
                                       np.asarray(y, dtype=np.float64),
                                       intercept=options.get("intercept", True))
    return AffineScaling.standard(problem).loss_factor
