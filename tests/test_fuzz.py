"""Fuzzing the command line: nothing a user, a file or a signal can do may end in exit 70.

Every run goes through :func:`assert_clean`: the exit code is one of the documented answers to
user input (0 to 4), never an exception escaping the command (which ``python -m gdfit`` would
turn into exit 70, "internal error"); exits 1 and 2 print one ``gdfit: error:`` line and no
traceback. The strategies: hostile model files (``predict``, ``show``), option values at the
edges (read from the commands' own option declarations, so a new option is covered), CSV
contents through each engine, and, in subprocesses, encodings and signals.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from gdfit.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
HOUSING = REPO / "sample_data" / "housing.csv"
#: The exits that answer something a user can do (README, "Exit codes"); 70 is not one of them.
CLEAN_EXITS = {0, 1, 2, 3, 4}
#: Examples per fuzz test; GDFIT_FUZZ_EXAMPLES=1000 for a longer hunt.
FUZZ = settings(max_examples=int(os.environ.get("GDFIT_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def invoke(args: Sequence[str], input: str | bytes | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_clean(result: Result, args: Sequence[Any]) -> None:
    """The run ended with a documented exit and, for an error, one clean message."""
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        pytest.fail(f"gdfit {' '.join(map(str, args))!r} raised {type(exc).__name__}: {exc}"
                    f" (exit 70 from the console script)\n{trace}")
    assert result.exit_code in CLEAN_EXITS, (args, result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr, (args, result.stderr)
    if result.exit_code in (1, 2):
        # One "gdfit: error: …" line; in a batch (--each-file, --group-by) one
        # "gdfit: FILE: error: …" line per file that failed.
        errors = [line for line in result.stderr.splitlines()
                  if re.match(r"gdfit: (.+: )?error: ", line)]
        assert len(errors) == 1 or (errors and all(not e.startswith("gdfit: error: ")
                                                    for e in errors)), (args, result.stderr)
        assert "internal error" not in result.stderr


def run_clean(*args: Any, input: str | bytes | None = None) -> Result:
    result = invoke(args, input=input)
    assert_clean(result, args)
    return result


# --- hostile model files -----------------------------------------------------------------

@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a valid model of the housing data and the data beside it."""
    folder = tmp_path_factory.mktemp("model")
    data = folder / "data.csv"
    data.write_text(HOUSING.read_text().splitlines()[0] + "\n"
                    + "\n".join(HOUSING.read_text().splitlines()[1:30]) + "\n")
    result = invoke(["fit", data, "--save", folder / "model.json", "-q"])
    assert result.exit_code == 0, result.stderr
    return folder


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path (a tuple of keys and indices) into a JSON document, the root excluded."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        yield (*prefix, key)
        yield from paths(item, (*prefix, key))


def replaced(doc: Any, path: tuple[Any, ...], new: Any, *, delete: bool = False) -> Any:
    doc = copy.deepcopy(doc)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return doc


HOSTILE_VALUES = st.sampled_from([
    None, "", "x", "NaN", "1", [], {}, [1, "a"], [None], {"a": 1}, [[1.0]], True, False, 0, -1,
    1, 2, 10**400, -(10**400), 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf, "é",
    "price_k", ["area_m2", "area_m2"], [1.0] * 50, "gdfit.model",
])


def model_document(model_dir: Path) -> Any:
    return json.loads((model_dir / "model.json").read_text())


@st.composite
def hostile_models(draw: st.DrawFn, doc: Any) -> bytes:
    """A model file's bytes: the valid document with a key deleted or a value replaced (one or
    a few times), or its text damaged."""
    kind = draw(st.sampled_from(["replace", "replace", "delete", "bytes"]))
    if kind == "bytes":
        text = json.dumps(doc, indent=2).encode()
        how = draw(st.sampled_from(["truncate", "bom", "latin1", "binary", "empty", "flip"]))
        if how == "truncate":
            return text[:draw(st.integers(0, len(text) - 1))]
        if how == "bom":
            return b"\xef\xbb\xbf" + text
        if how == "latin1":
            return text.replace(b'"price_k"', b'"pr\xe9ce_k"')
        if how == "binary":
            return draw(st.binary(min_size=1, max_size=200))
        if how == "empty":
            return b""
        at = draw(st.integers(0, len(text) - 1))
        return text[:at] + bytes([draw(st.integers(0, 255))]) + text[at + 1:]
    for _ in range(draw(st.integers(1, 3))):
        where = list(paths(doc))
        if not where:
            break
        path = draw(st.sampled_from(where))
        if kind == "delete":
            doc = replaced(doc, path, None, delete=True)
        else:
            doc = replaced(doc, path, draw(HOSTILE_VALUES))
    return json.dumps(doc).encode()


