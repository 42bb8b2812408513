"""The progress table on stderr: one row per reported iteration, as wide as the terminal.

Three rules keep it useful:

- **Width.** On a terminal the table takes the columns that fit its width: iteration and loss
  always, then ‖∇f‖ and the step, then the coefficients in order and b; a line under the
  header names the coefficients left out. Names are never shortened. Anywhere else (a file, a
  pipe) every column is printed.
- **Quick fits print nothing.** Rows are held back until the run passes iteration
  :data:`QUIET_UNTIL`; a fit that ends by then has no table (its result says everything).
  ``--every K`` asks for the table, so it always prints.
- **No repeated rows.** A row whose numbers are all those of the row above is not printed;
  the run of them becomes one line, ``<last> no change since iteration <k>``.

Call the printer with each :class:`~gdfit.result.IterRecord`, then :meth:`finish` when the
fit ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console

from gdfit.choices import DEFAULT_MAX_ITER
from gdfit.result import IterRecord

#: A run that ends at or before this iteration shows no progress table.
QUIET_UNTIL = 10
#: Width of the iteration column at the least, and of the other columns.
ITER_WIDTH, GRAD_WIDTH, STEP_WIDTH, PARAM_WIDTH = 4, 9, 10, 14
#: The loss with 9 significant digits, or 6 on a terminal too narrow for that.
LOSS_DIGITS = ((9, 15), (6, 12))


def _num(value: float | None, digits: int) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:.{digits}g}"


@dataclass(frozen=True)
class _Layout:
    """Which columns are printed and how wide each is."""

    iter_width: int
    loss_digits: int
    loss_width: int
    grad: bool
    step: bool
    shown: tuple[int, ...]  # indices into the coefficient names (w…, then b)
    widths: tuple[int, ...]


class ProgressPrinter:
    """Prints the progress table (see the module docstring) for the records it is called with.

    Parameters
    ----------
    console : rich.console.Console
        Where to print (stderr); its width counts only when it is a terminal.
    features : sequence of str
        The coefficients' names, in order.
    intercept : bool
        Whether there is a b column.
    every : int, optional
        ``--every K``: the user asked for the table, so quick fits print it too.
    max_iter : int, optional
        The iteration budget (sizes the iteration column; default: gdfit's default budget).
    width : int, optional
        The width to fit; default: the console's when it is a terminal, else unlimited.
    """

    def __init__(self, console: Console, features: Sequence[str], intercept: bool, *,
                 every: int | None = None, max_iter: int | None = None,
                 width: int | None = None) -> None:
        self.console = console
        ascii_only = console.options.ascii_only
        self.names = [f"w[{n}]" for n in features] + (["b"] if intercept else [])
        self.grad_label = "|grad f|" if ascii_only else "‖∇f‖"
        self.intercept = intercept
        self.eager = every is not None
        if width is None and console.is_terminal:
            width = console.width
        self.layout = self._fit(width, len(str(DEFAULT_MAX_ITER if max_iter is None
                                                else max_iter)))
        self._held: list[IterRecord] = []  # rows not printed yet (the run is still quick)
        self._started = False
        self._last: tuple[str, ...] | None = None  # the numbers of the last row printed
        self._same: tuple[int, int] | None = None  # (first, last) iteration unchanged since
        self._shown_iteration = -1  # the iteration of the last row printed

    def _fit(self, width: int | None, iter_digits: int) -> _Layout:
        iter_width = max(ITER_WIDTH, iter_digits)
        params = [max(len(n), PARAM_WIDTH) for n in self.names]
        if width is None:
            return _Layout(iter_width, 9, 15, True, True, tuple(range(len(params))),
                           tuple(params))
        digits, loss_width = LOSS_DIGITS[0]
        if iter_width + 1 + loss_width > width:
            digits, loss_width = LOSS_DIGITS[1]
        used = iter_width + 1 + loss_width
        grad = used + 1 + GRAD_WIDTH <= width
        used += 1 + GRAD_WIDTH if grad else 0
        step = grad and used + 1 + STEP_WIDTH <= width
        used += 1 + STEP_WIDTH if step else 0
        # b goes with the coefficients that fit, the first ones first.
        order = ([len(params) - 1] if self.intercept else []) + list(
            range(len(params) - (1 if self.intercept else 0)))
        chosen = []
        for i in order:
            if used + 1 + params[i] > width:
                break
            chosen.append(i)
            used += 1 + params[i]
        shown = tuple(sorted(chosen))
        return _Layout(iter_width, digits, loss_width, grad, step, shown,
                       tuple(params[i] for i in shown))

    # --- rows --------------------------------------------------------------------------------

    def _numbers(self, record: IterRecord) -> tuple[str, ...]:
        lay = self.layout
        values = [float(v) for v in record.w] + ([record.b] if self.intercept else [])
        cells = [_num(record.loss, lay.loss_digits)]
        if lay.grad:
            cells.append(f"{record.grad_norm:.3e}")
        if lay.step:
            cells.append(_num(record.step_size, 4))
        cells += [_num(values[i], 8) for i in lay.shown]
        return tuple(cells)

    def _line(self, first: str, cells: Sequence[str]) -> str:
        lay = self.layout
        widths = [lay.loss_width] + ([GRAD_WIDTH] if lay.grad else []) + (
            [STEP_WIDTH] if lay.step else []) + list(lay.widths)
        return " ".join([first.rjust(lay.iter_width),
                         *(c.rjust(w) for c, w in zip(cells, widths, strict=True))])

    def _print(self, text: str, style: str = "", wrap: bool = False) -> None:
        self.console.print(text, style=style or None, highlight=False, markup=False,
                           soft_wrap=not wrap)

    def _header(self) -> None:
        lay = self.layout
        head = ["loss (MSE)"] + ([self.grad_label] if lay.grad else []) + (
            ["step"] if lay.step else []) + [self.names[i] for i in lay.shown]
        self._print(self._line("iter", head), "bold")
        left = [n for i, n in enumerate(self.names) if i not in lay.shown]
        if left:
            self._print(f"({len(left)} not shown at this width: {', '.join(left)})", "dim",
                        wrap=True)

    def _flush_same(self) -> None:
        if self._same is not None:
            first, last = self._same
            self._print(f"{str(last).rjust(self.layout.iter_width)} no change since "
                        f"iteration {first}", "dim")
            self._same = None

    def _show(self, record: IterRecord) -> None:
        cells = self._numbers(record)
        if cells == self._last:
            first = self._same[0] if self._same is not None else self._shown_iteration
            self._same = (first, record.iteration)
            return
        self._flush_same()
        self._print(self._line(str(record.iteration), cells))
        self._last, self._shown_iteration = cells, record.iteration

    def __call__(self, record: IterRecord) -> None:
        if self._started:
            self._show(record)
            return
        self._held.append(record)
        if self.eager or record.iteration > QUIET_UNTIL:
            self._started = True
            self._header()
            for held in self._held:
                self._show(held)
            self._held = []

    def finish(self) -> None:
        """The fit ended: close a run of unchanged rows; a quick fit prints nothing."""
        self._held = []
        self._flush_same()
