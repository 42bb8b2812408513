"""Every numeric option is checked before any input is read, at its edges (negative, zero, NaN,
infinite, huge): a bad value is exit 2 with a message naming the option, a good one gets as
far as reading the input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from gdfit.cli import app
from gdfit.errors import ExitCode

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
HOUSING = str(SAMPLES / "housing.csv")

NEG, ZERO, HALF, NAN, INF, NINF = "-1", "0", "0.5", "nan", "inf", "-inf"
OVER = "1e400"  # reads as infinity
HUGE = "99999999999999999999999"  # a valid int or float, but absurd for most options
EDGES = (NEG, ZERO, HALF, NAN, INF, NINF, OVER, HUGE)
#: Every edge value but these is refused.
INTEGER, NON_NEGATIVE_INT = {ZERO, HUGE}, {ZERO, HUGE}
POSITIVE_INT = {HUGE}
TOLERANCE = {ZERO, HALF, HUGE}  # a number ≥ 0, 0 switching it off
UNIT_OPEN = {HALF}  # in (0, 1)
UNIT_HALF_OPEN = {ZERO, HALF}  # in [0, 1)
POSITIVE = {HALF, HUGE}

# option: (what it needs beside it to be meaningful, the edge values it accepts)
FIT_OPTIONS: dict[str, tuple[list[str], set[str]]] = {
    "--alpha": (["--step", "fixed"], POSITIVE),
    "--armijo-c": (["--step", "backtracking"], UNIT_OPEN),
    "--shrink": (["--step", "backtracking"], UNIT_OPEN),
    "--wolfe-c1": (["--step", "wolfe"], UNIT_OPEN),
    "--wolfe-c2": (["--step", "wolfe"], UNIT_OPEN),
    "--bb-min": (["--step", "bb"], POSITIVE),
    "--bb-max": (["--step", "bb"], POSITIVE),
    "--tr-radius": (["--step", "trust-region"], {HALF}),  # ≤ --tr-max-radius (1e10)
    "--tr-max-radius": (["--step", "trust-region"], {HUGE}),  # ≥ --tr-radius (1)
    "--tr-eta": (["--step", "trust-region"], {ZERO}),  # in [0, 0.25)
    "--cg-restart": (["--step", "cg"], NON_NEGATIVE_INT),
    "--momentum-beta": (["--step", "momentum"], UNIT_HALF_OPEN),
    "--adam-beta1": (["--step", "adam"], UNIT_HALF_OPEN),
    "--adam-beta2": (["--step", "adam"], UNIT_OPEN),
    "--eps": (["--step", "adam"], POSITIVE),
    "--rms-decay": (["--step", "rmsprop"], UNIT_HALF_OPEN),
    "--decay-power": (["--step", "decay"], {HALF}),  # in (0, 1]
    "--norm-shrink": (["--step", "norm"], {HALF}),  # in (0, 1]
    "--max-iter": ([], NON_NEGATIVE_INT),
    "--grad-tol": ([], TOLERANCE),
    "--loss-tol": ([], TOLERANCE),
    "--rel-grad-tol": ([], TOLERANCE),
    "--rel-loss-tol": ([], TOLERANCE),
    "--param-tol": ([], TOLERANCE),
    "--patience": ([], NON_NEGATIVE_INT),
    "--patience-tol": (["--patience", "5"], TOLERANCE),
    "--time-limit": ([], TOLERANCE),
    "--stall-iter": ([], NON_NEGATIVE_INT),
    "--poly": ([], set()),  # 1 … 20
    "--ci": ([], {HALF}),  # in (0, 1)
    "--every": ([], POSITIVE_INT),
    "--batch-size": (["--step", "fixed"], POSITIVE_INT),
    "--seed": (["--step", "fixed", "--batch-size", "10"], NON_NEGATIVE_INT),
}
COMPARE_OPTIONS: dict[str, tuple[list[str], set[str]]] = {
    **{k: v for k, v in FIT_OPTIONS.items() if k in (
        "--max-iter", "--grad-tol", "--loss-tol", "--rel-grad-tol", "--rel-loss-tol",
        "--param-tol", "--patience", "--patience-tol", "--time-limit", "--stall-iter")},
    "--batch-size": (["--steps", "fixed:alpha=0.01"], POSITIVE_INT),
    "--seed": (["--steps", "fixed:alpha=0.01", "--batch-size", "10"], NON_NEGATIVE_INT),
}
PREDICT_OPTIONS: dict[str, tuple[list[str], set[str]]] = {"--chunk-size": ([], POSITIVE_INT)}
TABLES = {"fit": FIT_OPTIONS, "compare": COMPARE_OPTIONS, "predict": PREDICT_OPTIONS}


def numeric_options(command: str) -> list[str]:
    """The numeric options ``command`` declares (so that a new one cannot be forgotten)."""
    click_command: Any = typer.main.get_command(app).get_command(None, command)  # type: ignore[attr-defined]
    return sorted(max(p.opts, key=len) for p in click_command.params
                  if p.param_type_name == "option"
                  and p.type.name in ("int", "integer", "int range", "float", "float range"))


@pytest.mark.parametrize("command", sorted(TABLES))
def test_every_numeric_option_is_in_the_table(command: str) -> None:
    assert numeric_options(command) == sorted(TABLES[command])


def _cases() -> Iterator[Any]:
    for command, table in TABLES.items():
        for option, (companions, accepted) in table.items():
            for value in EDGES:
                yield pytest.param(command, option, companions, value, value in accepted,
                                   id=f"{command} {option} {value}")


@pytest.mark.parametrize(("command", "option", "companions", "value", "accepted"), list(_cases()))
def test_numeric_option_edges(tmp_path: Path, command: str, option: str, companions: list[str],
                              value: str, accepted: bool) -> None:
    missing = str(tmp_path / "missing.csv")  # reading it would fail: exit 1, "no such file"
    head = ["predict", str(tmp_path / "model.json"), missing] if command == "predict" else \
        [command, missing]
    result = runner.invoke(app, [*head, f"{option}={value}", *companions, "-q"])
    first = (result.stderr.splitlines() or [""])[0]
    assert "Traceback" not in result.output and result.stdout == ""
    if accepted:  # the options passed: the command went on to read its input
        assert result.exit_code == ExitCode.DATA_ERROR, first
        assert "no such file" in first
    else:
        assert result.exit_code == ExitCode.USAGE_ERROR, first
        assert first.startswith("gdfit: error: ") and option in first, first


@pytest.mark.parametrize("args", [
    ["fit", HOUSING, "--grad-tol", "-1"],
    ["fit", HOUSING, "--loss-tol", "nan"],
    ["fit", HOUSING, "--engine", "rows", "--grad-tol", "inf"],
    ["fit", HOUSING, "--each-file", "--loss-tol", "-1"],
    ["fit", HOUSING, "--step", "fixed", "--batch-size", "8", "--seed", "-3"],
    ["compare", HOUSING, "--grad-tol", "-1"],
])
def test_options_are_refused_before_any_reader_runs(monkeypatch: pytest.MonkeyPatch,
                                                    args: list[str]) -> None:
    import gdfit.batch
    import gdfit.io
    import gdfit.stream

    calls: list[str] = []

    def reader(name: str) -> Any:
        def read(*_: Any, **__: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} read the data before the options were checked")
        return read

    for module, name in ((gdfit.stream, "stream_statistics"), (gdfit.batch, "read_inputs"),
                         (gdfit.batch, "fit_each_file"), (gdfit.io, "read_dataset")):
        monkeypatch.setattr(module, name, reader(name))
    result = runner.invoke(app, args)
    assert calls == []
    assert result.exit_code == ExitCode.USAGE_ERROR, result.output
    assert result.stderr.startswith("gdfit: error: --")


def test_poly_degree_is_capped_before_reading(tmp_path: Path) -> None:
    result = runner.invoke(app, ["fit", str(tmp_path / "missing.csv"), "--poly", HUGE])
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert result.stderr.startswith("gdfit: error: --poly must be a whole number in [1, 20]")


def test_a_huge_chunk_size_reads_everything_at_once(tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    assert runner.invoke(app, ["fit", HOUSING, "--save", str(model), "-q"]).exit_code == 0
    result = runner.invoke(app, ["predict", str(model), HOUSING, "--chunk-size", HUGE])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1001


def test_an_empty_prediction_name_is_refused_before_the_model_is_read(tmp_path: Path) -> None:
    result = runner.invoke(app, ["predict", str(tmp_path / "none.json"), HOUSING, "--name", ""])
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert result.stderr.startswith("gdfit: error: --name must not be empty")
