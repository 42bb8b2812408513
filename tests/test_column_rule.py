"""One column rule (issue 12, defect 2): every reader chooses the same columns from one file.

"Numeric" is judged on the head of the input (gdfit.column_rule): a column that is text in the
head is skipped by every engine, and a column chosen as numeric that holds text further down is
the same data error (file, column, line) on every engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import gdfit
from gdfit.cli import app
from gdfit.column_rule import HEAD_BYTES, SAMPLE_ROWS, is_numeric, judge_bytes
from gdfit.errors import DataError
from gdfit.io import read_dataset
from gdfit.stream import sniff_head

runner = CliRunner()
N = 3000


def _write(path: Path, cells: Callable[[int], str], n: int = N, seed: int = 7) -> Path:
    """a, b, c, y with y = 1 + 2a − b + noise; column c's cell on row i is ``cells(i)``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = 1 + 2 * X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=n)
    c = rng.normal(size=n)
    lines = ["a,b,c,y"] + [
        f"{float(X[i, 0])!r},{float(X[i, 1])!r},{cells(i) or repr(float(c[i]))},{float(y[i])!r}"
        for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


#: Column c per case: text in the first k rows (k = 1200, past the head's 1000 rows; k = 5),
#: text only in the last rows, NA only in the first 1200 rows.
CASES: dict[str, Callable[[int], str]] = {
    "text-first-1200": lambda i: "txt" if i < 1200 else "",
    "text-first-5": lambda i: "txt" if i < 5 else "",
    "text-at-end": lambda i: "txt" if i >= N - 5 else "",
    "na-first-1200": lambda i: "NA" if i < 1200 else "",
    "na-first-5": lambda i: "NA" if i < 5 else "",
}
#: What the head rule says of each case: the x columns chosen, or the error (after the file).
EXPECTED: dict[str, list[str] | str] = {
    "text-first-1200": ["a", "b"],
    "text-first-5": "column 'c', line 2: 'txt' is not a number",
    "text-at-end": f"column 'c', line {N - 5 + 2}: 'txt' is not a number",
    "na-first-1200": ["a", "b"],
    "na-first-5": "missing or non-finite values in column 'c' on lines 2, 3, 4, 5, 6; use "
                  "--dropna to drop such rows",
}


def _outcome(args: list[str]) -> tuple[int, list[str] | str]:
    """Exit code and the x columns chosen (JSON `features`), or the error's core message."""
    out = runner.invoke(app, args)
    if out.exit_code == 0:
        doc = json.loads(out.stdout)
        rows = doc if isinstance(doc, list) else [doc]
        features = {tuple(r["features"]) for r in rows}
        assert len(features) == 1, out.stdout
        return 0, list(features.pop())
    if out.exit_code == 1 and "--each-file" in args:  # the error is in the file's row
        doc = json.loads(out.stdout)
        return 1, _core(f"{doc[0]['source']}: {doc[0]['message']}")
    error = [ln for ln in out.stderr.splitlines() if ln.startswith("gdfit: error:")]
    assert len(error) == 1, out.stderr
    return out.exit_code, _core(error[0].removeprefix("gdfit: error: "))


def _core(message: str) -> str:
    """File, column, line and the cell of a 'not a number' error (engines add their hints)."""
    if "is not a number" not in message:
        return message
    found = re.match(r"(.*?: column '\w+', line \d+: '.*?' is not a number)", message)
    assert found, message
    return found.group(1)


def _paths(path: Path, scheduler: str | None, tmp_path: Path) -> dict[str, list[str]]:
    src = str(path)
    grouped = tmp_path / f"grouped-{path.name}"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.insert(0, "g", ["p", "q"] * (len(frame) // 2))
    frame.to_csv(grouped, index=False)
    paths = {
        "gram": ["fit", src, "--engine", "gram", "-f", "json", "-q"],
        "rows": ["fit", src, "--engine", "rows", "-f", "json", "-q"],
        "auto": ["fit", src, "-f", "json", "-q"],
        "each-file": ["fit", src, "--each-file", "-f", "json", "-q"],
        "group-by": ["fit", str(grouped), "--group-by", "g", "-f", "json", "-q"],
        "compare": ["compare", src, "-s", "cg", "-f", "json", "-q"],
        "y-given": ["fit", src, "--engine", "rows", "-y", "y", "-f", "json", "-q"],
    }
    if scheduler is not None:
        paths["dask"] = ["fit", src, "--engine", "dask", "--scheduler", scheduler, "-f", "json",
                         "-q"]
    return paths


@pytest.mark.parametrize("case", list(CASES))
def test_every_path_chooses_the_same_columns_or_the_same_error(
        case: str, tmp_path: Path, scheduler: str | None) -> None:
    path = _write(tmp_path / f"{case}.csv", CASES[case])
    outcomes = {name: _outcome(args) for name, args in _paths(path, scheduler, tmp_path).items()}
    for name in ("group-by",):  # its error names the grouped copy of the file
        code, what = outcomes[name]
        if code:
            outcomes[name] = code, what.replace(f"grouped-{path.name}", path.name)
    expected = EXPECTED[case]
    if isinstance(expected, list):
        assert outcomes == dict.fromkeys(outcomes, (0, expected))
    else:
        assert outcomes == dict.fromkeys(outcomes, (1, f"{path}: {expected}"))


@pytest.mark.parametrize("case", list(CASES))
def test_the_library_reader_follows_the_rule_and_gdfit_fit_agrees(case: str,
                                                                   tmp_path: Path) -> None:
    path = _write(tmp_path / f"{case}.csv", CASES[case])
    expected = EXPECTED[case]
    if not isinstance(expected, list):
        with pytest.raises(DataError, match=re.escape(f"{path}: {expected}")):
            read_dataset(path)
        return
    data = read_dataset(path)
    assert list(data.features) == expected and data.ignored_columns == ("c",)
    # the columns a pandas user picks from the same file give the same fit (lstsq the judge)
    frame = pd.read_csv(path)
    result = gdfit.fit(frame[list(data.features)], frame["y"])
    design = np.column_stack([frame[expected].to_numpy(), np.ones(len(frame))])
    theta = np.linalg.lstsq(design, frame["y"].to_numpy(), rcond=None)[0]
    assert np.allclose([*result.w, result.b], theta, rtol=1e-9, atol=1e-12)
    assert np.allclose(data.X, frame[expected].to_numpy(), rtol=0, atol=0)


def test_the_head_is_bytes_as_well_as_rows(tmp_path: Path) -> None:
    """Wide rows: fewer than SAMPLE_ROWS rows fit in HEAD_BYTES, and the head is those rows.

    Column c is text in the first 400 rows (the whole head, about 300 rows) and numbers in the
    700 after: numeric over the whole column, and over the first 1000 rows, but not in the head.
    """
    pad = "p" * (HEAD_BYTES // 300)
    path = _write(tmp_path / "wide.csv", lambda i: "txt" if i < 400 else "", n=1100)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",pad"] + [ln + "," + pad for ln in lines[1:]]) + "\n")
    head = path.read_bytes()[:HEAD_BYTES]
    assert head.count(b"\n") < 400 < SAMPLE_ROWS
    gram = _outcome(["fit", str(path), "--engine", "gram", "-f", "json", "-q"])
    rows = _outcome(["fit", str(path), "--engine", "rows", "-f", "json", "-q"])
    assert gram == rows == (0, ["a", "b"])
    assert read_dataset(path).ignored_columns == ("c", "pad")


cell = st.one_of(st.sampled_from(["", "NA", "nan", "x", "1,5", " 2 ", "-inf", "1e3", "N/A"]),
                 st.floats(allow_nan=False).map(repr), st.text(max_size=4))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(cell, min_size=2, max_size=2), min_size=1, max_size=30),
       st.booleans())
