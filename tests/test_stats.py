"""Inference statistics against textbook formulas, edge cases and failure messages."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from scipy import stats as sps
from typer.testing import CliRunner

from gdfit.basis import ColumnBasis
from gdfit.cli import app
from gdfit.errors import ConvergenceWarning, DataError, OptionError
from gdfit.precise import fit_model
from gdfit.render_stats import fmt_p, stats_dict, stats_table
from gdfit.stats import compute_statistics, statistics

# Simple regression, checked by hand: x̄ = 3, ȳ = 6, Sxx = 10, Sxy = 19.7, so slope = 1.97,
# intercept = 0.09; residuals 0.04, −0.13, 0.20, −0.17, 0.06, RSS = 0.091, s² = 0.091/3.
X1 = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
Y1 = np.array([2.1, 3.9, 6.2, 7.8, 10.0])


def render(renderable: object) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_simple_regression_matches_the_hand_computation() -> None:
    s = statistics(X1, Y1, [1.97], 0.09, features=("x",))
    b0, b1 = s.parameters
    assert b0.name == "(Intercept)" and b1.name == "x"
    sigma2 = 0.091 / 3
    assert s.residual_sd == pytest.approx(math.sqrt(sigma2), rel=1e-12)
    assert b1.std_error == pytest.approx(math.sqrt(sigma2 / 10), rel=1e-12)
    assert b0.std_error == pytest.approx(math.sqrt(sigma2 * (1 / 5 + 9 / 10)), rel=1e-12)
    assert b1.t_value == pytest.approx(1.97 / math.sqrt(sigma2 / 10), rel=1e-12)
    assert b1.p_value == pytest.approx(2 * sps.t.sf(abs(b1.t_value), 3), rel=1e-10)
    q = sps.t.ppf(0.975, 3)
    assert (b1.ci_low, b1.ci_high) == pytest.approx(
        (1.97 - q * b1.std_error, 1.97 + q * b1.std_error), rel=1e-12)
    tss = float(np.sum((Y1 - 6.0) ** 2))
    assert s.r2 == pytest.approx(1 - 0.091 / tss, rel=1e-12)
    assert s.adj_r2 == pytest.approx(1 - (0.091 / 3) / (tss / 4), rel=1e-12)
    assert s.f_statistic == pytest.approx((tss - 0.091) / sigma2, rel=1e-10)
    assert s.df_model == 1 and s.df_residual == 3 and s.n == 5 and s.p == 2
    assert s.rmse == pytest.approx(math.sqrt(0.091 / 5), rel=1e-12)


def statsmodels_style(X: np.ndarray, y: np.ndarray, intercept: bool, level: float
                      ) -> dict[str, np.ndarray | float]:
    """OLS inference the way statsmodels computes it (pinv of the design), in numpy/scipy."""
    V = np.column_stack([X, np.ones(len(y))]) if intercept else X
    n, p = V.shape
    pinv = np.linalg.pinv(V)
    beta = pinv @ y
    resid = y - V @ beta
    df = n - p
    scale = resid @ resid / df
    se = np.sqrt(np.diag(scale * pinv @ pinv.T))
    t = beta / se
    centred = y - y.mean() if intercept else y
    tss = centred @ centred
    ess = tss - resid @ resid
    k = p - int(intercept)
    f = (ess / k) / scale
    q = sps.t.ppf(0.5 + level / 2, df)
    return {"beta": beta, "se": se, "t": t, "p": 2 * sps.t.sf(np.abs(t), df),
            "lo": beta - q * se, "hi": beta + q * se, "r2": 1 - (resid @ resid) / tss,
            "adj": 1 - (resid @ resid / df) / (tss / (n - int(intercept))), "f": f,
            "f_p": sps.f.sf(f, k, df), "sigma": math.sqrt(scale)}


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("level", [0.95, 0.9])
def test_multiple_regression_matches_statsmodels_formulas(
        intercept: bool, level: float, rng: np.random.Generator) -> None:
    X = rng.normal(size=(40, 3)) * [1.0, 10.0, 0.1] + [5.0, -2.0, 1.0]
    y = X @ [0.5, -0.2, 3.0] + (1.5 if intercept else 0.0) + rng.normal(size=40)
    ref = statsmodels_style(X, y, intercept, level)
    beta = np.asarray(ref["beta"])
    w, b = (beta[:-1], float(beta[-1])) if intercept else (beta, None)
    s = statistics(X, y, w, b, features=("a", "b", "c"), level=level)
    order = [3, 0, 1, 2] if intercept else [0, 1, 2]  # stats list the intercept first
    for key, attr in (("se", "std_error"), ("t", "t_value"), ("p", "p_value"),
                      ("lo", "ci_low"), ("hi", "ci_high")):
        got = [getattr(row, attr) for row in s.parameters]
        assert got == pytest.approx(np.asarray(ref[key])[order], rel=1e-9), key
    assert s.r2 == pytest.approx(ref["r2"], rel=1e-12)
    assert s.adj_r2 == pytest.approx(ref["adj"], rel=1e-12)
    assert s.f_statistic == pytest.approx(ref["f"], rel=1e-9)
    assert s.f_p_value == pytest.approx(ref["f_p"], rel=1e-6, abs=1e-300)
    assert s.residual_sd == pytest.approx(ref["sigma"], rel=1e-12)
    assert s.df_model == 3  # p − 1 with an intercept, p without
    assert s.ci_level == level


def test_wider_level_gives_wider_intervals() -> None:
    narrow = statistics(X1, Y1, [1.97], 0.09, level=0.9).parameters[1]
    wide = statistics(X1, Y1, [1.97], 0.09, level=0.99).parameters[1]
    assert wide.ci_low < narrow.ci_low < 1.97 < narrow.ci_high < wide.ci_high


def test_n_equals_p_gives_undefined_standard_errors() -> None:
    s = statistics([1.0, 2.0], [3.0, 5.0], [2.0], 1.0)
    assert s.df_residual == 0
    assert all(math.isnan(r.std_error) and math.isnan(r.t_value) and math.isnan(r.ci_low)
               for r in s.parameters)
    assert math.isnan(s.residual_sd) and math.isnan(s.adj_r2) and math.isnan(s.f_statistic)
    assert any("no residual degrees of freedom" in note for note in s.notes)
    text = render(stats_table(s))
    assert "—" in text and "on 0 degrees of freedom" in text
    data = json.loads(json.dumps(stats_dict(s), allow_nan=True))
    assert math.isnan(data["parameters"][0]["std_error"])


def test_exact_fit_has_zero_residual_sd_and_says_so() -> None:
    x = np.arange(6.0)
    s = statistics(x, 3.0 * x + 2.0, [3.0], 2.0)
    assert s.exact_fit and s.residual_sd == 0.0 and s.r2 == 1.0
    assert all(r.std_error == 0.0 and math.isinf(r.t_value) and r.p_value == 0.0
               for r in s.parameters)
    assert any(note.startswith("exact fit") for note in s.notes)
    assert "(exact fit)" in render(stats_table(s))


def test_a_noisy_fit_is_not_called_exact() -> None:
    s = statistics(X1, Y1, [1.97], 0.09)
    assert not s.exact_fit and s.residual_sd > 0 and s.notes == ()


def test_duplicate_columns_are_named() -> None:
    X = np.column_stack([X1, X1**2, X1])
    with pytest.raises(DataError, match=r"columns 'a', 'c' are linearly dependent"):
        fit_model(X, Y1, features=("a", "b", "c"))


def test_linear_combination_names_every_column_involved(rng: np.random.Generator) -> None:
    X = rng.normal(size=(20, 4))
    X[:, 3] = X[:, 0] + 2 * X[:, 2]
    with pytest.raises(DataError, match=r"columns 'p', 'r', 's' are linearly dependent"):
        ColumnBasis(X, ("p", "q", "r", "s"))


def test_nearly_dependent_columns_are_reported(rng: np.random.Generator) -> None:
    X = rng.normal(size=(30, 2))
    X[:, 1] = X[:, 0] + 1e-10 * rng.normal(size=30)
    with pytest.raises(DataError, match=r"nearly linearly dependent \(σ_min/σ_max = "):
        ColumnBasis(X, ("u", "v"))


def test_rank_deficiency_through_the_cli(write_csv: Callable[..., Path]) -> None:
    path = write_csv("a,b,y\n1,2,3\n2,4,5\n3,6,8\n4,8,9\n")
    outcome = CliRunner().invoke(app, ["fit", str(path), "--quiet"])
    assert outcome.exit_code == 1
    assert "columns 'a', 'b' are linearly dependent" in outcome.output


def test_unconverged_run_is_flagged_beside_its_statistics(
        write_csv: Callable[..., Path]) -> None:
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        fitted = fit_model(np.column_stack([X1, X1**2]), Y1, features=("a", "b"), max_iter=1)
    assert not fitted.stats.converged
    assert any("stopped short of its tolerance" in note for note in fitted.stats.notes)
    path = write_csv("a,b,y\n" + "".join(f"{a},{a * a},{v}\n" for a, v in zip(X1, Y1,
                                                                              strict=True)))
    outcome = CliRunner().invoke(app, ["fit", str(path), "--stats", "--max-iter", "1",
                                       "--quiet"])
    assert outcome.exit_code == 3
    assert "⚠ gradient descent stopped short of its tolerance" in outcome.stdout


def test_stats_table_like_summary_lm(write_csv: Callable[..., Path]) -> None:
    path = write_csv("x,y\n" + "".join(f"{a},{v}\n" for a, v in zip(X1, Y1, strict=True)))
    outcome = CliRunner().invoke(app, ["fit", str(path), "--stats", "--ci", "0.9",
                                       "--quiet"])
    assert outcome.exit_code == 0, outcome.output
    text = outcome.stdout
    for piece in ("Estimate", "Std. Error", "t value", "Pr(>|t|)", "(Intercept)",
                  "Residual standard error: 0.1741647 on 3 degrees of freedom",
                  "Multiple R-squared:", "F-statistic:", "on 1 and 3 DF",
                  "90% confidence intervals:", "5 %", "95 %"):
        assert piece in text, piece


def test_json_always_carries_the_statistics(write_csv: Callable[..., Path]) -> None:
    path = write_csv("x,y\n" + "".join(f"{a},{v}\n" for a, v in zip(X1, Y1, strict=True)))
    outcome = CliRunner().invoke(app, ["fit", str(path), "--format", "json", "--quiet"])
    assert outcome.exit_code == 0, outcome.output
    stats = json.loads(outcome.stdout)["stats"]
    slope = stats["parameters"][1]
    assert slope["name"] == "x"
    assert slope["std_error"] == pytest.approx(math.sqrt(0.091 / 3 / 10), rel=1e-9)
    assert stats["df_residual"] == 3 and stats["r2_kind"] == "centred"
    assert stats["ci_level"] == 0.95 and stats["converged"] is True


@pytest.mark.parametrize("level", ["0", "1", "1.5", "nan"])
def test_bad_confidence_level_is_a_usage_error(level: str,
                                               write_csv: Callable[..., Path]) -> None:
    path = write_csv("x,y\n1,2\n2,4\n3,7\n")
    outcome = CliRunner().invoke(app, ["fit", str(path), "--ci", level, "--quiet"])
    assert outcome.exit_code == 2
    assert "--ci must lie strictly between 0 and 1" in outcome.output


def test_check_level_in_the_library() -> None:
    with pytest.raises(OptionError):
        compute_statistics(ColumnBasis(X1[:, None], ("x",)), Y1, np.array([2.0]), 0.0,
                           level=1.0)


def test_p_value_formatting() -> None:
    assert fmt_p(1e-300) == "< 2.2e-16"
    assert fmt_p(0.04321) == "0.04321"
    assert fmt_p(math.nan) == "—"


def test_rank_deficiency_from_the_sufficient_statistics(write_csv: Callable[..., Path]) -> None:
    """The gram engine (no rows kept) checks the moments and names the same columns."""
    path = write_csv("a,b,c,y\n1,2,1,3\n2,3,2,5\n3,5,3,6\n4,4,4,9\n5,7,5,9\n")
    outcome = CliRunner().invoke(app, ["fit", str(path), "--engine", "gram", "--quiet"])
    assert outcome.exit_code == 1
    assert "columns 'a', 'c' are linearly dependent" in outcome.output


def test_moment_check_agrees_with_the_row_check(rng: np.random.Generator) -> None:
    from gdfit.basis import check_rank_moments
    from gdfit.objective import LeastSquares

    X = rng.normal(size=(25, 3))
    X[:, 2] = 2 * X[:, 0] - X[:, 1] + 4
    problem = LeastSquares.from_arrays(X, np.zeros(25))
    with pytest.raises(DataError, match=r"columns 'a', 'b', 'c' are linearly dependent"):
        check_rank_moments(problem, ("a", "b", "c"))
    check_rank_moments(LeastSquares.from_arrays(X, np.zeros(25), intercept=False),
                       ("a", "b", "c"))  # + 4 is not in the span without an intercept


@pytest.mark.parametrize("df", [1, 5, 37, 995])
def test_distribution_helpers_match_scipy_stats(df: int) -> None:
    from scipy import stats as sps

    from gdfit.stats import f_survival, t_quantile, t_two_sided_p

    for t in (0.3, 2.0, 6.24, 40.9, 4639.0):
        assert t_two_sided_p(t, df) == pytest.approx(2 * sps.t.sf(t, df), rel=1e-10, abs=1e-300)
        assert t_two_sided_p(-t, df) == t_two_sided_p(t, df)
    assert t_quantile(0.975, df) == pytest.approx(sps.t.ppf(0.975, df), rel=1e-12)
    for f in (0.5, 3.0, 1899.959, 1.8e8):
        assert f_survival(f, 2, df) == pytest.approx(sps.f.sf(f, 2, df), rel=1e-9, abs=1e-300)
