"""Every reader, one rule: the same hostile files through every engine and path.

The engines (``--engine rows``: pandas; ``gram``: pyarrow, or the line-by-line reader; ``dask``:
blocks parsed on a cluster; each from a file and, where it can, from standard input) must give
the same exit code and name the same line: the file's own physical line, 1-based, the header
being line 1, whatever quotes, BOMs, CRLFs and blank lines come before. The expected line is
found in the text itself (where the marked cell or row is), not copied from a run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from typer.testing import CliRunner

from gdfit.cli import app
from gdfit.errors import DataError

runner = CliRunner()

ROWS = [(1.0, 2.0, 3.5), (2.0, 1.0, 4.0), (3.0, 5.0, 2.25), (4.0, 3.0, 7.0), (5.0, 8.0, 1.5),
        (6.0, 2.0, 9.0)]


def saved_model(folder: Path, text: str) -> Path:
    """A model fitted to `text` (written as good.csv) and saved as m.json in `folder`."""
    good = folder / "good.csv"
    good.write_text(text)
    model = folder / "m.json"
    assert runner.invoke(app, ["fit", str(good), "--save", str(model), "-q"]).exit_code == 0
    return model


def table(sep: str = ",", newline: str = "\n", rows: list[tuple[float, ...]] = ROWS) -> str:
    return newline.join([sep.join("aby"), *(sep.join(f"{v:g}" for v in r) for r in rows)]
                        ) + newline


class Case(NamedTuple):
    name: str
    text: str
    args: tuple[str, ...] = ()
    mark: str | None = None  # the text whose (first) line the message must name
    message: str = ""  # a fragment of the message

    def line(self) -> int | None:
        if self.mark is None:
            return None
        body = self.text.removeprefix("\ufeff")
        return body[:body.index(self.mark)].count("\n") + 1


GOOD = table()
CASES = [
    Case("ragged-short-first", GOOD.replace("1,2,3.5\n", "1,2\n"), mark="1,2\n",
         message="has 2 fields, but the header has 3"),
    Case("ragged-long-first", GOOD.replace("1,2,3.5\n", "1,2,3.5,9\n"), mark="1,2,3.5,9",
         message="has 4 fields, but the header has 3"),
    Case("ragged-short-later", GOOD.replace("3,5,2.25\n", "3,5\n"), mark="3,5\n",
         message="has 2 fields, but the header has 3"),
    Case("ragged-long-later", GOOD.replace("3,5,2.25\n", "3,5,2.25,1\n"), mark="3,5,2.25,1",
         message="has 4 fields, but the header has 3"),
    Case("no-header-ragged", GOOD.split("\n", 1)[1].replace("4,3,7\n", "4,3\n"),
         ("--no-header",), mark="4,3\n", message="has 2 fields, but line 1 has 3"),
    Case("quoted-newline-then-bad-cell",
         'name,a,b,y\n"p\nq",1,2,3.5\n"r\r\ns",2,1,4\nt,3,5,oops\nu,4,3,7\nv,5,8,1.5\n',
         ("--y", "y", "--x", "a,b"), mark="oops", message="column 'y'"),
    Case("quoted-newline-numeric", 'a,b,y\n1,2,3.5\n"2\n",1,4\n3,5,oops\n4,3,7\n5,8,1.5\n',
         mark="oops", message="'oops' is not a number"),
    Case("bom-bad-cell", "\ufeff" + GOOD.replace("2.25", "bad"), mark="bad",
         message="'bad' is not a number"),
    Case("crlf-bad-cell", table(newline="\r\n").replace("2.25", "bad"), mark="bad",
         message="'bad' is not a number"),
    Case("blank-lines-bad-cell", "\n" + GOOD.replace("\n2,1", "\n\n \n2,1").replace("2.25", "bad"),
         mark="bad", message="'bad' is not a number"),
    Case("multibyte-sep-bad-cell", table("§").replace("2.25", "bad"), ("--sep", "§"),
         mark="bad", message="'bad' is not a number"),
    Case("multibyte-sep-ragged", table("§").replace("4§3§7", "4§3"), ("--sep", "§"),
         mark="4§3\n", message="has 2 fields, but the header has 3"),
    Case("unclosed-quote", GOOD.replace("4,3,7", '4,"3,7'), mark='4,"3',
         message="unclosed quote starting on line"),
    Case("unclosed-quote-first-row", 'a,b,y\n"\n', mark='"',
         message="unclosed quote starting on line 2"),
    Case("quoted-delimiter-in-text-then-bad-cell",
         'name,a,b,y\n"p,q",1,2,3.5\n"r ""s"", t",2,1,4\nu,3,5,oops\nv,4,3,7\nw,5,8,1.5\n',
         ("--y", "y", "--x", "a,b"), mark="oops", message="'oops' is not a number"),
    Case("quoted-delimiter-in-text-ragged",
         'name,a,b,y\n"p,q",1,2,3.5\n"r,s",2,1\nu,3,5,2\nv,4,3,7\nw,5,8,1.5\n',
         ("--y", "y", "--x", "a,b"), mark='"r,s",2,1\n', message="has 3 fields, but the header"),
    # valid files: every engine fits them, to the same numbers
    Case("multibyte-sep", table("§"), ("--sep", "§")),
    Case("trailing-sep-everywhere", GOOD.replace("\n", ",\n")),
    Case("trailing-sep-on-data-rows", GOOD.replace("\n", ",\n").replace("a,b,y,", "a,b,y", 1)),
    Case("crlf-bom-blank-lines",
         "\ufeff\r\n" + table(newline="\r\n").replace("\r\n4", "\r\n\r\n4")),
    Case("quoted-numbers", GOOD.replace("2.25", '"2.25"').replace("1,2,3.5", '"1",2,3.5')),
]


def paths_for(scheduler: str | None) -> list[tuple[str, tuple[str, ...], bool]]:
    """(label, extra args, read from stdin) for every engine and path."""
    out = [("rows", ("--engine", "rows"), False), ("rows-stdin", ("--engine", "rows"), True),
           ("gram", ("--engine", "gram"), False), ("gram-stdin", ("--engine", "gram"), True),
           ("gram-small-blocks", ("--engine", "gram"), False)]
    if scheduler is not None:
        out.append(("dask", ("--engine", "dask", "--scheduler", scheduler), False))
    return out


def run_everywhere(case: Case, tmp_path: Path, scheduler: str | None,
                   monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[int, str, str]]:
    path = tmp_path / f"{case.name}.csv"
    path.write_bytes(case.text.encode())
    outcomes = {}
    for label, engine, stdin in paths_for(scheduler):
        with monkeypatch.context() as patch:
            if label == "gram-small-blocks":  # many blocks: line numbers carried across them
                import gdfit.stream

                defaults = gdfit.stream.stream_statistics.__kwdefaults__
                patch.setitem(defaults, "block_bytes", 16)
            target = "-" if stdin else str(path)
            result = runner.invoke(app, ["fit", target, *case.args, *engine, "-q", "-f", "csv"],
                                   input=case.text.encode() if stdin else None)
        outcomes[label] = (result.exit_code, result.stdout, result.stderr)
    return outcomes


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_engine_reads_a_hostile_file_alike(case: Case, tmp_path: Path,
                                                 scheduler: str | None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes = run_everywhere(case, tmp_path, scheduler, monkeypatch)
    expected_line = case.line()
    for label, (code, out, err) in outcomes.items():
        if expected_line is None:
            assert code == 0, (label, err)
            continue
        assert code == 1, (label, code, err)
        assert out == "", label
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (label, err)
        message = err.strip()
        assert message.startswith("gdfit: error: "), (label, message)
        assert case.message in message, (label, message)
        where = ("<stdin>" if label.endswith("stdin") else f"{case.name}.csv")
        assert where in message, (label, message)
        # the line named, not the one that fixed the width ("but line 1 has 3")
        lines = {int(n) for n in re.findall(r"\bline (\d+)",
                                            re.sub(r"but line \d+ has", "", message))}
        assert lines == {expected_line}, (label, message, expected_line)
    if expected_line is None:  # the same numbers everywhere, and the right ones
        import csv
        import io

        fits = {label: next(csv.DictReader(io.StringIO(out))) for label, (_, out, _) in
                outcomes.items()}
        X = np.array([r[:2] for r in ROWS])
        y = np.array([r[2] for r in ROWS])
        want, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)
        for label, fit in fits.items():
            got = np.array([float(fit["w_a"]), float(fit["w_b"]), float(fit["b"])])
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8, err_msg=label)


# ---------------------------------------------------------------------------------------------
# Repeated column names


DUPLICATES = [
    ("x,x,y\n", "column name 'x' appears twice in the header (columns 0 and 1, counted from 0)"),
    (" x ,x,y\n", "column name 'x' appears twice in the header (columns 0 and 1, counted from "
                 "0)"),
    ("1,,y\n", "column 1 has no name in the header, so it is called '1', but column 0 is "
               "named '1' too"),
]


@pytest.mark.parametrize(("header", "message"), DUPLICATES)
def test_repeated_names_are_refused_by_every_reader(header: str, message: str, tmp_path: Path,
                                                    scheduler: str | None) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(header + "1,2,3\n2,1,4\n3,5,2\n4,3,7\n5,8,1\n")
    engines = [("--engine", "rows"), ("--engine", "gram")]
    if scheduler is not None:
        engines.append(("--engine", "dask", "--scheduler", scheduler))
    for engine in engines:
        for extra in ((), ("--x", "0", "--y", "2")):
            result = runner.invoke(app, ["fit", str(path), *engine, *extra, "-f", "csv"])
            assert result.exit_code == 1, (engine, result.stderr)
            assert result.stdout == ""
            assert result.stderr.strip() == f"gdfit: error: {path}: {message}; give every " \
                                             "column its own name"


def test_lines_ended_by_cr_alone_are_refused_by_every_reader(tmp_path: Path,
                                                             scheduler: str | None) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(GOOD.replace("\n", "\r").encode())
    expected = (f"gdfit: error: {path}: the lines end in CR alone (classic Mac OS line ends); "
                "convert them to LF or CRLF (e.g. tr '\\r' '\\n')")
    for engine in engines_for(scheduler):
        result = runner.invoke(app, ["fit", str(path), *engine])
        assert (result.exit_code, result.stderr.strip()) == (1, expected), engine
    model = saved_model(tmp_path, GOOD)
    result = runner.invoke(app, ["predict", str(model), str(path)])
    assert (result.exit_code, result.stderr.strip()) == (1, expected)


def test_repeated_names_refused_by_predict_and_compare(tmp_path: Path) -> None:
    model = saved_model(tmp_path, table())
    dup = tmp_path / "dup.csv"
    dup.write_text("a,a,b\n1,2,3\n")
    result = runner.invoke(app, ["predict", str(model), str(dup)])
    assert result.exit_code == 1 and result.stdout == ""
    assert "column name 'a' appears twice in the header (columns 0 and 1" in result.stderr
    result = runner.invoke(app, ["compare", str(dup)])
    assert result.exit_code == 1 and "appears twice" in result.stderr


def test_repeated_names_refused_in_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "dup.parquet"
    cols = [pa.array([1.0, 2.0, 3.0, 4.0]), pa.array([2.0, 1.0, 5.0, 3.0]),
            pa.array([3.0, 4.0, 2.0, 7.0])]
    pq.write_table(pa.Table.from_arrays(cols, names=["x", "x", "y"]), path)
    result = runner.invoke(app, ["fit", str(path), "--engine", "gram"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == (f"gdfit: error: {path}: column name 'x' appears twice in "
                                     "the schema (columns 0 and 1, counted from 0); give every "
                                     "column its own name")


def test_repeated_names_refused_by_the_library(tmp_path: Path) -> None:
    import gdfit
    from gdfit.io import read_dataset
    from gdfit.objective import LeastSquares
    from gdfit.stream import stream_statistics

    path = tmp_path / "dup.csv"
    path.write_text("x,x,y\n1,2,3\n2,1,4\n3,5,2\n4,3,7\n")
    for read in (read_dataset, lambda p: stream_statistics([p])):
        with pytest.raises(DataError, match="column name 'x' appears twice"):
            read(str(path))
    X = np.array([[1.0, 2], [2, 1], [3, 5], [4, 3]])
    y = np.array([3.0, 4, 2, 7])
    with pytest.raises(DataError, match="features= names 'a' twice"):
        gdfit.fit(X, y, features=["a", "a"])
    with pytest.raises(DataError, match="features= names 'a' twice"):
        gdfit.fit_statistics(LeastSquares.from_arrays(X, y), features=["a", "a"])
    pd = pytest.importorskip("pandas")
    with pytest.raises(DataError, match="X names 'a' twice"):
        gdfit.fit(pd.DataFrame(X, columns=["a", "a"]), y)


# ---------------------------------------------------------------------------------------------
# "did you mean" for a column that is not there


@pytest.mark.parametrize(("args", "hint"), [
    (("--x", "price", "--y", "y"), "no column 'price' (did you mean 'price_k'?)"),
    (("--x", "Size", "--y", "y"), "no column 'Size' (did you mean 'size'?)"),
    (("--y", "Y"), "no column 'Y' (did you mean 'y'?)"),
    (("--group-by", "prices"), "no column 'prices' (did you mean 'price_k'?)"),
])
@pytest.mark.parametrize("engine", ["rows", "gram"])
def test_an_unknown_column_suggests_the_closest(args: tuple[str, ...], hint: str, engine: str,
                                                tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("price_k,size,y\n1,2,3\n2,1,4\n3,5,2\n4,3,7\n")
    if "--group-by" in args and engine == "gram":
        engine = "auto"  # --group-by needs the rows
    result = runner.invoke(app, ["fit", str(path), *args, "--engine", engine])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == (f"gdfit: error: {path}: {hint}; columns are: price_k, "
                                     "size, y")


def test_no_suggestion_when_nothing_is_close(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("price_k,size,y\n1,2,3\n2,1,4\n3,5,2\n4,3,7\n")
    result = runner.invoke(app, ["fit", str(path), "--x", "zzz"])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"gdfit: error: {path}: no column 'zzz'; columns are: " \
                                    "price_k, size, y"


def test_predict_suggests_the_columns_it_lacks(tmp_path: Path) -> None:
    model = saved_model(tmp_path, table())
    new = tmp_path / "new.csv"
    new.write_text("A,bb,y\n1,2,3\n")
    result = runner.invoke(app, ["predict", str(model), str(new)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == (f"gdfit: error: {new}: missing columns the model needs: "
                                     "'a' (did you mean 'A'?), 'b' (did you mean 'bb'?) (the "
                                     "file has: 'A', 'bb', 'y')")


# ---------------------------------------------------------------------------------------------
# Standard input on a terminal


def run_on_a_terminal(args: list[str], typed: str, timeout: float = 60.0
                      ) -> tuple[int | None, str, str]:
    """Run ``python -m gdfit ARGS`` with a pseudo-terminal as stdin, type ``typed`` and one
    Ctrl-D; the exit code is None when gdfit still waited for input after that."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "gdfit", *args], stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(slave)
        # The terminal queues the lines and one end of input (^D on an empty line).
        os.write(master, typed.encode() + b"\x04")
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            return None, out.decode(), err.decode()
        return proc.returncode, out.decode(), err.decode()
    finally:
        os.close(master)


