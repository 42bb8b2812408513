"""`gdfit fit` as users meet it: CliRunner for output and exit codes, and real subprocesses."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gdfit import __version__
from gdfit.cli import app
from gdfit.errors import ExitCode
from tests.conftest import lstsq

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_data"
WriteCsv = Callable[..., Path]


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_version_and_help() -> None:
    code, out, _ = run("--version")
    assert code == 0 and out.strip() == f"gdfit {__version__}"
    code, out, _ = run("fit", "--help")
    assert code == 0
    for option in ("--x", "--y", "--step", "--alpha", "--max-iter", "--grad-tol", "--loss-tol",
                   "--scale", "--format", "--every", "--quiet", "--no-header", "--sep",
                   "--dropna", "--no-intercept", "Examples"):
        assert option in out


def test_json_result_matches_lstsq_and_names_columns() -> None:
    code, out, err = run("fit", str(SAMPLES / "housing.csv"), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["features"] == ["area_m2", "rooms", "age_years", "distance_km"]
    assert data["target"] == "price_k"
    table = np.loadtxt(SAMPLES / "housing.csv", delimiter=",", skiprows=1)
    expected = lstsq(table[:, :-1], table[:, -1])
    got = np.array([*data["w"], data["b"]])
    assert np.linalg.norm(got - expected) <= 1e-8 * np.linalg.norm(expected)
    assert data["converged"] is True and data["stop_reason"] == "grad_tol"
    for key in ("loss", "rmse", "r2", "iterations", "elapsed_s", "lstsq_distance", "message"):
        assert key in data
    # The note on which columns were used goes to stderr, not into the JSON (conjugate
    # gradient ends in 4 iterations: too quick for a progress table).
    assert "chosen automatically" in err and "loss (MSE)" not in err


def test_csv_and_table_formats() -> None:
    code, out, _ = run("fit", str(SAMPLES / "tutorial.csv"), "--format", "csv", "-q")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 1
    assert float(rows[0]["w_x"]) == pytest.approx(2.0, rel=1e-9)
    assert rows[0]["converged"] == "True"
    code, out, _ = run("fit", str(SAMPLES / "tutorial.csv"), "-q")
    assert code == 0 and "w[x]" in out and "converged" in out and "\x1b[" not in out


def test_explicit_columns_by_name_and_index(write_csv: WriteCsv) -> None:
    path = write_csv("a,b,c\n1,5,2\n2,3,4.5\n3,8,5.5\n4,1,8.2\n5,0,9.9\n")
    by_name = json.loads(run("fit", str(path), "--x", "c,a", "--y", "b", "-f", "json", "-q")[1])
    by_index = json.loads(run("fit", str(path), "--x", "2,0", "--y", "1", "-f", "json", "-q")[1])
    assert by_name["features"] == ["c", "a"] and by_name["w"] == by_index["w"]
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    expected = lstsq(table[:, [2, 0]], table[:, 1])
    np.testing.assert_allclose([*by_name["w"], by_name["b"]], expected, rtol=1e-8)


def test_stdin_and_headerless_tab_separated() -> None:
    code, out, _ = run("fit", "-", "--no-header", "--x", "0", "--y", "1", "-f", "json", "-q",
                       input="1\t2\n2\t4\n3\t6.5\n")
    assert code == 0
    data = json.loads(out)
    assert data["source"] == "<stdin>" and data["features"] == ["0"]
    np.testing.assert_allclose([*data["w"], data["b"]],
                               lstsq(np.array([[1.0], [2.0], [3.0]]), np.array([2, 4, 6.5])),
                               rtol=1e-9)


def test_no_intercept_gives_null_b() -> None:
    code, out, _ = run("fit", str(SAMPLES / "tutorial.csv"), "--no-intercept", "-f", "json", "-q")
    data = json.loads(out)
    assert code == 0 and data["b"] is None and data["intercept"] is False
    assert data["w"][0] == pytest.approx(2.0, rel=1e-10)


def test_not_converged_exits_3_with_results_and_zero_with_tolerances_off() -> None:
    path = str(SAMPLES / "tutorial.csv")
    code, out, err = run("fit", path, "--step", "fixed", "--alpha", "0.01", "--max-iter", "1000",
                         "--scale", "none", "-f", "json")
    assert code == ExitCode.NOT_CONVERGED
    data = json.loads(out)
    assert data["converged"] is False and data["stop_reason"] == "max_iter"
    assert data["w"][0] == pytest.approx(1.97078250602932, rel=1e-9)
    assert "max_iter" in err
    code, _, _ = run("fit", path, "--step", "fixed", "--alpha", "0.01", "--max-iter", "10",
                     "--grad-tol", "0", "-q")
    assert code == ExitCode.OK


def test_divergence_exits_4_with_advice() -> None:
    code, out, err = run("fit", str(SAMPLES / "housing.csv"), "--step", "fixed", "--alpha", "3",
                         "-f", "json")
    assert code == ExitCode.DIVERGED
    data = json.loads(out)
    assert data["status"] == "diverged" and "smaller --alpha" in data["message"]
    assert "diverged" in err


def test_every_and_quiet_control_progress() -> None:
    path = str(SAMPLES / "tutorial.csv")
    _, _, err = run("fit", path, "--step", "fixed", "--alpha", "0.01", "--max-iter", "30",
                    "--scale", "none", "--every", "10")
    lines = [ln.split()[0] for ln in err.splitlines() if ln.strip()[:1].isdigit()]
    assert lines == ["0", "10", "20", "30"]
    _, _, err = run("fit", path, "-q", "--step", "fixed", "--max-iter", "30", "--scale", "none")
    assert err == ""


@pytest.mark.parametrize(
    ("content", "args", "code", "fragments"),
    [
        (None, [], 1, ["no such file"]),
        ("", [], 1, ["the file is empty"]),
        ("x,y\n", [], 1, ["no data rows (only a header)"]),
        ("x,y\n1,2\n2,4\n3,7\n", ["--x", "z"], 1, ["no column 'z'", "columns are: x, y"]),
        ("x,y\n1,2\n2,abc\n3,7\n", [], 1, ["column 'y'", "line 3", "'abc' is not a number"]),
        ("x,y\n1,2\n2,nan\n3,7\n4,inf\n", [], 1, ["column 'y'", "lines 3, 5", "--dropna"]),
        ("a,b,y\n1,2,3\n2,3,5\n", [], 1, ["2 rows but 3 parameters"]),
        ("x,k,y\n1,5,2\n2,5,4\n3,5,7\n", [], 1, ["column 'k' is constant"]),
        ("x,y\n1,2\n2,4\n3,7\n", ["--alpha", "0", "--step", "fixed"], 2, ["--alpha must be"]),
        ("x,y\n1,2\n2,4\n3,7\n", ["--grad-tol", "-1"], 2, ["--grad-tol must be"]),
        ("x,y\n1,2\n2,4\n3,7\n", ["--loss-tol", "-1"], 2, ["--loss-tol must be"]),
        ("x,y\n1,2\n2,4\n3,7\n", ["--alpha", "0.1"], 2, ["--alpha has no effect"]),
        ("x,y\n1,2\n2,4\n3,7\n", ["--armijo-c", "0.1"], 2, ["--armijo-c has no effect"]),
        ("x,y\n1,2\n2,4\n3,7\n", ["--x", "x", "--y", "x"], 2, ["both as x and as y"]),
    ],
)
def test_bad_input_gives_one_line_and_exit_code(write_csv: WriteCsv, content: str | None,
                                                args: list[str], code: int,
                                                fragments: list[str], tmp_path: Path) -> None:
    path = tmp_path / "missing.csv" if content is None else write_csv(content, "bad.csv")
    result = runner.invoke(app, ["fit", str(path), *args])
    assert result.exit_code == code, result.stderr
    err_lines = [ln for ln in result.stderr.splitlines() if ln.startswith("gdfit: error:")]
    assert len(err_lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in err_lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""
    if code == 1:
        assert path.name in err_lines[0]


def test_dropna_drops_and_says_how_many(write_csv: WriteCsv) -> None:
    path = write_csv("x,y\n1,2\n2,\n3,6\n4,inf\n5,10\n")
    code, out, err = run("fit", str(path), "--dropna", "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert data["n_obs"] == 3 and data["dropped_rows"] == 2
    assert "dropped 2 rows" in err
    assert data["w"][0] == pytest.approx(2.0, rel=1e-9)


def test_unknown_choice_is_a_usage_error() -> None:
    result = runner.invoke(app, ["fit", str(SAMPLES / "tutorial.csv"), "--step", "sideways"])
    assert result.exit_code == 2


# --- real subprocesses of the installed command -------------------------------------------------

GDFIT = shutil.which("gdfit")
needs_gdfit = pytest.mark.skipif(GDFIT is None, reason="the gdfit command is not installed")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    env.update(extra)
    return env


@needs_gdfit
def test_subprocess_pipeline_from_stdin_has_clean_json() -> None:
    text = (SAMPLES / "sensor.csv").read_text()
    proc = subprocess.run([GDFIT or "gdfit", "fit", "-", "--format", "json"], input=text,
                          capture_output=True, text=True, env=_env(TERM="xterm-256color"),
                          check=False)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["features"] == ["reading_mv"] and data["target"] == "temperature_c"
    assert "\x1b[" not in proc.stdout and "\x1b[" not in proc.stderr
    assert "ignored non-numeric: timestamp, station" in proc.stderr


@needs_gdfit
def test_subprocess_table_to_a_pipe_has_no_ansi_and_honours_no_color() -> None:
    for env in (_env(TERM="xterm-256color"), _env(NO_COLOR="1", TERM="xterm-256color")):
        proc = subprocess.run([GDFIT or "gdfit", "fit", str(SAMPLES / "housing.csv")],
                              capture_output=True, text=True, env=env, check=False)
        assert proc.returncode == 0
        assert "\x1b[" not in proc.stdout and "w[area_m2]" in proc.stdout


@needs_gdfit
def test_subprocess_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n2,oops\n3,4\n")
    proc = subprocess.run([GDFIT or "gdfit", "fit", str(bad)], capture_output=True, text=True,
                          env=_env(), check=False)
    assert proc.returncode == ExitCode.DATA_ERROR
    assert proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "line 3" in proc.stderr and "'oops'" in proc.stderr


def test_python_dash_m_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "gdfit", "--version"], capture_output=True,
                          text=True, check=False, cwd=REPO)
    assert proc.returncode == 0 and proc.stdout.strip() == f"gdfit {__version__}"


TUTORIAL_CHECK = REPO.parent / "shared" / "checks" / "tutorial.sh"


@needs_gdfit
@pytest.mark.skipif(not TUTORIAL_CHECK.exists(), reason="../shared/checks is not beside the repo")
def test_the_tutorial_check_script_passes() -> None:
    proc = subprocess.run(["bash", str(TUTORIAL_CHECK)], capture_output=True, text=True,
                          check=False, env=_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OFF" not in proc.stdout


@needs_gdfit
def test_ctrl_c_prints_the_best_iterate_marked_interrupted_and_exits_130() -> None:
    import signal
    import time

    proc = subprocess.Popen(
        [GDFIT or "gdfit", "fit", str(SAMPLES / "housing.csv"), "--step", "norm", "--alpha",
         "1e-7", "--max-iter", "1000000000", "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    # Wait until the descent is running (the first progress rows are on stderr), then interrupt.
    assert proc.stderr is not None
    for _ in range(3):
        line = proc.stderr.readline()
        assert line, "gdfit ended before it could be interrupted"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    data = json.loads(out)
    assert data["status"] == "interrupted" and data["converged"] is False
    assert data["iterations"] > 0 and all(np.isfinite(data["w"]))
    assert "Traceback" not in err
