"""Input naming: globs expand sorted, plain paths pass through, stdin at most once."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdfit.errors import DataError, OptionError
from gdfit.sources import expand_inputs


def test_glob_expands_sorted_and_paths_pass_through(tmp_path: Path) -> None:
    for name in ("part-2.csv", "part-10.csv", "part-1.csv", "other.txt"):
        (tmp_path / name).write_text("x,y\n1,2\n")
    got = expand_inputs([str(tmp_path / "part-*.csv"), "-", "missing.csv"])
    assert got == [str(tmp_path / n) for n in ("part-1.csv", "part-10.csv", "part-2.csv")] + [
        "-", "missing.csv"]


def test_glob_without_match_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no file matches"):
        expand_inputs([str(tmp_path / "*.csv")])


def test_stdin_only_once() -> None:
    with pytest.raises(OptionError, match="only once"):
        expand_inputs(["-", "-"])


def test_a_file_named_like_a_glob_is_a_path(tmp_path: Path) -> None:
    odd = tmp_path / "data[1].csv"
    odd.write_text("x,y\n1,2\n")
    assert expand_inputs([str(odd)]) == [str(odd)]