TYPED = "x,y\n1,2\n2,4\n3,7\n"


@pytest.mark.parametrize("engine", ["rows", "gram"])
def test_one_ctrl_d_ends_typed_input_and_a_hint_says_so(engine: str) -> None:
    from gdfit.cli.common import STDIN_HINT

    code, out, err = run_on_a_terminal(["fit", "-", "--engine", engine, "-q", "-f", "csv"],
                                       TYPED)
    assert code == 0, (code, err)
    assert err.splitlines()[0] == STDIN_HINT
    row = out.splitlines()[1].split(",")
    want, *_ = np.linalg.lstsq(np.array([[1.0, 1], [2, 1], [3, 1]]), [2.0, 4, 7], rcond=None)
    np.testing.assert_allclose([float(row[2]), float(row[3])], want, rtol=1e-9)


def test_predict_reads_a_terminal_to_one_ctrl_d(tmp_path: Path) -> None:
    from gdfit.cli.common import STDIN_HINT

    model = saved_model(tmp_path, TYPED)
    code, out, err = run_on_a_terminal(["predict", str(model), "-"], "x\n1\n4\n")
    assert code == 0, (code, err)
    assert err.splitlines()[0] == STDIN_HINT
    assert [line.split(",")[0] for line in out.splitlines()] == ["x", "1", "4"]


