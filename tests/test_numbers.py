"""Numbers that do not mislead (issue 11): wide files in bounded memory, extreme magnitudes,
and an exact least-squares reference that is exact to the digits it prints."""

from __future__ import annotations

import numpy as np

from gdfit import stream


def test_work_buffer_of_a_wide_table_is_not_65536_rows() -> None:
    # 1001 columns: the old buffer was 1001 × 65536 floats (525 MB) per parsing thread.
    buf = stream._work(1001, 200)
    assert buf.shape[0] == 1001 and buf.shape[1] >= 200
    assert buf.size <= max(stream.WORK_FLOATS, 1001 * 200)
    narrow = stream._work(3, 10)
    assert narrow.shape == (3, 1 << 16)  # narrow tables keep their large reusable buffer


def test_wide_statistics_match_the_rows(tmp_path) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 400))
    y = X @ rng.normal(size=400) + rng.normal(size=300)
    path = tmp_path / "wide.csv"
    header = ",".join([f"x{j}" for j in range(400)] + ["y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="")
    problem, _ = stream.stream_statistics([str(path)], block_bytes=1 << 16)
    Xc = X - X.mean(axis=0)
    np.testing.assert_allclose(problem.gram, Xc.T @ Xc / 300, rtol=1e-12, atol=1e-13)
