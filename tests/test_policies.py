"""The step-policy family: convergence to lstsq, each policy's defining inequality, BB by hand,
behaviour on an ill-conditioned problem, parameter validation, and the CLI options."""

from __future__ import annotations

import inspect
import itertools
import json
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from conftest import lstsq, random_problem
from typer.testing import CliRunner

import gdfit
from gdfit.cli import app
from gdfit.errors import OptionError
from gdfit.linesearch import power_iteration, scalar_search_wolfe
from gdfit.objective import LeastSquares
from gdfit.scaling import AffineScaling
from gdfit.solver import descend
from gdfit.steps import STEP_POLICIES, StepName, StepPolicy, Why, make_step
from gdfit.stopping import StopReason, build_extra_rules, build_rules

runner = CliRunner()

#: Well-conditioned problems (seed, n, d, intercept): 1 to 20 columns, with and without b.
PROBLEMS = [(1, 40, 1, True), (2, 60, 3, False), (3, 200, 20, True), (4, 120, 8, False),
            (5, 300, 20, False)]
CONVERGING = list(STEP_POLICIES)


def scaled_problem(seed: int, n: int, d: int, intercept: bool) -> LeastSquares:
    X, y = random_problem(seed, n, d, intercept=intercept)
    raw = LeastSquares.from_arrays(X, y, intercept=intercept)
    return AffineScaling.standard(raw).transform(raw)


def ill_conditioned(seed: int = 0, n: int = 200, d: int = 5,
                    kappa: float = 1e6) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose MSE Hessian (no intercept, raw units) has eigenvalues 1 … 1/kappa."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.normal(size=(n, d)))
    V, _ = np.linalg.qr(rng.normal(size=(d, d)))
    singular = np.sqrt(kappa) ** -np.linspace(0.0, 1.0, d)
    X = np.sqrt(n / 2) * U @ np.diag(singular) @ V.T
    return X, X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)


def solution(problem: LeastSquares) -> np.ndarray:
    return np.linalg.solve(problem.hessian(), -problem.grad(np.zeros(problem.dim)))


# --- the registry -------------------------------------------------------------------------

def test_registry_and_enum_agree_and_every_policy_documents_itself() -> None:
    assert [m.value for m in StepName] == list(STEP_POLICIES)
    for name, cls in STEP_POLICIES.items():
        assert cls.name == name
        assert cls.formula and cls.__doc__
        params = inspect.signature(cls.__init__).parameters
        assert set(cls.options) <= set(params), name
        assert set(cls.default_notes) <= set(cls.options), name
        assert make_step(name).name == name  # the defaults construct


def test_a_parameter_name_means_one_option_across_the_family() -> None:
    seen: dict[str, str] = {}
    for cls in STEP_POLICIES.values():
        for param, option in cls.options.items():
            assert seen.setdefault(param, option) == option, (param, option, seen[param])


# --- every policy reaches lstsq with its defaults ------------------------------------------

@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: f"d{p[2]}{'b' if p[3] else ''}")
@pytest.mark.parametrize("name", CONVERGING)
def test_default_policy_reaches_lstsq(name: str, problem: tuple[int, int, int, bool]) -> None:
    # One tolerance for all, 1e-7 relative: adam, adagrad, rmsprop and decay meet it too
    # with their defaults and the default stopping rules (--grad-tol 1e-12, --max-iter 1e5).
    seed, n, d, intercept = problem
    X, y = random_problem(seed, n, d, intercept=intercept)
    result = gdfit.fit(X, y, intercept=intercept, step=name)
    assert result.converged, (result.stop_reason, result.message)
    ref = lstsq(X, y, intercept)
    assert np.linalg.norm(result.theta - ref) <= 1e-7 * np.linalg.norm(ref)


def test_constant_length_norm_gets_within_alpha_but_no_closer() -> None:
    problem = scaled_problem(3, 200, 20, True)
    sol = solution(problem)
    policy = make_step("norm", alpha=0.01, shrink=1)
    near = [np.linalg.norm(descend(problem, np.zeros(problem.dim), policy,
                                   build_rules(k, 0, 0, stall_iter=0)).theta - sol)
            for k in (1000, 10000)]
    assert near[1] <= 0.01
    assert near[1] >= 0.1 * 0.01 and near[1] == pytest.approx(near[0], rel=0.5)