def test_no_hint_when_stdin_is_a_pipe() -> None:
    result = runner.invoke(app, ["fit", "-", "-q", "-f", "csv"], input=TYPED)
    assert result.exit_code == 0 and result.stderr == ""


# ---------------------------------------------------------------------------------------------
# Decimal commas


def comma_table() -> str:
    """ROWS written with decimal commas, ';' between the fields."""
    return table(";").replace(".", ",")


def engines_for(scheduler: str | None) -> list[tuple[str, ...]]:
    out = [("--engine", "rows"), ("--engine", "gram")]
    if scheduler is not None:
        out.append(("--engine", "dask", "--scheduler", scheduler))
    return out


def test_decimal_comma_is_read_by_every_engine(tmp_path: Path, scheduler: str | None) -> None:
    import csv
    import io

    path = tmp_path / "comma.csv"
    path.write_text(comma_table())
    assert "2,25" in path.read_text()
    X = np.array([r[:2] for r in ROWS])
    y = np.array([r[2] for r in ROWS])
    want, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)
    for engine in engines_for(scheduler):
        for sep in ((), ("--sep", ";")):  # detected or given
            result = runner.invoke(app, ["fit", str(path), "--decimal", ",", *sep, *engine,
                                         "-q", "-f", "csv"])
            assert result.exit_code == 0, (engine, result.stderr)
            fit = next(csv.DictReader(io.StringIO(result.stdout)))
            got = [float(fit["w_a"]), float(fit["w_b"]), float(fit["b"])]
            np.testing.assert_allclose(got, want, rtol=1e-9, err_msg=str(engine))


