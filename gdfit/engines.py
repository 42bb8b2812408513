"""Engines: where the loss and gradient of each iteration come from.

``gram``
    One streaming pass computes the sufficient statistics (:mod:`gdfit.stream`); every
    iteration then costs O(d²), however many rows there are, in memory that does not grow
    with them.
``rows``
    The rows are read into memory and every iteration computes the loss and gradient from them
    (:class:`RowsLeastSquares`): the reference the ``gram`` engine is tested against, and what
    options that need the rows themselves run on.
``dask``
    The statistics are computed per partition on a ``dask.distributed`` cluster and reduced
    there (:mod:`gdfit.dask_engine`); the descent then runs locally.

``auto`` picks ``rows`` when an option needs the rows and ``gram`` otherwise. Both local
engines descend from the same start with the same policy in the same scaled coordinates, so
their iterates agree to rounding (≈ 1e-12 relative; see tests/test_stream.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from gdfit.api import (
    DEFAULT_GRAD_TOL,
    DEFAULT_LOSS_TOL,
    DEFAULT_MAX_ITER,
    build_result,
    fit_statistics,
    prepare,
    run_descent,
)
from gdfit.arrays import design
from gdfit.choices import BadRows, Engine
from gdfit.errors import DataError, OptionError
from gdfit.history import Recorder
from gdfit.magnitude import Units
from gdfit.objective import LeastSquares, Vector, vector_norm
from gdfit.reference import fit_quality, reference_from_rows
from gdfit.result import FitResult, IterRecord
from gdfit.scaling import Scale
from gdfit.solver import descend
from gdfit.steps import DEFAULT_STEP, StepPolicy
from gdfit.stopping import StopReason, StopRule
from gdfit.unconverged import warns_unconverged

if TYPE_CHECKING:
    from rich.console import Console

    from gdfit.stream import StreamInfo

#: Values per slice of the rows engine: the slices stay in cache (L2), and OpenBLAS computes a
#: dot product of at most 10⁴ elements on the calling thread (longer ones are split across
#: threads, which costs far more than it saves when other threads are busy). Smaller slices
#: pay NumPy's ≈ 1 µs per call more often: 4·10³ measured ≈ 30 % slower on 10⁶ rows.
ROWS_CHUNK = 10_000


def choose_engine(requested: Engine | str, needs_rows: Sequence[str] = ()) -> tuple[Engine, str]:
    """The engine to run and why, for ``--engine requested``.

    ``needs_rows`` names the options given that need the rows in memory (``--stats`` …):
    ``auto`` then picks ``rows``, and asking for ``gram`` or ``dask`` is a usage error.
    """
    engine = Engine(requested)
    options = ", ".join(needs_rows)
    if engine is Engine.auto:
        if needs_rows:
            return Engine.rows, f"{options} need{'s' if len(needs_rows) == 1 else ''} the rows"
        return Engine.gram, "full batch: the sufficient statistics suffice"
    if needs_rows and engine is not Engine.rows:
        raise OptionError(f"{options} need{'s' if len(needs_rows) == 1 else ''} the rows in "
                          f"memory; use --engine rows (or auto), not --engine {engine.value}")
    return engine, "as asked"


def check_engine_options(engine: Engine, paths: Sequence[str], *, why: str,
                         scheduler: str | None = None, on_bad_rows: BadRows | str = "error"
                         ) -> None:
    """Refuse the options that the chosen engine cannot honour, before reading anything."""
    from gdfit.stream import _codec_of_name, _is_parquet

    if scheduler is not None and engine is not Engine.dask:
        raise OptionError("--scheduler is the address of a Dask scheduler: it needs "
                          "--engine dask")
    if BadRows(on_bad_rows) is BadRows.skip and engine is not Engine.gram:
        raise OptionError(f"--on-bad-rows skip works with the streaming reader of --engine "
                          f"gram, not with the {engine.value} engine ({why})")
    if engine is Engine.rows:
        odd = [p for p in paths if _is_parquet(p) or _codec_of_name(p) is not None]
        if odd:
            raise OptionError(f"{odd[0]}: compressed and Parquet inputs are read by --engine "
                              f"gram or dask; the rows engine ({why}) reads plain text")


# ---------------------------------------------------------------------------------------------
# The rows objective


@dataclass(frozen=True, eq=False)
class RowsLeastSquares(LeastSquares):
    """Mean squared error computed from the rows at every call.

    ``Z`` (n × d) and ``u`` (n) are the rows in the coordinates the descent runs in. The
    statistics fields describe the same rows (so policies that read them see the same
    problem); the loss and gradient are summed over the rows in slices of at most
    :data:`ROWS_CHUNK` values, cut once here and reusing one scratch buffer, so an iteration
    allocates nothing proportional to n and the slices stay in cache. The Hessian
    H = (2/n)·[Z 1]ᵀ[Z 1] is constant: it is formed from the rows once, and
    ``hvp``/``loss_change`` use it.
    """

    Z: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    u: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    _h: np.ndarray = field(init=False, repr=False, compare=False)
    _r: np.ndarray = field(init=False, repr=False, compare=False)
    _zsum: np.ndarray = field(init=False, repr=False, compare=False)
    _usum: float = field(init=False, repr=False, compare=False)
    _slices: tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], ...] = field(
        init=False, repr=False, compare=False)

    @classmethod
    def from_rows(cls, Z: np.ndarray, u: np.ndarray, *, intercept: bool = True
                  ) -> RowsLeastSquares:
        """The objective of the rows ``Z`` (n × d) and target ``u``."""
        Z = np.asarray(Z, dtype=np.float64)
        u = np.ascontiguousarray(u, dtype=np.float64)
        stats = LeastSquares.from_arrays(Z, u, intercept=intercept)
        return cls(n=stats.n, x_mean=stats.x_mean, y_mean=stats.y_mean, gram=stats.gram,
                   xty=stats.xty, yty=stats.yty, intercept=intercept, Z=Z, u=u)

    def __post_init__(self) -> None:
        super().__post_init__()
        n, d = self.Z.shape
        # One feature: its column as a 1-D array; more: the rows, C-contiguous, so that every
        # slice of rows is contiguous and BLAS reads it in place.
        z = np.ascontiguousarray(self.Z[:, 0] if d == 1 else self.Z)
        u = np.ascontiguousarray(self.u, dtype=np.float64)
        aug = np.empty((d + int(self.intercept), d + int(self.intercept)))
        zz = z[:, None] if d == 1 else z
        aug[:d, :d] = zz.T @ zz
        sums = zz.sum(axis=0)
        if self.intercept:
            aug[:d, d] = aug[d, :d] = sums
            aug[d, d] = n
        rows = max(ROWS_CHUNK // max(d, 1), 1024)
        scratch = np.empty(min(n, rows))
        ones = np.ones(min(n, rows))
        # (rows, target, scratch, ones) per slice, cut once: slicing in the loop costs more
        # than the arithmetic on a slice of this size.
        slices = tuple((z[lo:lo + rows], u[lo:lo + rows], scratch[:min(rows, n - lo)],
                        ones[:min(rows, n - lo)]) for lo in range(0, n, rows))
        object.__setattr__(self, "_h", aug * (2.0 / max(n, 1)))
        object.__setattr__(self, "_r", scratch)
        object.__setattr__(self, "_zsum", sums)
        object.__setattr__(self, "_usum", float(u.sum()))
        object.__setattr__(self, "_slices", slices)

    def _sums(self, w: Vector, b: float, total: bool) -> tuple[float, Vector, float]:
        """(‖r‖², Zᵀr, Σr) for r = Zw + b − u, summed slice by slice.

        b = 0 saves a pass over each slice, and ``total=False`` a dot product (Σr is then 0).
        """
        add, sub = np.add, np.subtract
        sq = summed = 0.0
        if self._d == 1:  # the common case, on 1-D slices; scalar arithmetic on the sums
            mul, w0, zr = np.multiply, float(w[0]), 0.0
            for zc, uc, r, ones in self._slices:
                mul(zc, w0, r)
                if b:
                    add(r, b, r)
                sub(r, uc, r)
                sq += float(r.dot(r))
                zr += float(zc.dot(r))
                if total:
                    summed += float(r.dot(ones))
            return sq, np.array((zr,)), summed
        w = np.ascontiguousarray(w)
        gz = np.zeros(self._d)
        for zc, uc, r, ones in self._slices:
            np.dot(zc, w, r)
            if b:
                add(r, b, r)
            sub(r, uc, r)
            sq += float(r.dot(r))
            add(gz, r.dot(zc), gz)
            if total:
                summed += float(r.dot(ones))
        return sq, gz, summed

    def _identities_hold(self, b: float, zw: float, s_sum: float, s_sq: float) -> bool:
        """Whether the identities of :meth:`loss_and_grad` lose at most a few ulps.

        That is |2bΣs| ≤ (‖s‖² + nb²)/2 (no cancellation in ‖r‖²) and
        (|mᵀw| + |Σu|)² ≤ n‖s‖² (Σs = mᵀw − Σu no worse than summing s), given
        ``zw`` = mᵀw, ``s_sum`` = Σs and ``s_sq`` = ‖s‖².
        """
        n = self.n
        return (abs(2.0 * b * s_sum) <= 0.5 * (s_sq + n * b * b)
                and (abs(zw) + abs(self._usum)) ** 2 <= n * s_sq)

    def _loss_at_zero(self, theta: Vector) -> float:
        """f(w, 0) = ‖Zw − u‖²/n from the statistics, in O(d²)."""
        at_zero = theta.copy()
        at_zero[self._d] = 0.0
        return LeastSquares.loss_grad_norm(self, at_zero)[0]

    def loss_grad_norm(self, theta: Vector) -> tuple[float, Vector, float]:
        """f(θ), ∇f(θ) from the rows (:meth:`loss_and_grad`) and ‖∇f(θ)‖₂."""
        loss, grad = self.loss_and_grad(theta)
        return loss, grad, vector_norm(grad)

    def loss_and_grad(self, theta: Vector) -> tuple[float, Vector]:
        """f(θ) = ‖r‖²/n and ∇f = (2/n)·[Zᵀr, Σr], with r = Zw + b − u, from the rows.

        Parameters
        ----------
        theta : ndarray, shape (p,)
            θ = (w, b), or θ = w without an intercept.

        Returns
        -------
        loss : float
            f(θ).
        grad : ndarray, shape (p,)
            ∇f(θ).

        Notes
        -----
        The slices are summed for s = Zw − u, one pass and one dot product fewer than r, and
        b and Σs come from the column sums m = Zᵀ1 and Σu, formed once:

            Σs = mᵀw − Σu,   ‖r‖² = ‖s‖² + 2bΣs + nb²,   Zᵀr = Zᵀs + b·m,   Σr = Σs + nb.

        On centred rows (the descent's standardised coordinates) Σs is near 0 and these are
        as accurate as summing r. Where they could lose digits (a mean or b large next to the
        spread of s: ``--scale none``, say; see :meth:`_identities_hold`), r itself is summed.
        The statistics predict which case applies, as f(w, 0) = ‖s‖²/n costs O(d²), and the
        rows' own ‖s‖² confirms it.
        """
        d, n = self._d, self.n
        theta = np.asarray(theta, dtype=np.float64)
        w = theta[:d]
        g = np.empty(self._p)
        if not self.intercept:
            sq, gz, _ = self._sums(w, 0.0, total=False)
            g[:] = gz * (2.0 / n)
            return sq / n, g
        b = float(theta[d])
        zw = float(self._zsum @ w)
        s_sum = zw - self._usum
        if self._identities_hold(b, zw, s_sum, n * self._loss_at_zero(theta)):
            sq, gz, _ = self._sums(w, 0.0, total=False)
            if self._identities_hold(b, zw, s_sum, sq):
                g[:d] = (gz + b * self._zsum) * (2.0 / n)
                g[d] = 2.0 * (s_sum + n * b) / n
                return (sq + 2.0 * b * s_sum + n * b * b) / n, g
        sq, gz, r_sum = self._sums(w, b, total=True)
        g[:d] = gz * (2.0 / n)
        g[d] = 2.0 * r_sum / n
        return sq / n, g

    def hvp(self, v: Vector) -> Vector:
        """H·v with the Hessian formed from the rows."""
        return self._h @ np.asarray(v, dtype=np.float64)

    def loss_change(self, grad: Vector, step: Vector) -> float:
        """f(θ + s) − f(θ) = gᵀs + ½·sᵀHs, exactly (the objective is quadratic)."""
        return float(grad @ step) + 0.5 * float(step @ self.hvp(step))

    def hessian(self) -> Vector:
        """The Hessian matrix H (p × p)."""
        return self._h.copy()


# ---------------------------------------------------------------------------------------------
# Fitting


@warns_unconverged
def fit_rows(
    X: Any,
    y: Any,
    *,
    features: Sequence[str] | None = None,
    target: str = "y",
    intercept: bool = True,
    step: str | StepPolicy = DEFAULT_STEP,
    alpha: float | None = None,
    max_iter: int = DEFAULT_MAX_ITER,
    grad_tol: float = DEFAULT_GRAD_TOL,
    loss_tol: float = DEFAULT_LOSS_TOL,
    scale: Scale | str = Scale.standard,
    callback: Callable[[IterRecord], Any] | None = None,
    every: int | None = None,
    history: bool | Recorder = False,
    catch_interrupt: bool = False,
    extra_rules: Sequence[StopRule] = (),
) -> FitResult:
    """:func:`gdfit.fit` with the loss and gradient of every iteration computed from the rows.

    The parameters mean what they mean in :func:`gdfit.fit`. The descent runs in the same
    coordinates and from the same start as :func:`gdfit.fit_statistics`, so the two engines'
    iterates agree to rounding.
    """
    Xa, ya, names, target = design(X, y, features=features, target=target)
    units = Units.of_rows(Xa, ya)
    if units is not None:  # values that cannot be squared (see gdfit.magnitude)
        return units.refit(fit_rows, Xa, ya, callback=callback, history=history,
                           features=names, target=target, intercept=intercept, step=step,
                           alpha=alpha, max_iter=max_iter, grad_tol=grad_tol, loss_tol=loss_tol,
                           scale=scale, every=every, catch_interrupt=catch_interrupt,
                           extra_rules=extra_rules)
    raw = LeastSquares.from_arrays(Xa, ya, intercept=intercept)
    setup = prepare(raw, names, step=step, alpha=alpha, max_iter=max_iter, grad_tol=grad_tol,
                    loss_tol=loss_tol, scale=scale, every=every, extra_rules=extra_rules,
                    rows=Xa)
    scaling = setup.scaling
    problem = RowsLeastSquares.from_rows((Xa - scaling.x_shift) / scaling.x_scale,
                                         (ya - scaling.y_shift) / scaling.y_scale,
                                         intercept=intercept)
    run, records = run_descent(setup, partial(descend, problem), callback=callback, every=every,
                               history=history, catch_interrupt=catch_interrupt)
    w, b = scaling.to_data(run.theta)
    mse, r2 = fit_quality(Xa, ya, w, b)
    return build_result(setup, run, records, target=target, loss=mse, r2=r2,
                        lstsq=reference_from_rows(Xa, ya, intercept), engine="rows")


def fit_interrupted_read(moments: Any, info: StreamInfo, *, intercept: bool,
                         **options: Any) -> FitResult | None:
    """After Ctrl-C while reading: fit the rows read so far, marked interrupted.

    Returns None when too few rows were read to fit anything.
    """
    if moments.n <= len(info.features) + int(intercept):
        return None
    problem = moments.problem(intercept)
    options = {k: v for k, v in options.items() if k != "catch_interrupt"}
    try:
        result = fit_statistics(problem, features=info.features, target=info.target,
                                catch_interrupt=True, **options)
    except DataError:
        return None
    what = (f"interrupted while reading: fitted to the first {moments.n} rows only "
            f"(after {result.iterations} iterations, {result.status})")
    return replace(result, stop_reason=StopReason.interrupted, message=what)


def moment_statistics(problem: LeastSquares, result: FitResult, *, level: float = 0.95) -> Any:
    """The inference summary (:class:`gdfit.stats.FitStatistics`) from the statistics alone.

    What the ``gram`` engine can say without the rows: σ̂² = RSS/(n − p) with RSS = n·f(θ̂),
    and Cov(θ̂) = σ̂²·(X̃ᵀX̃)⁻¹, X̃ = [X 1], formed from the centred Gram matrix as
    Var(ŵ) = σ̂²·G⁻¹/n and Var(b̂) = σ̂²·(1 + x̄ᵀG⁻¹x̄)/n (the inverse taken on the correlation
    matrix, whose condition number is κ(Z)²). :mod:`gdfit.stats` computes the same from the rows
    by QR, more accurately on ill-conditioned designs; ``--stats`` uses that.
    """
    from gdfit.stats import (
        EXACT_FIT_ULPS,
        FitStatistics,
        check_level,
        f_test,
        parameter_table,
    )

    level = check_level(level)
    n, p, d, intercept = problem.n, problem.dim, problem.n_features, problem.intercept
    theta = result.theta
    mse = problem.loss(theta)
    ss_y = problem.yty if intercept else problem.yty + problem.y_mean ** 2
    # The moments give the loss to about ε·var(y): below that the fit is exact.
    exact_fit = bool(mse <= (EXACT_FIT_ULPS * np.finfo(np.float64).eps) * ss_y)
    rss = 0.0 if exact_fit else n * mse
    tss = n * ss_y
    df_res, df_model = n - p, p - int(intercept)
    notes = ["computed from the sufficient statistics (the gram engine keeps no rows); "
             "--stats computes them from the rows"]
    second = problem.gram if intercept else problem.gram + np.outer(problem.x_mean,
                                                                    problem.x_mean)
    spread = np.sqrt(np.diag(second))
    inv = np.linalg.pinv(second / np.outer(spread, spread)) / np.outer(spread, spread)
    var = np.empty(p)
    var[:d] = np.diag(inv) / n
    if intercept:
        var[d] = (1.0 + float(problem.x_mean @ inv @ problem.x_mean)) / n
    if df_res == 0:
        sigma = math.nan
        notes.append(f"n = p = {n}: no residual degrees of freedom, so the residual SD, "
                     "standard errors, t values and intervals are undefined")
    else:
        sigma = math.sqrt(rss / df_res)
        if exact_fit:
            notes.append("exact fit: the residuals are at rounding level, so the residual "
                         "SD and the standard errors are 0")
    names = [*result.features, *(["(Intercept)"] if intercept else [])]
    rows = parameter_table(names, [float(v) for v in theta],
                           [sigma * math.sqrt(max(float(v), 0.0)) for v in var], df_res, level,
                           intercept)
    r2 = 1.0 - rss / tss if tss > 0 else math.nan
    adj = (1.0 - (1.0 - r2) * (n - int(intercept)) / df_res) if df_res > 0 else math.nan
    f_stat, f_p = f_test(rss, tss, df_model, df_res)
    if not result.success:
        notes.append(f"gradient descent stopped short of its tolerance ({result.status}: "
                     f"{result.message}); these statistics describe unconverged estimates")
    return FitStatistics(
        parameters=rows, n=n, p=p, intercept=intercept, df_model=df_model,
        df_residual=df_res, rss=rss, tss=tss, residual_sd=sigma,
        rmse=math.sqrt(rss / n), r2=r2, adj_r2=adj, f_statistic=f_stat, f_p_value=f_p,
        ci_level=level, exact_fit=exact_fit, converged=result.success, status=result.status,
        notes=tuple(notes))


# ---------------------------------------------------------------------------------------------
# Progress of a long read


@contextmanager
def read_progress(console: Console | None, label: str,
                  min_bytes: int = 1 << 26) -> Iterator[Callable[[int, int | None], None] | None]:
    """A Rich progress bar (bytes, rate, time left) for reading, when ``console`` is a terminal.

    Yields the callback for :func:`gdfit.stream.stream_statistics`, or None when there is no
    terminal to draw on. The bar appears only once an input turns out to be large (``min_bytes``
    in total, or unknown), so small files stay quiet.
    """
    if console is None or not console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), TimeRemainingColumn(), console=console,
                   transient=True)
    task = None

    def update(done: int, total: int | None) -> None:
        nonlocal task
        if task is None:
            if total is not None and total < min_bytes:
                return
            bar.start()
            task = bar.add_task(label, total=total)
        bar.update(task, completed=done)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()