@FUZZ
@given(data=st.data())
def test_hostile_model_files_get_a_clean_answer(model_dir: Path, tmp_path_factory:
                                                pytest.TempPathFactory, data: st.DataObject
                                                ) -> None:
    bad = tmp_path_factory.mktemp("bad") / "model.json"
    bad.write_bytes(data.draw(hostile_models(model_document(model_dir))))
    run_clean("show", bad)
    run_clean("show", bad, "--format", "json")
    run_clean("predict", bad, model_dir / "data.csv")


@pytest.mark.parametrize("path, value", [
    (("w",), [1.0]),                                  # fewer coefficients than features
    (("features",), ["area_m2", "area_m2", "rooms", "age_years"]),  # duplicate features
    (("version",), 2), (("version",), "1"), (("schema",), "other"),
    (("w", 0), 10**400), (("b",), math.nan), (("w", 1), math.inf), (("b",), "1.0"),
    (("features",), "area_m2"), (("target",), None), (("intercept",), "yes"),
    (("fit",), None), (("statistics",), []), (("reference",), None),
    (("fit", "function_evals"), "x"), (("fit", "step"), "cg"), (("fit", "stopping"), [1]),
    (("training_data", "sources"), [1]), (("statistics", "n_obs"), 1.5),
    (("reference", "w"), [None, 1, 2, 3]),
    # the reference's accuracy fields (merged beside the kind checks; found by this fuzzer)
    (("reference", "condition_number"), ""), (("reference", "digits"), "15"),
    (("reference", "method"), 3),
], ids=lambda v: repr(v)[:24])
def test_hostile_model_regressions(model_dir: Path, tmp_path: Path, path: tuple[Any, ...],
                                   value: Any) -> None:
    bad = tmp_path / "model.json"
    bad.write_text(json.dumps(replaced(model_document(model_dir), path, value)))
    for args in (("show", bad), ("predict", bad, model_dir / "data.csv")):
        result = run_clean(*args)
        if path[0] in ("w", "b", "features", "version", "schema") or (len(path) > 1 and \
                path[:2] != ("reference", "w")):
            assert result.exit_code == 1 and str(bad) in result.stderr, result.stderr


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\xff\xfe{", b"{", b"[]", b"null",
                                     b"\x00" * 10, b'{"schema": "gdfit.model"}'])
def test_damaged_model_files_are_data_errors(tmp_path: Path, model_dir: Path,
                                             content: bytes) -> None:
    bad = tmp_path / "model.json"
    bad.write_bytes(content)
    for args in (("show", bad), ("predict", bad, model_dir / "data.csv")):
        result = run_clean(*args)
        assert result.exit_code == 1 and str(bad) in result.stderr


def test_a_directory_as_the_model(tmp_path: Path, model_dir: Path) -> None:
    for args in (("show", tmp_path), ("predict", tmp_path, model_dir / "data.csv")):
        result = run_clean(*args)
        assert result.exit_code == 1


def test_bom_model_is_read(tmp_path: Path, model_dir: Path) -> None:
    with_bom = tmp_path / "model.json"
    with_bom.write_bytes(b"\xef\xbb\xbf" + (model_dir / "model.json").read_bytes())
    result = run_clean("show", with_bom, "--format", "json")
    assert result.exit_code in (0, 1)


# --- option values at the edges ----------------------------------------------------------

FLOAT_EDGES = ["0", "-0", "nan", "-nan", "inf", "-inf", "1e308", "-1e308", "1e-320", "-1",
               "0.5", "1", "2", "1e400", "0x10", "1_000", " 1", "", "one"]
INT_EDGES = ["0", "-1", "1", "2", "3", "29", "30", "1000", str(2**63), str(2**64),
             str(10**30), "1.5", "", "x"]
