"""Text of the result table: how durations read."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from rich.console import Console

import gdfit
from gdfit.render import duration, result_table


@pytest.mark.parametrize(("seconds", "text"), [
    (0.000158, "0.158 ms"), (0.0123, "12.3 ms"), (0.822, "822 ms"), (0.9994, "999 ms"),
    (0.9996, "1 s"), (1.0, "1 s"), (1.234, "1.23 s"), (12.34, "12.3 s"), (999.4, "999 s"),
    (1234.5, "1234 s"),
])
def test_durations_read_in_ms_below_a_second_and_never_in_exponent_form(seconds: float,
                                                                         text: str) -> None:
    assert duration(seconds) == text


def test_the_result_table_shows_a_long_run_in_seconds() -> None:
    result = gdfit.fit(np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]), step="exact")
    console = Console(width=80, record=True, color_system=None)
    console.print(result_table(dataclasses.replace(result, elapsed=1.5)))
    text = console.export_text()
    assert "gradient evaluations, 1.5 s)" in text and "e+03" not in text
