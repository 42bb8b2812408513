"""``gdfit predict``: columns, residuals, formats, chunks, and what it refuses."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import gdfit
from gdfit.cli import app
from gdfit.errors import DataError, ExitCode
from gdfit.io_chunks import detect_sep, numeric_columns, open_table
from gdfit.model import load_model, save_model
from gdfit.predict import predict_files

runner = CliRunner()
WriteCsv = Callable[..., Path]
# y = 2·a − 3·c + 0.5, fitted exactly from four points
TRAIN = "a,c,y\n0,0,0.5\n1,0,2.5\n0,1,-2.5\n1,1,-0.5\n"


def run(*args: str | Path, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args], input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def model_file(tmp_path: Path, write_csv: WriteCsv) -> Path:
    path = tmp_path / "model.json"
    code, _, err = run("fit", write_csv(TRAIN, "train.csv"), "--save", path, "-q")
    assert code == 0, err
    return path


def hand(a: float, c: float) -> float:
    return 2 * a - 3 * c + 0.5


def test_rows_come_back_verbatim_with_a_prediction(model_file: Path, write_csv: WriteCsv
                                                   ) -> None:
    data = write_csv('id,c,a,note\n7,1.50,2,"x, y"\n8,0,-1.0e0,plain\n', "new.csv")
    code, out, err = run("predict", model_file, data)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["id", "c", "a", "note", "prediction"]  # no target: no residual
    assert rows[1][:4] == ["7", "1.50", "2", "x, y"] and rows[2][:4] == ["8", "0", "-1.0e0",
                                                                          "plain"]
    assert float(rows[1][4]) == pytest.approx(hand(2, 1.5), abs=1e-12)
    assert float(rows[2][4]) == pytest.approx(hand(-1, 0), abs=1e-12)


def test_residual_column_when_the_target_is_present(model_file: Path, write_csv: WriteCsv
                                                    ) -> None:
    data = write_csv("a,c,y\n1,1,0\n2,0,4\n", "new.csv")
    code, out, _ = run("predict", model_file, data)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["a", "c", "y", "prediction", "residual"]
    for row in rows:
        pred = hand(float(row["a"]), float(row["c"]))
        assert float(row["prediction"]) == pytest.approx(pred, abs=1e-12)
        assert float(row["residual"]) == pytest.approx(float(row["y"]) - pred, abs=1e-12)
    code, out, _ = run("predict", model_file, data, "--no-residual", "--name", "y_hat")
    assert code == 0 and out.splitlines()[0] == "a,c,y,y_hat"


def test_missing_columns_are_all_named(model_file: Path, write_csv: WriteCsv) -> None:
    data = write_csv("b,y\n1,2\n", "new.csv")
    code, out, err = run("predict", model_file, data)
    assert code == ExitCode.DATA_ERROR and out == ""
    assert f"{data}: missing columns the model needs: 'a', 'c' (the file has: 'b', 'y')" in err


def test_a_taken_column_name_is_a_usage_error(model_file: Path, write_csv: WriteCsv) -> None:
    data = write_csv("a,c,prediction\n1,1,0\n", "new.csv")
    code, _, err = run("predict", model_file, data)
    assert code == ExitCode.USAGE_ERROR and "already has a column 'prediction'" in err
    code, out, _ = run("predict", model_file, data, "--name", "p2")
    assert code == 0 and out.splitlines()[0] == "a,c,prediction,p2"


def test_text_where_a_number_belongs(model_file: Path, write_csv: WriteCsv) -> None:
    data = write_csv("a,c\n1,1\n\n2,abc\n", "new.csv")
    code, _, err = run("predict", model_file, data)
    assert code == ExitCode.DATA_ERROR
    assert f"{data}: column 'c', line 4: 'abc' is not a number" in err


def test_missing_values_give_an_empty_prediction(model_file: Path, write_csv: WriteCsv
                                                 ) -> None:
    data = write_csv("a,c,y\n1,,0\nNA,1,1\n1,1,\n", "new.csv")
    code, out, err = run("predict", model_file, data)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["prediction"] for r in rows[:2]] == ["", ""]
    assert float(rows[2]["prediction"]) == pytest.approx(hand(1, 1)) and rows[2]["residual"] == ""
    assert "2 of 3 rows have a missing" in err and "prediction is empty" in err
    code, out, _ = run("predict", model_file, data, "--format", "jsonl")
    assert [json.loads(line)["prediction"] for line in out.splitlines()][:2] == [None, None]


def test_formats_parse_and_agree(model_file: Path, write_csv: WriteCsv) -> None:
    data = write_csv("a,c,y,tag\n1,1,0,p\n2,0,4,q\n-3,2.5,1,r\n", "new.csv")
    _, out_csv, _ = run("predict", model_file, data, "--format", "csv")
    _, out_json, _ = run("predict", model_file, data, "--format", "json")
    _, out_jsonl, _ = run("predict", model_file, data, "--format", "jsonl")
    from_csv = list(csv.DictReader(io.StringIO(out_csv)))
    from_json = json.loads(out_json)
    from_jsonl = [json.loads(line) for line in out_jsonl.splitlines()]
    assert isinstance(from_json, list) and from_json == from_jsonl and len(from_json) == 3
    for c_row, j_row in zip(from_csv, from_json, strict=True):
        assert list(j_row) == ["a", "c", "y", "tag", "prediction", "residual"]
        assert j_row["tag"] == c_row["tag"]  # other columns stay text
        assert j_row["a"] == float(c_row["a"])  # the model's columns are numbers
        assert j_row["prediction"] == float(c_row["prediction"])
        assert j_row["prediction"] == pytest.approx(hand(j_row["a"], j_row["c"]), abs=1e-12)


def test_an_empty_table_gives_an_empty_json_array(model_file: Path, write_csv: WriteCsv
                                                  ) -> None:
    data = write_csv("a,c\n", "new.csv")
    code, out, _ = run("predict", model_file, data, "--format", "json")
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_chunked_equals_unchunked(tmp_path: Path, fmt: str) -> None:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(1003, 3)) * [1, 100, 0.01]
    y = X @ [1.5, -0.02, 30] + 4 + rng.normal(size=1003)
    result = gdfit.fit(X, y, features=["p", "q", "r"], target="t")
    save_model(result, tmp_path / "m.json")
    lines = ["q,r,p,t,label"] + [f"{b!r},{c!r},{a!r},{t!r},row{i}" for i, ((a, b, c), t)
                                 in enumerate(zip(X.tolist(), y.tolist(), strict=True))]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n")
    outputs = []
    for size in ("1", "7", "1000", "100000"):
        code, out, err = run("predict", tmp_path / "m.json", tmp_path / "big.csv",
                             "--chunk-size", size, "--format", fmt)
        assert code == 0, err
        outputs.append(out)
    assert all(o == outputs[0] for o in outputs)
    # and the values are X·w + b
    if fmt == "csv":
        got = np.array([float(r["prediction"]) for r in csv.DictReader(io.StringIO(outputs[0]))])
        np.testing.assert_allclose(got, X @ result.w + result.b, rtol=1e-12, atol=1e-12)


def test_library_streams_in_chunks(tmp_path: Path) -> None:
    """The reader hands out at most chunk_size rows at a time, whatever the file's size."""
    (tmp_path / "t.csv").write_text("a,c\n" + "1,2\n" * 25)
    with open_table(tmp_path / "t.csv") as table:
        sizes = [len(chunk) for chunk in table.chunks(10)]
    assert sizes == [10, 10, 5]


