"""``--poly``: the orthogonal basis, its exact conversion to raw powers, and the CLI option."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gdfit.cli import app
from gdfit.errors import DataError
from gdfit.poly import PolyBasis, power_names
from gdfit.precise import fit_model

NIST = Path(__file__).parents[1] / "sample_data" / "nist"  # shipped with the project


def exact_basis_values(basis: PolyBasis, x: Fraction) -> list[Fraction]:
    """The basis polynomials at x by their recurrence, in exact rational arithmetic."""
    t = (x - Fraction(basis.shift)) / Fraction(basis.half)
    H = [[Fraction(float(v)) for v in row] for row in basis.H]
    q = [Fraction(1) if basis.intercept else t / Fraction(basis.h0)]
    for k in range(1, basis.H.shape[0]):
        v = t * q[k - 1] - sum((H[j][k - 1] * q[j] for j in range(k)), Fraction(0))
        q.append(v / H[k][k - 1])
    return q[1:] if basis.intercept else q


@pytest.mark.parametrize("intercept", [True, False])
def test_conversion_to_raw_powers_is_exact(intercept: bool, rng: np.random.Generator) -> None:
    """Σ γ_k q_k(x) + b equals Σ w_k x^k + b' identically, checked in rational arithmetic."""
    x = rng.uniform(-3.0, 7.0, size=30)
    basis = PolyBasis(x, 6, intercept=intercept)
    gamma = [Fraction(float(v)) for v in rng.normal(size=6)]
    b = Fraction(0.75) if intercept else None
    w, braw = basis.to_raw(gamma, b)
    for point in (Fraction(-2.5), Fraction(1, 3), Fraction(6.25)):
        q = exact_basis_values(basis, point)
        in_basis = sum((g * qk for g, qk in zip(gamma, q, strict=True)), b or Fraction(0))
        raw = sum((wk * point ** (k + 1) for k, wk in enumerate(w)), braw or Fraction(0))
        assert in_basis == raw
    assert (braw is None) == (not intercept)


def test_features_are_orthonormal_and_match_the_recurrence(rng: np.random.Generator) -> None:
    x = rng.uniform(0.0, 1e6, size=50)
    basis = PolyBasis(x, 8)
    F = basis.features
    gram = F.T @ F / len(x)
    assert np.abs(gram - np.eye(8)).max() < 1e-13
    assert np.abs(F.mean(axis=0)).max() < 1e-13  # orthogonal to the constant
    exact = [float(v) for v in exact_basis_values(basis, Fraction(float(x[7])))]
    assert F[7] == pytest.approx(exact, rel=1e-14, abs=1e-14)


def test_matrix_maps_basis_to_raw_coefficients(rng: np.random.Generator) -> None:
    x = rng.uniform(-1.0, 2.0, size=25)
    basis = PolyBasis(x, 4)
    theta = rng.normal(size=5)
    w, b = basis.theta_to_raw(theta)
    assert basis.matrix @ theta == pytest.approx(np.append(w, b), rel=1e-12)
    fitted = basis.features @ theta[:4] + theta[4]
    assert basis.raw_columns() @ w + b == pytest.approx(fitted, rel=1e-10)


def test_fit_matches_lstsq_on_a_quadratic(rng: np.random.Generator) -> None:
    x = rng.uniform(0.0, 10.0, size=40)
    y = 1.5 - 2.0 * x + 0.25 * x**2 + rng.normal(scale=0.1, size=40)
    fitted = fit_model(x, y, features=("x",), poly=2)
    V = np.column_stack([x, x**2, np.ones_like(x)])
    ref = np.linalg.lstsq(V, y, rcond=None)[0]
    assert fitted.result.theta == pytest.approx(ref, rel=1e-10)
    assert fitted.result.features == ("x", "x^2")
    assert fitted.result.lstsq_theta == pytest.approx(ref, rel=1e-10)
    assert fitted.result.converged


