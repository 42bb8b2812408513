"""Seeing the descent: --trace, --plot, --plot-file, --explain and the progress bar."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import random_problem
from rich.console import Console
from typer.testing import CliRunner

import gdfit
import gdfit.cli.progress as progress_mod
import gdfit.trace as trace_mod
from gdfit.cli import app
from gdfit.cli.progress import DescentBar
from gdfit.errors import OptionError
from gdfit.explain import EXPLAIN_MAX_ITER, explain_lines
from gdfit.objective import LeastSquares
from gdfit.plot import excess_loss, image_plot, series_of, terminal_plot
from gdfit.result import IterRecord
from gdfit.steps import make_step
from gdfit.trace import open_trace, write_trace

runner = CliRunner()


def read_trace(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def cell(text: str) -> float:
    return math.nan if text == "" else float(text)


@pytest.fixture
def housing_like(tmp_path: Path) -> Path:
    X, y = random_problem(21, 60, 2)
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,price", comments="")
    return path


# --- trace -------------------------------------------------------------------------------

def test_trace_has_one_row_per_iteration_matching_the_history(tmp_path: Path) -> None:
    X, y = random_problem(20, 50, 2)
    result = gdfit.fit(X, y, features=["a", "b"], step="backtracking", history=True)
    path = tmp_path / "t.csv"
    assert write_trace(path, [("backtracking", result)]) == result.iterations + 1
    rows = read_trace(path)
    assert list(rows[0]) == ["policy", "iteration", "loss", "grad_norm", "step_size", "w_a",
                             "w_b", "b"]
    assert len(rows) == result.iterations + 1
    for row, rec in zip(rows, result.history, strict=True):
        assert row["policy"] == "backtracking" and int(row["iteration"]) == rec.iteration
        # Full precision: the file gives back exactly the floats of the history.
        assert float(row["loss"]) == rec.loss and float(row["grad_norm"]) == rec.grad_norm
        assert [float(row["w_a"]), float(row["w_b"])] == rec.w.tolist()
        assert float(row["b"]) == rec.b
    assert rows[0]["step_size"] == ""  # iteration 0 has taken no step
    assert float(rows[1]["step_size"]) == result.history[1].step_size


def test_trace_without_intercept_has_no_b_column(tmp_path: Path) -> None:
    X, y = random_problem(22, 30, 1, intercept=False)
    result = gdfit.fit(X, y, intercept=False, history=True)
    write_trace(tmp_path / "t.csv", [("exact", result)])
    assert list(read_trace(tmp_path / "t.csv")[0]) == ["policy", "iteration", "loss",
                                                       "grad_norm", "step_size", "w_x0"]


def test_trace_write_that_fails_leaves_no_file(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = random_problem(23, 40, 2)
    result = gdfit.fit(X, y, step="exact", history=True)
    real = trace_mod.trace_row

    def broken(label: str, rec: IterRecord, intercept: bool) -> list[object]:
        if rec.iteration == 3:
            raise KeyboardInterrupt  # as if Ctrl-C came while writing
        return real(label, rec, intercept)

    monkeypatch.setattr(trace_mod, "trace_row", broken)
    target = tmp_path / "t.csv"
    with pytest.raises(KeyboardInterrupt):
        write_trace(target, [("exact", result)])
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind either
    target.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        write_trace(target, [("exact", result)], force=True)
    assert target.read_text() == "old\n"  # the previous file is untouched


def test_the_trace_is_on_disk_while_the_fit_runs(tmp_path: Path) -> None:
    X, y = random_problem(30, 50, 2)
    target = tmp_path / "t.csv"
    on_disk: list[int] = []

    def look(rec: IterRecord) -> None:
        if rec.iteration == 3000:
            (temporary,) = [p for p in tmp_path.iterdir() if p.name.startswith(".t.csv.")]
            on_disk.append(temporary.stat().st_size)
            assert not target.exists()  # the file appears only when the runs are done

    with open_trace(target, ["a", "b"], True) as trace:
        result = gdfit.fit(X, y, features=["a", "b"], step="fixed", alpha=1e-3, max_iter=5000,
                           grad_tol=0, loss_tol=0, history=trace.history("fixed", limit=16),
                           callback=look, every=1000)
    # 3000 rows of ~100 bytes were written, less at most one buffer of 8 KiB.
    assert on_disk and on_disk[0] > 200_000
    assert trace.rows == 5001 and len(read_trace(target)) == 5001
    assert len(result.history) <= 17  # while the history kept stays bounded


def test_ctrl_c_right_after_a_row_is_written_does_not_write_it_twice(tmp_path: Path) -> None:
    # The signal lands after iteration 40's row reached the trace but before the history took
    # the record: the descent hands the iterate over again, and the trace must not repeat it.
    X, y = random_problem(31, 50, 2)
    target = tmp_path / "t.csv"
    with open_trace(target, ["a", "b"], True) as trace:
        history = trace.history("fixed", limit=16)
        write = history.sink
        assert write is not None
        interrupted: list[int] = []

        def sink(rec: IterRecord) -> None:
            write(rec)
            if rec.iteration == 40 and not interrupted:
                interrupted.append(40)
                raise KeyboardInterrupt

        history.sink = sink
        result = gdfit.fit(X, y, features=["a", "b"], step="fixed", alpha=1e-3, max_iter=1000,
                           grad_tol=0, loss_tol=0, history=history, catch_interrupt=True)
    assert result.stop_reason.value == "interrupted" and result.iterations == 40
    assert [int(r["iteration"]) for r in read_trace(target)] == list(range(41))
    assert trace.rows == 41


def test_cli_fit_trace(housing_like: Path, tmp_path: Path) -> None:
    out = tmp_path / "trace.csv"
    r = runner.invoke(app, ["fit", str(housing_like), "--trace", str(out), "-f", "json"])
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    rows = read_trace(out)
    assert len(rows) == result["iterations"] + 1
    assert {row["policy"] for row in rows} == {"cg"}
    last = rows[-1]
    assert [float(last["w_a"]), float(last["w_b"])] == result["w"]
    assert float(last["b"]) == result["b"]
    assert f"wrote {len(rows)} iterations to {out}" in r.stderr


def test_cli_compare_trace_holds_every_policy(housing_like: Path, tmp_path: Path) -> None:
    out = tmp_path / "trace.csv"
    r = runner.invoke(app, ["compare", str(housing_like), "--steps", "exact,fixed:alpha=0.1",
                            "--trace", str(out), "-f", "json", "-q"])
    assert r.exit_code == 0, r.output
    results = {row["policy"]: row for row in json.loads(r.stdout)["results"]}
    rows = read_trace(out)
    for name in ("exact", "fixed"):
        mine = [row for row in rows if row["policy"] == name]
        assert len(mine) == results[name]["iterations"] + 1
        assert [int(row["iteration"]) for row in mine] == list(range(len(mine)))


def test_cli_trace_into_a_missing_folder_is_refused_before_fitting(housing_like: Path,
                                                                   tmp_path: Path) -> None:
    r = runner.invoke(app, ["fit", str(housing_like), "--trace",
                            str(tmp_path / "nope" / "t.csv")])
    assert r.exit_code == 1
    assert "no such directory" in r.stderr
    assert r.stdout == ""


# --- plots -------------------------------------------------------------------------------

def test_excess_loss_is_the_loss_difference() -> None:
    X, y = random_problem(24, 40, 2)
    problem = LeastSquares.from_arrays(X, y)
    best = np.linalg.lstsq(np.column_stack([X, np.ones(40)]), y, rcond=None)[0]
    theta = best + np.array([[0.1, -0.2, 0.3], [1.0, 0.0, -1.0]])
    expected = [problem.loss(t) - problem.loss(best) for t in theta]
    np.testing.assert_allclose(excess_loss(problem, theta, best), expected, rtol=1e-9)


def test_terminal_plot_draws_every_policy() -> None:
    X, y = random_problem(25, 40, 2)
    problem = LeastSquares.from_arrays(X, y)
    series = [series_of(name, gdfit.fit(X, y, step=name, history=True), problem)
              for name in ("exact", "backtracking")]
    text = terminal_plot(series, width=70, height=16)
    assert "exact" in text and "backtracking" in text and "iteration" in text
    assert "\x1b[" not in text  # no colour unless asked for
    assert len(text.splitlines()) == 16


def test_cli_plot_goes_to_stderr_and_stdout_stays_json(housing_like: Path) -> None:
    r = runner.invoke(app, ["compare", str(housing_like), "--steps", "exact,backtracking",
                            "--plot", "-f", "json"])
    assert r.exit_code == 0, r.output
    json.loads(r.stdout)  # nothing but the result on stdout
    assert "loss − least-squares minimum" in r.stderr
    assert "exact" in r.stderr and "backtracking" in r.stderr and "┤" in r.stderr
    r = runner.invoke(app, ["fit", str(housing_like), "--plot", "-f", "json", "-q"])
    assert r.exit_code == 0
    json.loads(r.stdout)
    assert "iteration" in r.stderr


@pytest.mark.filterwarnings("ignore::gdfit.errors.ConvergenceWarning")  # budgets on purpose
def test_png_with_contours_for_one_x_column(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    X, y = random_problem(26, 40, 1)
    problem = LeastSquares.from_arrays(X, y)
    results = [gdfit.fit(X, y, step=s, scale="none", history=True, max_iter=200)
               for s in ("exact", "backtracking")]
    series = [series_of(s, r, problem) for s, r in zip(("exact", "bt"), results, strict=True)]
    png = tmp_path / "p.png"
    assert image_plot(str(png), series, problem=problem, best=results[0].lstsq_theta) is True
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    X2, y2 = random_problem(27, 40, 2)
    p2 = LeastSquares.from_arrays(X2, y2)
    s2 = [series_of("exact", gdfit.fit(X2, y2, history=True), p2)]
    assert image_plot(str(tmp_path / "q.png"), s2, problem=p2, best=None) is False
    assert [p.name for p in tmp_path.iterdir()] != []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_plot_file(housing_like: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "loss.png"
    r = runner.invoke(app, ["compare", str(housing_like), "--steps", "exact,bb",
                            "--plot-file", str(png), "-q"])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:4] == b"\x89PNG"
    r = runner.invoke(app, ["fit", str(housing_like), "--plot-file", str(tmp_path / "x.gif")])
    assert r.exit_code == 2 and ".png, .svg or .pdf" in r.stderr


def test_missing_matplotlib_is_a_clean_usage_error(housing_like: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    png = tmp_path / "p.png"
    for command in ("fit", "compare"):
        r = runner.invoke(app, [command, str(housing_like), "--plot-file", str(png)])
        assert r.exit_code == 2
        lines = r.stderr.strip().splitlines()
        assert lines[-1].startswith("gdfit: error: --plot-file needs matplotlib")
        assert "pip install 'gdfit[plot]'" in lines[-1]
        assert r.stdout == "" and not png.exists()
    with pytest.raises(OptionError, match="matplotlib"):
        image_plot(str(png), [])


# --- explain -----------------------------------------------------------------------------

def test_explain_does_the_tutorial_arithmetic(tutorial_csv: Path) -> None:
    r = runner.invoke(app, ["fit", str(tutorial_csv), "--explain", "--max-iter", "2",
                            "--scale", "none", "--step", "fixed", "--alpha", "0.05",
                            "-f", "json"])
    assert r.exit_code == 3  # the budget ran out, as asked
    text = r.stderr
    # By hand: at w = b = 0 the residuals are y; ∂f/∂w = −(2/3)(1·2 + 2·4 + 3·6) = −56/3,
    # ∂f/∂b = −(2/3)(2 + 4 + 6) = −8; then w = 0.05·56/3 = 0.933333, b = 0.05·8 = 0.4.
    assert "∂f/∂w[x] = −(2/3)·(2·1 + 4·2 + 6·3) = -18.6667" in text
    assert "∂f/∂b = −(2/3)·(2 + 4 + 6) = -8" in text
    assert "step α = 0.05   (fixed: constant α)" in text
    assert "w[x] ← w[x] − α·∂f/∂w[x] = 0 − 0.05·(-18.6667) = 0.933333" in text
    assert "b ← b − α·∂f/∂b = 0 − 0.05·(-8) = 0.4" in text
    assert "iteration 2:" in text and "iteration 3:" not in text
    assert "data's own units" in text
    # The explanation is the run itself: its last point is the result.
    result = json.loads(r.stdout)
    assert f"w[x] ← w[x] − α·∂f/∂w[x] = 0.933333 − 0.05·(-8.35556) = " \
           f"{result['w'][0]:.6g}" in text


@pytest.mark.filterwarnings("ignore::gdfit.errors.ConvergenceWarning")  # budgets on purpose
def test_explain_replays_the_fit_exactly_in_scaled_coordinates() -> None:
    X, y = random_problem(28, 30, 2)
    policy = make_step("backtracking")
    result = gdfit.fit(X, y, step=policy, max_iter=6, history=True)
    lines = list(explain_lines(X, y, features=["x0", "x1"], target="y", intercept=True,
                               scale="standard", policy=policy, iterations=result.iterations))
    text = "\n".join(lines)
    assert "standardised" in text and "z[x0] = (x0 − " in text
    assert text.count("\niteration ") == 6
    last = [ln for ln in lines if "in data units" in ln][-1]
    assert f"w[x0] = {result.w[0]:.6g}, w[x1] = {result.w[1]:.6g}, b = {result.b:.6g}" in last
    assert "Armijo holds" in text  # the policy's own reason


def test_explain_refuses_long_runs(tutorial_csv: Path) -> None:
    r = runner.invoke(app, ["fit", str(tutorial_csv), "--explain"])
    assert r.exit_code == 2
    assert f"--max-iter ≤ {EXPLAIN_MAX_ITER}" in r.stderr and "(got 100000)" in r.stderr
    r = runner.invoke(app, ["fit", str(tutorial_csv), "--explain", "--max-iter",
                            str(EXPLAIN_MAX_ITER + 1)])
    assert r.exit_code == 2


# --- progress bar ------------------------------------------------------------------------

def test_bar_is_off_without_a_terminal() -> None:
    policy = make_step("exact")
    bar = DescentBar(Console(file=io.StringIO(), force_terminal=False), 100,
                     enabled=Console(file=io.StringIO()).is_terminal)
    assert bar.watch(policy) is policy


def test_bar_follows_the_run_without_changing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_mod, "SHOW_AFTER", 0.0)
    monkeypatch.setattr(progress_mod, "REFRESH", 0.0)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    X, y = random_problem(29, 50, 3)
    plain = gdfit.fit(X, y, step="fixed", alpha=0.05, max_iter=300, grad_tol=0)
    with DescentBar(console, 300, enabled=True) as bar:
        watched = bar.watch(make_step("fixed", alpha=0.05), loss_factor=2.0)
        assert watched.describe() == "fixed(alpha=0.05)" and watched.name == "fixed"
        seen = gdfit.fit(X, y, step=watched, max_iter=300, grad_tol=0)
    np.testing.assert_array_equal(seen.theta, plain.theta)
    assert seen.step == plain.step
    shown = screen.getvalue()
    assert "fixed" in shown and "/300" in shown and "loss" in shown
