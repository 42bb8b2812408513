"""The shape of the package (issue 12): no import cycles among gdfit's modules, no dead code.

The import graph is parsed from the sources (benchmarks/import_cycles.py); only imports that
run when a module is imported count (not those inside functions or under ``TYPE_CHECKING``).
Definitions without a use are found by benchmarks/dead_code.py.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from scripts import ROOT, script


def scanner() -> ModuleType:
    return script("import_cycles")


def dead_code() -> ModuleType:
    return script("dead_code")


def test_no_import_cycles_at_module_level() -> None:
    scan = scanner()
    top, _ = scan.import_graphs(ROOT)
    assert "gdfit.steps" in top and "gdfit.objective" in top["gdfit.steps"]
    assert scan.cycles(top) == []
    # Through imports deferred into functions, one cycle is left: FitResult.to_dict and
    # summary render themselves with gdfit.render, which knows FitResult.
    _, deferred = scan.import_graphs(ROOT)
    assert scan.cycles(scan.merged(top, deferred)) == [
        ["gdfit.render", "gdfit.render_progress", "gdfit.result"]]


def test_the_scanner_finds_cycles_and_ignores_deferred_imports(tmp_path: Path) -> None:
    scan = scanner()
    pkg = tmp_path / "gdfit"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from gdfit.b import x\n")
    (pkg / "b.py").write_text("from . import c\nx = 1\n")
    (pkg / "c.py").write_text("import gdfit.a\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from gdfit import e\n")
    (pkg / "e.py").write_text("def f():\n    from gdfit.d import g\n")
    top, deferred = scan.import_graphs(tmp_path)
    assert scan.cycles(top) == [["gdfit.a", "gdfit.b", "gdfit.c"]]
    assert top["gdfit.d"] == set() and deferred["gdfit.e"] == {"gdfit.d"}
    assert scan.cycles(scan.merged(top, deferred)) == [["gdfit.a", "gdfit.b", "gdfit.c"]]


#: Methods that nothing in gdfit calls because another library does: the file protocol of the
#: atomic writer, Click's help formatting.
CALLED_FROM_OUTSIDE = {"writelines", "format_help"}


def test_no_function_or_class_without_a_caller() -> None:
    unused, _ = dead_code().dead(ROOT)
    assert {name for _, name, _ in unused} - CALLED_FROM_OUTSIDE == set(), unused


def test_the_dead_code_scan_sees_uses_and_ignores_docstrings(tmp_path: Path) -> None:
    pkg = tmp_path / "gdfit"
    pkg.mkdir()
    (pkg / "a.py").write_text('"""See :func:`gone`."""\n\ndef used():\n    pass\n\n'
                              'def gone():\n    """gone() is named here only."""\n\n'
                              'def named():\n    pass\n\nEXPORTS = {"named": 1}\n')
    (pkg / "b.py").write_text("from gdfit.a import used\n\nused()\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("from gdfit.a import gone\n")
    unused, outside = dead_code().dead(tmp_path)
    assert unused == [] and [(n, w) for _, n, _, w in outside] == [("gone", "tests")]