def test_decay_norm_makes_the_fixed_length_step_converge() -> None:
    problem = scaled_problem(3, 200, 20, True)
    sol = solution(problem)
    policy = make_step("decay", normalize=True)  # α_t = 0.01/t^0.25, steps of length α_t
    dist = {k: np.linalg.norm(descend(problem, np.zeros(problem.dim), policy,
                                      build_rules(k, 0, 0)).theta - sol) for k in (1000, 10000)}
    for k, d in dist.items():
        assert d <= 2 * 0.01 / k**0.25  # within a couple of the current step lengths
    assert dist[10000] < dist[1000]
    fixed_length = descend(problem, np.zeros(problem.dim),
                           make_step("norm", alpha=0.01, shrink=1),
                           build_rules(10000, 0, 0, stall_iter=0))
    assert dist[10000] < 0.25 * np.linalg.norm(fixed_length.theta - sol)


# --- each policy's defining inequality at every step ----------------------------------------

def walk(problem: LeastSquares, policy: StepPolicy, steps: int, check: Any) -> int:
    """Call update() ``steps`` times, checking each step, until ‖∇f‖ ≤ 1e-5: below that the
    step s = θ_new − θ loses too many digits (ε‖θ‖/‖s‖) for tight checks."""
    theta = np.zeros(problem.dim)
    state = policy.init(problem, theta)
    loss, grad = problem.loss_and_grad(theta)
    done = 0
    for _ in range(steps):
        if float(grad @ grad) <= 1e-10:
            break
        before = state
        new, info, state = policy.update(problem, theta, loss, grad, state)
        assert not info.failed, info.reason
        check(theta, grad, new, info, before)
        theta = new
        loss, grad = problem.loss_and_grad(theta)
        done += 1
    return done


CHECK_PROBLEMS = [scaled_problem(3, 200, 20, True), scaled_problem(4, 120, 8, False),
                  LeastSquares.from_arrays(*ill_conditioned(), intercept=False)]


@pytest.mark.parametrize("problem", CHECK_PROBLEMS, ids=["d20", "d8", "kappa1e6"])
def test_backtracking_meets_armijo_every_step(problem: LeastSquares) -> None:
    policy = make_step("backtracking")

    def armijo(theta: Any, g: Any, new: Any, info: Any, state: Any) -> None:
        assert problem.loss_change(g, new - theta) <= -1e-4 * info.step_size * float(g @ g)

    assert walk(problem, policy, 300, armijo) > 5


@pytest.mark.parametrize("problem", CHECK_PROBLEMS, ids=["d20", "d8", "kappa1e6"])
@pytest.mark.parametrize("c1,c2", [(1e-4, 0.9), (0.1, 0.2)])
def test_wolfe_meets_both_strong_wolfe_conditions_every_step(problem: LeastSquares, c1: float,
                                                             c2: float) -> None:
    policy = make_step("wolfe", c1=c1, c2=c2)

    def strong_wolfe(theta: Any, g: Any, new: Any, info: Any, state: Any) -> None:
        gg = float(g @ g)
        assert problem.loss_change(g, new - theta) <= -c1 * info.step_size * gg
        new_grad = g + problem.hvp(new - theta)
        assert abs(float(new_grad @ g)) <= c2 * gg

    assert walk(problem, policy, 300, strong_wolfe) > 5


@pytest.mark.parametrize("problem", CHECK_PROBLEMS, ids=["d20", "d8", "kappa1e6"])
@pytest.mark.parametrize("method,radius", [("cauchy", 1.0), ("dogleg", 1.0), ("cauchy", 1e-3),
                                           ("dogleg", 1e-3)])
def test_trust_region_steps_stay_inside_the_radius(problem: LeastSquares, method: str,
                                                   radius: float) -> None:
    policy = make_step("trust-region", method=method, radius=radius)
    radii = []

    def bounded(theta: Any, g: Any, new: Any, info: Any, state: Any) -> None:
        radii.append(state[0])
        assert np.linalg.norm(new - theta) <= state[0] * (1 + 1e-12)
        assert problem.loss_change(g, new - theta) < 0

    assert walk(problem, policy, 300, bounded) >= 1
    assert radii[0] == radius
    if radius < 1:  # a small radius is hit and doubled (the model is exact, ρ = 1)
        assert radii[1] == 2 * radius