TEXT_EDGES = ["", ",", ",,", " ", "x", "a,a", "0", "99", "-1", "-99", "price_k",
              "area_m2,area_m2", "price_k,price_k", "area_m2,rooms", "0,0", "0,99", "xyz",
              "\t", ";", "whitespace", "é", "\\t", "sub/none/out.txt", ".", "/",
              "data.csv", "out.json"]
#: (No NUL: an argument cannot hold one.)
#: Options that are not about the input or the run's answer: --traceback asks for Python's
#: traceback; Dask's are slow (a few dask cases below).
SKIPPED_OPTIONS = {"--traceback", "--scheduler", "--help"}


@functools.cache
def option_table(command: str) -> list[tuple[str, list[str] | None]]:
    """Each option of ``command`` (as the CLI declares it) and its edge values (None: a flag).

    Cached, and read once before any strategy draws from it (below): building the Click
    command touches the ``random`` module's state, which Hypothesis forbids inside a strategy.
    """
    import typer.main

    group: Any = typer.main.get_command(app)
    table: list[tuple[str, list[str] | None]] = []
    for param in group.commands[command].params:
        if param.param_type_name != "option":
            continue
        names = [*param.opts, *getattr(param, "secondary_opts", [])]
        long = [n for n in names if n.startswith("--")]
        if not long or long[0] in SKIPPED_OPTIONS:
            continue
        if getattr(param, "is_flag", False):
            table.extend((name, None) for name in long)
            continue
        choices = getattr(param.type, "choices", None)
        if choices is not None:
            values = [str(getattr(c, "value", c)) for c in choices if str(c) != "dask"]
            values += ["bogus", ""]
        elif type(param.type).__name__ in ("FloatParamType", "FloatRange"):
            values = FLOAT_EDGES
        elif type(param.type).__name__ in ("IntParamType", "IntRange"):
            values = INT_EDGES
        else:
            values = TEXT_EDGES
        table.append((long[0], values))
    return table


for _command in ("fit", "compare", "predict"):
    option_table(_command)


@st.composite
def option_lines(draw: st.DrawFn, command: str, most: int = 4) -> list[str]:
    table = option_table(command)
    args: list[str] = []
    for name, values in draw(st.lists(st.sampled_from(table), min_size=1, max_size=most)):
        args.append(name)
        if values is not None:
            args.append(draw(st.sampled_from(values)))
    return args


