"""Many fits in one run: several files as one data set, --each-file, --group-by."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gdfit.batch import BatchRow, batch_exit_code, group_rows
from gdfit.cli import app
from gdfit.errors import ExitCode
from tests.conftest import lstsq, random_problem

runner = CliRunner()
WriteCsv = Callable[..., Path]
SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


def run(*args: str | Path, input: str | None = None,
        env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args], input=input, env=env)
    return result.exit_code, result.stdout, result.stderr


def table_text(X: np.ndarray, y: np.ndarray, names: list[str],
               extra: dict[str, list[str]] | None = None) -> str:
    extra = extra or {}
    head = list(extra) + names + ["y"]
    lines = [",".join(head)]
    for i, (row, t) in enumerate(zip(X.tolist(), y.tolist(), strict=True)):
        lines.append(",".join([v[i] for v in extra.values()] + [repr(v) for v in row]
                              + [repr(t)]))
    return "\n".join(lines) + "\n"


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def fit_json(*args: str | Path) -> dict:
    code, out, err = run("fit", *args, "--format", "json", "-q")
    assert code == 0, err
    data: dict = json.loads(out)
    return data


# ---- several files ------------------------------------------------------------------------

def test_several_files_are_one_fit_of_their_concatenation(write_csv: WriteCsv) -> None:
    X, y = random_problem(21, 90, 2)
    parts = [write_csv(table_text(X[i:i + 30], y[i:i + 30], ["u", "v"]), f"p{i}.csv")
             for i in (0, 30, 60)]
    whole = write_csv(table_text(X, y, ["u", "v"]), "whole.csv")
    together = fit_json(*parts)
    alone = fit_json(whole)
    assert together["n_obs"] == alone["n_obs"] == 90
    np.testing.assert_allclose([*together["w"], together["b"]], [*alone["w"], alone["b"]],
                               rtol=1e-10)
    np.testing.assert_allclose([*together["w"], together["b"]], lstsq(X, y), rtol=1e-9)


def test_a_quoted_glob_is_several_files(write_csv: WriteCsv) -> None:
    X, y = random_problem(22, 40, 1)
    first = write_csv(table_text(X[:20], y[:20], ["u"]), "part-1.csv")
    write_csv(table_text(X[20:], y[20:], ["u"]), "part-2.csv")
    result = fit_json(str(first.parent / "part-*.csv"))
    assert result["n_obs"] == 40
    np.testing.assert_allclose([*result["w"], result["b"]], lstsq(X, y), rtol=1e-9)


def test_files_with_other_columns_are_refused(write_csv: WriteCsv) -> None:
    a = write_csv("u,v,y\n1,2,3\n2,1,4\n3,3,5\n", "a.csv")
    b = write_csv("u,w,y\n1,2,3\n", "b.csv")
    code, out, err = run("fit", a, b)
    assert code == ExitCode.DATA_ERROR and out == ""
    assert f"{b}: its columns differ from {a}'s: no column 'v'; extra column 'w'" in err


def test_same_columns_in_another_order_line_up(write_csv: WriteCsv) -> None:
    X, y = random_problem(23, 40, 2)
    a = write_csv(table_text(X[:20], y[:20], ["u", "v"]), "a.csv")
    swapped = "v,u,y\n" + "".join(f"{r[1]!r},{r[0]!r},{t!r}\n"
                                  for r, t in zip(X[20:].tolist(), y[20:].tolist(), strict=True))
    b = write_csv(swapped, "b.csv")
    result = fit_json(a, b)
    assert result["features"] == ["u", "v"]
    np.testing.assert_allclose([*result["w"], result["b"]], lstsq(X, y), rtol=1e-9)


# ---- --each-file --------------------------------------------------------------------------

def test_each_file_equals_fitting_each_alone_and_goes_past_a_bad_file(write_csv: WriteCsv
                                                                     ) -> None:
    files = []
    for seed in (1, 2, 3):
        X, y = random_problem(seed, 25 + seed, 2)
        files.append(write_csv(table_text(X, y, ["u", "v"]), f"f{seed}.csv"))
    bad = write_csv("u,v,y\n1,2,oops\n3,4,5\n", "bad.csv")
    missing = files[0].parent / "missing.csv"
    order = [files[0], bad, files[1], missing, files[2]]
    code, out, err = run("fit", "--each-file", *order, "--x", "u,v", "--y", "y",
                         "--format", "jsonl")
    assert code == ExitCode.DATA_ERROR
    rows = jsonl(out)
    assert [r["source"] for r in rows] == [str(p) for p in order]
    assert [r["status"] for r in rows] == ["converged", "error", "converged", "error",
                                           "converged"]
    assert rows[1]["message"] == "column 'y', line 2: 'oops' is not a number"
    assert rows[3]["message"] == "no such file" and rows[3]["exit_code"] == 1
    for row, path in zip([rows[0], rows[2], rows[4]], files, strict=True):
        alone = fit_json(path)
        np.testing.assert_allclose([*row["w"], row["b"]], [*alone["w"], alone["b"]],
                                   rtol=1e-10)
        assert row["n_obs"] == alone["n_obs"]
    assert f"{bad}: error: column 'y', line 2" in err  # also noted on stderr


def test_each_file_csv_and_table(write_csv: WriteCsv) -> None:
    X, y = random_problem(4, 30, 2)
    a = write_csv(table_text(X, y, ["u", "v"]), "a.csv")
    b = write_csv(table_text(X[:, :1], y, ["u"]), "b.csv")  # another feature set
    code, out, _ = run("fit", "--each-file", a, b, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:5] == ["source", "target", "w_u", "w_v", "b"]
    assert rows[1]["w_v"] == "" and rows[1]["source"] == str(b)
    np.testing.assert_allclose([float(rows[0]["w_u"]), float(rows[0]["w_v"]),
                                float(rows[0]["b"])], lstsq(X, y), rtol=1e-9)
    code, out, _ = run("fit", "--each-file", a, b)
    assert code == 0 and "a.csv" in out and "b.csv" in out and "converged" in out
    code, out, _ = run("fit", "--each-file", a, b, "--format", "json")
    assert code == 0 and [r["source"] for r in json.loads(out)] == [str(a), str(b)]


def test_each_file_exit_code_is_the_worst_fit(write_csv: WriteCsv) -> None:
    X, y = random_problem(5, 30, 2)
    a = write_csv(table_text(X, y, ["u", "v"]), "a.csv")
    code, out, _ = run("fit", "--each-file", a, a, "--max-iter", "1", "--format", "jsonl")
    assert code == ExitCode.NOT_CONVERGED
    assert [r["status"] for r in jsonl(out)] == ["max_iter", "max_iter"]


# ---- --group-by ---------------------------------------------------------------------------

def test_group_by_equals_separate_fits_of_each_group(write_csv: WriteCsv) -> None:
    rng = np.random.default_rng(5)
    n = 120
    X = rng.normal(size=(n, 2)) * [3, 0.5]
    groups = rng.choice(["north", "south", "east"], size=n)
    coef = {"north": (1, 2, 3), "south": (-1, 0.5, 0), "east": (4, -4, 10)}
    y = np.array([X[i] @ coef[g][:2] + coef[g][2] for i, g in enumerate(groups)])
    y += 0.1 * rng.normal(size=n)
    data = write_csv(table_text(X, y, ["u", "v"], {"site": list(groups)}), "data.csv")
    code, out, err = run("fit", data, "--group-by", "site", "--format", "jsonl", "-q")
    assert code == 0, err
    rows = jsonl(out)
    first_seen = list(dict.fromkeys(groups))
    assert [r["group"] for r in rows] == [{"site": g} for g in first_seen]
    for row in rows:
        g = row["group"]["site"]
        mask = groups == g
        alone = write_csv(table_text(X[mask], y[mask], ["u", "v"]), f"{g}.csv")
        single = fit_json(alone)
        assert row["n_obs"] == single["n_obs"] == mask.sum()
        np.testing.assert_allclose([*row["w"], row["b"]], [*single["w"], single["b"]],
                                   rtol=1e-10)
        np.testing.assert_allclose([*row["w"], row["b"]], lstsq(X[mask], y[mask]), rtol=1e-9)
        assert row["features"] == ["u", "v"]  # the text key column is not a feature


def test_a_numeric_group_column_is_never_a_feature(write_csv: WriteCsv) -> None:
    code, out, _ = run("fit", SAMPLES / "housing.csv", "--group-by", "rooms", "-f", "jsonl",
                       "-q")
    rows = jsonl(out)
    assert all(r.get("features", ["area_m2", "age_years", "distance_km"]) ==
               ["area_m2", "age_years", "distance_km"] for r in rows)
    assert sorted(r["group"]["rooms"] for r in rows) == [str(k) for k in range(1, 8)]
    assert code in (ExitCode.OK, ExitCode.DATA_ERROR)  # small groups may be unfittable


def test_groups_too_small_are_reported_not_dropped(write_csv: WriteCsv) -> None:
    text = "g,x,y\na,1,2\na,2,4.1\na,3,5.9\nb,1,1\nc,2,2\nc,2,3\n"
    code, out, err = run("fit", write_csv(text), "--group-by", "g", "--format", "csv")
    assert code == ExitCode.DATA_ERROR
    rows = {r["g"]: r for r in csv.DictReader(io.StringIO(out))}
    assert list(rows) == ["a", "b", "c"]
    assert rows["a"]["status"] == "converged" and rows["a"]["n_obs"] == "3"
    assert rows["b"]["status"] == "error"
    assert rows["b"]["message"] == ("1 row but 2 parameters to fit (1 coefficient and an "
                                    "intercept): need at least 2 rows")
    assert rows["c"]["status"] == "error" and "column 'x' is constant" in rows["c"]["message"]
    assert "[g=b]: error: 1 row but 2 parameters" in err


def test_group_by_two_columns_and_each_file(write_csv: WriteCsv) -> None:
    lines = ["k1,k2,x,y"]
    for k1 in ("p", "q"):
        for k2 in ("1", "2"):
            for x in range(4):
                lines.append(f"{k1},{k2},{x},{x * (2 if k1 == 'p' else 3) + int(k2)}")
    a = write_csv("\n".join(lines) + "\n", "a.csv")
    b = write_csv("\n".join(lines[:9]) + "\n", "b.csv")
    code, out, err = run("fit", a, b, "--each-file", "--group-by", "k1,k2", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:4] == ["source", "k1", "k2", "target"]
    assert [(r["source"], r["k1"], r["k2"]) for r in rows] == [
        (str(a), "p", "1"), (str(a), "p", "2"), (str(a), "q", "1"), (str(a), "q", "2"),
        (str(b), "p", "1"), (str(b), "p", "2")]
    for r in rows:
        assert float(r["w_x"]) == pytest.approx(2 if r["k1"] == "p" else 3, abs=1e-9)
        assert float(r["b"]) == pytest.approx(int(r["k2"]), abs=1e-9)


def test_group_key_cannot_be_x_or_y(write_csv: WriteCsv) -> None:
    data = write_csv("g,x,y\n1,1,2\n1,2,4\n")
    code, _, err = run("fit", data, "--group-by", "x", "--x", "x", "--y", "y")
    assert code == ExitCode.USAGE_ERROR and "used both to group by and as x or y" in err
    code, _, err = run("fit", data, "--group-by", "nope")
    assert code == ExitCode.DATA_ERROR and "no column 'nope'" in err


def test_a_group_key_named_like_a_result_column_is_prefixed(write_csv: WriteCsv) -> None:
    data = write_csv("status,x,y\nA,1,2\nA,2,4\nA,3,6.5\n")
    code, out, _ = run("fit", data, "--group-by", "status", "--format", "csv")
    assert code == 0
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["group_status"] == "A" and row["status"] == "converged"


# ---- the library ---------------------------------------------------------------------------

def test_group_rows_keeps_first_appearance_and_row_order() -> None:
    keys = np.array([["b", "1"], ["a", "1"], ["b", "1"], ["b", "2"], ["a", "1"]], dtype=object)
    got = [(k, idx.tolist()) for k, idx in group_rows(keys)]
    assert got == [(("b", "1"), [0, 2]), (("a", "1"), [1, 4]), (("b", "2"), [3])]
    assert group_rows(np.empty((0, 1), dtype=object)) == []


def test_batch_exit_code() -> None:
    ok = BatchRow("a")
    assert batch_exit_code([]) == ExitCode.OK
    assert batch_exit_code([ok]) == ExitCode.DATA_ERROR  # no result: an error row
    assert ok.status == "error" and ok.message == ""
