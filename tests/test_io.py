"""Tests of gdfit.io: reading a table into a Dataset, and every error it reports."""

from __future__ import annotations

import dataclasses
import io
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gdfit.io as gio
from gdfit.errors import DataError, ExitCode, GdfitError, OptionError
from gdfit.io import Dataset, _detect_sep, read_dataset


def write(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> str:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_bytes(text.encode("utf-8"))
    else:
        path.write_bytes(text)
    return str(path)


def data_error(path: str, **kwargs: object) -> str:
    """Read `path` expecting a DataError; check its form and return its message."""
    with pytest.raises(DataError) as excinfo:
        read_dataset(path, **kwargs)  # type: ignore[arg-type]
    message = str(excinfo.value)
    assert excinfo.value.exit_code == ExitCode.DATA_ERROR == 1
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    assert excinfo.value.__cause__ is None
    return message


def option_error(path: str, **kwargs: object) -> str:
    with pytest.raises(OptionError) as excinfo:
        read_dataset(path, **kwargs)  # type: ignore[arg-type]
    assert excinfo.value.exit_code == ExitCode.USAGE_ERROR == 2
    return str(excinfo.value)


# --- delimiters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sep"),
    [
        ("a,b,c\n1,2,3\n4,5,6\n", ","),
        ("a\tb\tc\n1\t2\t3\n4\t5\t6\n", "\t"),
        ("a;b;c\n1;2;3\n4;5;6\n", ";"),
        ("a b  c\n  1 2 3\n4\t5   6  \n", "whitespace"),
    ],
)
def test_delimiter_is_detected(tmp_path: Path, text: str, sep: str) -> None:
    ds = read_dataset(write(tmp_path, text))
    assert ds.sep == sep
    assert ds.features == ("a", "b") and ds.target == "c"
    np.testing.assert_array_equal(ds.X, [[1.0, 2.0], [4.0, 5.0]])
    np.testing.assert_array_equal(ds.y, [3.0, 6.0])


def test_detect_sep_needs_the_separator_in_the_header() -> None:
    # Decimal commas in the data must not make "," win over ";".
    assert _detect_sep("x;y\n1,5;2,5\n3,25;4,0\n") == ";"
    # A comma in a tab-separated header name does not count: counts are inconsistent.
    assert _detect_sep("a,b\tc\n1\t2\n3\t4\n") == "\t"


def test_detect_sep_prefers_consistent_field_counts() -> None:
    assert _detect_sep("a,b;c\n1,2;3\n4,5;6,7\n") == ";"  # "," gives 2, 2, 3 fields
    assert _detect_sep("a b\n1 2\n") == "whitespace"
    assert _detect_sep("onlyone\n1\n2\n") == ","
    assert _detect_sep("a b\n1 2 3\n") == ","  # inconsistent whitespace split
    assert _detect_sep("\n\n  \n") == ","


def test_detection_ignores_a_truncated_line_at_the_end_of_the_sample(tmp_path: Path) -> None:
    # Enough rows to exceed the sample size: the cut line must not spoil the counts.
    rows = "".join(f"{i}\t{i * 2}\t{i * 3}\n" for i in range(20000))
    ds = read_dataset(write(tmp_path, "a\tb\tc\n" + rows))
    assert ds.sep == "\t" and ds.X.shape == (20000, 2)


def test_wide_header_longer_than_the_sample(tmp_path: Path) -> None:
    ncols = 12000  # the header line alone is longer than the 64 KiB sample
    names = ",".join(f"column_{i}" for i in range(ncols))
    values = ",".join(str(i) for i in range(ncols))
    ds = read_dataset(write(tmp_path, f"{names}\n{values}\n{values}\n"))
    assert ds.X.shape == (2, ncols - 1) and ds.target == f"column_{ncols - 1}"


