"""The streaming reader (gdfit.stream) and the engines (gdfit.engines)."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import gdfit
from gdfit.cli import app
from gdfit.engines import (
    Engine,
    RowsLeastSquares,
    choose_engine,
    fit_rows,
    moment_statistics,
)
from gdfit.errors import DataError, OptionError
from gdfit.objective import LeastSquares
from gdfit.stats import statistics
from gdfit.stream import (
    Moments,
    ReadInterrupted,
    TreeMerge,
    read_rows,
    stream_moments,
    stream_statistics,
)
from tests.conftest import random_problem

runner = CliRunner()


def two_pass(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and centred Σ(a − ā)(a − ā)ᵀ by the textbook two-pass algorithm."""
    mean = data.mean(axis=0)
    centred = data - mean
    return mean, centred.T @ centred


def rel(a: np.ndarray, b: np.ndarray) -> float:
    """Norm-wise relative difference ‖a − b‖/‖b‖."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


@pytest.fixture
def table(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A 3-column CSV file of 5000 rows with a text column, and its X, y."""
    X, y = random_problem(7, 5000, 3)
    lines = ["a,b,c,label,y"] + [f"{x[0]!r},{x[1]!r},{x[2]!r},t{i},{v!r}"
                                 for i, (x, v) in enumerate(zip(X.tolist(), y.tolist(),
                                                                strict=True))]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, X, y


# ---------------------------------------------------------------------------------------------
# Moments and the pairwise merge


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 400), p=st.integers(1, 5),
       cuts=st.lists(st.floats(0, 1), max_size=8), shift=st.floats(-1e6, 1e6))
def test_chan_merge_equals_two_pass(seed: int, n: int, p: int, cuts: list[float],
                                    shift: float) -> None:
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(n, p)) * 10.0 ** rng.uniform(-2, 2, size=p) + shift
    edges = sorted({0, n, *(int(c * n) for c in cuts)})
    shift = data[0]  # what the streaming reader does: shift by the first row
    parts = [Moments.of_array(data[a:b], shift) for a, b in itertools.pairwise(edges)]
    tree = TreeMerge(p)
    running = Moments.empty(p)
    for m in parts:
        tree.add(m)
        running = running.merge(m)
    mean, m2 = two_pass(data)
    for merged in (tree.total().unshifted(shift), running.unshifted(shift)):
        assert merged.n == n
        assert rel(merged.mean, mean) <= 1e-12
        assert rel(merged.m2, m2) <= 1e-12


def test_empty_moments_are_the_identity() -> None:
    data = np.random.default_rng(1).normal(size=(10, 2))
    m = Moments.of_array(data)
    assert m.merge(Moments.empty(2)) is m and Moments.empty(2).merge(m) is m
    with pytest.raises(DataError, match="no observations"):
        Moments.empty(2).problem()