def test_the_streaming_head_and_the_in_memory_head_agree(rows: list[list[str]], bom: bool
                                                         ) -> None:
    """sniff_head (gram, dask) and judge_bytes (rows) judge the same bytes the same way."""
    clean = [[c.replace(",", "").replace("\n", "").replace("\r", "").replace('"', "")
              for c in r] for r in rows]
    text = "u,v\n" + "".join(",".join(r) + "\n" for r in clean)
    if not text[4:].strip() or any(not ",".join(r).strip() for r in clean[:1]):
        return  # no data rows: an error for both, tested elsewhere
    data = text.encode()
    head = (b"\xef\xbb\xbf" if bom else b"") + data
    try:
        table = sniff_head("s", head, True, True, ",")
    except DataError:
        return
    judged = judge_bytes(data, 4, ",", 2, skipped=3 if bom else 0)
    assert table.numeric == judged.numeric and table.commas == judged.commas
    for j in range(2):  # and the rule itself: more numbers than text, at least one number
        cells = [r[j] for r in clean if ",".join(r).strip()]
        numbers = sum(_number(c) is True for c in cells)
        texts = sum(_number(c) is False for c in cells)
        assert judged.numeric[j] == (numbers > 0 and numbers > texts) == is_numeric(cells)


def _number(cell: str) -> bool | None:
    """An independent reading of the cell rule: float() for numbers, the NA spellings."""
    from gdfit.cells import _NA_TOKENS

    if cell.strip() in _NA_TOKENS:
        return None
    try:
        float(cell.strip())
    except ValueError:
        return False
    return True