def test_decimal_commas_get_a_hint(tmp_path: Path, scheduler: str | None) -> None:
    path = tmp_path / "comma.csv"
    path.write_text(comma_table())
    line = comma_table().split("\n").index("1;2;3,5") + 1
    for engine in engines_for(scheduler):
        result = runner.invoke(app, ["fit", str(path), "--sep", ";", "--y", "y", *engine])
        assert result.exit_code == 1 and result.stdout == ""
        message = result.stderr.strip()
        assert message.startswith(f"gdfit: error: {path}: column 'y', line {line}: '3,5' is "
                                  "not a number"), (engine, message)
        assert "looks like decimal commas: try --decimal ," in message, (engine, message)
        assert len(message.splitlines()) == 1


def test_decimal_point_under_decimal_comma_is_not_a_number(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("a;y\n1,5;2\n2,5;3\n3.5;5\n4,5;6\n")
    for engine in ("rows", "gram"):
        result = runner.invoke(app, ["fit", str(path), "--decimal", ",", "--engine", engine])
        assert result.exit_code == 1
        assert f"{path}: column 'a', line 4: '3.5' is not a number" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("--sep", ",", "--decimal", ","), "--decimal ,: --sep is ',' too; give another delimiter "
                                       "with --sep (e.g. --sep ';')"),
    (("--decimal", ","), "--decimal ,: the delimiter detected is ',' too; give another "
                         "delimiter with --sep (e.g. --sep ';')"),
])
@pytest.mark.parametrize("engine", ["rows", "gram"])
def test_decimal_comma_cannot_be_the_delimiter(args: tuple[str, ...], message: str,
                                               engine: str, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(table())
    result = runner.invoke(app, ["fit", str(path), *args, "--engine", engine])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == f"gdfit: error: {message}"


def test_predict_and_compare_read_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "comma.csv"
    path.write_text(comma_table())
    model = tmp_path / "m.json"
    fit = runner.invoke(app, ["fit", str(path), "--decimal", ",", "--save", str(model), "-q"])
    assert fit.exit_code == 0, fit.stderr
    result = runner.invoke(app, ["predict", str(model), str(path), "--decimal", ","])
    assert result.exit_code == 0, result.stderr
    X = np.array([r[:2] for r in ROWS])
    y = np.array([r[2] for r in ROWS])
    theta, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)
    lines = result.stdout.splitlines()
    pred = [float(line.split(",")[-2]) for line in lines[1:]]
    np.testing.assert_allclose(pred, X @ theta[:2] + theta[2], rtol=1e-9)
    bad = runner.invoke(app, ["predict", str(model), str(path)])
    assert bad.exit_code == 1
    assert "looks like decimal commas: try --decimal ," in bad.stderr
    compare = runner.invoke(app, ["compare", str(path), "--decimal", ",", "-s", "cg"])
    assert compare.exit_code == 0, compare.stderr