def test_dogleg_ends_in_one_newton_step_once_the_radius_allows() -> None:
    problem = scaled_problem(4, 120, 8, False)
    policy = make_step("trust-region", method="dogleg", radius=1e3)
    theta = np.zeros(problem.dim)
    new, _, _ = policy.update(problem, theta, *problem.loss_and_grad(theta),
                              policy.init(problem, theta))
    np.testing.assert_allclose(new, solution(problem), rtol=1e-10)


@pytest.mark.parametrize("problem", CHECK_PROBLEMS, ids=["d20", "d8", "kappa1e6"])
def test_exact_step_makes_the_new_gradient_orthogonal(problem: LeastSquares) -> None:
    def orthogonal(theta: Any, g: Any, new: Any, info: Any, state: Any) -> None:
        assert abs(float((g + problem.hvp(new - theta)) @ g)) <= 1e-9 * float(g @ g)

    assert walk(problem, make_step("exact"), 200, orthogonal) > 5


@pytest.mark.parametrize("problem", CHECK_PROBLEMS, ids=["d20", "d8", "kappa1e6"])
def test_lipschitz_step_is_one_over_lambda_max_and_meets_the_descent_lemma(
        problem: LeastSquares) -> None:
    lam = float(np.linalg.eigvalsh(problem.hessian())[-1])

    def descent_lemma(theta: Any, g: Any, new: Any, info: Any, state: Any) -> None:
        assert info.step_size == pytest.approx(1 / lam, rel=1e-6)
        assert problem.loss_change(g, new - theta) <= -(1 - 1e-6) * float(g @ g) / (2 * lam)

    assert walk(problem, make_step("lipschitz"), 200, descent_lemma) > 5


@pytest.mark.parametrize("problem", CHECK_PROBLEMS, ids=["d20", "d8", "kappa1e6"])
def test_cg_directions_are_conjugate_and_steps_exact(problem: LeastSquares) -> None:
    directions: list[np.ndarray] = []

    def conjugate(theta: Any, g: Any, new: Any, info: Any, state: Any) -> None:
        p = new - theta
        assert abs(float((g + problem.hvp(p)) @ p)) <= 1e-9 * abs(float(g @ p))  # exact α
        if directions and state[1] > 0:  # not just restarted: Hp ⟂ previous p
            q = directions[-1]
            cos = float(p @ problem.hvp(q)) / np.sqrt(float(p @ problem.hvp(p)) *
                                                     float(q @ problem.hvp(q)))
            assert abs(cos) <= 1e-6
        directions.append(p)

    walk(problem, make_step("cg"), min(problem.dim, 6), conjugate)
    assert len(directions) >= 2


def test_cg_solves_a_quadratic_in_at_most_dim_steps() -> None:
    problem = scaled_problem(4, 120, 8, False)
    run = descend(problem, np.zeros(problem.dim), make_step("cg", restart_every=0),
                  build_rules(problem.dim, 1e-10, 0))
    assert run.iterations <= problem.dim
    np.testing.assert_allclose(run.theta, solution(problem), rtol=1e-9)


class Concave:
    """f(θ) = −½‖θ‖² + 1: no minimum, so no step can meet the curvature condition."""

    dim = 2

    def loss_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        return 1.0 - 0.5 * float(theta @ theta), -theta

    def loss_grad_norm(self, theta: np.ndarray) -> tuple[float, np.ndarray, float]:
        loss, grad = self.loss_and_grad(theta)
        return loss, grad, float(np.linalg.norm(grad))

    def hvp(self, v: np.ndarray) -> np.ndarray:
        return -v

    def loss_change(self, grad: np.ndarray, step: np.ndarray) -> float:
        return float(grad @ step) - 0.5 * float(step @ step)


