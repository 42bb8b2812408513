"""Saved models: fit → save → predict round trip, the schema's checks, atomic writing."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import gdfit
from gdfit.atomic import atomic_write, write_text_atomic
from gdfit.cli import app
from gdfit.errors import DataError, ExitCode, OptionError
from gdfit.model import (
    SCHEMA,
    SCHEMA_VERSION,
    FitSettings,
    TrainingData,
    data_sha256,
    load_model,
    save_model,
)
from gdfit.steps import make_step
from tests.conftest import lstsq, random_problem

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
HOUSING = SAMPLES / "housing.csv"


def run(*args: str | Path, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args], input=input)
    return result.exit_code, result.stdout, result.stderr


def housing_arrays() -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(HOUSING, delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1]


# ---- round trip ----------------------------------------------------------------------------

def test_fit_save_predict_reproduces_the_fitted_values(tmp_path: Path) -> None:
    model_file = tmp_path / "model.json"
    code, out, err = run("fit", HOUSING, "--save", model_file, "--format", "json", "-q")
    assert code == 0, err
    fitted = json.loads(out)
    code, out, err = run("predict", model_file, HOUSING)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    X, y = housing_arrays()
    w, b = np.array(fitted["w"]), fitted["b"]
    expected = X @ w + b
    got = np.array([float(r["prediction"]) for r in rows])
    assert len(got) == len(y) == 1000
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([float(r["residual"]) for r in rows], y - got, rtol=0, atol=1e-12)
    # and the fit itself is least squares: the saved w, b are lstsq's to 1e-9 relative
    np.testing.assert_allclose([*w, b], lstsq(X, y), rtol=1e-9)


def test_library_round_trip_is_exact(tmp_path: Path) -> None:
    X, y = random_problem(3, 200, 4)
    result = gdfit.fit(X, y, features=["a", "b", "c", "d"], target="t")
    path = tmp_path / "m.json"
    save_model(result, path)
    model = load_model(path)
    assert model.features == ("a", "b", "c", "d") and model.target == "t"
    assert np.array_equal(model.w, result.w) and model.b == result.b  # every digit kept
    np.testing.assert_allclose(model.predict(X), X @ result.w + result.b, rtol=1e-13,
                               atol=1e-12)
    back = model.to_result()
    assert back.status == result.status and back.iterations == result.iterations
    assert back.loss == result.loss and back.r2 == result.r2 and back.n_obs == 200
    assert np.array_equal(back.lstsq_w, result.lstsq_w)


def test_model_without_intercept(tmp_path: Path) -> None:
    X, y = random_problem(5, 50, 2, intercept=False)
    result = gdfit.fit(X, y, intercept=False)
    path = tmp_path / "m.json"
    doc = save_model(result, path)
    assert doc["b"] is None and doc["intercept"] is False
    model = load_model(path)
    assert model.b is None
    np.testing.assert_allclose(model.predict(X), X @ result.w, rtol=1e-13)


@pytest.mark.filterwarnings("ignore::gdfit.errors.ConvergenceWarning")  # budgets on purpose
def test_the_document_holds_the_fit_settings_and_the_data_fingerprint(tmp_path: Path) -> None:
    X, y = random_problem(7, 30, 2)
    policy = make_step("fixed", alpha=0.05)
    result = gdfit.fit(X, y, step=policy, max_iter=50, grad_tol=1e-9, loss_tol=0.0)
    settings = FitSettings.from_policy(policy, max_iter=50, grad_tol=1e-9, loss_tol=0.0)
    data = TrainingData.from_arrays(X, y, sources=["train.csv"], columns=["x0", "x1", "y"])
    doc = save_model(result, tmp_path / "m.json", settings=settings, data=data)
    on_disk = json.loads((tmp_path / "m.json").read_text())
    assert on_disk == doc
    assert doc["schema"] == SCHEMA and doc["version"] == SCHEMA_VERSION == 1
    assert doc["gdfit_version"] == gdfit.__version__
    assert len(doc["created"]) == 20 and doc["created"].endswith("Z")
    assert doc["fit"]["step"] == {"name": "fixed", "parameters": {"alpha": 0.05},
                                  "description": "fixed(alpha=0.05)"}
    assert doc["fit"]["stopping"] == {"max_iter": 50, "grad_tol": 1e-9, "loss_tol": 0.0}
    assert doc["fit"]["scale"] == "standard"
    assert doc["fit"]["status"] == result.status and doc["fit"]["iterations"] == 50
    assert doc["statistics"]["n_obs"] == 30
    td = doc["training_data"]
    assert td["sources"] == ["train.csv"] and td["rows"] == 30
    assert td["columns"] == ["x0", "x1", "y"] and td["sha256"] == data_sha256(X, y)
    # the fingerprint changes with any value
    X2 = X.copy()
    X2[3, 1] += 1e-9
    assert data_sha256(X2, y) != td["sha256"]


def test_cli_model_records_the_training_file(tmp_path: Path) -> None:
    model_file = tmp_path / "m.json"
    code, _, err = run("fit", SAMPLES / "sensor.csv", "--save", model_file, "-q",
                       "--step", "backtracking", "--max-iter", "500")
    assert code == 0, err
    doc = json.loads(model_file.read_text())
    assert doc["features"] == ["reading_mv"] and doc["target"] == "temperature_c"
    assert doc["training_data"]["columns"] == ["timestamp", "station", "reading_mv",
                                               "temperature_c"]
    assert doc["training_data"]["rows"] == 500
    assert doc["training_data"]["sources"] == [str(SAMPLES / "sensor.csv")]
    assert doc["fit"]["step"]["name"] == "backtracking"
    assert doc["fit"]["stopping"]["max_iter"] == 500


def test_show_prints_what_the_fit_printed(tmp_path: Path) -> None:
    model_file = tmp_path / "m.json"
    code, fit_out, _ = run("fit", HOUSING, "--save", model_file, "-f", "json", "-q")
    assert code == 0
    code, show_out, err = run("show", model_file, "--format", "json")
    assert code == 0, err
    shown = json.loads(show_out)
    assert shown.pop("model") == str(model_file)
    fitted = json.loads(fit_out)
    fitted.pop("stats", None)  # inference statistics need the rows; a model does not keep them
    assert shown == fitted
    code, table, _ = run("show", model_file)
    assert code == 0
    assert "w[area_m2]" in table and "converged" in table and "1000 rows" in table


# ---- refusing bad model files --------------------------------------------------------------

@pytest.fixture
def saved(tmp_path: Path) -> dict:
    X, y = random_problem(1, 20, 2)
    return save_model(gdfit.fit(X, y), tmp_path / "good.json")


def write_doc(tmp_path: Path, doc: object, name: str = "model.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_a_newer_schema_is_refused_with_a_clear_message(tmp_path: Path, saved: dict) -> None:
    path = write_doc(tmp_path, {**saved, "version": 2})
    with pytest.raises(DataError) as info:
        load_model(path)
    assert str(info.value) == (f"{path}: was written by a newer gdfit (schema 2; this gdfit "
                               "reads up to 1); upgrade gdfit")
    code, out, err = run("predict", path, HOUSING)
    assert code == ExitCode.DATA_ERROR and out == ""
    assert "newer gdfit (schema 2" in err and "upgrade gdfit" in err


@pytest.mark.parametrize(("text", "message"), [
    ('{"schema": "gdfit.model", "version": 1, "w": [1', "not valid JSON"),
    ("", "not valid JSON"),
    ("[1, 2]", 'not a gdfit model (no "schema": "gdfit.model" field)'),
    ('{"w": [1], "b": 0}', 'not a gdfit model (no "schema": "gdfit.model" field)'),
    ('{"schema": "gdfit.model", "version": "one"}', "invalid model schema version 'one'"),
])
def test_corrupt_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_model(path)
    code, _, err = run("show", path)
    assert code == ExitCode.DATA_ERROR and message in err and str(path) in err


def test_binary_garbage_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "bin.json"
    path.write_bytes(b"\x80\x81\xfe")
    with pytest.raises(DataError, match="not UTF-8"):
        load_model(path)


def test_missing_fields_are_all_named(tmp_path: Path, saved: dict) -> None:
    doc = {k: v for k, v in saved.items() if k not in ("w", "target")}
    del doc["statistics"]["rmse"]
    with pytest.raises(DataError, match=r"missing fields: target, w, statistics\.rmse$"):
        load_model(write_doc(tmp_path, doc))


@pytest.mark.parametrize(("change", "message"), [
    ({"w": [1.0]}, "field 'w' must be a list of 2 numbers"),
    ({"w": [1.0, "x"]}, "field 'w' must be a list of 2 numbers"),
    ({"b": None}, "fields 'intercept' and 'b' disagree"),
    ({"intercept": False}, "fields 'intercept' and 'b' disagree"),
    ({"features": ["x0", "x0"]}, "list of distinct column names"),
    ({"target": "x0"}, "field 'target' must be a column name"),
])
def test_inconsistent_fields_are_refused(tmp_path: Path, saved: dict, change: dict,
                                         message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_model(write_doc(tmp_path, {**saved, **change}))


def test_missing_model_file(tmp_path: Path) -> None:
    code, _, err = run("predict", tmp_path / "nope.json", HOUSING)
    assert code == ExitCode.DATA_ERROR and "nope.json: no such file" in err


def test_unknown_fields_are_ignored(tmp_path: Path, saved: dict) -> None:
    model = load_model(write_doc(tmp_path, {**saved, "added_later": {"x": 1}}))
    assert model.features == ("x0", "x1")


# ---- saving: atomic, no overwrite without --force, nothing on failure ----------------------

def test_atomic_write_leaves_nothing_on_an_exception(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write("half of it")
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_atomic_write_leaves_nothing_on_ctrl_c(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with pytest.raises(KeyboardInterrupt), atomic_write(target) as fh:
        fh.write("half of it")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_atomic_write_keeps_the_old_file_when_replacing_fails(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target, force=True) as fh:
        fh.write("new")
        raise RuntimeError("boom")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.json"]


def test_atomic_write_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(OptionError, match=r"out\.json: already exists; use --force"):
        write_text_atomic(target, "new")
    assert target.read_text() == "old"
    write_text_atomic(target, "new", force=True)
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["out.json"]


def test_atomic_write_gives_normal_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_text_atomic(target, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (target.stat().st_mode & 0o777) == (0o666 & ~umask)


def test_atomic_write_into_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such directory"):
        write_text_atomic(tmp_path / "no" / "out.json", "x")


def test_save_refuses_an_existing_file_without_force(tmp_path: Path) -> None:
    model_file = tmp_path / "m.json"
    model_file.write_text("precious")
    code, out, err = run("fit", HOUSING, "--save", model_file, "-q")
    assert code == ExitCode.USAGE_ERROR and out == ""
    assert "m.json: already exists; use --force to overwrite it" in err
    assert model_file.read_text() == "precious"
    code, _, err = run("fit", HOUSING, "--save", model_file, "-q", "--force")
    assert code == 0, err
    assert load_model(model_file).target == "price_k"


def test_a_diverged_fit_saves_no_model(tmp_path: Path,
                                       write_csv: Callable[[str, str], Path]) -> None:
    data = write_csv("x,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(1, 30)))
    model_file = tmp_path / "m.json"
    code, _, err = run("fit", data, "--step", "fixed", "--alpha", "10", "--scale", "none",
                       "--save", model_file)
    assert code == ExitCode.DIVERGED
    assert "no model was saved" in err and not model_file.exists()


def test_save_cannot_be_combined_with_many_fits(tmp_path: Path) -> None:
    code, _, err = run("fit", HOUSING, "--each-file", "--save", tmp_path / "m.json")
    assert code == ExitCode.USAGE_ERROR and "--save writes one model" in err