def test_columns_of_decimal_commas_are_not_silently_text(tmp_path: Path,
                                                         scheduler: str | None) -> None:
    path = tmp_path / "comma.csv"
    path.write_text("area;price\n50,5;120,25\n72,0;180,5\n91,25;231,0\n")
    for engine in engines_for(scheduler):
        for extra in ((), ("--y", "price")):
            result = runner.invoke(app, ["fit", str(path), *extra, *engine])
            assert result.exit_code == 1, (engine, result.stderr)
            assert result.stderr.strip() == (
                f"gdfit: error: {path}: needs at least two numeric columns; found 0; not "
                "numeric: 'area', 'price'; looks like decimal commas: try --decimal ,")


# ---------------------------------------------------------------------------------------------
# Blocks of the streaming reader never cut a quoted field


@pytest.mark.parametrize("block_bytes", [5, 7, 13, 64, 1 << 22])
@pytest.mark.parametrize("stdin", [False, True])
def test_blocks_keep_quoted_newlines_whole(block_bytes: int, stdin: bool, tmp_path: Path) -> None:
    import io

    from gdfit.stream import stream_statistics

    text = 'name,a,y\n"p\nq",1,2\nr,2,4\n"s\n\nt",3,7\nu,4,oops\nv,5,8\n'
    path = tmp_path / "q.csv"
    path.write_text(text)
    source = "-" if stdin else str(path)
    feed = io.BufferedReader(io.BytesIO(text.encode())) if stdin else None  # type: ignore[arg-type]
    with pytest.raises(DataError) as caught:
        stream_statistics([source], x=["a"], y="y", block_bytes=block_bytes, stdin=feed)
    line = text[:text.index("oops")].count("\n") + 1
    assert f"column 'y', line {line}: 'oops' is not a number" in str(caught.value)
    good = text.replace("oops", "6")
    path.write_text(good)
    feed = io.BufferedReader(io.BytesIO(good.encode())) if stdin else None  # type: ignore[arg-type]
    problem, info = stream_statistics([source], x=["a"], y="y", block_bytes=block_bytes,
                                      stdin=feed)
    assert info.rows == 5 and problem.n == 5
    assert problem.x_mean[0] == pytest.approx(3.0) and problem.y_mean == pytest.approx(5.4)