def test_reading_standard_input(model_file: Path) -> None:
    code, out, _ = run("predict", model_file, "-", input="a;c\n1;1\n")
    assert code == 0
    assert out.splitlines()[0] == "a,c,prediction"  # semicolons detected, CSV out
    assert float(out.splitlines()[1].split(",")[2]) == pytest.approx(hand(1, 1))


def test_several_inputs_are_one_table(model_file: Path, write_csv: WriteCsv) -> None:
    one = write_csv("a,c\n1,0\n", "one.csv")
    two = write_csv("c,a\n0,2\n", "two.csv")  # same columns, other order
    code, out, _ = run("predict", model_file, one, two)
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [["a", "c", "prediction"], ["1", "0", repr(hand(1, 0))],
                    ["2", "0", repr(hand(2, 0))]]
    other = write_csv("a,c,z\n1,0,5\n", "three.csv")
    code, _, err = run("predict", model_file, one, other)
    assert code == ExitCode.DATA_ERROR
    assert f"{other}: its columns differ from {one}'s: extra column 'z'" in err


def test_ragged_rows_and_empty_files(model_file: Path, write_csv: WriteCsv) -> None:
    code, _, err = run("predict", model_file, write_csv("a,c\n1,2\n3\n", "r.csv"))
    assert code == ExitCode.DATA_ERROR and "line 3 has 1 fields, but the header has 2" in err
    code, _, err = run("predict", model_file, write_csv("", "e.csv"))
    assert code == ExitCode.DATA_ERROR and "the file is empty" in err


def test_output_file_is_written_atomically(model_file: Path, tmp_path: Path,
                                          write_csv: WriteCsv) -> None:
    data = write_csv("a,c\n1,0\n", "new.csv")
    target = tmp_path / "pred.csv"
    code, out, _ = run("predict", model_file, data, "--output", target)
    assert code == 0 and out == "" and target.read_text().startswith("a,c,prediction\n")
    code, _, err = run("predict", model_file, data, "--output", target)
    assert code == ExitCode.USAGE_ERROR and "use --force to overwrite" in err
    bad = write_csv("a,c\n1,x\n", "bad.csv")
    code, _, _ = run("predict", model_file, bad, "--output", target, "--force")
    assert code == ExitCode.DATA_ERROR
    assert target.read_text().startswith("a,c,prediction\n1,0,")  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_header_less_input(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("1 2 3.5\n2 4 7\n3 6 10.5\n4 8 14\n")
    code, _, err = run("fit", tmp_path / "t.txt", "--no-header", "--x", "0", "--y", "2",
                       "--save", tmp_path / "m.json", "-q")
    assert code == 0, err
    code, out, _ = run("predict", tmp_path / "m.json", tmp_path / "t.txt", "--no-header")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["0", "1", "2", "prediction", "residual"]
    np.testing.assert_allclose([float(r["prediction"]) for r in rows], [3.5, 7, 10.5, 14],
                               atol=1e-9)


def test_library_errors_and_helpers(tmp_path: Path) -> None:
    assert detect_sep(["a\tb\tc", "1\t2\t3"]) == "\t"
    assert detect_sep(["a b  c", "1 2 3"]) == "whitespace"
    (tmp_path / "t.csv").write_text("a,c\n1, 2 \n")
    with open_table(tmp_path / "t.csv") as table:
        chunk = next(table.chunks())
        assert numeric_columns(chunk, [1, 0], table.names, table.source).tolist() == [[2, 1]]
    X, y = np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 3.0, 5.0])
    save_model(gdfit.fit(X, y, features=["a"]), tmp_path / "m.json")
    out = io.StringIO()
    summary = predict_files(load_model(tmp_path / "m.json"), [str(tmp_path / "t.csv")], out)
    assert (summary.files, summary.rows, summary.missing) == (1, 1, 0)
    with pytest.raises(DataError, match="no such file"):
        predict_files(load_model(tmp_path / "m.json"), [str(tmp_path / "none.csv")], out)
