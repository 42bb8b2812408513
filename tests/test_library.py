"""``import gdfit`` as a notebook meets it: public names, tab completion, types, and names.

The command line has its own tests; these pin what a library user sees: the public names are
the same objects whatever the import order, data frames keep their column names, bad input is
a one-line gdfit error, unconverged fits warn, and messages speak of parameters, not options.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import gdfit
from gdfit import DataError


def _submodules() -> set[str]:
    return {info.name for info in pkgutil.iter_modules(gdfit.__path__)}


# Every submodule but __main__ (importing it runs the command line).
_IMPORT_ALL = ("for m in pkgutil.iter_modules(gdfit.__path__):\n"
               "    if m.name != '__main__':\n"
               "        importlib.import_module('gdfit.' + m.name)\n")


def test_no_public_name_is_also_a_submodule() -> None:
    # ``import gdfit.x`` binds the attribute ``gdfit.x`` to the submodule: a public name x
    # would then be the function or the module depending on import order.
    public = set(gdfit.__all__) | set(gdfit._LAZY)
    assert not public & _submodules()


IMPORT_ORDERS = [
    # import every submodule first, then use the public names
    "import gdfit, importlib, pkgutil\n" + _IMPORT_ALL,
    # use the public names first, then import every submodule, then use them again
    "import gdfit, importlib, pkgutil\n"
    "[getattr(gdfit, n) for n in gdfit.__all__]\n" + _IMPORT_ALL,
    "import gdfit.comparison\nimport gdfit\n",
    "from gdfit import compare\nimport gdfit.comparison\nimport gdfit\n",
]


@pytest.mark.parametrize("prelude", IMPORT_ORDERS)
def test_public_names_are_the_same_objects_whatever_the_import_order(prelude: str) -> None:
    code = prelude + (
        "import importlib\n"
        "for name, module in gdfit._LAZY.items():\n"
        "    assert getattr(gdfit, name) is getattr(importlib.import_module(module), name), name\n"
        "rows = gdfit.compare([[1.0], [2.0], [3.0]], [2.0, 4.1, 5.9], ['exact'])\n"
        "print(rows[0].label, rows[0].converged)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "exact True\n"
def test_every_lazy_name_is_public_and_resolves() -> None:
    assert set(gdfit.__all__) == set(gdfit._LAZY) | {"__version__"}
    for name, module in gdfit._LAZY.items():
        assert getattr(gdfit, name) is getattr(importlib.import_module(module), name)


def test_dir_lists_the_public_names_for_tab_completion() -> None:
    listed = dir(gdfit)
    assert set(gdfit.__all__) <= set(listed)
    assert {"fit", "compare", "FitResult", "DataError"} <= set(listed)
    assert listed == sorted(listed)


def test_dir_stays_cheap() -> None:
    # Tab completion (dir) must not load the modules the public names live in.
    code = ("import sys, gdfit\nnames = dir(gdfit)\n"
            "print('fit' in names, 'FitResult' in names, 'numpy' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.split() == ["True", "True", "False"]


def test_the_package_declares_its_type_hints() -> None:
    # PEP 561: a py.typed marker, installed with the package (a wheel build shows it too:
    # pip wheel . --no-deps; unzip -l gdfit-*.whl | grep py.typed).
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")
    root = Path(gdfit.__file__).parent
    assert (root / "py.typed").is_file()
    project = tomllib.loads((root.parent / "pyproject.toml").read_text())
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["gdfit"]


# --- data frames, shapes and bad values -----------------------------------------------------

pd = pytest.importorskip("pandas")


@pytest.fixture
def frame() -> Any:
    rng = np.random.default_rng(11)
    area = rng.uniform(40, 120, 30)
    rooms = np.round(area / 25 + rng.normal(0, 0.5, 30))
    price = 2.5 * area + 10 * rooms + 100 + rng.normal(0, 5, 30)
    return pd.DataFrame({"area": area, "rooms": rooms, "city": ["Paris"] * 30, "price": price})


def _entry_points() -> list[Any]:
    from gdfit.minibatch import fit_minibatch
    from gdfit.precise import fit_model

    return [
        pytest.param(gdfit.fit, id="fit"),
        pytest.param(lambda X, y, **kw: fit_minibatch(X, y, batch_size=None, **kw),
                     id="fit_minibatch"),
        pytest.param(lambda X, y, **kw: fit_model(X, y, **kw).result, id="fit_model"),
        pytest.param(lambda X, y, **kw: fit_model(X, y, precise=True, **kw).result,
                     id="fit_model-precise"),
        pytest.param(lambda X, y, **kw: gdfit.compare(X, y, ["exact"], **kw)[0].result,
                     id="compare"),
    ]


@pytest.mark.parametrize("fit", _entry_points())
def test_frame_and_series_names_are_kept(fit: Any, frame: Any) -> None:
    r = fit(frame[["area", "rooms"]], frame["price"])
    assert r.features == ("area", "rooms") and r.target == "price"
    plain = gdfit.fit(frame[["area", "rooms"]].to_numpy(), frame["price"].to_numpy())
    assert plain.features == ("x0", "x1") and plain.target == "y"
    np.testing.assert_allclose(r.theta, plain.theta, rtol=1e-9)
    named = fit(frame[["area", "rooms"]], frame["price"], features=["a", "r"], target="p")
    assert named.features == ("a", "r") and named.target == "p"  # explicit names win


def test_series_record_array_and_one_column_frame() -> None:
    s = pd.Series([1.0, 2.0, 3.0, 4.0], name="x")
    y = pd.Series([2.1, 3.9, 6.2, 7.8], name="sales")
    r = gdfit.fit(s, y)
    assert r.features == ("x",) and r.target == "sales"
    assert gdfit.fit(s, y.to_frame()).target == "sales"
    records = np.array([(1.0, 5.0), (2.0, 3.0), (3.0, 4.0), (4.0, 1.0)],
                       dtype=[("u", "f8"), ("v", "f8")])
    assert gdfit.fit(records, y).features == ("u", "v")


def test_y_as_a_column_is_accepted_and_other_shapes_are_refused() -> None:
    X = np.arange(6.0)[:, None]
    y = 3 * X[:, 0] + 1
    flat = gdfit.fit(X, y)
    column = gdfit.fit(X, y[:, None])
    np.testing.assert_array_equal(column.theta, flat.theta)
    with pytest.raises(DataError, match=r"y must have shape \(n,\) or \(n, 1\); got \(6, 2\)"):
        gdfit.fit(X, np.column_stack([y, y]))
    with pytest.raises(DataError, match=r"y must be one column; got a frame with 2 columns "
                                        r"\(a, b\)"):
        gdfit.fit(X, pd.DataFrame({"a": y, "b": y}))


@pytest.mark.parametrize(("make", "message"), [
    (lambda f: (f[["area", "city"]], f["price"]),
     "column 'city' is not numeric: row 0 holds 'Paris'"),
    (lambda f: (f[["area"]], f["city"]), r"y \('city'\) is not numeric: row 0 holds 'Paris'"),
    (lambda f: (f[["area", "rooms"]].assign(rooms=lambda d: d.rooms.astype(object).where(
        d.index != 4, "four")), f["price"]), "column 'rooms' is not numeric: row 4 holds 'four'"),
    (lambda f: ([[1.0, "a"], [2.0, "b"], [3.0, "c"]], [1.0, 2.0, 3.0]),
     "column 'x1' is not numeric: row 0 holds 'a'"),
    (lambda f: (f[["area"]].assign(when=pd.Timestamp("2024-01-01")), f["price"]),
     "column 'when' holds dates or times"),
    (lambda f: (f[["area", "rooms"]].assign(rooms=lambda d: d.rooms.where(d.index != 7)),
                f["price"]), r"column 'rooms' has a missing value \(NaN\) at row 7"),
    (lambda f: (f[["area"]].assign(n=pd.array([1] * 29 + [None], dtype="Int64")), f["price"]),
     r"column 'n' has a missing value \(NaN\) at row 29"),
    (lambda f: (f[["area"]], f["price"].where(f.index != 3, np.inf)),
     r"y \('price'\) has an infinite value \(inf\) at row 3"),
    (lambda f: (f[["area"]], f["price"][:20]), "X has 30 rows but y has 20"),
    (lambda f: (np.empty((0, 2)), np.empty(0)), "no rows to fit"),
    (lambda f: (f[["area", "rooms"]].set_axis(["a", "a"], axis=1), f["price"]),
     r"X names 'a' twice \(columns 0 and 1\)"),
])
@pytest.mark.parametrize("fit", _entry_points())
def test_bad_data_is_a_data_error_naming_the_column_and_row(fit: Any, frame: Any, make: Any,
                                                            message: str) -> None:
    X, y = make(frame)
    with pytest.raises(DataError, match=message):
        fit(X, y)


def test_names_that_do_not_fit_x_are_refused() -> None:
    X = np.arange(12.0).reshape(6, 2) ** [1, 2]
    with pytest.raises(DataError, match="features= has 3 names for the 2 columns of X"):
        gdfit.fit(X, X[:, 0], features=["a", "b", "c"])
    with pytest.raises(DataError, match="features= names 'a' twice"):
        gdfit.fit(X, X[:, 0], features=["a", "a"])


# --- identifiability and rank: checked by the library, for every entry point ---------------

DEPENDENT = ("the design is rank deficient: columns 'x', 'x2' are linearly dependent, so "
             "their coefficients cannot be told apart; drop one of them")


def _dependent() -> tuple[Any, Any]:
    x = np.arange(1.0, 9.0)
    y = 3 * x + 0.1 * np.sin(x)
    return pd.DataFrame({"x": x, "x2": 2 * x}), pd.Series(y, name="y")


def _fit_statistics(X: Any, y: Any) -> Any:
    problem = gdfit.LeastSquares.from_arrays(X.to_numpy(), y.to_numpy())
    return gdfit.fit_statistics(problem, features=list(X.columns))


def _fit_rows(X: Any, y: Any) -> Any:
    from gdfit.engines import fit_rows

    return fit_rows(X, y)


@pytest.mark.parametrize("fit", [
    *_entry_points(),
    pytest.param(_fit_statistics, id="fit_statistics"),
    pytest.param(lambda X, y: gdfit.fit_minibatch(X, y, batch_size=3, step="fixed"),
                 id="fit_minibatch-batches"),
    pytest.param(_fit_rows, id="fit_rows"),
])
def test_every_entry_point_refuses_linearly_dependent_columns(fit: Any) -> None:
    X, y = _dependent()
    with pytest.raises(DataError) as info:
        fit(X, y)
    assert str(info.value) == DEPENDENT


@pytest.mark.parametrize("argv", [
    ["fit"], ["fit", "--engine", "rows"], ["fit", "--engine", "gram"], ["fit", "--stats"],
    ["fit", "--batch-size", "3", "--step", "fixed"], ["compare"],
    ["compare", "--batch-size", "3", "--steps", "fixed"]], ids=" ".join)
def test_the_command_line_gives_the_librarys_error(tmp_path: Any, argv: list[str]) -> None:
    from typer.testing import CliRunner

    from gdfit.cli import app

    X, y = _dependent()
    path = tmp_path / "dep.csv"
    X.assign(y=y).to_csv(path, index=False)
    result = CliRunner().invoke(app, [argv[0], str(path), "-q", *argv[1:]])
    assert result.exit_code == 1
    assert result.stderr == f"gdfit: error: {path}: {DEPENDENT}\n"


@pytest.mark.filterwarnings("ignore::gdfit.errors.ConvergenceWarning")  # budgets on purpose
def test_with_the_rows_at_hand_the_rows_decide_a_near_dependency() -> None:
    # σ_min/σ_max ≈ 4e-8: the second moments (κ squared) cannot tell it from a dependency, the
    # standardised rows can (as --engine rows, which holds them, does).
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    X = np.column_stack([x, x + 7e-8 * rng.normal(size=200)])
    y = x + 0.1 * rng.normal(size=200)
    with pytest.raises(DataError, match="rank deficient"):
        gdfit.fit_statistics(gdfit.LeastSquares.from_arrays(X, y))
    assert gdfit.fit(X, y, max_iter=10).iterations == 10
    assert gdfit.fit_minibatch(X, y, batch_size=50, step="fixed", max_iter=10).iterations == 10


# --- FitResult: predict, to_dict, summary, repr ----------------------------------------------

def test_predict_matches_the_fitted_line_and_the_saved_model(frame: Any, tmp_path: Any) -> None:
    r = gdfit.fit(frame[["area", "rooms"]], frame["price"])
    X = frame[["area", "rooms"]].to_numpy()
    np.testing.assert_allclose(r.predict(X), X @ r.w + r.b, rtol=1e-14)
    path = tmp_path / "model.json"
    gdfit.save_model(r, path)
    np.testing.assert_array_equal(r.predict(X), gdfit.load_model(path).predict(X))


def test_predict_matches_frame_columns_by_name(frame: Any) -> None:
    r = gdfit.fit(frame[["area", "rooms"]], frame["price"])
    by_position = r.predict(frame[["area", "rooms"]].to_numpy())
    # other order, extra columns (even text ones): the fit's columns are found by name
    np.testing.assert_array_equal(r.predict(frame[["city", "rooms", "price", "area"]]),
                                  by_position)
    with pytest.raises(DataError, match=r"X lacks the column the fit needs: 'rooms' \(X has: "
                                        r"'area', 'price'\)"):
        r.predict(frame[["area", "price"]])
    with pytest.raises(DataError, match=r"X has 3 columns; the fit has 2 \(area, rooms\)"):
        r.predict(np.ones((4, 3)))
    with pytest.raises(DataError, match="column 'rooms' is not numeric: row 0 holds 'Paris'"):
        r.predict(frame[["area"]].assign(rooms="Paris"))
    gaps = r.predict(frame[["area", "rooms"]].assign(rooms=lambda d: d.rooms.where(
        d.index != 2)))
    assert np.isnan(gaps[2]) and np.isfinite(np.delete(gaps, 2)).all()  # as gdfit predict


def test_predict_one_column_and_one_row() -> None:
    r = gdfit.fit([1.0, 2.0, 3.0, 4.0], [3.0, 5.0, 7.0, 9.0])
    np.testing.assert_allclose(r.predict([10.0, 20.0]), [21.0, 41.0])
    two = gdfit.fit(np.arange(10.0).reshape(5, 2) ** [1, 2], np.arange(5.0))
    assert two.predict([[1.0, 2.0]]).shape == (1,)
    with pytest.raises(DataError, match=r"for one row use X.reshape\(1, -1\)"):
        two.predict([1.0, 2.0])


def test_to_dict_is_the_command_lines_json(frame: Any, tmp_path: Any) -> None:
    import json

    from typer.testing import CliRunner

    from gdfit.cli import app

    path = tmp_path / "houses.csv"
    frame.drop(columns="city").to_csv(path, index=False)
    cli = json.loads(CliRunner().invoke(app, ["fit", str(path), "-q", "-f", "json",
                                              "--engine", "rows"]).stdout)
    r = gdfit.fit(frame[["area", "rooms"]], frame["price"])
    data = r.to_dict()
    context = {"source", "dropped_rows", "stats"}
    assert set(data) == set(cli) - context
    for key in ("features", "target", "status", "iterations", "step", "scale", "n_obs"):
        assert data[key] == cli[key], key
    np.testing.assert_allclose(data["w"], cli["w"], rtol=1e-12)
    assert data["engine"] == "gram" and cli["engine"] == "rows"
    json.dumps(data, allow_nan=False)  # plain JSON-ready data


def test_summary_is_the_text_table_and_repr_is_short(frame: Any) -> None:
    r = gdfit.fit(frame[["area", "rooms"]], frame["price"], history=True)
    text = r.summary()
    assert "\x1b[" not in text  # no terminal codes
    lines = text.splitlines()
    assert lines[0] == "price ~ area + rooms"
    assert all(line == line.rstrip() for line in lines)
    for needle in ("w[area]", "w[rooms]", "gradient descent", "exact least squares",
                   "status      converged"):
        assert needle in text, needle
    assert f"{r.w[0]:.12g}"[:10] in text
    short = repr(r)
    assert short.startswith("FitResult(status='converged', iterations=")
    assert f"'area': {r.w[0]:.7g}" in short and f"b={r.b:.7g}" in short
    assert "history" not in short and "IterRecord" not in short and len(short) < 200
    html = r._repr_html_()
    assert html.startswith("<pre") and "w[area]" in html


def test_repr_of_a_wide_fit_stays_short() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 40))
    r = gdfit.fit(X, X @ rng.normal(size=40) + 1.0)
    text = repr(r)
    assert "'x0':" in text and "'x39':" not in text and "… 34 more" in text
    assert len(text) < 300
    no_b = gdfit.fit(X[:, :2], X[:, 0] + X[:, 1], intercept=False)
    assert repr(no_b).endswith("b=None)")


# --- ConvergenceWarning ----------------------------------------------------------------------

def _unconverged_calls() -> list[Any]:
    from gdfit.engines import fit_rows
    from gdfit.precise import fit_model

    def stats(X: Any, y: Any, **kw: Any) -> Any:
        return gdfit.fit_statistics(gdfit.LeastSquares.from_arrays(X, y), **kw)

    return [
        pytest.param(gdfit.fit, id="fit"),
        pytest.param(stats, id="fit_statistics"),
        pytest.param(lambda X, y, **kw: gdfit.fit_minibatch(X, y, batch_size=4, **kw),
                     id="fit_minibatch"),
        pytest.param(lambda X, y, **kw: fit_model(X, y, **kw), id="fit_model"),
        pytest.param(lambda X, y, **kw: fit_model(X[:, :1], y, poly=2, **kw),
                     id="fit_model-poly"),
        pytest.param(fit_rows, id="fit_rows"),
    ]


def _problem() -> tuple[Any, Any]:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2))
    return X, X @ [1.5, -2.0] + 3 + 0.1 * rng.normal(size=40)


@pytest.mark.parametrize("fit", _unconverged_calls())
def test_an_unconverged_fit_warns_once_where_it_was_called(fit: Any) -> None:
    X, y = _problem()
    with pytest.warns(gdfit.ConvergenceWarning) as record:
        fit(X, y, step=gdfit.FixedStep(alpha=0.01), max_iter=3)
    assert len(record) == 1
    assert record[0].filename == __file__  # points at the caller's line, not at gdfit
    assert str(record[0].message).startswith("max_iter: reached the iteration budget")


def test_a_diverged_fit_warns_and_the_warning_is_a_user_warning() -> None:
    assert issubclass(gdfit.ConvergenceWarning, UserWarning)
    X, y = _problem()
    with pytest.warns(gdfit.ConvergenceWarning, match="diverged: diverged at iteration"):
        r = gdfit.fit(X, y, step="fixed", alpha=5.0, scale="none")
    assert r.status == "diverged"


@pytest.mark.parametrize("kwargs", [
    {},                                                    # converged
    {"step": "fixed", "alpha": 0.1, "max_iter": 5, "grad_tol": 0, "loss_tol": 0},  # budget asked
])
def test_a_fit_that_ends_as_asked_does_not_warn(kwargs: dict[str, Any]) -> None:
    import warnings

    X, y = _problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gdfit.fit(X, y, **kwargs).success
        gdfit.compare(X, y, ["exact", "fixed:alpha=0.01"], max_iter=3)  # its table says it


def test_an_interrupted_fit_does_not_warn() -> None:
    import warnings

    X, y = _problem()

    def stop(record: Any) -> None:
        if record.iteration == 2:
            raise KeyboardInterrupt

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = gdfit.fit(X, y, step="fixed", alpha=0.01, callback=stop, every=1,
                      catch_interrupt=True)
    assert r.status == "interrupted"


@pytest.mark.parametrize("argv", [
    ["fit", "--step", "fixed", "--alpha", "0.01", "--max-iter", "3"],
    ["fit", "--step", "fixed", "--alpha", "0.01", "--max-iter", "3", "--engine", "rows"],
    ["fit", "--step", "fixed", "--alpha", "9", "--scale", "none"],
    ["fit", "--each-file", "--step", "fixed", "--alpha", "0.01", "--max-iter", "3"],
    ["compare", "--steps", "fixed:alpha=0.01", "--max-iter", "3"],
], ids=" ".join)
def test_the_command_line_reports_the_status_itself_and_no_warning(tmp_path: Any,
                                                                  argv: list[str]) -> None:
    X, y = _problem()
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,y", comments="")
    proc = subprocess.run([sys.executable, "-m", "gdfit", argv[0], str(path), *argv[1:]],
                          capture_output=True, text=True)
    assert proc.returncode in (0, 3, 4), proc.stderr  # compare exits 0: its table reports
    assert "Warning" not in proc.stderr and "warn" not in proc.stderr


# --- messages: parameters for the library, options for the command line ---------------------

def _library(call: Any) -> str:
    with pytest.raises(gdfit.OptionError) as info:
        call()
    return str(info.value)


X3, Y3 = np.arange(12.0).reshape(6, 2) ** [1, 2], np.arange(6.0) * 2 + 1

# (library call, command-line options, the library's message, the command line's message)
SAME_MISTAKE = [
    (lambda: gdfit.fit(X3, Y3, step="fixed", alpha=-1), ["--step", "fixed", "--alpha", "-1"],
     "alpha= must be a positive number, got -1", "--alpha must be a positive number, got -1"),
    (lambda: gdfit.fit(X3, Y3, grad_tol=-1), ["--grad-tol", "-1"],
     "grad_tol= must be a number ≥ 0 (0 switches it off), got -1",
     "--grad-tol must be a number ≥ 0 (0 switches it off), got -1"),
    (lambda: gdfit.fit(X3, Y3, step="exact", alpha=0.1), ["--step", "exact", "--alpha", "0.1"],
     "alpha= has no effect with step='exact'; it applies to step=backtracking, fixed, norm",
     "--alpha has no effect with --step exact; it applies to --step backtracking, fixed, norm"),
    (lambda: gdfit.Backtracking(c=2), ["--step", "backtracking", "--armijo-c", "2"],
     "c= must lie strictly between 0 and 1, got 2",
     "--armijo-c must lie strictly between 0 and 1, got 2"),
    (lambda: gdfit.make_step("bb", alpha_min=2.0, alpha_max=1.0),
     ["--step", "bb", "--bb-min", "2", "--bb-max", "1"],
     "alpha_min= (2) must be smaller than alpha_max= (1)",
     "--bb-min (2) must be smaller than --bb-max (1)"),
    (lambda: gdfit.fit_minibatch(X3, Y3, batch_size=2, step="cg"),
     ["--batch-size", "2", "--step", "cg"],
     "step='cg' (the default) needs exact gradients", "--step cg (the default) needs exact "
     "gradients"),
    (lambda: gdfit.fit(X3, Y3, extra_rules=gdfit.build_extra_rules(patience_tol=0.1)),
     ["--patience-tol", "0.1"], "patience_tol= has no effect without patience=N",
     "--patience-tol has no effect without --patience N"),
    (lambda: gdfit.fit_model(X3, Y3, level=2), ["--ci", "2", "--stats"],
     "level= must lie strictly between 0 and 1", "--ci must lie strictly between 0 and 1"),
    (lambda: gdfit.fit_model(X3, Y3, precise=True, grad_tol=1e-3),
     ["--precise", "--grad-tol", "1e-3"],
     "precise=True sets the step policy and the tolerances itself; drop grad_tol=",
     "--precise sets the step policy and the tolerances itself; drop --grad-tol"),
]


@pytest.mark.parametrize(("call", "argv", "library", "cli"), SAME_MISTAKE,
                         ids=[" ".join(case[1]) for case in SAME_MISTAKE])
def test_one_mistake_in_both_views(tmp_path: Any, call: Any, argv: list[str], library: str,
                                   cli: str) -> None:
    from typer.testing import CliRunner

    from gdfit.cli import app

    message = _library(call)
    assert message.startswith(library) and "--" not in message
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X3, Y3]), delimiter=",", header="a,b,y", comments="")
    result = CliRunner().invoke(app, ["fit", str(path), "-q", *argv])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"gdfit: error: {cli}")


def test_a_result_message_in_both_views(tmp_path: Any) -> None:
    import json

    from typer.testing import CliRunner

    from gdfit.cli import app

    with pytest.warns(gdfit.ConvergenceWarning, match=r"\(max_iter=3\) before grad_tol= was"):
        r = gdfit.fit(X3, Y3, step="fixed", alpha=0.01, max_iter=3)
    assert "--" not in r.message
    with pytest.warns(gdfit.ConvergenceWarning, match="diverged"):
        diverged = gdfit.fit(X3, Y3, step="fixed", alpha=50.0, scale="none")
    assert "a smaller alpha= (it was 50), or step='exact' or step='backtracking'" in \
        diverged.message and "scale='standard'" in diverged.message
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X3, Y3]), delimiter=",", header="a,b,y", comments="")
    runner = CliRunner()
    out = runner.invoke(app, ["fit", str(path), "-q", "-f", "json", "--step", "fixed",
                              "--alpha", "0.01", "--max-iter", "3"])
    assert "(--max-iter 3) before --grad-tol was met" in json.loads(out.stdout)["message"]
    out = runner.invoke(app, ["fit", str(path), "-f", "csv", "--step", "fixed", "--alpha", "50",
                              "--scale", "none"])
    assert "a smaller --alpha (it was 50), or --step exact or --step backtracking" in out.stderr
    assert "--scale standard" in out.stderr
    out = runner.invoke(app, ["compare", str(path), "-q", "-f", "json", "--steps",
                              "fixed:alpha=0.01", "--max-iter", "3"])
    assert "(--max-iter 3)" in json.loads(out.stdout)["results"][0]["message"]


def _bad_values(cls: Any, param: str) -> list[Any]:
    import inspect

    default = inspect.signature(cls.__init__).parameters[param].default
    if isinstance(default, str) or param in ("variant", "method", "restart"):
        return ["nope"]
    return [-1.0, 0.0, 1.0, 2.0, math.inf, math.nan]


def test_no_library_message_about_a_step_parameter_names_an_option() -> None:
    from gdfit.cli.params import to_options

    checked = 0
    for name, cls in gdfit.STEP_POLICIES.items():
        for param, option in cls.options.items():
            for value in _bad_values(cls, param):
                try:
                    gdfit.make_step(name, **{param: value})
                except gdfit.OptionError as exc:
                    text = str(exc)
                    assert "--" not in text, (name, param, text)
                    assert f"{param}=" in text, (name, param, text)
                    assert option in to_options(text), (name, param, text)
                    checked += 1  # and nothing but an OptionError (no raw OverflowError)
    assert checked >= 20


def test_every_parameter_translates_to_an_option_of_the_command_line() -> None:
    import typer.main

    from gdfit.cli import get_app
    from gdfit.cli.params import option_names

    group = typer.main.get_command(get_app())
    known = {opt for command in ("fit", "compare") for param in
             group.commands[command].params for opt in param.opts + param.secondary_opts}
    table = option_names()
    assert set(table.values()) <= known, set(table.values()) - known
    for param in ("alpha", "max_iter", "level", "c", "rho", "beta"):
        assert param in table


def test_design_messages_name_parameters_too() -> None:
    from gdfit.cli.params import to_options

    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 30))
    near = np.column_stack([a, b, a + b + 1e-9 * rng.normal(size=30)])
    with pytest.raises(DataError) as info:
        gdfit.fit(near, a)
    assert "use poly=)" in str(info.value)
    assert "use --poly)" in to_options(str(info.value))
    with pytest.raises(DataError, match=r"lower poly=$"):
        gdfit.fit_model([1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 3.0, 4.0], poly=3)


def test_polars_frames_work_the_same_way() -> None:
    pl = pytest.importorskip("polars")  # not a dependency: frames are recognised by shape
    frame = pl.DataFrame({"area": [50.0, 60.0, 75.0, 90.0, 120.0],
                          "rooms": [1.0, 3.0, 2.0, 3.0, 5.0],
                          "city": ["a", "b", "c", "d", "e"],
                          "price": [150.0, 200.0, 230.0, 270.0, 370.0]})
    r = gdfit.fit(frame.select(["area", "rooms"]), frame["price"])
    assert r.features == ("area", "rooms") and r.target == "price"
    np.testing.assert_allclose(r.predict(frame), r.predict(frame.select(["area", "rooms"])
                                                           .to_numpy()))
    assert gdfit.fit(frame.select(["area"]), frame.select(["price"])).target == "price"
    with pytest.raises(DataError, match="column 'city' is not numeric: row 0 holds 'a'"):
        gdfit.fit(frame.select(["area", "city"]), frame["price"])
