"""Converge by default, and say early when a run cannot (issue 11): the shrinking fixed-length
step, the stall rule, the mini-batch default policy and the policies' defaults on correlated
data. Every figure is checked against numpy.linalg.lstsq."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import lstsq, random_problem
from hypothesis import given, settings
from hypothesis import strategies as st
from scripts import script
from typer.testing import CliRunner

import gdfit
from gdfit.cli import app
from gdfit.errors import OptionError
from gdfit.objective import LeastSquares
from gdfit.scaling import AffineScaling
from gdfit.solver import descend
from gdfit.steps import STEP_POLICIES, make_step
from gdfit.stopping import (
    DEFAULT_STALL_ITER,
    MaxIter,
    Progress,
    Stall,
    StopReason,
    build_extra_rules,
    build_rules,
    split_stall,
)

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
HOUSING = ROOT / "sample_data" / "housing.csv"


def housing() -> tuple[np.ndarray, np.ndarray]:
    data = np.genfromtxt(HOUSING, delimiter=",", skip_header=1)
    return data[:, :-1], data[:, -1]


# --- --step norm converges by default -------------------------------------------------------

def test_norm_reaches_lstsq_on_housing_by_default() -> None:
    # Before issue 11 this ran 100 000 iterations and ended max_iter, 2 % from least squares.
    X, y = housing()
    result = gdfit.fit(X, y, step="norm")
    assert result.converged, result.message
    ref = lstsq(X, y, True)
    assert np.linalg.norm(result.theta - ref) <= 1e-8 * np.linalg.norm(ref)
    assert result.iterations < 10_000


def test_norm_shrink_1_is_the_tutorials_constant_length_step() -> None:
    X = np.array([[1.0], [2.0], [3.0]])
    y = 2 * X[:, 0]
    result = gdfit.fit(X, y, step=make_step("norm", alpha=0.01, shrink=1), scale="none",
                       max_iter=2000, grad_tol=0, history=True)
    thetas = [np.append(h.w, h.b) for h in result.history]
    lengths = np.linalg.norm(np.diff(thetas, axis=0), axis=1)
    np.testing.assert_allclose(lengths, 0.01, rtol=1e-9)  # every step exactly α long
    assert result.lstsq_distance > 1e-4  # and it circles the minimum instead of reaching it


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 6), alpha=st.floats(1e-3, 10.0),
       shrink=st.floats(0.05, 0.95))
def test_shrinking_norm_never_raises_the_loss_and_steps_only_shorten(
        seed: int, d: int, alpha: float, shrink: float) -> None:
    X, y = random_problem(seed, 30 + 5 * d, d)
    raw = LeastSquares.from_arrays(X, y)
    problem = AffineScaling.standard(raw).transform(raw)
    policy = make_step("norm", alpha=alpha, shrink=shrink)
    theta, state = np.zeros(problem.dim), policy.init(problem, np.zeros(problem.dim))
    lengths = [alpha]
    for _ in range(200):
        loss, grad = problem.loss_and_grad(theta)
        if np.linalg.norm(grad) < 1e-6:
            break
        new, info, state = policy.update(problem, theta, loss, grad, state)
        assert not info.failed
        assert problem.loss_change(grad, new - theta) < 0  # exact change: strictly lower
        step = float(np.linalg.norm(new - theta))
        assert step == pytest.approx(state, rel=1e-9)  # the step is the current length
        assert state <= lengths[-1]
        lengths.append(state)
        theta = new


@pytest.mark.parametrize("shrink", [0.0, -0.5, 1.5, float("nan")])
def test_norm_shrink_outside_0_1_is_refused(shrink: float) -> None:
    with pytest.raises(OptionError, match=r"shrink= must lie in \(0, 1\]"):
        make_step("norm", shrink=shrink)


def test_cli_norm_converges_and_norm_shrink_1_circles(tmp_path: Path) -> None:
    base = ["fit", str(HOUSING), "-q", "--format", "json", "--step", "norm"]
    run = runner.invoke(app, base)
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["status"] == "converged" and data["lstsq_rel_distance"] < 1e-8
    assert data["step"] == "norm(alpha=0.01, shrink=0.5)"
    const = runner.invoke(app, [*base, "--norm-shrink", "1", "--max-iter", "3000",
                                "--stall-iter", "0"])
    assert const.exit_code == 3
    assert json.loads(const.stdout)["lstsq_rel_distance"] > 1e-3
    bad = runner.invoke(app, [*base, "--norm-shrink", "2"])
    assert bad.exit_code == 2 and "--norm-shrink must lie in (0, 1]" in bad.stderr


# --- the stall rule -------------------------------------------------------------------------

def circling_fit(**kw: Any) -> gdfit.FitResult:
    """The tutorial's constant-length step on housing.csv: it circles the minimum for ever."""
    X, y = housing()
    return gdfit.fit(X, y, step=make_step("norm", alpha=0.01, shrink=1), history=True, **kw)