# ---------------------------------------------------------------------------------------------
# Hypothesis: tables written in every style, read alike by the pandas and streaming readers


def _written(draw: object, values: np.ndarray) -> tuple[str, str, int | None]:
    """A table of ``values`` in a drawn style, its --sep, and the line of a drawn defect."""
    from hypothesis import strategies as st

    d = draw  # type: ignore[assignment]
    sep = d(st.sampled_from([",", ";", "\t", "|", "§"]))
    newline = d(st.sampled_from(["\n", "\r\n"]))
    trailing = d(st.booleans())
    quote = d(st.booleans())
    named = d(st.booleans())  # a first column of quoted text holding delimiters and quotes
    lines = [sep.join(["n", "a", "b", "y"] if named else ["a", "b", "y"])
             + (sep if trailing else "")]
    defect_row = d(st.none() | st.integers(0, len(values) - 1))
    defect = d(st.sampled_from(["short", "long", "text"]))
    line_of = None
    for r, row in enumerate(values):
        cells = [repr(float(v)) for v in row]
        if quote and r % 2:
            cells[0] = f'"{cells[0]}"'
        if r == defect_row:
            if defect == "short":
                cells = cells[:-1]
            elif defect == "long":  # with a trailing delimiter the header names a 4th column
                cells.extend(["9", "9"] if trailing else ["9"])
            else:
                cells[1] = "oops"
        if d(st.booleans()):  # blank lines before the row
            lines.extend([""] * d(st.integers(1, 2)))
        if quote and d(st.booleans()):  # a quoted number holding a newline: 2 physical lines
            cells[0] = '"' + cells[0].strip('"') + '\n"'
        if named:
            cells.insert(0, '"' + d(st.sampled_from(["x", f"x{sep}y", 'say ""hi""',
                                                     f'{sep}""{sep}'])) + '"')
        lines.append(sep.join(cells) + (sep if trailing else ""))
        if r == defect_row:  # the physical line the row starts on
            line_of = sum(ln.count("\n") + 1 for ln in lines[:-1]) + 1
    bom = "\ufeff" if d(st.booleans()) else ""
    return bom + newline.join(lines) + newline, sep, line_of


