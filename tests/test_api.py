"""gdfit.fit: the tutorial's numbers, agreement with numpy.linalg.lstsq, honest stop reasons."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gdfit
from gdfit import DataError, ExitCode, OptionError, StopReason
from gdfit.api import next_log_spaced
from gdfit.steps import Backtracking
from gdfit.stopping import build_extra_rules
from tests.conftest import lstsq, random_problem

TUTORIAL_X = np.array([1.0, 2.0, 3.0])
TUTORIAL_Y = np.array([2.0, 4.0, 6.0])


def test_tutorial_fixed_step_reproduces_the_notebook() -> None:
    # The notebook: w = b = 0, α = 0.01, 1000 iterations
    # → w: 1.97078250602932, b: 0.06641823135781669
    with pytest.warns(gdfit.ConvergenceWarning, match="max_iter"):  # the notebook: a budget
        r = gdfit.fit(TUTORIAL_X, TUTORIAL_Y, step="fixed", alpha=0.01, max_iter=1000,
                      scale="none")
    assert math.isclose(r.w[0], 1.97078250602932, rel_tol=1e-9)
    assert r.b is not None and math.isclose(r.b, 0.06641823135781669, rel_tol=1e-9)
    assert r.iterations == 1000
    assert r.stop_reason is StopReason.max_iter and not r.converged
    assert r.exit_code is ExitCode.NOT_CONVERGED


def test_tutorial_norm_step_circles_the_optimum_within_two_alpha() -> None:
    # With a constant length (shrink=1, the tutorial's step) every step has length α, so the
    # iterates end up circling (2, 0) at a distance of order α.
    with pytest.warns(gdfit.ConvergenceWarning, match="max_iter"):  # it never converges
        r = gdfit.fit(TUTORIAL_X, TUTORIAL_Y, step=gdfit.make_step("norm", alpha=1e-4, shrink=1),
                      max_iter=100_000, scale="none",
                      extra_rules=build_extra_rules(stall_iter=0))
    assert r.b is not None
    assert math.hypot(r.w[0] - 2.0, r.b) <= 2e-4
    assert r.stop_reason is StopReason.max_iter


def test_tutorial_norm_step_converges_by_default() -> None:
    # The default shrink=0.5 shortens a step that would overshoot: the run reaches (2, 0).
    r = gdfit.fit(TUTORIAL_X, TUTORIAL_Y, step="norm", alpha=1e-4, max_iter=100_000, scale="none")
    assert r.b is not None and r.converged
    assert math.hypot(r.w[0] - 2.0, r.b) <= 1e-10


def test_budget_alone_is_success_when_tolerances_are_off() -> None:
    r = gdfit.fit(TUTORIAL_X, TUTORIAL_Y, step="fixed", alpha=0.01, max_iter=10, grad_tol=0,
                  scale="none")
    assert r.stop_reason is StopReason.max_iter
    assert r.success and r.exit_code is ExitCode.OK and not r.converged


BASIC_POLICIES = ["exact", "backtracking", "fixed"]


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("d", [1, 2, 5, 12, 20])
@pytest.mark.parametrize("step", BASIC_POLICIES)
def test_policies_reach_lstsq(step: str, d: int, intercept: bool) -> None:
    X, y = random_problem(100 + d, 8 * d + 30, d, intercept=intercept)
    r = gdfit.fit(X, y, step=step, intercept=intercept)
    assert r.converged, r.message
    expected = lstsq(X, y, intercept)
    assert np.linalg.norm(r.theta - expected) <= 1e-8 * np.linalg.norm(expected)
    np.testing.assert_allclose(r.lstsq_theta, expected, rtol=1e-9, atol=1e-12)


def test_norm_policy_ends_within_alpha_of_lstsq_in_scaled_units() -> None:
    X, y = random_problem(5, 200, 3)
    # The constant-length step (shrink=1), run for its whole budget (no stall rule).
    with pytest.warns(gdfit.ConvergenceWarning, match="max_iter"):  # it never converges
        r = gdfit.fit(X, y, step=gdfit.make_step("norm", alpha=1e-3, shrink=1), max_iter=20_000,
                      history=True, extra_rules=build_extra_rules(stall_iter=0))
    expected = lstsq(X, y)
    raw = gdfit.LeastSquares.from_arrays(X, y)
    scaling = gdfit.AffineScaling.standard(raw)
    gap = scaling.to_scaled(r.w, r.b) - scaling.to_scaled(expected[:-1], expected[-1])
    assert np.linalg.norm(gap) <= 2e-3
    # ... and every step really has length α in the coordinates the descent runs in.
    steps = [np.linalg.norm(scaling.to_scaled(b.w, b.b) - scaling.to_scaled(a.w, a.b))
             for a, b in zip(r.history, r.history[1:], strict=False)]
    np.testing.assert_allclose(steps, 1e-3, rtol=1e-6)


def test_backtracking_satisfies_armijo_at_every_step() -> None:
    X, y = random_problem(9, 120, 6)
    policy = Backtracking(alpha=4.0, c=0.3, rho=0.5)
    problem = gdfit.AffineScaling.standard(gdfit.LeastSquares.from_arrays(X, y)).transform(
        gdfit.LeastSquares.from_arrays(X, y))
    theta = np.zeros(problem.dim)
    for _ in range(40):
        loss, grad = problem.loss_and_grad(theta)
        new, info, _ = policy.update(problem, theta, loss, grad, None)
        assert not info.failed
        assert problem.loss(new) <= loss - 0.3 * info.step_size * float(grad @ grad) + 1e-15
        theta = new


def test_too_large_fixed_step_diverges_with_advice() -> None:
    X, y = random_problem(2, 50, 2)
    with pytest.warns(gdfit.ConvergenceWarning, match="diverged"):
        r = gdfit.fit(X, y, step="fixed", alpha=5.0)
    assert r.stop_reason is StopReason.diverged
    assert r.exit_code is ExitCode.DIVERGED
    assert "smaller alpha=" in r.message and "step='exact'" in r.message
    assert np.isfinite(r.w).all()


def test_unscaled_descent_reports_in_data_units_too() -> None:
    X, y = random_problem(4, 80, 2)
    a = gdfit.fit(X, y, step="exact", scale="none", max_iter=500_000, grad_tol=1e-9)
    b = gdfit.fit(X, y, step="exact")
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-6)


def test_quality_figures_match_their_definitions() -> None:
    X, y = random_problem(8, 90, 3)
    r = gdfit.fit(X, y)
    residual = y - X @ r.w - r.b
    assert r.loss == pytest.approx(np.mean(residual**2), rel=1e-12)
    assert r.rmse == pytest.approx(np.sqrt(np.mean(residual**2)), rel=1e-12)
    assert r.r2 == pytest.approx(1 - residual @ residual / np.sum((y - y.mean()) ** 2), rel=1e-12)
    r0 = gdfit.fit(X, y, intercept=False)
    res0 = y - X @ r0.w
    assert r0.b is None
    assert r0.r2 == pytest.approx(1 - res0 @ res0 / (y @ y), rel=1e-12)  # uncentred


def test_statistics_and_rows_give_the_same_fit() -> None:
    X, y = random_problem(12, 300, 4)
    a = gdfit.fit(X, y)
    b = gdfit.fit_statistics(gdfit.LeastSquares.from_arrays(X, y))
    np.testing.assert_array_equal(a.theta, b.theta)
    assert a.loss == pytest.approx(b.loss, rel=1e-9)
    np.testing.assert_allclose(a.lstsq_theta, b.lstsq_theta, rtol=1e-9)


def test_callback_sees_log_spaced_iterations_and_the_last() -> None:
    X, y = random_problem(1, 60, 2)
    seen: list[int] = []
    r = gdfit.fit(X, y, step="fixed", alpha=0.05, max_iter=130, grad_tol=0,
                  callback=lambda rec: seen.append(rec.iteration))
    assert seen == [0, 1, 2, 5, 10, 20, 50, 100, 130]
    assert r.iterations == 130
    every: list[int] = []
    gdfit.fit(X, y, step="fixed", alpha=0.05, max_iter=7, grad_tol=0, every=3,
              callback=lambda rec: every.append(rec.iteration))
    assert every == [0, 3, 6, 7]
    scheduled = [0]
    while scheduled[-1] < 1000:
        scheduled.append(next_log_spaced(scheduled[-1]))
    assert scheduled == [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    assert next_log_spaced(3) == 5 and next_log_spaced(999) == 1000 and next_log_spaced(-1) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"step": "fixed", "alpha": 0.0}, "alpha= must be a positive number"),
        ({"step": "fixed", "alpha": -1.0}, "alpha= must be a positive number"),
        ({"step": "exact", "alpha": 0.1}, "alpha= has no effect with step='exact'"),
        ({"grad_tol": -1.0}, "grad_tol= must be a number ≥ 0"),
        ({"loss_tol": -1e-3}, "loss_tol= must be a number ≥ 0"),
        ({"max_iter": -5}, "max_iter= must be ≥ 0"),
        ({"step": "sideways"}, "unknown step policy 'sideways'"),
        ({"every": 0}, "every= must be ≥ 1"),
    ],
)
def test_invalid_options(kwargs: dict[str, object], message: str) -> None:
    X, y = random_problem(1, 20, 1)
    with pytest.raises(OptionError, match=message) as info:
        gdfit.fit(X, y, **kwargs)  # type: ignore[arg-type]
    assert info.value.exit_code is ExitCode.USAGE_ERROR


def test_data_problems_are_named() -> None:
    with pytest.raises(DataError, match="2 rows but 3 parameters"):
        gdfit.fit([[1.0, 2.0], [3.0, 5.0]], [1.0, 2.0])
    with pytest.raises(DataError, match="column 'c' is constant"):
        gdfit.fit([[1.0, 7.0], [2.0, 7.0], [3.0, 7.0]], [1.0, 2.0, 4.0], features=["a", "c"])
    with pytest.raises(DataError, match="all zeros"):
        gdfit.fit([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]], [1.0, 2.0, 4.0], intercept=False)
    with pytest.raises(DataError, match=r"column 'x0' has a missing value \(NaN\) at row 1"):
        gdfit.fit([[1.0], [np.nan], [3.0]], [1.0, 2.0, 4.0])
    # Without an intercept a constant column is an ordinary, identifiable predictor.
    r = gdfit.fit([[1.0, 7.0], [2.0, 7.0], [3.0, 7.0]], [1.0, 2.0, 4.0], intercept=False)
    assert r.converged


def test_exact_fit_with_as_many_rows_as_parameters() -> None:
    r = gdfit.fit([[0.0], [2.0]], [1.0, 5.0])
    assert r.converged
    assert r.w[0] == pytest.approx(2.0, rel=1e-10) and r.b == pytest.approx(1.0, rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), c=st.floats(1e-3, 1e3))
def test_row_order_and_column_scaling(seed: int, c: float) -> None:
    X, y = random_problem(seed, 40, 2)
    base = gdfit.fit(X, y)
    perm = np.random.default_rng(seed).permutation(len(y))
    shuffled = gdfit.fit(X[perm], y[perm])
    np.testing.assert_allclose(shuffled.theta, base.theta, rtol=1e-8, atol=1e-10)
    # Scaling x₀ by c scales w₀ by 1/c and leaves the fitted line alone.
    Xs = X.copy()
    Xs[:, 0] *= c
    scaled = gdfit.fit(Xs, y)
    assert scaled.w[0] * c == pytest.approx(base.w[0], rel=1e-7)
    assert scaled.b == pytest.approx(base.b, rel=1e-7, abs=1e-9)


def test_descend_reports_every_iteration_by_default_and_what_next_report_schedules() -> None:
    from gdfit.objective import LeastSquares
    from gdfit.solver import descend
    from gdfit.steps import make_step
    from gdfit.stopping import MaxIter

    X, y = random_problem(2, 40, 2)
    problem = LeastSquares.from_arrays(X, y, intercept=True)
    policy = make_step("fixed", alpha=0.01)

    def seen(**options: object) -> list[int]:
        got: list[int] = []
        descend(problem, np.zeros(problem.dim), policy, (MaxIter(12),),
                callback=lambda it: got.append(it.iteration), **options)  # type: ignore[arg-type]
        return got

    assert seen() == list(range(13))
    assert seen(next_report=lambda k: 2 * k + 1) == [0, 1, 3, 7, 12]
    assert seen(next_report=next_log_spaced) == [0, 1, 2, 5, 10, 12]