def test_a_circling_run_stops_as_stalled_with_its_best_parameters() -> None:
    with pytest.warns(gdfit.ConvergenceWarning, match=r"^stalled: no new lowest loss"):
        result = circling_fit()
    assert result.stop_reason is StopReason.stalled and not result.converged
    assert result.exit_code == 3
    assert result.iterations < 10_000  # not the whole budget of 100 000
    assert "stall_iter=0 switches this check off" in result.message
    assert "smaller alpha= (it was 0.01)" in result.message
    # The parameters are those of the run's lowest loss (the history is the whole run).
    X, y = housing()
    problem = LeastSquares.from_arrays(X, y)
    losses = [problem.loss(np.append(h.w, h.b)) for h in result.history]
    assert problem.loss(result.theta) == pytest.approx(min(losses), rel=1e-12)
    assert len(result.history) == result.iterations + 1
    # ... and no new lowest loss or gradient norm in the last DEFAULT_STALL_ITER iterations.
    grads = [h.grad_norm for h in result.history]
    last = max(max(range(len(losses)), key=lambda k: -losses[k]),
               min(range(len(grads)), key=lambda k: grads[k]))
    assert result.iterations - last == DEFAULT_STALL_ITER


@pytest.mark.filterwarnings("ignore::gdfit.ConvergenceWarning")  # unconverged on purpose
def test_stall_iter_0_switches_the_rule_off_and_n_sets_it() -> None:
    off = circling_fit(max_iter=20_000, extra_rules=build_extra_rules(stall_iter=0))
    assert off.stop_reason is StopReason.max_iter and off.iterations == 20_000
    short = circling_fit(extra_rules=build_extra_rules(stall_iter=300))
    assert short.stop_reason is StopReason.stalled
    assert short.iterations < circling_fit().iterations
    with pytest.raises(OptionError, match="stall_iter= must be a whole number ≥ 0"):
        build_extra_rules(stall_iter=-1)


def test_the_loops_stall_test_agrees_with_the_rules_own_check() -> None:
    # The loop tests the stall rule on the best loss it keeps; Stall.check keeps its own state.
    X, y = housing()
    raw = LeastSquares.from_arrays(X, y)
    problem = AffineScaling.standard(raw).transform(raw)
    rules = build_rules(100_000, 1e-12, 0, stall_iter=500)
    policy = make_step("norm", alpha=0.01, shrink=1)
    loop = descend(problem, np.zeros(problem.dim), policy, rules)
    rule = Stall(500)
    generic = descend(problem, np.zeros(problem.dim), policy,
                      (*split_stall(rules)[0][:-1], AsRule(rule), MaxIter(100_000)))
    assert loop.reason is StopReason.stalled and generic.reason is StopReason.stalled
    assert loop.iterations == generic.iterations


class AsRule(gdfit.StopRule):
    """A Stall rule the loops do not recognise: its own check() decides."""

    def __init__(self, rule: Stall) -> None:
        self.rule = rule

    def check(self, progress: Progress) -> StopReason | None:
        return self.rule.check(progress)

    def explain(self, progress: Progress) -> str:
        return self.rule.explain(progress)


def test_healthy_runs_are_not_stalled() -> None:
    # Every policy converges with its defaults on housing.csv with the stall rule on (or is one
    # of the stochastic policies whose default measurements are in benchmarks/defaults.py).
    X, y = housing()
    for name in ("cg", "exact", "backtracking", "lipschitz", "wolfe", "bb", "trust-region",
                 "nesterov", "norm"):
        result = gdfit.fit(X, y, step=name)
        assert result.converged, (name, result.message)


@pytest.mark.parametrize("name", ["decay", "adam"])
def test_a_stalled_mini_batch_run_is_no_worse_than_its_whole_budget(name: str) -> None:
    # Mini-batch runs stall at their noise floor. The stall must not stop one that was still
    # getting better: the parameters it returns fit at least as well as those at the end of
    # the same run (same seed) given its whole budget of 100 000 iterations.
    from gdfit.minibatch import fit_minibatch

    X, y = housing()
    with pytest.warns(gdfit.ConvergenceWarning):
        stalled = fit_minibatch(X, y, batch_size=32, step=name, seed=0)
        whole = fit_minibatch(X, y, batch_size=32, step=name, seed=0,
                              extra_rules=build_extra_rules(stall_iter=0))
    assert stalled.stop_reason is StopReason.stalled
    assert "mini-batch noise" in stalled.message
    assert whole.iterations == 100_000
    assert stalled.loss <= whole.loss
    ref = lstsq(X, y, True)
    assert np.linalg.norm(stalled.theta - ref) <= 0.01 * np.linalg.norm(ref)