@pytest.mark.parametrize(
    ("given", "text", "used"),
    [
        ("\\t", "a\tb\n1\t2\n3\t4\n", "\t"),  # backslash-t, as typed in a shell
        ("\t", "a\tb\n1\t2\n3\t4\n", "\t"),
        ("tab", "a\tb\n1\t2\n3\t4\n", "\t"),
        (";", "a;b\n1;2\n3;4\n", ";"),
        ("|", "a|b\n1|2\n3|4\n", "|"),
        (",", "a,b\n1,2\n3,4\n", ","),
        (" ", "a b\n1   2\n3 \t 4\n", "whitespace"),
        ("whitespace", "a b\n1   2\n3 4\n", "whitespace"),
        (":", "a:b\n1:2\n3:4\n", ":"),
    ],
)
def test_explicit_separator(tmp_path: Path, given: str, text: str, used: str) -> None:
    ds = read_dataset(write(tmp_path, text), sep=given)
    assert ds.sep == used
    np.testing.assert_array_equal(ds.X, [[1.0], [3.0]])
    np.testing.assert_array_equal(ds.y, [2.0, 4.0])


def test_explicit_separator_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "a\tb\n1\t2\n3\t4\n")
    assert read_dataset(path).sep == "\t"
    message = data_error(path, sep=",")  # one column named "a<TAB>b"
    assert "needs at least two numeric columns" in message and "only one column" in message


@pytest.mark.parametrize("bad", ["", "ab", "\\n", "\n", '"'])
def test_invalid_separator_is_an_option_error(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, "a,b\n1,2\n")
    message = option_error(path, sep=bad)
    assert message.startswith("sep= must be one character") and repr(bad) in message
    assert isinstance(OptionError(message), ValueError)


# --- headers and column references -----------------------------------------------------------


def test_no_header_names_columns_by_index(tmp_path: Path) -> None:
    path = write(tmp_path, "1,2,3\n4,5,6\n7,8,10\n")
    ds = read_dataset(path, header=False)
    assert ds.features == ("0", "1") and ds.target == "2"
    np.testing.assert_array_equal(ds.X, [[1, 2], [4, 5], [7, 8]])
    ds = read_dataset(path, header=False, x=["2", "0"], y="1")
    assert ds.features == ("2", "0") and ds.target == "1"
    np.testing.assert_array_equal(ds.X, [[3, 1], [6, 4], [10, 7]])
    np.testing.assert_array_equal(ds.y, [2, 5, 8])
    assert not ds.auto_columns


def test_without_header_a_text_first_line_is_reported_as_data(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n3,4\n")
    message = data_error(path, header=False, x=["0"], y="1")
    assert "column '0', line 1: 'a' is not a number" in message


def test_names_and_indices(tmp_path: Path) -> None:
    path = write(tmp_path, " w , x ,y\n1,2,3\n4,5,6\n7,8,9\n")
    ds = read_dataset(path, x=[" x ", "0"], y="y ")
    assert ds.features == ("x", "w") and ds.target == "y"
    np.testing.assert_array_equal(ds.X, [[2, 1], [5, 4], [8, 7]])


def test_a_header_name_wins_over_an_index(tmp_path: Path) -> None:
    # Column "0" is the second column; "1" is not a name, so it is index 1.
    path = write(tmp_path, "2,0,z\n10,20,30\n11,21,31\n")
    ds = read_dataset(path, x=["0"], y="z")
    np.testing.assert_array_equal(ds.X[:, 0], [20, 21])
    ds = read_dataset(path, x=["1"], y="2")
    assert ds.features == ("0",) and ds.target == "2"
    np.testing.assert_array_equal(ds.y, [10, 11])


def test_x_given_as_a_single_string(tmp_path: Path) -> None:
    ds = read_dataset(write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n"), x="b", y="a")  # type: ignore[arg-type]
    assert ds.features == ("b",) and ds.target == "a"


def test_unknown_column_lists_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "x,y,w\n1,2,3\n")
    assert data_error(path, x=["z"]).endswith(": no column 'z'; columns are: x, y, w")
    assert data_error(path, y="Y").endswith(
        ": no column 'Y' (did you mean 'y'?); columns are: x, y, w")


def test_index_out_of_range_lists_range_and_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "x,y,w\n1,2,3\n")
    message = data_error(path, x=["3"], y="y")
    assert message == f"{path}: column index 3 is out of range (0-2); columns are: x, y, w"


