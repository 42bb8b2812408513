"""Import cycles between gdfit's modules, found by parsing the sources with :mod:`ast`.

Every ``import gdfit.x`` / ``from gdfit.x import y`` / ``from . import y`` is an edge from the
importing module to the imported one (``from gdfit import y`` names the module ``gdfit.y`` when
there is one, else the package). Imports are split by where they run:

* **module level**: executed when the module is imported — at the top, in a class body, under a
  module-level ``if``/``try`` — but not under ``if TYPE_CHECKING:``, which never runs;
* **function level**: inside a ``def``, executed only when it is called (deferred imports).

A cycle is a strongly connected component of more than one module (Tarjan's algorithm). The
criterion of tests/test_architecture.py is: no cycle among module-level imports. Cycles that
also use function-level edges are printed separately (they work, but say that two modules
know about each other).

Usage::

    python benchmarks/import_cycles.py            # gdfit beside this folder
    python benchmarks/import_cycles.py --root DIR  # another checkout (DIR/gdfit)
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

Graph = dict[str, set[str]]


def modules(root: Path, package: str = "gdfit") -> dict[str, Path]:
    """Dotted module name → source file, for every ``.py`` file of ``package`` under ``root``."""
    found: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(body: Iterable[ast.stmt], in_function: bool
             ) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """(import statement, inside a function) for every import under ``body``."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, in_function
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _imports(node.body, True)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.orelse, in_function)  # the TYPE_CHECKING branch never runs
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    stmts = [c for c in children if isinstance(c, ast.stmt)]
                    for c in children:  # except handlers and match cases hold bodies
                        if isinstance(c, (ast.ExceptHandler, ast.match_case)):
                            stmts.extend(c.body)
                    yield from _imports(stmts, in_function)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
             known: dict[str, Path]) -> Iterator[str]:
    """The gdfit modules that ``node`` (in ``module``) imports."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in known:
                yield alias.name
        return
    if node.level:  # relative: from the module's package, up level − 1
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[:len(package) - node.level + 1]
        base = ".".join(package + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        if sub in known:
            yield sub
        elif base in known:
            yield base


def import_graphs(root: Path = ROOT, package: str = "gdfit") -> tuple[Graph, Graph]:
    """(module-level edges, function-level edges) between ``package``'s modules."""
    known = modules(root, package)
    top: Graph = {name: set() for name in known}
    deferred: Graph = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node, in_function in _imports(tree.body, False):
            for target in _targets(node, name, is_package, known):
                if target != name:
                    (deferred if in_function else top)[name].add(target)
    return top, deferred


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(found)


def merged(a: Graph, b: Graph) -> Graph:
    """The union of two graphs' edges."""
    return {v: a.get(v, set()) | b.get(v, set()) for v in a.keys() | b.keys()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="folder holding gdfit/")
    args = parser.parse_args(argv)
    top, deferred = import_graphs(args.root)
    lines = {name: len(path.read_text(encoding="utf-8").splitlines())
             for name, path in modules(args.root).items()}
    largest = max(lines, key=lambda m: lines[m])
    print(f"{len(top)} modules; {sum(map(len, top.values()))} module-level and "
          f"{sum(map(len, deferred.values()))} function-level import edges; "
          f"largest module {largest} ({lines[largest]} lines)")
    module_level = cycles(top)
    print(f"module-level import cycles: {len(module_level)}")
    for c in module_level:
        print("  " + " ↔ ".join(c))
    both = [c for c in cycles(merged(top, deferred)) if c not in module_level]
    print(f"cycles that need function-level imports too: {len(both)}")
    for c in both:
        print(f"  ({len(c)} modules) " + " ↔ ".join(c))
    return 1 if module_level else 0


if __name__ == "__main__":
    sys.exit(main())