def test_fit_without_intercept(rng: np.random.Generator) -> None:
    x = rng.uniform(-4.0, 4.0, size=30)
    y = 0.5 * x - 0.3 * x**3 + rng.normal(scale=0.05, size=30)
    fitted = fit_model(x, y, features=("x",), poly=3, intercept=False)
    ref = np.linalg.lstsq(np.column_stack([x, x**2, x**3]), y, rcond=None)[0]
    assert fitted.result.b is None
    assert fitted.result.w == pytest.approx(ref, rel=1e-10, abs=1e-12)
    assert fitted.stats.r2 == pytest.approx(
        1 - np.sum((y - np.column_stack([x, x**2, x**3]) @ ref) ** 2) / (y @ y), rel=1e-10)


def lre(got: list[Fraction] | list[float], cert: list[float] | list[Fraction]) -> float:
    return min(-math.log10(abs(float((Fraction(g) - Fraction(c)) / Fraction(c))))
               if Fraction(g) != Fraction(c) else 15.0 for g, c in zip(got, cert, strict=True))


def solve_exactly(A: list[list[Fraction]], b: list[Fraction]) -> list[Fraction]:
    """Gauss–Jordan elimination in rational arithmetic."""
    n = len(A)
    M = [[*row, v] for row, v in zip(A, b, strict=True)]
    for i in range(n):
        pivot = next(r for r in range(i, n) if M[r][i] != 0)
        M[i], M[pivot] = M[pivot], M[i]
        for r in range(n):
            if r != i and M[r][i] != 0:
                f = M[r][i] / M[i][i]
                M[r] = [a - f * c for a, c in zip(M[r], M[i], strict=True)]
    return [M[i][n] / M[i][i] for i in range(n)]


@pytest.mark.parametrize(("name", "digits"), [("Filip", 15), ("Pontius", 13), ("Wampler1", 10),
                                              ("Wampler4", 10), ("Wampler5", 10)])
def test_conversion_accuracy_on_nist(name: str, digits: int) -> None:
    """Certified coefficients → basis coefficients (exactly) → float64 → raw powers again.

    The conversion is exact, so what is lost is only the rounding of the basis coefficients to
    float64, amplified by the conditioning of the map. Measured: Filip 16.6 digits, Pontius
    13.2, Wampler1–5 10.6 (their intercept 1 is a sum of terms of order 10⁶); --precise
    recovers the rest by accumulating refinement corrections exactly.
    """
    spec = json.loads((NIST / "certified.json").read_text())[name]
    x = np.loadtxt(NIST / spec["csv"], delimiter=",", skiprows=1)[:, 1]
    degree = spec["design"]["degree_or_num_predictors"]
    basis = PolyBasis(x, degree)
    cert = [Fraction(p["estimate"]) for p in spec["parameters"]]  # B0, B1, …
    columns = []
    for j in range(degree + 1):
        unit = [Fraction(int(i == j)) for i in range(degree + 1)]
        w, b = basis.to_raw(unit[:degree], unit[degree])
        columns.append([*w, b])
    T = [[columns[j][i] for j in range(degree + 1)] for i in range(degree + 1)]
    gamma = solve_exactly(T, [*cert[1:], cert[0]])
    assert basis.to_raw(gamma[:degree], gamma[degree]) == (cert[1:], cert[0])
    rounded = [Fraction(float(g)) for g in gamma]
    w, b = basis.to_raw(rounded[:degree], rounded[degree])
    assert lre([b, *w], cert) >= digits


@pytest.mark.parametrize(("name", "digits"), [("Filip", 12), ("Pontius", 12)])
def test_lstsq_in_the_basis_solves_nist(name: str, digits: int) -> None:
    """numpy.linalg.lstsq on the orthogonal basis, converted: Filip from ≈0 digits to ≥ 12."""
    spec = json.loads((NIST / "certified.json").read_text())[name]
    table = np.loadtxt(NIST / spec["csv"], delimiter=",", skiprows=1)
    x, y = table[:, 1], table[:, 0]
    basis = PolyBasis(x, spec["design"]["degree_or_num_predictors"])
    theta = np.linalg.lstsq(basis.design(), y, rcond=None)[0]
    w, b = basis.theta_to_raw(theta)
    assert lre([b, *w], [float(p["estimate"]) for p in spec["parameters"]]) >= digits