# The module's Dask cluster (a fixture of earlier tests) may still run: its threads use the
# random module, and Hypothesis notes any change of that state between two draws.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
def test_pandas_and_streaming_readers_agree_on_any_style(tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    from gdfit.io import read_dataset
    from gdfit.stream import stream_statistics

    # Extreme magnitudes (a column divided by a power of two near its first value) are
    # tests/test_numbers.py's subject; here every value is of ordinary size.
    floats = st.floats(-1e6, 1e6, allow_nan=False, width=64).filter(
        lambda v: v == 0 or abs(v) > 1e-50)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(hnp.arrays(np.float64, st.tuples(st.integers(4, 12), st.just(3)), elements=floats),
           st.data(), st.integers(1, 64))
    def check(values: np.ndarray, data: st.DataObject, block: int) -> None:
        text, sep, line = _written(data.draw, values)
        path = tmp_path / "t.csv"
        path.write_bytes(text.encode())
        outcomes = []
        for read in (lambda: read_dataset(str(path), sep=sep, x=["a", "b"], y="y"),
                     lambda: stream_statistics([str(path)], sep=sep, x=["a", "b"], y="y",
                                               block_bytes=block)):
            try:
                outcomes.append(read())
            except DataError as exc:
                outcomes.append(exc)
        if line is not None:
            for got in outcomes:
                assert isinstance(got, DataError), got
                assert re.search(rf"\bline {line}\b", str(got)), (str(got), line, text)
            return
        ds, (problem, info) = outcomes  # no error: the same rows, to the last bit
        assert isinstance(ds, object) and problem.n == len(values)
        np.testing.assert_array_equal(ds.X, values[:, :2])  # type: ignore[union-attr]
        np.testing.assert_array_equal(ds.y, values[:, 2])  # type: ignore[union-attr]
        mean = np.asarray(problem.x_mean)
        if info.units is not None:  # tiny values: statistics of columns scaled by 2^-e
            mean = np.ldexp(mean, np.asarray(info.units.x_exp, dtype=np.int64))
        np.testing.assert_allclose(mean, values[:, :2].mean(axis=0), rtol=1e-12, atol=1e-9)

    check()


def test_an_ignored_column_of_decimal_commas_is_pointed_out(tmp_path: Path,
                                                            scheduler: str | None) -> None:
    path = tmp_path / "c.csv"
    path.write_text("a;b;y\n1;2;3,5\n2;1;4\n3;5;2,25\n4;3;7\n5;8;1,5\n6;2;9,5\n")
    for engine in engines_for(scheduler):
        result = runner.invoke(app, ["fit", str(path), *engine])
        assert result.exit_code == 0, result.stderr
        assert result.stderr.splitlines()[0].startswith(
            f"{path}: 6 rows; y = b, x = a (chosen automatically); ignored non-numeric: y (y "
            "looks like decimal commas: try --decimal ,); engine"), (engine, result.stderr)


PREDICTABLE = [c for c in CASES if c.text.removeprefix("\ufeff").lstrip("\r\n").startswith(
    ("a,b,y", "a§b§y")) and "--no-header" not in c.args]


@pytest.mark.parametrize("case", PREDICTABLE, ids=[c.name for c in PREDICTABLE])
def test_predict_reads_a_hostile_file_as_fit_does(case: Case, tmp_path: Path) -> None:
    model = saved_model(tmp_path, GOOD)
    path = tmp_path / f"{case.name}.csv"
    path.write_bytes(case.text.encode())
    result = runner.invoke(app, ["predict", str(model), str(path), *case.args])
    line = case.line()
    if line is None:
        assert result.exit_code == 0, result.stderr
        assert len(result.stdout.strip().splitlines()) == len(ROWS) + 1
        return
    assert result.exit_code == 1, result.stderr
    message = result.stderr.strip()
    assert message.startswith(f"gdfit: error: {path}: ") and len(message.splitlines()) == 1
    assert {int(n) for n in re.findall(r"\bline (\d+)", message)} == {line}, message


def test_decimal_at_library_level(tmp_path: Path) -> None:
    from gdfit.errors import OptionError
    from gdfit.io import read_dataset
    from gdfit.stream import stream_statistics

    path = tmp_path / "comma.csv"
    path.write_text(comma_table())
    values = np.array(ROWS)
    ds = read_dataset(str(path), decimal=",")
    np.testing.assert_array_equal(ds.X, values[:, :2])
    np.testing.assert_array_equal(ds.y, values[:, 2])
    problem, _ = stream_statistics([str(path)], decimal=",")
    np.testing.assert_allclose(problem.x_mean, values[:, :2].mean(axis=0), rtol=1e-15)
    assert problem.y_mean == pytest.approx(values[:, 2].mean(), rel=1e-15)
    for read in (lambda: read_dataset(str(path), decimal="x"),
                 lambda: stream_statistics([str(path)], decimal="x")):
        message = re.escape("invalid decimal mark 'x': give '.' or ','")
        with pytest.raises(OptionError, match=message):
            read()
    with pytest.raises(DataError, match="looks like decimal commas: try --decimal ,"):
        read_dataset(str(path), x=["a", "b"], y="y")