@pytest.fixture
def in_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary working folder with data.csv (29 rows of the housing data) in it."""
    lines = HOUSING.read_text().splitlines()
    (tmp_path / "data.csv").write_text("\n".join(lines[:30]) + "\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


#: Appended to every fuzzed fit: the last --time-limit wins, so no option value can make a
#: run endless (--time-limit's own edges are tried on a bounded budget below).
BOUNDED = ("--time-limit", "1")


def test_the_option_tables_are_read_from_the_cli() -> None:
    fit = dict(option_table("fit"))
    assert fit["--alpha"] == FLOAT_EDGES and fit["--max-iter"] == INT_EDGES
    assert "cg" in (fit["--step"] or []) and fit["--quiet"] is None
    assert "--no-header" in fit and "--traceback" not in fit


@FUZZ
@given(data=st.data())
def test_fit_options_at_the_edges(in_folder: Path, data: st.DataObject) -> None:
    step = data.draw(st.sampled_from(dict(option_table("fit"))["--step"] or []))
    args = ["fit", "data.csv", "--step", step, *data.draw(option_lines("fit")), *BOUNDED]
    run_clean(*args)


@FUZZ
@given(data=st.data())
def test_compare_options_at_the_edges(in_folder: Path, data: st.DataObject) -> None:
    args = ["compare", "data.csv", *data.draw(option_lines("compare")), *BOUNDED]
    run_clean(*args)


@FUZZ
@given(data=st.data())
def test_predict_options_at_the_edges(in_folder: Path, model_dir: Path,
                                      data: st.DataObject) -> None:
    args = ["predict", model_dir / "model.json", "data.csv", *data.draw(option_lines("predict"))]
    run_clean(*args)


@pytest.mark.parametrize("value", FLOAT_EDGES)
def test_time_limit_at_the_edges(in_folder: Path, value: str) -> None:
    run_clean("fit", "data.csv", "--time-limit", value, "--max-iter", "2000")


# --- data contents -----------------------------------------------------------------------

CELLS = st.one_of(
    st.sampled_from(["1", "2", "-3", "0", "0.5", "1e308", "-1e308", "1e-320", "1e400", "nan",
                     "NaN", "inf", "-inf", "Infinity", "", " ", "NA", "null", "abc", '"1"',
                     '"1,5"', "1,5", "0x1f", "1_0", "١", "½", "1e", "--1", "+1", "1.0.0",
                     "9" * 400, "TRUE", '"', "'"]),
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)
NAMES = st.one_of(st.sampled_from(["x", "y", "z", "", "x", " x", "é", "0", "1", "a b",
                                   '"q"', "x,y", "\ufeffx"]),
                  st.text(min_size=0, max_size=5))


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    """A small, possibly malformed CSV file: a header (or none), rows of varied width, with
    varied cells, separators and line ends."""
    width = draw(st.integers(1, 4))
    sep = draw(st.sampled_from([",", ",", ";", "\t", " ", "|"]))
    rows = [[draw(CELLS) for _ in range(draw(st.sampled_from([width, width, width, width + 1,
                                                               max(width - 1, 1)])))]
            for _ in range(draw(st.integers(0, 8)))]
    constant = draw(st.booleans())
    if constant and rows:  # an all-constant column
        for row in rows:
            row[0] = "5"
    lines = [sep.join(row) for row in rows]
    if draw(st.booleans()):
        lines.insert(0, sep.join(draw(NAMES) for _ in range(width)))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join(lines) + draw(st.sampled_from([end, ""]))
    if draw(st.integers(0, 9)) == 0:
        text = draw(st.text(max_size=60))
    return text


@FUZZ
@given(text=csv_texts(), engine=st.sampled_from(["gram", "rows"]),
       extra=st.sampled_from([[], ["--dropna"], ["--no-header"], ["--on-bad-rows", "skip"],
                              ["--x", "0", "--y", "1", "--no-header"], ["--stats"],
                              ["--poly", "2"], ["--batch-size", "2"], ["--each-file"]]))
def test_csv_contents_through_each_engine(tmp_path_factory: pytest.TempPathFactory,
                                          text: str, engine: str, extra: list[str]) -> None:
    path = tmp_path_factory.mktemp("csv") / "data.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    run_clean("fit", path, "--engine", engine, *extra, *BOUNDED)


@FUZZ
@given(raw=st.binary(max_size=300), engine=st.sampled_from(["gram", "rows"]))
def test_csv_bytes_through_each_engine(tmp_path_factory: pytest.TempPathFactory, raw: bytes,
                                       engine: str) -> None:
    path = tmp_path_factory.mktemp("csv") / "data.csv"
    path.write_bytes(raw)
    run_clean("fit", path, "--engine", engine, *BOUNDED)


@FUZZ
@given(text=csv_texts())
def test_csv_contents_to_predict(model_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                                 text: str) -> None:
    path = tmp_path_factory.mktemp("csv") / "data.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    run_clean("predict", model_dir / "model.json", path)


@FUZZ
@given(text=csv_texts())
def test_csv_contents_on_stdin(text: str) -> None:
    run_clean("fit", "-", *BOUNDED, input=text)


@pytest.mark.parametrize("text", [
    "x,y\n", "x,y\n1,2\n", "x,y\n5,1\n5,2\n5,3\n", "x,y\n1,1e308\n2,-1e308\n3,1e308\n",
    "x,y\n1e-320,1\n2e-320,2\n3e-320,3\n", "x,y\n1,nan\n2,inf\n3,4\n",
    "x,y\n" + "1," * 5000 + "\n", "x" * 100_000 + "\n1\n",
])
@pytest.mark.parametrize("engine", ["gram", "rows", "dask"])
def test_csv_edge_files_through_every_engine(tmp_path: Path, text: str, engine: str) -> None:
    pytest.importorskip("dask") if engine == "dask" else None
    path = tmp_path / "data.csv"
    path.write_text(text)
    run_clean("fit", path, "--engine", engine, *BOUNDED)


@pytest.mark.parametrize("engine", ["gram", "rows"])
@pytest.mark.parametrize(("text", "w", "b"), [("x,y\n1,1e308\n2,-1e308\n3,1e308\n", 0.0, 1e308 / 3),
                                          ("x,y\n1e200,1\n2e200,2\n3e200,3\n", 1e-200, 0.0)])
def test_values_too_large_to_square_are_fitted_on_every_engine(
        tmp_path: Path, engine: str, text: str, w: float, b: float) -> None:
    # The rows engine used to report such a file 'converged', every number NaN, exit 0; then
    # (found by this fuzzer) a data error; now the columns are divided by powers of two before
    # anything is squared (gdfit.magnitude) and the fit is the exact one.
    import json
    import math

    path = tmp_path / "data.csv"
    path.write_text(text)
    result = run_clean("fit", path, "--engine", engine, "-q", "-f", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "converged"
    assert math.isclose(out["w"][0], w, rel_tol=1e-12, abs_tol=1e-300)
    assert math.isclose(out["b"], b, rel_tol=1e-12, abs_tol=1e-15)


def test_values_too_large_to_square_are_fitted_in_the_library() -> None:
    import math

    import numpy as np

    import gdfit

    r = gdfit.fit(np.array([[1.0], [2.0], [3.0]]), np.array([1e308, -1e308, 1e308]))
    assert r.b is not None and math.isfinite(r.b) and math.isclose(r.b, 1e308 / 3, rel_tol=1e-12)
    assert abs(r.w[0]) <= 1e-12 * 1e308


def test_squares_that_overflow_are_a_data_error_where_no_scaling_was_done() -> None:
    # The last line of defence (LeastSquares.from_arrays): a caller that hands it unscaled
    # values whose squares overflow gets a data error, never NaN reported as converged.
    import numpy as np

    from gdfit.errors import DataError
    from gdfit.objective import LeastSquares

    with pytest.raises(DataError, match="too large to sum"):
        LeastSquares.from_arrays(np.array([[1.0], [2.0], [3.0]]), np.array([1e308, -1e308, 1e308]))


@pytest.mark.parametrize("args", [
    ("fit", "data.csv", "--output"), ("fit", "data.csv", "--save"),
    ("fit", "data.csv", "--trace"), ("fit", "data.csv", "--plot-file"),
    ("compare", "data.csv", "--trace"), ("show", "model.json", "--output"),
    ("predict", "model.json", "data.csv", "--output"),
])
def test_an_empty_output_name_is_a_usage_error_naming_the_option(
        in_folder: Path, model_dir: Path, args: tuple[str, ...]) -> None:
    (in_folder / "model.json").write_bytes((model_dir / "model.json").read_bytes())
    result = run_clean(*args, "")
    assert result.exit_code == 2
    assert f"gdfit: error: {args[-1]} needs a file name, got an empty one" in result.stderr


@pytest.mark.parametrize("sep", ["xyz", "", '"', ";;"])
@pytest.mark.parametrize("command", [("fit", "data.csv"), ("compare", "data.csv"),
                                     ("predict", "model.json", "data.csv")])
def test_a_bad_separator_is_a_usage_error_naming_the_option(
        in_folder: Path, model_dir: Path, command: tuple[str, ...], sep: str) -> None:
    (in_folder / "model.json").write_bytes((model_dir / "model.json").read_bytes())
    result = run_clean(*command, "--sep", sep)
    assert result.exit_code == 2
    assert "gdfit: error: --sep must be one character" in result.stderr
    assert f"got {sep!r}" in result.stderr


@pytest.mark.parametrize("raw", [b"\x1c", b"\x1c\x1d\n", "\x85\n".encode(), " \u2028\n".encode()])
@pytest.mark.parametrize("engine", ["gram", "rows"])
def test_a_file_of_characters_blank_as_text_is_empty(tmp_path: Path, raw: bytes,
                                                     engine: str) -> None:
    # Found by the fuzzer: str.splitlines splits on \x1c, and the rows engine crashed.
    path = tmp_path / "data.csv"
    path.write_bytes(raw)
    result = run_clean("fit", path, "--engine", engine)
    assert result.exit_code == 1 and f"{path}: " in result.stderr


@pytest.mark.parametrize("text", [",\n", ",,\n\n", " , \n;\n"])
def test_predict_on_a_file_of_delimiters_is_a_data_error(model_dir: Path, tmp_path: Path,
                                                         text: str) -> None:
    # Found by the fuzzer: a StopIteration escaped predict's reader.
    path = tmp_path / "data.csv"
    path.write_text(text)
    result = run_clean("predict", model_dir / "model.json", path)
    assert result.exit_code == 1 and f"{path}: " in result.stderr


# --- Ctrl-C outside the commands' own handlers -------------------------------------------

@pytest.mark.parametrize("raised, where", [("plain", "gdfit.sources.is_glob"),
                                           ("wrapped", "gdfit.sources.is_glob"),
                                           ("wrapped", "gdfit.cli.fit._describe_stream")])
def test_ctrl_c_outside_the_commands_handlers_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raised: str, where: str) -> None:
    """A KeyboardInterrupt where no handler of the command waits for it (``is_glob`` runs
    before the command's error funnel, as its slow imports do): Typer used to exit 130
    silently. One raised while Python sets up a class reaches us as a RuntimeError
    (``Error calling __set_name__``), which was reported as an internal error (exit 70)."""

    def ctrl_c(*args: object, **kwargs: object) -> None:
        if raised == "plain":
            raise KeyboardInterrupt
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise RuntimeError("Error calling __set_name__ on 'Field' instance") from exc

    monkeypatch.setattr(where, ctrl_c)
    path = tmp_path / "data.csv"
    path.write_text(HOUSING.read_text())
    result = invoke(["fit", path, "--engine", "gram"])
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == "gdfit: error: interrupted"
    assert result.stdout == ""


@pytest.mark.parametrize("where", ["protect", "app"])
def test_ctrl_c_as_the_console_script_starts(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str],
                                             where: str) -> None:
    import gdfit.ascii
    import gdfit.cli

    def ctrl_c(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    if where == "protect":
        monkeypatch.setattr(gdfit.ascii, "protect", ctrl_c)
    else:
        monkeypatch.setattr(gdfit.cli, "_app_for", ctrl_c)
    monkeypatch.setattr("sys.argv", ["gdfit", "fit", str(HOUSING)])
    with pytest.raises(SystemExit) as stop:
        gdfit.cli.main()
    assert stop.value.code == 130
    assert capsys.readouterr().err == "gdfit: error: interrupted\n"


# --- real signals, in subprocesses -------------------------------------------------------

GDFIT = shutil.which("gdfit")
needs_exe = pytest.mark.skipif(GDFIT is None, reason="the gdfit executable is not installed")
WAIT = 120  # seconds; a safety net against a hang, never an assertion on speed


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GDFIT_") and k not in ("FORCE_COLOR", "NO_COLOR", "COLUMNS",
                                                       "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def large_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough rows (200 000) that reading takes a noticeable moment."""
    import numpy as np

    rng = np.random.default_rng(11)
    X = rng.normal(size=(200_000, 3))
    path = tmp_path_factory.mktemp("large") / "large.csv"
    np.savetxt(path, np.column_stack([X, X @ [1.0, 2.0, 3.0] + rng.normal(size=len(X))]),
               delimiter=",", fmt="%.5f", header="a,b,c,y", comments="")
    return path


def assert_outputs_whole(folder: Path) -> None:
    """No temporary file left; each output there is whole (the atomic writer's promise)."""
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if n.startswith(".")], names
    for name in names:
        text = (folder / name).read_text()
        if name.endswith(".json"):
            json.loads(text)
        elif name.endswith(".csv"):
            assert text.endswith("\n")