def test_degree_at_least_the_distinct_values_is_refused() -> None:
    with pytest.raises(DataError, match=r"'t' has 3 distinct values but a polynomial of degree "
                                        r"4 .* needs at least 5: t\^3, t\^4 are linear"):
        PolyBasis([1.0, 2.0, 2.0, 3.0, 1.0, 3.0], 4, name="t")


def test_no_intercept_counts_non_zero_values() -> None:
    with pytest.raises(DataError, match="2 distinct non-zero values"):
        PolyBasis([0.0, 1.0, 2.0, 0.0], 3, intercept=False)


def test_nearly_coincident_values_break_down() -> None:
    x = np.array([1.0, 1.0 + 1e-13, 2.0, 3.0, 4.0])
    with pytest.raises(DataError, match=r"x\^4 is numerically a combination"):
        PolyBasis(x, 4)


def test_power_names() -> None:
    assert power_names("age", 3) == ("age", "age^2", "age^3")


def quadratic_csv(write_csv: Callable[..., Path]) -> Path:
    rows = "".join(f"{x},{2 + 0.5 * x - 0.125 * x * x}\n" for x in range(-5, 9))
    return write_csv("x,y\n" + rows)


def test_cli_poly_reports_raw_powers(write_csv: Callable[..., Path]) -> None:
    path = quadratic_csv(write_csv)
    outcome = CliRunner().invoke(app, ["fit", str(path), "--poly", "2", "--format", "json",
                                       "--quiet"])
    assert outcome.exit_code == 0, outcome.output
    data = json.loads(outcome.stdout)
    assert data["features"] == ["x", "x^2"]
    assert data["w"] == pytest.approx([0.5, -0.125], rel=1e-12)
    assert data["b"] == pytest.approx(2.0, rel=1e-12)
    assert data["poly"] == {"column": "x", "degree": 2,
                            "basis": "orthogonal polynomials (Arnoldi), converted exactly"}
    assert data["stats"]["exact_fit"] is True


def test_cli_poly_table_and_progress(write_csv: Callable[..., Path]) -> None:
    path = quadratic_csv(write_csv)
    outcome = CliRunner().invoke(app, ["fit", str(path), "--poly", "2", "--stats",
                                       "--every", "1"])  # a quick fit: ask for the progress
    assert outcome.exit_code == 0, outcome.output
    assert "y ~ x + x^2" in outcome.stdout
    assert "w[x^2]" in outcome.stdout
    assert "x^2" in outcome.stderr  # the progress shows raw powers too


def test_cli_poly_needs_one_column(write_csv: Callable[..., Path]) -> None:
    path = write_csv("a,b,y\n1,2,3\n2,3,5\n3,5,8\n4,4,9\n")
    outcome = CliRunner().invoke(app, ["fit", str(path), "--poly", "2", "--quiet"])
    assert outcome.exit_code == 2
    assert "--poly needs a single x column; got 2 (a, b)" in outcome.output


def test_cli_poly_degree_too_high(write_csv: Callable[..., Path]) -> None:
    path = write_csv("x,y\n1,2\n2,3\n1,2.5\n2,3.5\n")
    outcome = CliRunner().invoke(app, ["fit", str(path), "--poly", "2", "--quiet"])
    assert outcome.exit_code == 1
    assert "'x' has 2 distinct values but a polynomial of degree 2" in outcome.output


@pytest.mark.parametrize("extra", [["--save", "m.json"], ["--each-file"]])
def test_cli_poly_refuses_what_it_cannot_do(extra: list[str],
                                            write_csv: Callable[..., Path]) -> None:
    path = quadratic_csv(write_csv)
    outcome = CliRunner().invoke(app, ["fit", str(path), "--poly", "2", "--quiet", *extra])
    assert outcome.exit_code == 2


def test_cli_precise_refuses_a_step(write_csv: Callable[..., Path]) -> None:
    path = quadratic_csv(write_csv)
    outcome = CliRunner().invoke(app, ["fit", str(path), "--precise", "--grad-tol", "1e-6",
                                       "--quiet"])
    assert outcome.exit_code == 2
    assert "--precise sets the step policy and the tolerances itself; drop --grad-tol" in \
        outcome.output