def test_cli_stalled_run_reports_the_reason_in_json_and_exits_3() -> None:
    run = runner.invoke(app, ["fit", str(HOUSING), "--step", "norm", "--norm-shrink", "1",
                              "--format", "json"])
    assert run.exit_code == 3
    data = json.loads(run.stdout)
    assert data["status"] == "stalled" and data["stop_reason"] == "stalled"
    assert data["iterations"] < 10_000
    assert "--stall-iter 0 switches this check off" in data["message"]
    assert "gdfit: stalled: no new lowest loss" in run.stderr
    bad = runner.invoke(app, ["fit", str(HOUSING), "--stall-iter", "-2"])
    assert bad.exit_code == 2


# --- --batch-size without --step -----------------------------------------------------------

def test_cli_batch_size_alone_uses_adam_and_says_so() -> None:
    # Before issue 11: exit 2, "step='cg' (the default) needs exact gradients".
    run = runner.invoke(app, ["fit", str(HOUSING), "--batch-size", "32", "--format", "json"])
    assert run.exit_code == 3, run.output  # honest: stalled at the mini-batch noise floor
    assert "--batch-size given without --step: using --step adam" in run.stderr
    data = json.loads(run.stdout)
    assert data["step"].startswith("adam(alpha=0.01, beta1=0.9")
    assert data["status"] == "stalled" and data["lstsq_rel_distance"] < 3e-3
    quiet = runner.invoke(app, ["fit", str(HOUSING), "--batch-size", "32", "-q"])
    assert "using --step adam" not in quiet.stderr
    given = runner.invoke(app, ["fit", str(HOUSING), "--batch-size", "32", "--step", "cg"])
    assert given.exit_code == 2 and "--step cg" in given.stderr


def test_fit_minibatch_defaults_to_adam_on_batches_and_cg_on_the_full_batch() -> None:
    from gdfit.minibatch import fit_minibatch

    X, y = housing()
    with pytest.warns(gdfit.ConvergenceWarning):
        small = fit_minibatch(X, y, batch_size=64)
    assert small.step.startswith("adam(") and small.epochs is not None
    full = fit_minibatch(X, y, batch_size=None)
    assert full.step == "cg(restart_every=0)" and full.converged


# --- every policy's defaults on correlated columns ------------------------------------------

def correlated(seed: int, n: int, d: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """benchmarks/defaults.py's data: pairwise correlation ρ after standardising, mixed scales."""
    X, y = script("defaults").correlated(seed, n, d, rho)
    return X, y


@pytest.mark.parametrize("name", [n for n in STEP_POLICIES if n != "decay"])
def test_every_default_reaches_lstsq_on_columns_correlated_at_0_99(name: str) -> None:
    X, y = correlated(16, 1000, 5, 0.99)
    corr = np.corrcoef(X, rowvar=False)
    assert corr[~np.eye(5, dtype=bool)].min() > 0.985
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gdfit.ConvergenceWarning)  # fixed: max_iter, close
        result = gdfit.fit(X, y, step=name)
    ref = lstsq(X, y, True)
    assert np.linalg.norm(result.theta - ref) <= 1e-7 * np.linalg.norm(ref), result.message


def test_decay_on_the_full_batch_is_advised_away_from() -> None:
    # α₀/t^p shrinks for mini-batch noise: on correlated columns the full-batch run ends 40 %
    # away after 100 000 iterations (benchmarks/defaults.py), and says what to use instead.
    X, y = correlated(16, 1000, 5, 0.99)
    with pytest.warns(gdfit.ConvergenceWarning, match="on the full batch try step=cg"):
        result = gdfit.fit(X, y, step="decay")
    assert result.stop_reason is StopReason.max_iter
    assert result.lstsq_rel_distance > 0.1
    run = runner.invoke(app, ["fit", "-", "--step", "decay", "-q", "--format", "json"],
                        input="x1,x2,y\n" + "\n".join(
                            f"{a},{b},{c}" for (a, b), c in zip(X[:, :2], y, strict=True)))
    assert run.exit_code == 3
    assert "--step cg (no tuning) or --step lipschitz" in json.loads(run.stdout)["message"]


@pytest.mark.filterwarnings("ignore::gdfit.ConvergenceWarning")  # unconverged on purpose
def test_a_budget_only_run_gets_its_whole_budget_unless_stall_iter_is_given() -> None:
    # Every tolerance off: the run asked for max_iter iterations, and is not cut short.
    whole = circling_fit(max_iter=12_000, grad_tol=0)
    assert whole.stop_reason is StopReason.max_iter and whole.success
    assert Stall(DEFAULT_STALL_ITER) not in build_rules(100, 0, 0)
    asked = circling_fit(max_iter=12_000, grad_tol=0,
                         extra_rules=build_extra_rules(stall_iter=1000))
    assert asked.stop_reason is StopReason.stalled and asked.iterations < 12_000