def test_many_columns_are_listed_briefly(tmp_path: Path) -> None:
    names = [f"c{i}" for i in range(30)]
    path = write(tmp_path, ",".join(names) + "\n" + ",".join("1" * 30) + "\n")
    message = data_error(path, x=["nope"])
    assert "c19, ... (30 columns)" in message and "c20" not in message


def test_duplicate_name_refused_at_read_time(tmp_path: Path) -> None:
    # A repeated name is refused whatever is asked for, even by index: a fit on it would
    # lose a coefficient by name (tests/test_readers.py runs this through every reader).
    path = write(tmp_path, "a,a,b\n1,2,3\n4,5,6\n")
    for options in ({"x": ["a"], "y": "b"}, {"x": ["1"], "y": "b"}, {}):
        message = data_error(path, **options)
        assert "column name 'a' appears twice in the header (columns 0 and 1" in message


def test_empty_header_cell_is_named_by_its_index(tmp_path: Path) -> None:
    ds = read_dataset(write(tmp_path, "a,,b\n1,2,3\n4,5,6\n"))
    assert ds.features == ("a", "1") and ds.target == "b"


@pytest.mark.parametrize(
    ("x", "y", "words"),
    [
        (["a"], "a", "'a' is used both as x and as y"),
        (["0"], "a", "'a' is used both as x and as y"),
        (["a", "b", "a"], "c", "'a' is given more than once"),
        (["a", "0"], "c", "'a' is given more than once"),
        ([], "c", "no x columns"),
        ([" "], "c", "empty column name"),
    ],
)
def test_conflicting_columns_are_option_errors(
    tmp_path: Path, x: list[str], y: str, words: str
) -> None:
    path = write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n")
    assert words in option_error(path, x=x, y=y)


# --- automatic choice of columns ---------------------------------------------------------------


def test_automatic_choice_skips_text_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "name,a,city,b,c\nann,1,Rome,2,3\nbob,4,Oslo,5,6\n")
    ds = read_dataset(path)
    assert ds.features == ("a", "b") and ds.target == "c"
    assert ds.auto_columns
    assert ds.ignored_columns == ("name", "city")
    np.testing.assert_array_equal(ds.X, [[1, 2], [4, 5]])


def test_only_y_given(tmp_path: Path) -> None:
    path = write(tmp_path, "name,a,b,c\nann,1,2,3\nbob,4,5,6\n")
    ds = read_dataset(path, y="a")
    assert ds.features == ("b", "c") and ds.target == "a"
    assert ds.auto_columns and ds.ignored_columns == ("name",)
    np.testing.assert_array_equal(ds.y, [1, 4])


def test_only_x_given(tmp_path: Path) -> None:
    path = write(tmp_path, "name,a,b,c,d\nann,1,2,3,4\nbob,5,6,7,8\n")
    ds = read_dataset(path, x=["d", "a"])
    assert ds.features == ("d", "a") and ds.target == "c"
    assert ds.auto_columns and ds.ignored_columns == ("name",)
    np.testing.assert_array_equal(ds.X, [[4, 1], [8, 5]])
    ds = read_dataset(path, x=["c", "d"])
    assert ds.target == "b"


def test_both_given_is_not_automatic(tmp_path: Path) -> None:
    path = write(tmp_path, "name,a,b\nann,1,2\nbob,4,5\n")
    ds = read_dataset(path, x=["b"], y="a")
    assert not ds.auto_columns and ds.ignored_columns == ()


def test_mostly_numeric_column_with_a_typo_is_reported(tmp_path: Path) -> None:
    # More than half of the cells are numbers: the column counts as numeric and
    # the typo is an error instead of the column being silently ignored.
    path = write(tmp_path, "a,b\n1,2\n2,3x\n3,4\n4,5\n")
    assert data_error(path).endswith(": column 'b', line 3: '3x' is not a number")


def test_mostly_text_column_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "a,label,b,c\n1,x,2,3\n2,7,3,4\n3,y,4,6\n")
    ds = read_dataset(path)
    assert ds.features == ("a", "b") and ds.ignored_columns == ("label",)