def test_statistics_match_from_arrays(table: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, X, y = table
    moments, info = stream_moments([str(path)], block_bytes=4096)  # ~50 blocks, merged
    ref = LeastSquares.from_arrays(X, y)
    got = moments.problem()
    assert got.n == 5000 and info.rows == 5000
    assert info.features == ("a", "b", "c") and info.target == "y"
    assert info.ignored_columns == ("label",) and info.auto_columns
    for field in ("x_mean", "gram", "xty"):
        assert rel(getattr(got, field), getattr(ref, field)) <= 1e-12
    assert got.y_mean == pytest.approx(ref.y_mean, rel=1e-12)
    assert got.yty == pytest.approx(ref.yty, rel=1e-12)


def test_small_inputs_give_the_rows_engines_numbers_exactly(
        table: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path) -> None:
    path, X, y = table
    text = path.read_text().splitlines(keepends=True)
    halves = [tmp_path / "h1.csv", tmp_path / "h2.csv"]
    halves[0].write_text("".join(text[:2000]))
    halves[1].write_text(text[0] + "".join(text[2000:]))
    ref = LeastSquares.from_arrays(X, y)
    for paths in ([path], halves):
        got, _ = stream_statistics([str(p) for p in paths], block_bytes=4096)
        assert np.array_equal(got.gram, ref.gram) and np.array_equal(got.xty, ref.xty)
        assert got.yty == ref.yty and np.array_equal(got.x_mean, ref.x_mean)


def test_read_rows_returns_the_rows(table: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, X, y = table
    Xr, yr, info = read_rows([str(path)], block_bytes=4096, x=["c", "a"])
    assert np.array_equal(Xr, X[:, [2, 0]]) and np.array_equal(yr, y)
    assert info.features == ("c", "a")


# ---------------------------------------------------------------------------------------------
# Inputs


def test_compressed_parquet_glob_and_stdin_agree(
        table: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path) -> None:
    path, X, y = table
    raw = path.read_bytes()
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "t.csv.zst").write_bytes(zstd(raw))
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2],
                             "label": [f"t{i}" for i in range(len(y))], "y": y}),
                   tmp_path / "t.parquet", row_group_size=700)
    lines = raw.decode().splitlines(keepends=True)
    for k, chunk in enumerate((lines[1:1700], lines[1700:3300], lines[3300:])):
        (tmp_path / f"part-{k}.csv").write_text(lines[0] + "".join(chunk))
    ref, _ = stream_moments([str(path)], block_bytes=8192)
    sources = {
        "gzip": [str(tmp_path / "t.csv.gz")],
        "zstd": [str(tmp_path / "t.csv.zst")],
        "parquet": [str(tmp_path / "t.parquet")],
        "parts": [str(tmp_path / f"part-{k}.csv") for k in range(3)],
    }
    for name, paths in sources.items():
        got, info = stream_moments(paths, block_bytes=8192)
        assert got.n == 5000, name
        assert rel(got.mean, ref.mean) <= 1e-13 and rel(got.m2, ref.m2) <= 1e-12, name
        assert info.features == ("a", "b", "c"), name
    for data in (raw, gzip.compress(raw), zstd(raw)):  # compressed stdin found by magic bytes
        got, info = stream_moments(["-"], stdin=io.BufferedReader(io.BytesIO(data)),
                                   block_bytes=8192)
        assert info.source == "<stdin>" and got.n == 5000
        assert rel(got.m2, ref.m2) <= 1e-12


def test_glob_through_the_command_line(table: tuple[Path, np.ndarray, np.ndarray],
                                       tmp_path: Path) -> None:
    path, X, y = table
    lines = path.read_text().splitlines(keepends=True)
    for k, chunk in enumerate((lines[1:2500], lines[2500:])):
        (tmp_path / f"part-{k}.csv").write_text(lines[0] + "".join(chunk))
    outcome = runner.invoke(app, ["fit", str(tmp_path / "part-*.csv"), "-f", "json", "-q"])
    assert outcome.exit_code == 0, outcome.output
    data = json.loads(outcome.stdout)
    theta, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)
    assert data["n_obs"] == 5000 and data["engine"] == "gram"
    assert np.allclose([*data["w"], data["b"]], theta, rtol=1e-9, atol=1e-12)


def test_several_files_must_have_the_same_columns(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x,y\n1,2\n2,4\n3,7\n")
    (tmp_path / "b.csv").write_text("x,z\n1,2\n2,4\n")
    with pytest.raises(DataError, match=r"b\.csv: its columns differ from .*a\.csv's: no "
                                        r"column 'y'; extra column 'z'"):
        stream_moments([str(tmp_path / "a.csv"), str(tmp_path / "b.csv")])


def test_whitespace_separated_text_is_read_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_text("x   y\n1 2\n\n2  4.5\n3\t6\n")
    problem, info = stream_statistics([str(path)])
    ref = LeastSquares.from_arrays(np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.5, 6.0]))
    assert problem.n == 3 and info.reader == "csv module"
    assert problem.xty == pytest.approx(ref.xty, rel=1e-15)