def test_a_failed_wolfe_search_ends_the_run_with_its_own_status() -> None:
    problem: Any = Concave()
    run = descend(problem, np.array([1.0, 0.5]), make_step("wolfe"), build_rules(100, 0, 0))
    assert run.reason is StopReason.line_search_failed
    assert run.iterations == 0 and "keeps decreasing" in run.message
    assert run.function_evals > 1  # the trial points are counted


# --- the one-dimensional building blocks ----------------------------------------------------

@pytest.mark.parametrize("phi,derphi,alpha1", [
    (lambda a: a * a - a, lambda a: 2 * a - 1, 1.0),  # overshoot: zoom
    (lambda a: a * a - a, lambda a: 2 * a - 1, 1e-3),  # too short: extrapolate
    (lambda a: -a / (a * a + 2), lambda a: (a * a - 2) / (a * a + 2) ** 2, 1e-3),  # Moré–Thuente 1
    (lambda a: (a + 0.004) ** 5 - 2 * (a + 0.004) ** 4,  # Moré–Thuente 2
     lambda a: 5 * (a + 0.004) ** 4 - 8 * (a + 0.004) ** 3, 1.0),
    (lambda a: np.exp(-a) * np.cos(3 * a) - 1, lambda a: -np.exp(-a) * (np.cos(3 * a) +
                                                                     3 * np.sin(3 * a)), 10.0),
])
def test_scalar_search_wolfe_meets_strong_wolfe_on_its_own(phi: Any, derphi: Any,
                                                           alpha1: float) -> None:
    phi0, derphi0 = phi(0.0), derphi(0.0)
    for c1, c2 in [(1e-4, 0.9), (1e-3, 0.1)]:
        search = scalar_search_wolfe(phi, derphi, phi0, derphi0, alpha1=alpha1, c1=c1, c2=c2)
        assert search.ok, search.reason
        assert search.phi == phi(search.alpha)
        assert search.phi <= phi0 + c1 * search.alpha * derphi0
        assert abs(derphi(search.alpha)) <= c2 * abs(derphi0)


def test_scalar_search_wolfe_reports_failure_instead_of_looping() -> None:
    unbounded = scalar_search_wolfe(lambda a: -a, lambda a: -1.0, 0.0, -1.0)
    assert not unbounded.ok and "keeps decreasing" in unbounded.reason
    uphill = scalar_search_wolfe(lambda a: a, lambda a: 1.0, 0.0, 1.0)
    assert not uphill.ok and "not a descent direction" in uphill.reason
    assert uphill.evaluations == 0


def test_power_iteration_finds_lambda_max() -> None:
    for problem in CHECK_PROBLEMS:
        lam, products = power_iteration(problem.hvp, problem.dim)
        assert lam == pytest.approx(np.linalg.eigvalsh(problem.hessian())[-1], rel=1e-8)
        assert products < 10_000


# --- Barzilai–Borwein by hand ---------------------------------------------------------------

def test_bb_steps_match_hand_computation() -> None:
    # f(w) = s − 2cᵀw + wᵀGw with G = diag(1, 10), c = (1, 1): H = diag(2, 20), ∇f = 2(Gw − c).
    problem = LeastSquares(n=1, x_mean=np.zeros(2), y_mean=0.0, gram=np.diag([1.0, 10.0]),
                           xty=np.array([1.0, 1.0]), yty=2.0, intercept=False)
    G, c = [Fraction(1), Fraction(10)], [Fraction(1), Fraction(1)]

    def grad(w: list[Fraction]) -> list[Fraction]:
        return [2 * (G[i] * w[i] - c[i]) for i in range(2)]

    def dot(u: list[Fraction], v: list[Fraction]) -> Fraction:
        return u[0] * v[0] + u[1] * v[1]

    for variant in ("bb1", "bb2", "alternate"):
        w, g = [Fraction(0), Fraction(0)], grad([Fraction(0), Fraction(0)])
        expected = [dot(g, g) / (2 * g[0] ** 2 + 20 * g[1] ** 2)]  # exact first step: 1/11
        for k in range(1, 6):
            w_new = [w[i] - expected[-1] * g[i] for i in range(2)]
            g_new = grad(w_new)
            s = [w_new[i] - w[i] for i in range(2)]
            y = [g_new[i] - g[i] for i in range(2)]
            long = variant == "bb1" or (variant == "alternate" and k % 2 == 1)
            expected.append(dot(s, s) / dot(s, y) if long else dot(s, y) / dot(y, y))
            w, g = w_new, g_new
        assert expected[0] == Fraction(1, 11)
        assert expected[1] == (Fraction(1, 11) if variant != "bb2" else Fraction(11, 202))

        policy = make_step("bb", variant=variant)
        theta = np.zeros(2)
        state = policy.init(problem, theta)
        for alpha in expected:
            loss, gradient = problem.loss_and_grad(theta)
            theta, info, state = policy.update(problem, theta, loss, gradient, state)
            assert info.step_size == pytest.approx(float(alpha), rel=1e-12), variant