def test_half_numbers_is_not_numeric(tmp_path: Path) -> None:
    path = write(tmp_path, "a,h,b\n1,1,2\n2,x,3\n")  # exactly half: not "more than half"
    assert read_dataset(path).ignored_columns == ("h",)


def test_empty_column_is_not_numeric(tmp_path: Path) -> None:
    ds = read_dataset(write(tmp_path, "a,b,c,\n1,2,3,\n4,5,6,\n"))
    assert ds.features == ("a", "b") and ds.target == "c"
    assert ds.ignored_columns == ("3",)


def test_too_few_numeric_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "name,a\nann,1\nbob,2\n")
    message = data_error(path)
    assert (
        message == f"{path}: needs at least two numeric columns; found 1: 'a'; not numeric: 'name'"
    )
    message = data_error(write(tmp_path, "p,q\nx,y\nz,w\n", "text.csv"))
    assert "needs at least two numeric columns; found 0" in message


def test_one_column_file_hints_at_the_separator(tmp_path: Path) -> None:
    path = write(tmp_path, "a|b\n1|2\n3|4\n")
    message = data_error(path)
    assert "needs at least two numeric columns; found 0" in message
    assert "only one column" in message and "separator" in message


def test_no_numeric_column_left_for_y_or_x(tmp_path: Path) -> None:
    path = write(tmp_path, "t,a,b\nx,1,2\ny,3,4\n")
    assert "no numeric column left to use as y" in data_error(path, x=["a", "b"])
    path = write(tmp_path, "t,a\nx,1\ny,3\n", "two.csv")
    assert "needs at least two numeric columns" in data_error(path, y="a")


# --- stdin, encodings, files ---------------------------------------------------------------------


def test_stdin() -> None:
    ds = read_dataset("-", stdin=io.BytesIO(b"a,b\n1,2\n3,4\n"))
    assert ds.source == "<stdin>"
    np.testing.assert_array_equal(ds.y, [2, 4])


def test_stdin_errors() -> None:
    with pytest.raises(DataError, match=r"^<stdin>: the input is empty$"):
        read_dataset("-", stdin=io.BytesIO(b""))
    with pytest.raises(DataError, match=r"^<stdin>: column 'b', line 3: 'x' is not a number$"):
        read_dataset("-", stdin=io.BytesIO(b"a,b\n1,2\n3,x\n5,6\n"))

    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError(5, "Input/output error")

    with pytest.raises(DataError, match=r"^<stdin>: cannot read input"):
        read_dataset("-", stdin=Broken())


def test_stdin_defaults_to_sys_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeStdin:
        buffer = io.BytesIO(b"a b\n1 2\n3 4\n")

    monkeypatch.setattr(sys, "stdin", FakeStdin)  # read through gdfit.sources.standard_input
    assert read_dataset("-").sep == "whitespace"


def test_path_object_named_dash_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_text("a,b\n1,2\n")
    ds = read_dataset(Path("-"), stdin=io.BytesIO(b"ignored"))
    assert ds.source == "-" and ds.y.tolist() == [2.0]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    ds = read_dataset(write(tmp_path, b"\xef\xbb\xbfx,y\n1,2\n3,4\n"), x=["x"], y="y")
    assert ds.features == ("x",)


def test_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, b"a,b\n1,2\n3,\xe9\n")
    message = data_error(path)
    assert "not UTF-8" in message and "line 3" in message and "0xe9" in message


def test_utf16_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n".encode("utf-16"))
    assert "UTF-16" in data_error(path)


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "data.csv")
    assert data_error(path) == f"{path}: no such file"
    inside_file = write(tmp_path, "a,b\n1,2\n", "f.csv") + "/x.csv"
    assert data_error(inside_file) == f"{inside_file}: no such file"


def test_directory(tmp_path: Path) -> None:
    assert data_error(str(tmp_path)) == f"{tmp_path}: is a directory, not a file"


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "a,b\n1,2\n")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(gio, "open", denied, raising=False)
    assert data_error(path) == f"{path}: cannot read file (permission denied)"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads all")