def test_progress_reports_bytes_up_to_the_total(
        table: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, _, _ = table
    seen: list[tuple[int, int | None]] = []
    stream_moments([str(path)], block_bytes=16384, progress=lambda d, t: seen.append((d, t)))
    size = path.stat().st_size
    assert len(seen) > 5 and all(t == size for _, t in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == size


# ---------------------------------------------------------------------------------------------
# Bad input


def lines_with(bad: dict[int, str], n: int = 30000) -> str:
    """A x,y CSV whose line numbers (1 = header) in ``bad`` hold the given text."""
    lines = ["x,y"] + [f"{i},{2 * i + 1}" for i in range(n)]
    for number, text in bad.items():
        lines[number - 1] = text
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(("bad", "message"), [
    ({25001: "25000,abc"}, "column 'y', line 25001: 'abc' is not a number"),
    ({20002: "1,2,3"}, "line 20002 has 3 fields, but the header has 2"),
    ({15003: "7,", 15010: "8,NA"}, "missing or non-finite values in column 'y' on lines "
                                   "15003, 15010; use --dropna"),
    ({29000: "5,inf"}, "missing or non-finite values in column 'y' on line 29000"),
    ({10: "", 11: "", 22222: "x,5"}, "column 'x', line 22222: 'x' is not a number"),
    ({22000: '3,"4'}, "line 22000"),
])
def test_a_bad_row_deep_in_the_file_is_named_by_its_line(
        tmp_path: Path, bad: dict[int, str], message: str, compress: bool) -> None:
    data = lines_with(bad).encode()
    path = tmp_path / ("d.csv.gz" if compress else "d.csv")
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(DataError) as caught:
        stream_moments([str(path)], block_bytes=8192)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text, text


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(lines_with({}).encode() + b"3,\xe94\n")
    with pytest.raises(DataError, match=r"not UTF-8 text \(byte 0xe9 on line 30002\)"):
        stream_moments([str(path)], block_bytes=8192)


def test_skip_counts_bad_rows_and_dropna_counts_missing(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    bad = {101: "1,2,3", 5001: "4,abc", 25001: "x,y", 7001: "5,", 7002: "NA,3"}
    path.write_text(lines_with(bad))
    problem, info = stream_statistics([str(path)], block_bytes=8192, on_bad_rows="skip",
                                      dropna=True)
    assert info.skipped_rows == 3 and info.dropped_rows == 2
    assert info.skipped == ((str(path), 101), (str(path), 5001), (str(path), 25001))
    assert problem.n == 30000 - 5
    x = np.array([i for i in range(30000) if i + 2 not in bad], dtype=float)
    ref = LeastSquares.from_arrays(x[:, None], 2 * x + 1)
    assert problem.gram == pytest.approx(ref.gram, rel=1e-12)
    with pytest.raises(DataError, match="line 7001"):
        stream_moments([str(path)], block_bytes=8192, on_bad_rows="skip")


def test_empty_and_header_only_inputs(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("\n\n")
    (tmp_path / "h.csv").write_text("x,y\n")
    with pytest.raises(DataError, match=r"e\.csv: the file is empty"):
        stream_moments([str(tmp_path / "e.csv")])
    with pytest.raises(DataError, match=r"h.csv: no data rows \(only a header\)"):
        stream_moments([str(tmp_path / "h.csv")])
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        stream_moments([str(tmp_path / "nope.csv")])
    with pytest.raises(OptionError, match="on_bad_rows="):
        stream_moments([str(tmp_path / "h.csv")], on_bad_rows="ignore")


def test_ctrl_c_while_reading_keeps_the_rows_read(
        table: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, X, y = table
    calls = 0

    def interrupt(done: int, total: int | None) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt

    with pytest.raises(ReadInterrupted) as caught:
        stream_moments([str(path)], block_bytes=16384, progress=interrupt, threads=1)
    part = caught.value.moments
    assert 0 < part.n < 5000 and caught.value.info.rows == part.n
    mean, m2 = two_pass(np.column_stack([X, y])[:part.n])
    assert rel(part.mean, mean) <= 1e-12 and rel(part.m2, m2) <= 1e-12


# ---------------------------------------------------------------------------------------------
# Engines


@pytest.mark.filterwarnings("ignore::gdfit.errors.ConvergenceWarning")  # budgets on purpose
@pytest.mark.parametrize(("step", "alpha", "scale", "intercept", "d"), [
    ("exact", None, "standard", True, 1),
    ("backtracking", None, "standard", True, 3),
    ("fixed", 1e-3, "none", False, 2),
    ("norm", 1e-3, "standard", True, 1),
    ("bb", None, "standard", True, 4),
])
def test_gram_and_rows_engines_take_the_same_steps(step: str, alpha: float | None,
                                                   scale: str, intercept: bool, d: int) -> None:
    X, y = random_problem(11 + d, 3000, d, intercept=intercept)
    options = {"intercept": intercept, "step": step, "alpha": alpha, "max_iter": 200,
               "history": True, "scale": scale}
    gram = gdfit.fit(X, y, **options)
    rows = fit_rows(X, y, **options)
    assert rows.engine == "rows" and rows.iterations == gram.iterations > 0
    for a, b in zip(gram.history, rows.history, strict=True):
        ta = np.append(a.w, a.b if a.b is not None else [])
        tb = np.append(b.w, b.b if b.b is not None else [])
        if np.linalg.norm(ta) > 0:
            assert rel(tb, ta) <= 1e-12


def test_rows_objective_matches_the_statistics_and_reuses_its_buffer() -> None:
    X, y = random_problem(3, 200_000, 2)
    rows = RowsLeastSquares.from_rows(X, y)
    stats = LeastSquares.from_arrays(X, y)
    theta = np.array([0.3, -0.7, 1.1])
    loss, grad = rows.loss_and_grad(theta)
    ref_loss, ref_grad = stats.loss_and_grad(theta)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert rel(grad, ref_grad) <= 1e-11
    assert rel(rows.hvp(grad), stats.hvp(grad)) <= 1e-12
    buffer = rows._r
    tracemalloc.start()
    rows.loss_and_grad(theta)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert rows._r is buffer
    assert peak < 64 * 1024  # nothing like the 1.6 MB of one n-length array


def test_one_feature_fast_path_is_the_general_formula() -> None:
    X, y = random_problem(5, 50, 1)
    for intercept in (True, False):
        fast = LeastSquares.from_arrays(X, y, intercept=intercept)
        general = LeastSquares.from_arrays(X, y, intercept=intercept)
        object.__setattr__(general, "_scalars", None)
        theta = np.array([0.4, -1.3])[:fast.dim]
        step = np.array([1e-3, 2e-3])[:fast.dim]
        # The same formulas; the general path sums in another order (one stacked product).
        for a, b in zip(fast.loss_and_grad(theta), general.loss_and_grad(theta), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(fast.hvp(step), general.hvp(step), rtol=1e-13, atol=1e-18)
        grad = fast.grad(theta)
        np.testing.assert_allclose(fast.loss_change(grad, step),
                                   general.loss_change(grad, step), rtol=1e-12)


def test_choose_engine() -> None:
    assert choose_engine("auto") == (Engine.gram, "full batch: the sufficient statistics "
                                                  "suffice")
    assert choose_engine("auto", ["--stats"]) == (Engine.rows, "--stats needs the rows")
    assert choose_engine("rows", ["--stats"])[0] is Engine.rows
    with pytest.raises(OptionError, match="--stats, --poly need the rows in memory; use "
                                          "--engine rows"):
        choose_engine("gram", ["--stats", "--poly"])


def test_statistics_from_moments_match_those_from_rows() -> None:
    for intercept in (True, False):
        X, y = random_problem(21, 80, 3, intercept=intercept, noise=0.5)
        result = gdfit.fit(X, y, intercept=intercept)
        got = moment_statistics(LeastSquares.from_arrays(X, y, intercept=intercept), result)
        ref = statistics(X, y, result.w, result.b, features=result.features)
        for a, b in zip(got.parameters, ref.parameters, strict=True):
            assert a.name == b.name
            assert a.std_error == pytest.approx(b.std_error, rel=1e-9)
            assert a.p_value == pytest.approx(b.p_value, rel=1e-6, abs=1e-300)
        assert got.r2 == pytest.approx(ref.r2, rel=1e-9)
        assert got.f_statistic == pytest.approx(ref.f_statistic, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# The command line


def fit_json(*args: str) -> tuple[int, dict[str, object], str]:
    outcome = runner.invoke(app, ["fit", *args, "-f", "json"])
    data = json.loads(outcome.stdout) if outcome.stdout.strip() else {}
    return outcome.exit_code, data, outcome.stderr


def test_the_output_says_which_engine_ran(table: tuple[Path, np.ndarray, np.ndarray]
                                          ) -> None:
    path = str(table[0])
    code, gram, err = fit_json(path)
    assert code == 0 and gram["engine"] == "gram"
    assert "engine gram (full batch" in err and "(pyarrow.csv)" in err
    code, rows, err = fit_json(path, "--engine", "rows")
    assert code == 0 and rows["engine"] == "rows" and "engine rows (as asked)" in err
    assert rel(np.array(rows["w"]), np.array(gram["w"])) <= 1e-12
    code, stats, err = fit_json(path, "--stats")
    # --stats keeps the rows in memory, and descends on their sufficient statistics.
    assert code == 0 and stats["engine"] == "gram" and \
        "engine gram, rows in memory (--stats needs the rows)" in err
    # JSON carries the inference statistics with every engine.
    gram_se = [p["std_error"] for p in gram["stats"]["parameters"]]  # type: ignore[index]
    rows_se = [p["std_error"] for p in stats["stats"]["parameters"]]  # type: ignore[index]
    assert gram_se == pytest.approx(rows_se, rel=1e-9)


@pytest.mark.parametrize(("args", "fragment"), [
    (["--engine", "gram", "--stats"], "--stats needs the rows in memory"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler is the address of a Dask scheduler"),
    (["--engine", "rows", "--on-bad-rows", "skip"], "--on-bad-rows skip works with"),
    (["--engine", "dask", "-"], "cannot read standard input"),
])
def test_engine_usage_errors(table: tuple[Path, np.ndarray, np.ndarray], args: list[str],
                             fragment: str) -> None:
    if "dask" in args:
        pytest.importorskip("distributed")
    paths = [] if "-" in args else [str(table[0])]
    outcome = runner.invoke(app, ["fit", *paths, *args])
    assert outcome.exit_code == 2, outcome.output
    assert fragment in outcome.stderr


def test_cli_bad_row_exit_code_and_skip(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(lines_with({12345: "1,oops"}))
    outcome = runner.invoke(app, ["fit", str(path), "-q"])
    assert outcome.exit_code == 1
    assert f"{path}: column 'y', line 12345: 'oops' is not a number" in outcome.stderr
    code, data, err = fit_json(str(path), "--on-bad-rows", "skip")
    assert code == 0 and data["skipped_rows"] == 1 and data["n_obs"] == 29999
    assert "skipped 1 malformed rows (line 12345)" in err


def test_cli_ctrl_c_while_reading_prints_the_partial_fit(
        table: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path, X, y = table
    import gdfit.stream as stream

    def interrupted(paths: list[str], **options: object) -> object:
        _, info = stream.stream_moments(paths, block_bytes=1 << 30)
        part = Moments.of_array(np.column_stack([X, y])[:1000])
        raise ReadInterrupted(part, info)

    monkeypatch.setattr(stream, "stream_statistics", interrupted)
    target = tmp_path / "out.json"
    outcome = runner.invoke(app, ["fit", str(path), "-f", "json", "-o", str(target)])
    assert outcome.exit_code == 130, outcome.output
    data = json.loads(target.read_text())
    assert data["status"] == "interrupted" and data["n_obs"] == 1000
    assert "interrupted while reading: fitted to the first 1000 rows" in data["message"]
    ref = gdfit.fit(X[:1000], y[:1000])
    assert np.allclose(data["w"], ref.w, rtol=1e-9)


def test_cli_ctrl_c_with_too_few_rows_leaves_no_output(
        table: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import gdfit.stream as stream
    from gdfit.stream import StreamInfo

    def interrupted(paths: list[str], **options: object) -> object:
        raise ReadInterrupted(Moments.empty(4), StreamInfo(("t.csv",), ("a", "b", "c"), "y", 0))

    monkeypatch.setattr(stream, "stream_statistics", interrupted)
    target = tmp_path / "out.json"
    outcome = runner.invoke(app, ["fit", str(table[0]), "-o", str(target)])
    assert outcome.exit_code == 130
    assert "interrupted" in outcome.stderr and not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary file left


def test_cli_save_without_rows(table: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path
                               ) -> None:
    model = tmp_path / "m.json"
    code, data, _ = fit_json(str(table[0]), "--save", str(model), "-q")
    assert code == 0 and data["engine"] == "gram"
    saved = json.loads(model.read_text())
    assert saved["training_data"]["rows"] == 5000 and saved["training_data"]["sha256"] is None



@settings(max_examples=80, deadline=None)
@given(lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x")),
                      min_size=1, max_size=30),
       trailing=st.booleans(), size=st.integers(1, 50), start=st.integers(0, 5))
def test_file_blocks_are_whole_lines_and_cover_the_file(tmp_path_factory: pytest.TempPathFactory,
                                                        lines: list[bytes], trailing: bool,
                                                        size: int, start: int) -> None:
    # Blocks of a regular file end after a newline (but the last), whatever the block size,
    # including lines longer than a block, and together they are the file from `start` on.
    from gdfit.stream import _Bytes, _Span

    data = b"\n".join(lines) + (b"\n" if trailing else b"")
    path = tmp_path_factory.mktemp("blocks") / "f.csv"
    path.write_bytes(data)
    start = min(start, len(data))
    src = _Bytes(str(path), None)
    try:
        spans = [block for _, block in src.blocks(start, size)]
        assert all(isinstance(block, _Span) for block in spans)
        parts = [block.read() for block in spans]
    finally:
        src.close()
    assert b"".join(parts) == data[start:]
    assert all(part and part.endswith(b"\n") for part in parts[:-1])
    # Longer only for a line longer than a block, or to keep a quoted field whole.
    assert all(len(part) <= size or b"\n" not in part[:-1] or b'"' in part for part in parts)
