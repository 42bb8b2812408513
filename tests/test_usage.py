"""One error style: Click's usage errors and gdfit's own errors both print ``gdfit: error: …``
(and at most one "try 'gdfit CMD --help'" line), and ``GDFIT_TRACEBACK`` means what it says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import gdfit.cli
from gdfit.cli import app
from gdfit.errors import ExitCode

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
HOUSING = str(SAMPLES / "housing.csv")
GDFIT = shutil.which("gdfit")


def _assert_one_style(stderr: str, command: str | None, *fragments: str) -> None:
    lines = stderr.splitlines()
    assert lines and lines[0].startswith("gdfit: error: "), stderr
    assert len(lines) <= 2, stderr
    if len(lines) == 2:
        assert lines[1] == f"try 'gdfit {command} --help'" if command else "try 'gdfit --help'"
    for box in ("╭", "│", "Usage:", "Error"):
        assert box not in stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize(("args", "fragments"), [
    (["fit", HOUSING, "--nope"], ["no such option: --nope"]),
    (["fit", HOUSING, "--maxiter", "5"], ["no such option: --maxiter", "--max-iter"]),
    (["fit"], ["missing argument PATH"]),
    (["predict", "model.json"], ["missing argument PATH"]),
    (["compare"], ["missing argument PATH"]),
    (["fit", HOUSING, "--step", "sideways"], ["--step", "'sideways'", "cg", "norm"]),
    (["fit", HOUSING, "--format", "xml"], ["--format", "'xml'", "json", "jsonl"]),
    (["compare", HOUSING, "--scale", "log"], ["--scale", "'log'", "standard, none"]),
    (["fit", HOUSING, "--max-iter", "abc"], ["--max-iter must be a whole number", "'abc'"]),
    (["fit", HOUSING, "--max-iter", "1.5"], ["--max-iter must be a whole number", "1.5"]),
    (["fit", HOUSING, "--alpha", "fast"], ["--alpha must be a number", "'fast'"]),
    (["fit", HOUSING, "--max-iter", "-1"], ["--max-iter must be a whole number ≥ 0, got -1"]),
    (["fit", HOUSING, "--every", "0"], ["--every must be a whole number ≥ 1, got 0"]),
    (["predict", "m.json", HOUSING, "--chunk-size", "0"], ["--chunk-size", "≥ 1, got 0"]),
    (["fit", HOUSING, "--x"], ["--x needs a value"]),
    (["compare", HOUSING, HOUSING], ["unexpected extra argument"]),
    (["fit", HOUSING, "--x", "a,,b"], ["--x", "empty column name"]),
])
def test_click_usage_errors_are_one_gdfit_line(args: list[str], fragments: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.USAGE_ERROR, result.output
    assert result.stdout == ""
    _assert_one_style(result.stderr, args[0], *fragments)


def test_unknown_command_is_one_line() -> None:
    result = runner.invoke(app, ["fitt", HOUSING])
    assert result.exit_code == ExitCode.USAGE_ERROR
    _assert_one_style(result.stderr, None, "no such command 'fitt'")


def test_a_bad_choice_from_the_environment_names_the_variable() -> None:
    result = runner.invoke(app, ["fit", HOUSING], env={"GDFIT_STEP": "sideways"})
    assert result.exit_code == ExitCode.USAGE_ERROR
    _assert_one_style(result.stderr, "fit", "--step (from GDFIT_STEP)", "'sideways'")


@pytest.mark.skipif(GDFIT is None, reason="the gdfit command is not installed")
def test_the_installed_command_prints_usage_errors_in_one_line() -> None:
    proc = subprocess.run([GDFIT or "gdfit", "fit", HOUSING, "--max-iter", "-5"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == ExitCode.USAGE_ERROR and proc.stdout == ""
    assert proc.stderr == ("gdfit: error: --max-iter must be a whole number ≥ 0, got -5\n"
                           "try 'gdfit fit --help'\n")


# --- GDFIT_TRACEBACK -------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "shown"), [
    ("0", False), ("false", False), ("no", False), ("", False), ("off", False),
    ("False", False), ("1", True), ("true", True), ("yes", True),
])
def test_gdfit_traceback_off_and_on_for_data_errors(tmp_path: Path, value: str,
                                                   shown: bool) -> None:
    result = runner.invoke(app, ["fit", str(tmp_path / "missing.csv")],
                           env={"GDFIT_TRACEBACK": value})
    if shown:  # the exception escapes to the caller: Python prints its traceback
        assert result.exception is not None and not isinstance(result.exception, SystemExit)
    else:
        assert result.exit_code == ExitCode.DATA_ERROR
        assert result.stderr.startswith("gdfit: error: ") and "no such file" in result.stderr


@pytest.mark.parametrize(("value", "shown"), [("0", False), ("no", False), ("", False),
                                              ("1", True)])
def test_gdfit_traceback_off_and_on_for_internal_errors(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str],
                                                       value: str, shown: bool) -> None:
    def broken(argv: list[str]) -> object:
        def run() -> None:
            raise RuntimeError("a bug")
        return run

    monkeypatch.setattr(gdfit.cli, "_app_for", broken)
    monkeypatch.setattr(sys, "argv", ["gdfit", "fit", "x.csv"])
    monkeypatch.setenv("GDFIT_TRACEBACK", value)
    if shown:
        with pytest.raises(RuntimeError, match="a bug"):
            gdfit.cli.main()
        return
    with pytest.raises(SystemExit) as stop:
        gdfit.cli.main()
    assert stop.value.code == ExitCode.INTERNAL_ERROR
    assert capsys.readouterr().err.startswith("gdfit: internal error: RuntimeError: a bug")
def test_gdfits_own_option_errors_have_the_same_style() -> None:
    result = runner.invoke(app, ["fit", HOUSING, "--grad-tol", "-1"])
    assert result.exit_code == ExitCode.USAGE_ERROR
    _assert_one_style(result.stderr, "fit", "--grad-tol must be a number ≥ 0")