def test_bb_falls_back_and_clamps() -> None:
    problem = scaled_problem(2, 60, 3, False)
    theta = np.zeros(problem.dim)
    loss, grad = problem.loss_and_grad(theta)
    policy = make_step("bb", alpha_max=0.05)
    _, info, _ = policy.update(problem, theta, loss, grad, policy.init(problem, theta))
    assert info.step_size == 0.05 and "clamped" in info.reason
    # A step along a direction of zero curvature (sᵀy = 0) falls back to the exact step.
    flat = LeastSquares(n=1, x_mean=np.zeros(2), y_mean=0.0, gram=np.diag([1.0, 0.0]),
                        xty=np.array([1.0, 0.0]), yty=1.0, intercept=False)
    policy = make_step("bb")
    theta = np.zeros(2)
    loss, grad = flat.loss_and_grad(theta)
    _, info, _ = policy.update(flat, theta, loss, grad, (1, np.array([0.0, 1.0]), ()))
    assert "fell back" in info.reason and info.step_size == pytest.approx(0.5)


# --- the ill-conditioned problem ------------------------------------------------------------

MONOTONE = ["exact", "backtracking", "wolfe", "trust-region", "lipschitz", "cg"]


@pytest.mark.filterwarnings("ignore::gdfit.errors.ConvergenceWarning")  # budgets on purpose
@pytest.mark.parametrize("name", MONOTONE)
def test_monotone_policies_never_increase_the_loss_when_kappa_is_1e6(name: str) -> None:
    X, y = ill_conditioned()
    # Stop at ‖∇f‖ ≤ 1e-13, where the gradient becomes rounding noise (only cg gets there).
    result = gdfit.fit(X, y, intercept=False, scale="none", step=name, max_iter=2000,
                       grad_tol=1e-13, history=True)
    problem = LeastSquares.from_arrays(X, y, intercept=False)
    thetas = [h.w for h in result.history]
    for a, b in itertools.pairwise(thetas):
        assert problem.loss_change(problem.grad(a), b - a) <= 0.0  # computed without cancellation
    # The reported losses too, to the precision they are computed with: their terms are of the
    # size of the starting loss (f(0) = mean y²), so rounding leaves ~ε·f(0) of noise.
    losses = np.array([h.loss for h in result.history])
    assert np.all(np.diff(losses) <= 1e-14 * losses[0])


def iterations_to(name: str, budget: int, **stop: float) -> int:
    X, y = ill_conditioned()
    stop_rules = build_extra_rules(**stop)
    result = gdfit.fit(X, y, intercept=False, scale="none", step=name, max_iter=budget,
                       grad_tol=0, extra_rules=stop_rules)
    return result.iterations if result.converged else budget


@pytest.mark.filterwarnings("ignore::gdfit.errors.ConvergenceWarning")  # budgets on purpose
def test_ranking_on_the_ill_conditioned_problem_is_what_theory_predicts() -> None:
    # Gradient shrunk 1000-fold: cg ≤ bb, exact ≪ fixed (α = 0.01 where 1/L = 1).
    its = {name: iterations_to(name, 20_000, rel_grad_tol=1e-3)
           for name in ("cg", "bb", "exact", "fixed")}
    assert its["cg"] <= its["bb"] <= its["fixed"] and its["cg"] <= its["exact"] <= its["fixed"]
    assert its["fixed"] > 100 * its["exact"]
    # A million-fold: cg and bb get there, steepest descent (exact, fixed) needs ~κ iterations.
    its = {name: iterations_to(name, 2000, rel_grad_tol=1e-6)
           for name in ("cg", "bb", "exact", "fixed")}
    assert its["cg"] <= its["bb"] < its["exact"] == its["fixed"] == 2000
    assert its["cg"] <= 3 * 5  # dim(θ) = 5, with a few extra steps for rounding


