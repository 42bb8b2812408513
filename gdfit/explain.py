"""``--explain``: each iteration's arithmetic, written out the way the tutorial does it by hand.

For every iteration: the gradient components ∂f/∂w_j and ∂f/∂b at the current point (with the
sums written out term by term on data of at most :data:`EXPANDED_ROWS` rows), the step size and
why the policy chose it, and the update ``w ← w − α·∂f/∂w`` with the numbers filled in.

The explanation is in the coordinates the descent runs in. Under ``--scale none`` those are the
data's own units. Under ``--scale standard`` (the default) the descent fits standardised
columns, u ≈ Σ v_j·z_j + c; the header says how z, u, v and c relate to x, y, w and b, and each
iteration also gives the point in data units. The numbers are those of the actual run: the same
objective, start and policy as :func:`gdfit.fit`, replayed for the iterations the fit made.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise

import numpy as np

from gdfit.choices import EXPLAIN_MAX_ITER  # noqa: F401  (re-exported)
from gdfit.objective import LeastSquares, Vector
from gdfit.scaling import AffineScaling, Scale
from gdfit.solver import Iterate, descend
from gdfit.steps import StepPolicy
from gdfit.stopping import MaxIter

#: Explaining more iterations than this is a wall of numbers: ``--explain`` refuses.
#: Data with at most this many rows get their gradient sums written out term by term.
EXPANDED_ROWS = 8


def _n(value: float) -> str:
    return f"{value + 0.0:.6g}"  # + 0.0 turns −0.0 into 0.0


def _p(value: float) -> str:
    """A number as a factor: negative ones in parentheses."""
    return f"({value:.6g})" if value < 0 else _n(value)


class _Names:
    """How parameters and variables are written in the coordinates of the descent."""

    def __init__(self, features: Sequence[str], target: str, scaled: bool) -> None:
        self.scaled = scaled
        self.x = [f"z[{f}]" if scaled else f for f in features]
        self.y = "u" if scaled else target
        self.w = [f"v[{f}]" if scaled else f"w[{f}]" for f in features]
        self.b = "c" if scaled else "b"


def _header(raw: LeastSquares, scaling: AffineScaling, names: _Names,
            features: Sequence[str], target: str) -> Iterator[str]:
    terms = " + ".join(f"{w}·{x}" for w, x in zip(names.w, names.x, strict=True))
    model = terms + (f" + {names.b}" if raw.intercept else "")
    yield (f"explain: f = (1/n)·Σᵢ ({names.y}ᵢ − ŷᵢ)², ŷ = {model}, n = {raw.n}; with residuals "
           f"rᵢ = {names.y}ᵢ − ŷᵢ, ∂f/∂{names.w[0]} = −(2/n)·Σᵢ rᵢ·{names.x[0]}ᵢ"
           + (f" and ∂f/∂{names.b} = −(2/n)·Σᵢ rᵢ" if raw.intercept else "") + ".")
    if not names.scaled:
        yield "The descent runs in the data's own units (--scale none)."
        return
    yield ("The descent runs on standardised columns (--scale standard), so the numbers below "
           "are in those units:")
    for f, zx, m, s in zip(features, names.x, scaling.x_shift, scaling.x_scale, strict=True):
        yield f"  {zx} = ({f} − {_n(m)}) / {_n(s)}"
    yield f"  u = ({target} − {_n(scaling.y_shift)}) / {_n(scaling.y_scale)}"
    back = ", ".join(f"w[{f}] = {_n(scaling.y_scale)}·{v}/{_n(s)}"
                     for f, v, s in zip(features, names.w, scaling.x_scale, strict=True))
    if raw.intercept:
        back += (f", b = {_n(scaling.y_shift)} + {_n(scaling.y_scale)}·c − Σⱼ w[j]·(mean of "
                 "x_j)")
    yield (f"  back in data units: {back}; the MSE of {target} is {_n(scaling.loss_factor)} × "
           "the f below. (Use --scale none to follow the descent in the data's own units.)")


def _point(names: _Names, theta: Vector, intercept: bool) -> str:
    parts = [f"{w} = {_n(v)}" for w, v in zip(names.w, theta, strict=False)]
    if intercept:
        parts.append(f"{names.b} = {_n(theta[-1])}")
    return ", ".join(parts)


def _gradient_lines(names: _Names, it: Iterate, Z: Vector | None, u: Vector | None,
                    intercept: bool) -> Iterator[str]:
    d = len(names.w)
    if Z is not None and u is not None:
        w, b = it.theta[:d], (float(it.theta[d]) if intercept else 0.0)
        r = u - Z @ w - b
        yield "  residuals rᵢ = " + names.y + "ᵢ − ŷᵢ: " + ", ".join(_n(v) for v in r)
        n = len(r)
        for j in range(d):
            terms = " + ".join(f"{_p(ri)}·{_p(zi)}" for ri, zi in zip(r, Z[:, j], strict=True))
            yield (f"  ∂f/∂{names.w[j]} = −(2/{n})·({terms}) = {_n(it.grad[j])}")
        if intercept:
            yield (f"  ∂f/∂{names.b} = −(2/{n})·({' + '.join(_p(ri) for ri in r)}) = "
                   f"{_n(it.grad[d])}")
    else:
        for j in range(d):
            yield f"  ∂f/∂{names.w[j]} = {_n(it.grad[j])}"
        if intercept:
            yield f"  ∂f/∂{names.b} = {_n(it.grad[d])}"
    yield f"  ‖∇f‖ = {_n(it.grad_norm)}"


def _update_lines(names: _Names, policy: StepPolicy, before: Iterate, after: Iterate,
                  intercept: bool) -> Iterator[str]:
    alpha = after.step_size
    yield f"  step α = {_n(alpha)}   ({policy.name}: {after.reason or 'no reason given'})"
    delta = after.theta - before.theta
    along = np.allclose(delta, -alpha * before.grad, rtol=1e-9,
                        atol=1e-12 * float(np.max(np.abs(before.theta), initial=1.0)))
    labels = [*names.w, *([names.b] if intercept else [])]
    if along:
        for j, name in enumerate(labels):
            yield (f"  {name} ← {name} − α·∂f/∂{name} = {_n(before.theta[j])} − "
                   f"{_n(alpha)}·{_p(before.grad[j])} = {_n(after.theta[j])}")
    else:
        yield (f"  ({policy.name} does not step along −α·∇f: its move Δ combines the gradient "
               "with what it remembers, as the reason says)")
        for j, name in enumerate(labels):
            yield (f"  {name} ← {name} + Δ = {_n(before.theta[j])} + {_p(delta[j])} = "
                   f"{_n(after.theta[j])}")


def explain_lines(X: Vector, y: Vector, *, features: Sequence[str], target: str,
                  intercept: bool, scale: Scale | str, policy: StepPolicy,
                  iterations: int) -> Iterator[str]:
    """The explanation of the first ``iterations`` iterations of a fit, line by line.

    Parameters
    ----------
    X, y : ndarray
        The data the fit used.
    features, target, intercept, scale :
        As given to :func:`gdfit.fit`.
    policy : StepPolicy
        The policy the fit used (its state is rebuilt; the object is not changed).
    iterations : int
        How many iterations the fit made (its ``FitResult.iterations``).
    """
    X = np.asarray(X, dtype=np.float64).reshape(len(y), -1)
    raw = LeastSquares.from_arrays(X, y, intercept=intercept)
    scaling = AffineScaling.for_problem(raw, scale)
    problem = scaling.transform(raw)
    names = _Names(features, target, Scale(scale) is Scale.standard)
    expand = raw.n <= EXPANDED_ROWS
    Z = (X - scaling.x_shift) / scaling.x_scale if expand else None
    u = (y - scaling.y_shift) / scaling.y_scale if expand else None
    run = descend(problem, np.zeros(problem.dim), policy, (MaxIter(iterations),),
                  keep_history=True)
    yield from _header(raw, scaling, names, features, target)
    history = run.history
    yield f"start: {_point(names, history[0].theta, intercept)}, f = {_n(history[0].loss)}"
    for before, after in pairwise(history):
        yield ""
        yield f"iteration {after.iteration}: gradient at {_point(names, before.theta, intercept)}"
        yield from _gradient_lines(names, before, Z, u, intercept)
        yield from _update_lines(names, policy, before, after, intercept)
        change = problem.loss_change(before.grad, after.theta - before.theta)
        line = f"  f = {_n(after.loss)}   (change {_n(change)})"
        if names.scaled:
            w, b = scaling.to_data(after.theta)
            data = ", ".join(f"w[{f}] = {_n(v)}" for f, v in zip(features, w, strict=True))
            line += f";  in data units {data}" + ("" if b is None else f", b = {_n(b)}")
        yield line
    if run.iterations < iterations:
        yield ""
        yield f"stopped: {run.message}"