@needs_exe
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("delay", [0.3, 0.7, 1.5, 3.0])
def test_a_signal_at_any_moment_never_leaves_a_partial_file_or_a_traceback(
        tmp_path: Path, large_csv: Path, signum: int, delay: float) -> None:
    """SIGINT or SIGTERM while Python loads gdfit, while it reads, while it descends, or while
    it writes --save, -o and --trace: a documented exit, one clean line, whole files only."""
    assert GDFIT is not None
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        [GDFIT, "fit", str(large_csv), "--step", "fixed", "--alpha", "0.001", "--max-iter",
         "100000", "--grad-tol", "0", "--loss-tol", "0", "-f", "json", "-o", str(out / "r.json"),
         "--save", str(out / "m.json"), "--trace", str(out / "t.csv")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=tmp_path)
    time.sleep(delay)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=WAIT)
    assert "internal error" not in err, err
    if signum == signal.SIGINT and proc.returncode in (1, -signal.SIGINT) \
            and err.rstrip().endswith("KeyboardInterrupt") and "gdfit: " not in err:
        # Ctrl-C while Python itself started (on a busy machine, 0.3 s may not be enough to
        # import gdfit.cli): Python's own answer, before any gdfit code could run.
        assert_outputs_whole(out)
        return
    assert "Traceback" not in err, err
    if signum == signal.SIGINT:
        assert proc.returncode in (130, 0), (proc.returncode, err)
    else:  # SIGTERM kills at once, except while gdfit descends or writes: then as Ctrl-C
        assert proc.returncode in (130, 0, -signal.SIGTERM), (proc.returncode, err)
    if proc.returncode == 130:
        assert "interrupted" in err.splitlines()[-1]
    assert_outputs_whole(out)