def test_nesterov_restart_helps_on_an_ill_conditioned_problem() -> None:
    X, y = ill_conditioned(kappa=1e4)
    its = {}
    for restart in ("gradient", "function", "off"):
        result = gdfit.fit(X, y, intercept=False, scale="none",
                           step=make_step("nesterov", restart=restart), max_iter=20_000,
                           grad_tol=1e-10, history=True)
        assert result.converged or restart == "off"
        its[restart] = result.iterations
        restarts = sum("restart:" in h.reason for h in result.history)
        assert (restarts > 0) == (restart != "off"), restart
    assert its["gradient"] < its["off"] and its["function"] < its["off"]


# --- parameter validation -------------------------------------------------------------------

@pytest.mark.parametrize("name,params,option", [
    ("wolfe", {"c1": 0.0}, "--wolfe-c1"),
    ("wolfe", {"c2": 1.0}, "--wolfe-c2"),
    ("wolfe", {"c1": 0.5, "c2": 0.4}, "--wolfe-c1"),
    ("wolfe", {"alpha": -1.0}, "--alpha"),
    ("bb", {"variant": "bb3"}, "--bb-variant"),
    ("bb", {"alpha_min": 0.0}, "--bb-min"),
    ("bb", {"alpha_min": 2.0, "alpha_max": 1.0}, "--bb-min"),
    ("bb", {"alpha_max": float("inf")}, "--bb-max"),
    ("trust-region", {"method": "newton"}, "--tr-method"),
    ("trust-region", {"radius": 0.0}, "--tr-radius"),
    ("trust-region", {"radius": 10.0, "max_radius": 1.0}, "--tr-radius"),
    ("trust-region", {"eta": 0.3}, "--tr-eta"),
    ("trust-region", {"eta": -0.1}, "--tr-eta"),
    ("cg", {"restart_every": -1}, "--cg-restart"),
    ("momentum", {"beta": 1.0}, "--momentum-beta"),
    ("momentum", {"alpha": 0.0}, "--alpha"),
    ("nesterov", {"restart": "sometimes"}, "--nesterov-restart"),
    ("adam", {"beta1": 1.0}, "--adam-beta1"),
    ("adam", {"beta2": 0.0}, "--adam-beta2"),
    ("adam", {"eps": 0.0}, "--eps"),
    ("adagrad", {"alpha": float("nan")}, "--alpha"),
    ("rmsprop", {"decay_rate": 1.0}, "--rms-decay"),
    ("decay", {"power": 0.0}, "--decay-power"),
    ("decay", {"power": 1.5}, "--decay-power"),
])
def test_bad_parameters_name_their_option(name: str, params: dict[str, Any], option: str) -> None:
    from gdfit.cli.params import to_options

    with pytest.raises(OptionError) as info:
        make_step(name, **params)
    assert option in to_options(str(info.value))  # the library names the parameter


def test_an_option_of_another_policy_is_refused_naming_who_uses_it() -> None:
    with pytest.raises(OptionError, match="beta= has no effect with step='adam'; "
                                          "it applies to step=momentum"):
        make_step("adam", beta=0.5)
    with pytest.raises(OptionError, match="eps= has no effect with step='exact'; it applies "
                                          "to step=adam, adagrad, rmsprop"):
        make_step("exact", eps=1e-8)


def test_describe_shows_every_parameter() -> None:
    assert make_step("bb").describe() == ("bb(variant=bb1, alpha=auto, alpha_min=1e-30, "
                                          "alpha_max=1e+30)")
    assert make_step("decay", normalize=True).describe() == ("decay(alpha=0.01, power=0.25, "
                                                             "normalize=True)")


def test_gradient_only_policies_work_on_mini_batches() -> None:
    from gdfit.minibatch import fit_minibatch

    X, y = random_problem(7, 200, 3)
    for name, cls in STEP_POLICIES.items():
        if cls.stochastic:
            result = fit_minibatch(X, y, batch_size=50, seed=1, step=name, max_iter=2000,
                                   grad_tol=0)
            assert result.lstsq_rel_distance < 0.05, name