def test_cli_precise_on_plain_columns(write_csv: Callable[..., Path],
                                      rng: np.random.Generator) -> None:
    X = rng.normal(size=(30, 3)) * [1.0, 100.0, 0.01]
    X[:, 2] += X[:, 0] * 0.01  # correlated columns
    y = X @ [1.0, 0.02, 30.0] + 4.0 + rng.normal(size=30)
    path = write_csv("a,b,c,y\n" + "".join(",".join(repr(float(v)) for v in [*row, yv]) + "\n"
                                           for row, yv in zip(X, y, strict=True)))
    outcome = CliRunner().invoke(app, ["fit", str(path), "--precise", "--format", "json",
                                       "--quiet"])
    assert outcome.exit_code == 0, outcome.output
    data = json.loads(outcome.stdout)
    ref = np.linalg.lstsq(np.column_stack([X, np.ones(30)]), y, rcond=None)[0]
    assert [*data["w"], data["b"]] == pytest.approx(ref, rel=1e-11)
    assert data["precise"]["refinement_rounds"] >= 1


# --- raw-power coefficients that float64 cannot carry ------------------------------------

def legendre_rmse(x: np.ndarray, y: np.ndarray, degree: int) -> float:
    """The least-squares residual RMS of a degree-K polynomial, by numpy's Legendre fit on x
    mapped to [−1, 1] (well conditioned: an independent reference)."""
    t = (x - (x.min() + x.max()) / 2) / ((x.max() - x.min()) / 2)
    coef = np.polynomial.legendre.legfit(t, y, degree)
    return float(np.sqrt(np.mean((np.polynomial.legendre.legval(t, coef) - y) ** 2)))


@pytest.mark.parametrize("degree", [21, 22, 25])
def test_a_degree_past_what_float64_raw_powers_hold_is_refused(degree: int) -> None:
    # sin(x) on [0, 10] at degree ≥ 21 used to be reported as an exact fit with RMSE 0.
    x = np.linspace(0, 10, 200)
    y = np.sin(x) + 0.01 * np.random.default_rng(0).normal(size=x.size)
    with pytest.raises(DataError, match=f"a polynomial of degree {degree} in 'x0' cannot be "
                                        "written on the raw powers of x in double precision"):
        fit_model(x[:, None], y, poly=degree)


def test_far_from_zero_even_a_low_degree_is_refused(tmp_path: Path) -> None:
    x = np.linspace(100, 101, 50)
    path = tmp_path / "far.csv"
    path.write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in
                                       zip(x.tolist(), np.sin(x).tolist(), strict=True)))
    result = CliRunner().invoke(app, ["fit", str(path), "--poly", "8"])
    assert result.exit_code == 1
    assert (f"gdfit: error: {path}: a polynomial of degree 8 in 'x' "
            "cannot be written on the raw powers") in result.stderr
    assert "lower --poly" in result.stderr


def test_an_exact_polynomial_far_from_zero_is_still_fitted() -> None:
    x = np.linspace(100, 101, 30)
    fitted = fit_model(x[:, None], (x - 100) ** 2, poly=2)
    np.testing.assert_allclose([*fitted.result.w, fitted.result.b], [-200, 1, 10000],
                               rtol=1e-8)


@settings(max_examples=60, deadline=None)
@given(centre=st.floats(-150, 150), width=st.floats(0.5, 30), degree=st.integers(1, 24),
       seed=st.integers(0, 2**32 - 1))
def test_a_polynomial_fit_is_refused_or_its_rmse_is_the_references(
        centre: float, width: float, degree: int, seed: int) -> None:
    x = np.linspace(centre - width / 2, centre + width / 2, 60)
    y = np.sin(x) + 0.01 * np.random.default_rng(seed).normal(size=x.size)
    try:
        fitted = fit_model(x[:, None], y, poly=degree)
    except DataError as exc:
        assert "cannot be written on the raw powers" in str(exc)
        return
    assert fitted.result.rmse == pytest.approx(legendre_rmse(x, y, degree), rel=1e-3)