@needs_exe
@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_non_ascii_names_under_a_narrow_stdio_encoding(tmp_path: Path, encoding: str) -> None:
    assert GDFIT is not None
    path = tmp_path / "données.csv"
    path.write_text("surface_m²,prix_€,été\n1,2,3\n2,4,5\n3,7,8\n4,8,9\n5,11,1\n",
                    encoding="utf-8")
    env = clean_env(PYTHONIOENCODING=encoding)
    runs = [["fit", str(path)], ["fit", str(path), "-f", "csv"], ["fit", str(path), "-f", "json"],
            ["fit", str(path), "--x", "nope"], ["compare", str(path)],
            ["fit", str(path), "--save", str(tmp_path / "m.json")],
            ["show", str(tmp_path / "m.json")], ["predict", str(tmp_path / "m.json"), str(path)]]
    for args in runs:
        done = subprocess.run([GDFIT, *args], capture_output=True, env=env, cwd=tmp_path,
                              timeout=WAIT)
        err = done.stderr.decode(encoding, errors="replace")
        assert done.returncode in CLEAN_EXITS, (args, done.returncode, err)
        assert "Traceback" not in err and "internal error" not in err, (args, err)
        done.stdout.decode(encoding)  # what was written is in that encoding


# --- every step policy with its own options at the edges --------------------------------