# --- the command line -----------------------------------------------------------------------

def test_fit_cli_takes_the_new_step_options(tutorial_csv: Any) -> None:
    cases = [["--step", "wolfe", "--wolfe-c1", "0.001", "--wolfe-c2", "0.5"],
             ["--step", "bb", "--bb-variant", "alternate", "--bb-max", "100"],
             ["--step", "trust-region", "--tr-method", "dogleg", "--tr-radius", "0.1",
              "--tr-max-radius", "10", "--tr-eta", "0.1"],
             ["--step", "cg", "--cg-restart", "0"],
             ["--step", "momentum", "--momentum-beta", "0.5", "--alpha", "0.1"],
             ["--step", "nesterov", "--nesterov-restart", "function"],
             ["--step", "adam", "--adam-beta1", "0.8", "--adam-beta2", "0.99", "--eps", "1e-9"],
             ["--step", "rmsprop", "--rms-decay", "0.999", "--alpha", "0.003"],
             ["--step", "adagrad", "--alpha", "0.5"],
             ["--step", "lipschitz"],
             ["--step", "decay", "--alpha", "0.5", "--decay-power", "0.5"]]
    for args in cases:
        run = runner.invoke(app, ["fit", str(tutorial_csv), "-q", "--format", "json", *args])
        assert run.exit_code == 0, (args, run.output)
        data = json.loads(run.stdout)
        assert data["w"][0] == pytest.approx(2.0, abs=1e-9) and data["status"] == "converged"
        assert data["step"].startswith(args[1])


def test_fit_cli_decay_norm_converges_where_norm_circles(tutorial_csv: Any) -> None:
    base = ["fit", str(tutorial_csv), "-q", "--format", "json", "--scale", "none",
            "--max-iter", "20000", "--grad-tol", "0"]
    norm = json.loads(runner.invoke(app, [*base, "--step", "norm", "--alpha", "0.01",
                                          "--norm-shrink", "1"]).stdout)
    decay = json.loads(runner.invoke(app, [*base, "--step", "decay", "--decay-norm",
                                           "--alpha", "0.01", "--decay-power", "0.5"]).stdout)
    assert decay["lstsq_distance"] < 0.1 * norm["lstsq_distance"]
    assert decay["step"] == "decay(alpha=0.01, power=0.5, normalize=True)"


@pytest.mark.parametrize("args,message", [
    (["--step", "exact", "--wolfe-c1", "0.1"], "--wolfe-c1 has no effect with --step exact"),
    (["--step", "adam", "--decay-norm"], "--decay-norm has no effect with --step adam"),
    (["--step", "wolfe", "--wolfe-c2", "2"], "--wolfe-c2 must lie in (0, 1), got 2"),
    (["--step", "cg", "--cg-restart", "-3"], "--cg-restart must be a whole number"),
])
def test_fit_cli_refuses_bad_step_options(tutorial_csv: Any, args: list[str],
                                          message: str) -> None:
    run = runner.invoke(app, ["fit", str(tutorial_csv), *args])
    assert run.exit_code == 2
    assert message in run.stderr


def test_fit_cli_rejects_an_unknown_bb_variant(tutorial_csv: Any) -> None:
    run = runner.invoke(app, ["fit", str(tutorial_csv), "--step", "bb", "--bb-variant", "bb9"])
    assert run.exit_code == 2 and "bb9" in run.stderr


