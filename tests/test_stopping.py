"""Stopping rules: each fires exactly when it should, names itself, 0 is off, bad values refused."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from conftest import random_problem
from typer.testing import CliRunner

import gdfit
from gdfit.cli import app
from gdfit.errors import ExitCode, OptionError
from gdfit.stopping import (
    DEFAULT_STALL_ITER,
    GradTol,
    MaxIter,
    ParamTol,
    Patience,
    Progress,
    RelGradTol,
    RelLossTol,
    Stall,
    StopReason,
    TimeLimit,
    build_extra_rules,
    build_rules,
    first_reason,
    split_stall,
)

runner = CliRunner()


def progress(iteration: int = 5, loss: float = 1.0, change: float = -1.0, grad: float = 1.0, *,
             step: float = 1.0, theta: float = 1.0, grad0: float = 1.0,
             elapsed: float = 0.0) -> Progress:
    return Progress(iteration, loss, change, grad, step, theta, grad0, elapsed)


# --- each rule on its own -------------------------------------------------------------------

def test_rel_grad_tol_fires_at_tol_times_the_starting_gradient() -> None:
    rule = RelGradTol(1e-3)
    assert rule.check(progress(grad=2.1e-3, grad0=2.0)) is None
    assert rule.check(progress(grad=2.0e-3, grad0=2.0)) is StopReason.rel_grad_tol
    text = rule.explain(progress(grad=2.0e-3, grad0=2.0))
    assert "rel_grad_tol=0.001" in text and "starting gradient norm 2" in text
    assert "relative" in text


def test_rel_loss_tol_is_relative_above_one_and_absolute_below() -> None:
    rule = RelLossTol(1e-6)
    assert rule.check(progress(loss=10.0, change=-1.01e-5)) is None
    assert rule.check(progress(loss=10.0, change=-0.99e-5)) is StopReason.rel_loss_tol
    assert rule.check(progress(loss=0.5, change=-1.01e-6)) is None  # max(|f|, 1) = 1
    assert rule.check(progress(loss=0.5, change=1.0e-6)) is StopReason.rel_loss_tol
    assert rule.check(progress(iteration=0, loss=0.5, change=math.nan)) is None
    assert "rel_loss_tol=1e-06" in rule.explain(progress(loss=10.0, change=-1e-5))
    assert "max(|f|, 1) = 10" in rule.explain(progress(loss=10.0, change=-1e-5))


def test_param_tol_compares_the_step_with_the_size_of_theta() -> None:
    rule = ParamTol(1e-4)
    bound = 1e-4 * (1e-4 + 3.0)
    assert rule.check(progress(step=bound * 1.01, theta=3.0)) is None
    assert rule.check(progress(step=bound, theta=3.0)) is StopReason.param_tol
    assert rule.check(progress(step=1.5e-8, theta=0.0)) is None  # near θ = 0: absolute tol²
    assert rule.check(progress(step=1.0e-8, theta=0.0)) is StopReason.param_tol
    assert rule.check(progress(iteration=0, step=0.0)) is None
    assert "param_tol=0.0001" in rule.explain(progress(step=bound, theta=3.0))


def test_patience_counts_iterations_without_an_improvement_greater_than_tol() -> None:
    rule = Patience(3, tol=0.1)
    losses = [10.0, 9.0, 8.95, 8.9, 8.85, 8.0]
    fired = [rule.check(progress(iteration=k, loss=f)) for k, f in enumerate(losses)]
    # 9.0 improves on 10 by 1 > 0.1; 8.95, 8.9 and 8.85 each improve the best by only 0.05.
    assert fired == [None, None, None, None, StopReason.patience, None]
    assert "patience_tol=0.1 for 3 iterations" in rule.explain(progress())
    # A run starts at iteration 0, which clears the count: the rule serves runs one by one.
    assert rule.check(progress(iteration=0, loss=1.0)) is None
    assert [rule.check(progress(iteration=k, loss=1.0)) for k in (1, 2, 3)] == [
        None, None, StopReason.patience]


def test_patience_with_tolerance_zero_stops_on_an_exact_plateau_only() -> None:
    rule = Patience(2, tol=0.0)
    assert rule.check(progress(iteration=0, loss=1.0)) is None
    assert rule.check(progress(iteration=1, loss=1.0 - 1e-15)) is None  # any decrease counts
    assert rule.check(progress(iteration=2, loss=1.0 - 1e-15)) is None
    assert rule.check(progress(iteration=3, loss=1.0)) is StopReason.patience


def test_time_limit_is_a_budget_on_elapsed_seconds() -> None:
    rule = TimeLimit(2.0)
    assert rule.check(progress(elapsed=1.99)) is None
    assert rule.check(progress(elapsed=2.0)) is StopReason.time_limit
    assert not rule.is_tolerance
    assert "time_limit=2 s" in rule.explain(progress(elapsed=2.0))


def test_which_reasons_count_as_converged() -> None:
    for reason in ("rel_grad_tol", "rel_loss_tol", "param_tol", "patience", "grad_tol"):
        assert StopReason(reason).converged
    for reason in ("time_limit", "max_iter", "diverged", "line_search_failed"):
        assert not StopReason(reason).converged


# --- building the rules ---------------------------------------------------------------------

def test_tolerance_zero_is_off_and_the_defaults_add_nothing() -> None:
    assert build_extra_rules() == ()
    assert build_extra_rules(rel_grad_tol=0, rel_loss_tol=0, param_tol=0, patience=0,
                             time_limit=0) == ()
    assert build_rules(100, 1e-6, 0, stall_iter=0) == (GradTol(1e-6), MaxIter(100))  # as before
    # ... but for the stall rule, on by default since issue 11
    assert build_rules(100, 1e-6, 0) == (GradTol(1e-6), Stall(DEFAULT_STALL_ITER), MaxIter(100))


def test_budgets_come_after_every_tolerance() -> None:
    rules = build_rules(100, 0, 0, time_limit=5, rel_grad_tol=1e-3,
                        extra_rules=(ParamTol(1e-9),))
    assert [type(r).__name__ for r in rules] == ["RelGradTol", "ParamTol", "TimeLimit",
                                                 "Stall", "MaxIter"]
    # On the last iteration a met tolerance is reported, not the budget.
    fired = first_reason(rules, progress(iteration=100, grad=1e-4, grad0=1.0, elapsed=9.0))
    assert fired is not None and fired[0] is StopReason.rel_grad_tol


def test_patience_tol_defaults_and_needs_patience() -> None:
    (rule,) = build_extra_rules(patience=4)
    assert isinstance(rule, Patience) and rule.patience == 4 and rule.tol == 1e-4
    with pytest.raises(OptionError, match="patience_tol= has no effect without patience="):
        build_extra_rules(patience_tol=1e-3)


@pytest.mark.parametrize("kwargs,option", [
    ({"rel_grad_tol": -1e-3}, "--rel-grad-tol"),
    ({"rel_loss_tol": -1.0}, "--rel-loss-tol"),
    ({"param_tol": float("nan")}, "--param-tol"),
    ({"patience": -2}, "--patience"),
    ({"patience": 3, "patience_tol": -0.1}, "--patience-tol"),
    ({"patience_tol": -0.1}, "--patience-tol"),
    ({"time_limit": -1.0}, "--time-limit"),
    ({"time_limit": float("inf")}, "--time-limit"),
])
def test_bad_values_are_option_errors_naming_the_option(kwargs: dict[str, Any],
                                                         option: str) -> None:
    from gdfit.cli.params import to_options

    with pytest.raises(OptionError) as info:
        build_extra_rules(**kwargs)
    assert option in to_options(str(info.value))  # the library names the parameter


# --- in real runs: each rule ends the run at the first iteration that meets it ---------------

def run(step: str = "exact", **stop: Any) -> gdfit.FitResult:
    X, y = random_problem(3, 200, 6)
    return gdfit.fit(X, y, step=step, grad_tol=0, max_iter=50_000, history=True,
                     extra_rules=build_extra_rules(**stop))


def scaled_grad_norms(result: gdfit.FitResult) -> np.ndarray:
    return np.array([h.grad_norm for h in result.history])  # in the descent's coordinates


def test_rel_grad_tol_ends_a_run_at_the_first_iteration_below() -> None:
    result = run(rel_grad_tol=1e-6)
    g = scaled_grad_norms(result)
    assert result.stop_reason is StopReason.rel_grad_tol and result.converged
    assert g[-1] <= 1e-6 * g[0] < g[-2]
    assert "rel_grad_tol=" in result.message


def test_rel_loss_tol_ends_a_run_at_the_first_small_change() -> None:
    result = run("fixed", rel_loss_tol=1e-9)
    y = random_problem(3, 200, 6)[1]
    var_y = float(np.var(y))  # the descent's loss is the MSE / var(y) under --scale standard
    f = np.array([h.loss for h in result.history]) / var_y
    changes = np.abs(np.diff(f))
    limits = 1e-9 * np.maximum(np.abs(f[1:]), 1.0)
    assert result.stop_reason is StopReason.rel_loss_tol
    assert changes[-1] <= limits[-1] * 1.001
    assert np.all(changes[:-1] > limits[:-1] * 0.999)


def test_param_tol_ends_a_run_when_the_steps_get_short() -> None:
    result = run("fixed", param_tol=1e-8)
    assert result.stop_reason is StopReason.param_tol and result.converged
    assert "param_tol=" in result.message
    assert result.lstsq_rel_distance < 1e-4


def test_patience_ends_a_run_that_stopped_improving() -> None:
    result = run("fixed", patience=5, patience_tol=1e-3)
    assert result.stop_reason is StopReason.patience
    y = random_problem(3, 200, 6)[1]
    f = np.array([h.loss for h in result.history]) / float(np.var(y))
    n = len(f)
    # Each of the last 5 iterations failed to beat the best so far by more than 1e-3 …
    for k in range(n - 5, n):
        assert f[k] >= f[:k].min() - 1e-3
    # … and the one before them did beat it, or the rule would have fired earlier.
    assert f[n - 6] < f[:n - 6].min() - 1e-3
    assert "patience=" in result.message


def test_time_limit_ends_a_run_as_a_budget() -> None:
    result = run("fixed", time_limit=1e-9)  # any iteration takes longer than a nanosecond
    assert result.stop_reason is StopReason.time_limit and result.iterations == 1
    assert "time_limit=" in result.message
    # Like --max-iter: with every tolerance off, using up the budget is what was asked for ...
    assert not result.converged and result.exit_code is ExitCode.OK
    # ... but with a tolerance on, it means the run stopped short of it.
    X, y = random_problem(3, 200, 6)
    with pytest.warns(gdfit.ConvergenceWarning, match="time_limit"):
        short = gdfit.fit(X, y, step="fixed", extra_rules=build_extra_rules(time_limit=1e-9))
    assert short.stop_reason is StopReason.time_limit
    assert short.exit_code is ExitCode.NOT_CONVERGED


def test_fit_statistics_takes_extra_rules_too() -> None:
    X, y = random_problem(4, 100, 3)
    problem = gdfit.LeastSquares.from_arrays(X, y)
    result = gdfit.fit_statistics(problem, grad_tol=0, extra_rules=build_extra_rules(
        rel_grad_tol=1e-8))
    assert result.stop_reason is StopReason.rel_grad_tol and result.tolerances_active


# --- the command line -----------------------------------------------------------------------

@pytest.mark.parametrize("args,reason", [
    (["--rel-grad-tol", "1e-6"], "rel_grad_tol"),
    (["--rel-loss-tol", "1e-10"], "rel_loss_tol"),
    (["--param-tol", "1e-8"], "param_tol"),
    (["--patience", "3", "--patience-tol", "1e-2"], "patience"),
    (["--patience", "3"], "patience"),
])
def test_fit_cli_stop_options_name_the_rule_that_fired(write_csv: Any, args: list[str],
                                                       reason: str) -> None:
    X, y = random_problem(5, 50, 2)
    path = write_csv("a,b,y\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X, y,
                                                                                 strict=True)))
    result = runner.invoke(app, ["fit", str(path), "-q", "-f", "json", "--step", "fixed",
                                 "--alpha", "0.05", "--grad-tol", "0", *args])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["stop_reason"] == reason and data["status"] == "converged"


def test_fit_cli_time_limit_is_exit_code_3_while_a_tolerance_is_on(tutorial_csv: Any) -> None:
    result = runner.invoke(app, ["fit", str(tutorial_csv), "-f", "json", "--step", "fixed",
                                 "--time-limit", "1e-9"])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["stop_reason"] == "time_limit"
    assert "--time-limit" in result.stderr
    budget_only = runner.invoke(app, ["fit", str(tutorial_csv), "-q", "--step", "fixed",
                                      "--grad-tol", "0", "--time-limit", "1e-9"])
    assert budget_only.exit_code == 0


@pytest.mark.parametrize("args,message", [
    (["--rel-grad-tol", "-1"], "--rel-grad-tol must be a number ≥ 0"),
    (["--param-tol", "nan"], "--param-tol must be a number ≥ 0"),
    (["--patience-tol", "0.1"], "--patience-tol has no effect without --patience N"),
    (["--time-limit", "-5"], "--time-limit must be a number of seconds ≥ 0"),
    (["--rel-loss-tol", "1e-9", "--poly", "2"], "cannot be combined with --poly"),
])
def test_fit_cli_refuses_bad_stop_options(tutorial_csv: Any, args: list[str],
                                          message: str) -> None:
    result = runner.invoke(app, ["fit", str(tutorial_csv), *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_fit_cli_refuses_a_negative_patience(tutorial_csv: Any) -> None:
    result = runner.invoke(app, ["fit", str(tutorial_csv), "--patience", "-1"])
    assert result.exit_code == 2 and "--patience" in result.stderr


@pytest.mark.filterwarnings("ignore::gdfit.errors.ConvergenceWarning")  # budgets on purpose
def test_loop_computes_only_the_progress_fields_the_rules_read() -> None:
    from gdfit.stopping import ALL_PROGRESS_FIELDS, GradTol, LossTol, MaxIter, progress_fields

    assert progress_fields((GradTol(1e-12), MaxIter(10))) == frozenset()
    assert progress_fields((LossTol(1e-9), MaxIter(10))) == {"loss_change"}

    seen: list[gdfit.stopping.Progress] = []

    class Recorder(gdfit.StopRule):  # declares no `needs`: it must get every field
        def check(self, progress: gdfit.stopping.Progress) -> None:
            seen.append(progress)

        def explain(self, progress: gdfit.stopping.Progress) -> str:
            return ""

    assert progress_fields((Recorder(),)) == ALL_PROGRESS_FIELDS
    X, y = random_problem(2, 50, 2)
    gdfit.fit(X, y, step="fixed", max_iter=5, extra_rules=(Recorder(),))
    later = [p for p in seen if p.iteration > 0]
    assert len(later) == 5
    assert all(np.isfinite([p.loss_change, p.step_norm, p.theta_norm, p.elapsed]).all()
               for p in later)


class Never(gdfit.StopRule):
    """Never fires and reads nothing, but is no bound: the loop takes its general path."""

    needs = frozenset()

    def check(self, progress: Progress) -> None:
        return None

    def explain(self, progress: Progress) -> str:
        return ""


@pytest.mark.parametrize("max_iter,grad_tol", [(40, 0.0), (10**6, 1e-6), (3, 1e3), (0, 1e-6)])
def test_bound_rules_stop_where_the_general_path_stops(max_iter: int, grad_tol: float) -> None:
    # With only the iteration budget and --grad-tol the loop compares k and ‖∇f‖ with their
    # bounds instead of calling the rules; the outcome must be the general path's, bit for bit.
    from gdfit.objective import LeastSquares
    from gdfit.solver import descend
    from gdfit.steps import make_step

    X, y = random_problem(3, 80, 3)
    problem = LeastSquares.from_arrays(X, y)
    rules = build_rules(max_iter, grad_tol, 0.0)
    # The default stall rule is tested apart, on the loop's best loss: it keeps the fast path.
    assert all(rule.bounds() is not None for rule in split_stall(rules)[0])
    fast = descend(problem, np.zeros(4), make_step("lipschitz"), rules)
    general = descend(problem, np.zeros(4), make_step("lipschitz"), (Never(), *rules))
    assert (fast.iterations, fast.reason, fast.message) == (
        general.iterations, general.reason, general.message)
    np.testing.assert_array_equal(fast.theta, general.theta)


def test_a_tolerance_met_on_the_last_budgeted_iteration_is_reported_as_converged() -> None:
    from gdfit.objective import LeastSquares
    from gdfit.solver import descend
    from gdfit.steps import make_step

    X, y = random_problem(2, 50, 2)
    problem = LeastSquares.from_arrays(X, y)
    free = descend(problem, np.zeros(3), make_step("lipschitz"), build_rules(10**6, 1e-8, 0))
    assert free.reason is StopReason.grad_tol
    both = descend(problem, np.zeros(3), make_step("lipschitz"),
                   build_rules(free.iterations, 1e-8, 0))
    assert (both.iterations, both.reason) == (free.iterations, StopReason.grad_tol)


def test_only_the_budget_and_grad_tol_are_bounds() -> None:
    assert MaxIter(7).bounds() == (7.0, -math.inf)
    assert GradTol(1e-6).bounds() == (math.inf, 1e-6)
    for rule in (RelGradTol(1e-3), RelLossTol(1e-9), ParamTol(1e-9), Patience(3),
                 TimeLimit(1.0), Never()):
        assert rule.bounds() is None