def policy_options() -> dict[str, list[str]]:
    """Each step policy and the options that tune it (from the policies' own tables)."""
    from gdfit.steps import STEP_POLICIES

    return {name: list(cls.options.values()) for name, cls in STEP_POLICIES.items()}


@st.composite
def policy_lines(draw: st.DrawFn) -> list[str]:
    table = dict(option_table("fit"))
    step = draw(st.sampled_from(sorted(policy_options())))
    args = ["--step", step]
    for option in draw(st.lists(st.sampled_from(policy_options()[step] or ["--max-iter"]),
                                max_size=3, unique=True)):
        values = table[option]
        args += [option] if values is None else [option, draw(st.sampled_from(values))]
    stopping = draw(st.sampled_from([[], ["--max-iter", "0"], ["--max-iter", "1"],
                                     ["--grad-tol", "0", "--loss-tol", "0"], ["--every", "1"],
                                     ["--batch-size", "5", "--seed", str(2**64)],
                                     ["--batch-size", "1000"], ["--scale", "none"]]))
    return args + stopping


def test_every_policy_option_is_in_the_cli() -> None:
    table = dict(option_table("fit"))
    for options in policy_options().values():
        assert set(options) <= set(table)


@FUZZ
@given(args=policy_lines())
def test_every_step_policy_with_its_options_at_the_edges(in_folder: Path,
                                                         args: list[str]) -> None:
    run_clean("fit", "data.csv", *args, *BOUNDED)


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=policy_lines())
def test_compare_with_step_specs_at_the_edges(in_folder: Path, args: list[str]) -> None:
    from gdfit.steps import STEP_POLICIES

    params = {option: param for param, option in STEP_POLICIES[args[1]].options.items()}
    pairs = [(o, v) for o, v in zip(args[2::2], args[3::2], strict=False) if o in params]
    spec = args[1] + "".join(f":{params[o]}={v}" for o, v in pairs)
    result = run_clean("compare", "data.csv", "--steps", f"{spec},cg", *BOUNDED)
    if not pairs:
        assert result.exit_code in (0, 3), result.stderr