def test_permission_denied_for_real(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n")
    os.chmod(path, 0)
    assert data_error(path) == f"{path}: cannot read file (permission denied)"


def test_other_os_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: object, **kwargs: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(gio, "open", failing, raising=False)
    path = str(tmp_path / "x.csv")
    assert data_error(path) == f"{path}: cannot read file (Input/output error)"


@pytest.mark.parametrize("content", [b"", b"   \n\n\t\r\n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, content)
    assert data_error(path) == f"{path}: the file is empty"


@pytest.mark.parametrize("content", ["a,b\n", "a,b", "\n\na,b\n\n\n", "a,b\n , \n,\n"])
def test_header_only(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, content)
    assert data_error(path) == f"{path}: no data rows (only a header)"


# --- bad cells and missing values ---------------------------------------------------------------


def test_non_numeric_cell(tmp_path: Path) -> None:
    rows = ["x,y", "1,2", "2,3", "3,4", "4,5", "5,6", "abc,7", "7,8", "8,9", "9,10"]
    path = write(tmp_path, "\n".join(rows) + "\n")
    assert data_error(path) == f"{path}: column 'x', line 7: 'abc' is not a number"


def test_non_numeric_cells_are_counted(tmp_path: Path) -> None:
    rows = ["x,y", "1,2", "q,3", "3,4", "4,5", "r,6", "5,s", "t,8", "u,9", "9,10", "9,10", "9,10"]
    path = write(tmp_path, "\n".join(rows) + "\n")
    # The first bad cell in the file wins; the count is for its column.
    message = data_error(path)
    assert message == f"{path}: column 'x', line 3: 'q' is not a number (and 3 more in this column)"


def test_first_bad_cell_is_the_lowest_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,c\n1,2,3\n4,oops,6\nbad,8,9\n1,2,3\n1,2,3\n")
    assert data_error(path, x=["a", "b"], y="c").endswith(
        "column 'b', line 3: 'oops' is not a number"
    )


def test_boolean_and_underscore_cells_are_not_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\nTrue,1\nFalse,2\n")
    assert data_error(path, x=["a"], y="b").endswith(
        "column 'a', line 2: 'True' is not a number (and 1 more in this column)"
    )
    path = write(tmp_path, "a,b\n1_000,1\n2,2\n3,3\n", "u.csv")
    assert data_error(path).endswith("column 'a', line 2: '1_000' is not a number")


def test_long_bad_value_is_shortened(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n" + "z" * 200 + ",3\n")
    message = data_error(path, x=["a"], y="b")
    assert "'" + "z" * 37 + "...'" in message and len(message) < 150 + len(path)


def test_missing_values_without_dropna(tmp_path: Path) -> None:
    lines = ["x,y"] + [f"{i},{i}" for i in range(1, 30)]
    for lineno in (4, 9, 12, 13, 15, 20, 22):
        lines[lineno - 1] = f"{lineno},"
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert data_error(path) == (
        f"{path}: missing or non-finite values in column 'y' on lines 4, 9, 12, 13, 15 "
        "(and 2 more); use --dropna to drop such rows"
    )


@pytest.mark.parametrize(
    "token", ["", "nan", "NaN", "NA", "null", "inf", "-inf", "Infinity", "-Infinity", "NAN", " "]
)
def test_each_missing_or_non_finite_spelling(tmp_path: Path, token: str) -> None:
    path = write(tmp_path, f"x,y\n1,2\n3,{token}\n5,6\n")
    assert data_error(path).endswith(
        ": missing or non-finite values in column 'y' on line 3; use --dropna to drop such rows"
    )
    ds = read_dataset(path, dropna=True)
    assert ds.dropped_rows == (3,)
    np.testing.assert_array_equal(ds.y, [2, 6])


def test_short_row_is_malformed_not_missing(tmp_path: Path) -> None:
    # One rule in every engine (tests/test_readers.py): a row with too few fields is
    # malformed; --dropna drops missing values, not malformed rows.
    path = write(tmp_path, "a,b,c\n1,2,3\n4,5\n7,8,9\n")
    assert data_error(path).endswith(": line 3 has 2 fields, but the header has 3")
    assert data_error(path, dropna=True).endswith(": line 3 has 2 fields, but the header has 3")


def test_missing_values_in_an_unselected_column_do_not_matter(tmp_path: Path) -> None:
    ds = read_dataset(write(tmp_path, "a,b,c\n1,,3\n4,,6\n"), x=["a"], y="c")
    assert ds.dropped_rows == ()
    np.testing.assert_array_equal(ds.y, [3, 6])


def test_dropna_reports_line_numbers(tmp_path: Path) -> None:
    text = "a,b,c\n1,2,3\n\n4,,6\n7,8,9\nnan,1,1\n\n10,11,inf\n12,13,14\n"
    path = write(tmp_path, text)
    ds = read_dataset(path, dropna=True)
    assert ds.dropped_rows == (4, 6, 8)
    np.testing.assert_array_equal(ds.X, [[1, 2], [7, 8], [12, 13]])
    np.testing.assert_array_equal(ds.y, [3, 9, 14])


def test_dropna_with_nothing_left(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,\n,2\n")
    message = data_error(path, dropna=True)
    assert "no rows left" in message and "2 rows" in message


def test_row_of_na_tokens_is_missing_data_not_a_blank_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\nNA,nan\n3,4\n")
    assert "on line 3" in data_error(path)


def test_ragged_row(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n\n3,4,5\n6,7\n")
    assert data_error(path) == f"{path}: line 4 has 3 fields, but the header has 2"
    path = write(tmp_path, "\n1,2\n3,4,5\n", "nohead.csv")
    message = data_error(path, header=False)
    assert message == f"{path}: line 3 has 3 fields, but line 2 has 2"


def test_unclosed_quote(tmp_path: Path) -> None:
    path = write(tmp_path, 'a,b\n1,2\n"3,4\n5,6\n')
    assert data_error(path) == f"{path}: unclosed quote starting on line 3"


def test_parser_exceptions_never_escape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise pd.errors.ParserError("Error tokenizing data. C error: out of cheese\nmore")

    monkeypatch.setattr(gio.pd, "read_csv", broken)
    path = write(tmp_path, "a,b\n1,2\n")
    assert data_error(path) == f"{path}: cannot parse the data: out of cheese"

    def odd(*args: object, **kwargs: object) -> None:
        raise KeyError("weird")

    monkeypatch.setattr(gio.pd, "read_csv", odd)
    assert "cannot parse the data" in data_error(path)


# --- line numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_blank_lines_do_not_shift_line_numbers(tmp_path: Path, newline: str) -> None:
    lines = ["", "", "x,y", "", "1,2", "   ", "2,3", ",", "", "3,oops", "4,5", ""]
    path = write(tmp_path, newline.join(lines))
    assert data_error(path).endswith(": column 'y', line 10: 'oops' is not a number")
    lines[9] = "3,"
    path = write(tmp_path, newline.join(lines))
    assert "on line 10;" in data_error(path)
    ds = read_dataset(path, dropna=True)
    assert ds.dropped_rows == (10,)
    np.testing.assert_array_equal(ds.X[:, 0], [1, 2, 4])


def test_blank_lines_in_whitespace_and_headerless_files(tmp_path: Path) -> None:
    path = write(tmp_path, "\n1 2\n\n  \n3 4\n5 x\n")
    message = data_error(path, header=False)
    assert message.endswith(": column '1', line 6: 'x' is not a number")


# --- numbers ----------------------------------------------------------------------------------


def test_number_formats_and_precision(tmp_path: Path) -> None:
    values = ["0.1", "1e-300", "1.2345678901234567", "760.", ".11019", "1e-3", "-0.0", "+3"]
    values += ["0.30000000000000004", "5e-324", "1.7976931348623157e308", "12345678901234567890123"]
    text = "x,y\n" + "".join(f"{v} , {i}\n" for i, v in enumerate(values))
    ds = read_dataset(write(tmp_path, text))
    expected = np.array([float(v) for v in values])
    assert ds.X[:, 0].tobytes() == expected.tobytes()
    assert math.copysign(1.0, ds.X[6, 0]) == -1.0


def test_precision_when_a_column_is_parsed_from_text(tmp_path: Path) -> None:
    # A blank cell (" ") turns the column into text in pandas; values must still be exact.
    values = ["0.1", "1e-300", "1.2345678901234567", "2.2250738585072014e-308"]
    text = "x,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)) + "9, \n"
    ds = read_dataset(write(tmp_path, text), dropna=True)
    assert ds.y.tobytes() == np.array([float(v) for v in values]).tobytes()
    assert ds.dropped_rows == (6,)


def test_integers_become_float64(tmp_path: Path) -> None:
    ds = read_dataset(write(tmp_path, "a,b\n9007199254740993,1\n2,3\n"))
    assert ds.X.dtype == np.float64 and ds.X[0, 0] == float(9007199254740993)


def test_result_arrays(tmp_path: Path) -> None:
    ds = read_dataset(write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n7,8,9\n"), x=["c", "a"], y="b")
    assert isinstance(ds, Dataset)
    assert ds.X.shape == (3, 2) and ds.y.shape == (3,)
    assert ds.X.dtype == np.float64 and ds.y.dtype == np.float64
    assert ds.X.flags.c_contiguous and ds.y.flags.c_contiguous
    assert ds.source.endswith("data.csv") and ds.dropped_rows == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.target = "a"  # type: ignore[misc]


def test_all_numeric_file_is_parsed_once_without_strings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, object]] = []
    real = pd.read_csv

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs)
        return real(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(gio.pd, "read_csv", spy)
    read_dataset(write(tmp_path, "a,b\n1,2\n3,4\n\n5,6\n"))
    assert len(calls) == 1 and "dtype" not in calls[0]
    calls.clear()
    read_dataset(write(tmp_path, "t,a,b\nx,1,2\ny,3,4\n"), x=["a"], y="b")
    assert len(calls) == 1  # the text column is not selected: no second pass
    calls.clear()
    read_dataset(write(tmp_path, "t,a,b\nx,1,2\ny,3,4\n"))
    assert len(calls) == 1  # t is text in the head (gdfit.column_rule): never read as numbers
    calls.clear()
    with pytest.raises(DataError, match="column 't', line 5: 'x'"):  # t numeric in the head
        read_dataset(write(tmp_path, "t,a,b\n1,1,2\n2,3,4\n3,5,7\nx,5,7\n"))
    assert len(calls) == 2 and calls[1]["usecols"] == [0]


def test_errors_are_gdfit_errors(tmp_path: Path) -> None:
    with pytest.raises(GdfitError):
        read_dataset(str(tmp_path / "nope.csv"))


finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=60, deadline=None)
@given(
    matrix=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 12), st.integers(2, 5)),
        elements=finite_floats,
    ),
    data=st.data(),
)
def test_random_matrices_round_trip_bitwise(matrix: np.ndarray, data: st.DataObject) -> None:
    ncols = matrix.shape[1]
    names = [f"c{j}" for j in range(ncols)]
    sep = data.draw(st.sampled_from([",", "\t", ";", " "]))
    rows = [sep.join(repr(float(v)) for v in row) for row in matrix]
    text = "\n".join([sep.join(names), *rows]) + "\n"
    target = data.draw(st.integers(0, ncols - 1))
    others = [j for j in range(ncols) if j != target]
    order = data.draw(st.permutations(others))
    x = [names[j] if data.draw(st.booleans()) else str(j) for j in order]
    ds = read_dataset("-", x=x, y=names[target], stdin=io.BytesIO(text.encode()))
    assert ds.features == tuple(names[j] for j in order)
    assert ds.X.tobytes() == np.ascontiguousarray(matrix[:, list(order)]).tobytes()
    assert ds.y.tobytes() == np.ascontiguousarray(matrix[:, target]).tobytes()
    auto = read_dataset("-", stdin=io.BytesIO(text.encode()))
    assert auto.target == names[-1] and auto.X.tobytes() == matrix[:, :-1].copy().tobytes()