def test_steps_command_lists_every_policy_with_its_defaults() -> None:
    run = runner.invoke(app, ["steps", "--format", "json"])
    assert run.exit_code == 0
    rows = {row["name"]: row for row in json.loads(run.stdout)}
    assert list(rows) == list(STEP_POLICIES)
    assert rows["cg"]["default"] and not rows["exact"]["default"]
    assert rows["exact"]["parameters"] == []
    wolfe = {p["option"]: p["default"] for p in rows["wolfe"]["parameters"]}
    assert wolfe == {"--alpha": 1.0, "--wolfe-c1": 1e-4, "--wolfe-c2": 0.9}
    assert [p["default_text"] for p in rows["nesterov"]["parameters"]] == ["1/L", "gradient"]
    assert "not plain gradient descent" in rows["cg"]["formula"]
    assert {n for n, r in rows.items() if r["needs_tuning"]} == {
        "fixed", "norm", "momentum", "adam", "adagrad", "rmsprop", "decay"}
    table = runner.invoke(app, ["steps"], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    for name, cls in STEP_POLICIES.items():
        assert name in table.stdout
        for option in cls.options.values():
            assert option in table.stdout
    csv_run = runner.invoke(app, ["steps", "-f", "csv"])
    assert csv_run.stdout.splitlines()[0] == "name,formula,options,needs_tuning,mini_batch,default"
    assert len(csv_run.stdout.splitlines()) == len(STEP_POLICIES) + 1


def test_bb_safeguard_keeps_the_loss_below_its_recent_maximum() -> None:
    # A raw, badly conditioned calibration line (κ(H) ≈ 1e10): plain BB1 spikes the loss by
    # more than 1e12 here; the nonmonotone safeguard must keep every loss at or below the
    # maximum of the last M, minus γ·α·‖∇f‖², and still converge.
    rng = np.random.default_rng(5)
    x = rng.uniform(450, 760, 500)
    y = 0.1 * x - 50 + 0.8 * rng.normal(size=500)
    result = gdfit.fit(x[:, None], y, step="bb", scale="none", history=True)
    assert result.converged, result.message
    np.testing.assert_allclose(result.theta, lstsq(x[:, None], y), rtol=1e-9)
    policy = STEP_POLICIES["bb"]
    problem = gdfit.LeastSquares.from_arrays(x[:, None], y)
    losses = [problem.loss(np.append(h.w, h.b)) for h in result.history]
    for k in range(1, len(losses)):
        recent = max(losses[max(0, k - policy.memory):k])
        assert losses[k] <= recent * (1 + 1e-12)


def test_step_reasons_are_formatted_when_read() -> None:
    # Reasons are kept as a template and numbers (Why) and formatted only when shown.
    problem = LeastSquares.from_arrays(np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]))
    theta = np.zeros(2)
    loss, grad = problem.loss_and_grad(theta)
    _, info, _ = make_step("norm", alpha=0.1).update(problem, theta, loss, grad, None)
    gnorm = float(np.linalg.norm(grad))
    assert isinstance(info.reason, Why)
    assert str(info.reason) == f"α/‖∇f‖ = 0.1/{gnorm:.6g}"
    assert info.reason == f"α/‖∇f‖ = 0.1/{gnorm:.6g}"
    assert info.step_size == pytest.approx(0.1 / gnorm)


@pytest.mark.filterwarnings("ignore::gdfit.errors.ConvergenceWarning")  # budgets on purpose
@pytest.mark.parametrize("name", list(STEP_POLICIES))
def test_every_policys_reasons_format_to_text(name: str) -> None:
    # Reasons built lazily (Why) must still read as the words the explain output shows: a
    # template with the wrong number of fields would fail only when a reason is shown.
    X, y = random_problem(2, 40, 2)
    result = gdfit.fit(X, y, step=name, max_iter=25, history=True)
    reasons = [record.reason for record in result.history[1:]]
    assert reasons and all(isinstance(reason, str) and reason for reason in reasons)
    assert not any("{" in reason or "}" in reason for reason in reasons)


@pytest.mark.parametrize("name", sorted(STEP_POLICIES))
def test_every_policy_state_is_typed_not_a_bare_tuple(name: str) -> None:
    """A state of several parts is a NamedTuple whose fields say what they are (issue 12)."""
    problem = scaled_problem(5, 60, 3, True)
    policy = make_step(name, **({"alpha": 0.1} if name in ("fixed", "norm") else {}))
    theta = np.zeros(problem.dim)
    state = policy.init(problem, theta)
    for _ in range(4):
        assert type(state) is not tuple, (name, state)
        if isinstance(state, tuple):
            assert hasattr(state, "_fields") and len(state._fields) == len(state)
        loss, grad = problem.loss_and_grad(theta)
        theta, _, state = policy.update(problem, theta, loss, grad, state)