@FUZZ
@given(data=st.data())
def test_show_options_at_the_edges(in_folder: Path, model_dir: Path, data: st.DataObject) -> None:
    run_clean("show", model_dir / "model.json", *data.draw(option_lines("show")))


@pytest.mark.parametrize("spec", ["fixed:alpha=1:alpha=2", "backtracking:armijo-c=0.3:c=0.4"])
def test_a_step_spec_setting_a_parameter_twice_is_a_usage_error(in_folder: Path,
                                                                spec: str) -> None:
    # It used to keep the last value silently.
    result = run_clean("compare", "data.csv", "--steps", spec)
    assert result.exit_code == 2 and f"'{spec}' sets " in result.stderr
    assert "twice; give it once" in result.stderr


@pytest.mark.parametrize("engine", ["gram", "dask"])
@pytest.mark.parametrize("cut", ["head", "tail"])
def test_a_compressed_file_cut_short_is_a_data_error(tmp_path: Path, engine: str,
                                                     cut: str) -> None:
    # Dask's reader raised EOFError, which Typer answered with a bare "gdfit: error: aborted".
    import gzip

    if engine == "dask":
        pytest.importorskip("distributed")
    whole = gzip.compress(HOUSING.read_bytes())
    path = tmp_path / "data.csv.gz"
    path.write_bytes(whole[:300] if cut == "head" else whole[:-20])
    result = run_clean("fit", path, "--engine", engine, "-q")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"gdfit: error: {path}: cannot read (")


@needs_exe
def test_dask_reports_a_data_error_once_without_the_workers_log(tmp_path: Path) -> None:
    # In a subprocess: the worker's log (its task's traceback) went to the real stderr.
    pytest.importorskip("distributed")
    assert GDFIT is not None
    path = tmp_path / "data.csv"
    path.write_text("x,y\n1,2\n2,\n3,5\n4,4\n")
    done = subprocess.run([GDFIT, "fit", str(path), "--engine", "dask", "-q"],
                          capture_output=True, text=True, env=clean_env(), timeout=WAIT)
    assert done.returncode == 1
    # (Dask may warn of other things on a busy machine, a port in use for instance.)
    assert done.stderr.splitlines().count(
        f"gdfit: error: {path}: missing or non-finite values in column 'y' on line 3; use "
        "--dropna to drop such rows") == 1
    assert "Compute Failed" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("spec", ["nesterov:alpha=one", "bb:alpha=x", "fixed:alpha=one"])
def test_a_step_spec_with_text_for_a_number_is_a_usage_error(in_folder: Path,
                                                             spec: str) -> None:
    # Found by the fuzzer: a parameter whose default is None (nesterov's and bb's alpha) took
    # the text as it was, and the policy raised TypeError (exit 70).
    result = run_clean("compare", "data.csv", "--steps", spec)
    assert result.exit_code == 2
    assert f"in '{spec}': not a valid float" in result.stderr


@pytest.mark.parametrize("keys", ["station,station", "station,0"])
def test_a_group_key_given_twice_is_a_usage_error(tmp_path: Path, keys: str) -> None:
    # It was dropped silently (found while closing issue 11): the run grouped by one key.
    path = tmp_path / "s.csv"
    path.write_text("station,x,y\na,1,2\na,2,4\nb,1,3\nb,2,5\nb,3,8\na,3,5\n")
    result = run_clean("fit", path, "-g", keys, "-q")
    assert result.exit_code == 2
    assert result.stderr == ("gdfit: error: column 'station' is given more than once to group "
                             "by\n")


def test_the_console_script_ignores_a_ctrl_c_once_the_command_has_ended() -> None:
    # Python's finalisation puts SIGINT back to the default before it frees the last objects:
    # a Ctrl-C then killed a finished run with status -2 (seen once, SIGINT at 3 s above).
    # The console script is gdfit.cli.run, which leaves SIGINT ignored after the command,
    # a setting finalisation keeps.
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "gdfit"]
    assert script.value == "gdfit.cli:run"
    code = ("import signal, sys\nsys.argv = ['gdfit', '--version']\nfrom gdfit.cli import run\n"
            "try:\n    run()\nfinally:\n"
            "    print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=WAIT, env=clean_env())
    assert done.returncode == 0, done.stderr
    from gdfit import __version__

    assert done.stdout.splitlines() == [f"gdfit {__version__}", "True"]
