"""``import gdfit`` as a notebook meets it: public names, tab completion, types, and names.

The command line has its own tests; these pin what a library user sees: the public names are
the same objects whatever the import order, data frames keep their column names, bad input is
a one-line gdfit error, unconverged fits warn, and messages speak of parameters, not options.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import gdfit


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