def test_a_bad_cell_on_a_dask_worker_is_one_line_on_stderr(tmp_path: Path) -> None:
    """The worker's "Compute Failed" log (with a traceback) is not shown: only gdfit's line."""
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    import subprocess
    import sys

    path = _write(tmp_path / "late.csv", CASES["text-at-end"])
    done = subprocess.run([sys.executable, "-m", "gdfit", "fit", str(path), "--engine", "dask",
                           "-q"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"gdfit: error: {path}: {EXPECTED['text-at-end']}"]


def test_several_files_are_judged_each_by_its_own_head_on_every_engine(
        tmp_path: Path, scheduler: str | None) -> None:
    """c is numeric in the head of one file and text in the other's (numbers after its
    head): every engine refuses the automatic choice the same way."""
    one = _write(tmp_path / "one.csv", lambda i: "", seed=1)
    two = _write(tmp_path / "two.csv", CASES["text-first-1200"], seed=2)
    engines = [["--engine", "gram"], ["--engine", "rows"]]
    if scheduler is not None:
        engines.append(["--engine", "dask", "--scheduler", scheduler])
    want = (f"gdfit: error: {two}: the automatic choice gives y = y, x = a, b, but {one} "
            "gives y = y, x = a, b, c; name the columns with --x and --y")
    for engine in engines:
        out = runner.invoke(app, ["fit", str(one), str(two), *engine, "-q"])
        assert (out.exit_code, out.stderr.strip()) == (1, want), engine


KINDS = {"number": None, "text": "txt", "missing": "NA", "empty": ""}


@st.composite
def columns(draw: st.DrawFn) -> tuple[int, list[list[tuple[int, str]]]]:
    """Row count and, per column (a, b, c, y), runs of (first row, kind) from row 0."""
    n = draw(st.integers(1, 2 * SAMPLE_ROWS + 500))
    cols = []
    for _ in range(4):
        starts = sorted({0, *draw(st.lists(st.integers(0, n - 1), max_size=3))})
        kinds = draw(st.lists(st.sampled_from(list(KINDS)), min_size=len(starts),
                              max_size=len(starts)))
        cols.append(list(zip(starts, kinds, strict=True)))
    return n, cols


def _kind_at(runs: list[tuple[int, str]], i: int) -> str:
    return next(kind for start, kind in reversed(runs) if start <= i)


def _normal(message: str) -> str:
    """An error message without the engines' own hints."""
    message = message.replace(" (--on-bad-rows skip skips such rows)", "")
    return re.sub(r" \(and \d+ more in this column\)", "", message)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(columns())
def test_the_streaming_and_in_memory_readers_agree_on_random_columns(
        tmp_path: Path, table: tuple[int, list[list[tuple[int, str]]]]) -> None:
    """Columns that switch between numbers, text and missing cells anywhere, before, across
    or after the head: read_dataset (rows) and stream_moments (gram) choose the same columns,
    or raise the same error."""
    from gdfit.stream import stream_moments

    n, cols = table
    rng = np.random.default_rng(n)
    values = rng.normal(size=(n, 4))
    lines = ["a,b,c,y"]
    for i in range(n):
        cells = [KINDS[_kind_at(runs, i)] for runs in cols]
        lines.append(",".join(repr(float(values[i, j])) if cell is None else cell
                              for j, cell in enumerate(cells)))
    path = tmp_path / "random.csv"
    path.write_text("\n".join(lines) + "\n")

    def outcome(read: Callable[[], tuple[tuple[str, ...], str, tuple[str, ...]]]
                ) -> tuple[str, ...]:
        try:
            features, target, ignored = read()
        except DataError as exc:
            return ("error", _normal(str(exc)))
        return ("ok", ",".join(features), target, ",".join(ignored))

    def rows() -> tuple[tuple[str, ...], str, tuple[str, ...]]:
        data = read_dataset(path)
        return data.features, data.target, data.ignored_columns

    def gram() -> tuple[tuple[str, ...], str, tuple[str, ...]]:
        info = stream_moments([str(path)])[1]
        return info.features, info.target, info.ignored_columns

    assert outcome(rows) == outcome(gram)


@pytest.mark.parametrize("body", [",,,\n,,,\n", ' , ,"",\n\n,,,\n'])
def test_lines_of_only_delimiters_are_blank_in_the_head_as_in_the_data(tmp_path: Path,
                                                                       body: str) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("a,b,c,y\n" + body)
    want = f"gdfit: error: {path}: no data rows (only a header)"
    for engine in ("gram", "rows"):
        out = runner.invoke(app, ["fit", str(path), "--engine", engine, "-q"])
        assert (out.exit_code, out.stderr.strip()) == (1, want), engine
