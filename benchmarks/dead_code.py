"""Functions and classes of gdfit that nothing calls: a small vulture-like scan with :mod:`ast`.

Every module-level ``def``/``class`` of gdfit, and every method, is a definition; a use is any
occurrence of its name as a name, an attribute, an imported name or a string (the lazy exports
of ``gdfit/__init__.py``, Typer's names) in gdfit's own code outside the definition itself.
Uses in tests/ and benchmarks/, and in README.md (whose examples run), are counted apart: a
definition used only by tests is reported as such.

Dunder methods, methods that several classes define (an interface: ``update``, ``init``,
...), decorated definitions (registered: ``@app.command``) and docstrings' mentions are not
uses or not reported; a method that overrides one of another library (``format_help`` of
Click, ``writelines`` of a file) is reported and must be judged by hand. A name that is used
anywhere counts as used for every definition of it (the scan does not resolve which class a
method belongs to), so the report errs on the side of keeping code.

Usage::

    python benchmarks/dead_code.py            # gdfit beside this folder
    python benchmarks/dead_code.py --root DIR
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _sources(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py")) if folder.is_dir() else []


def definitions(root: Path) -> list[tuple[str, str, int, bool]]:
    """(module path, name, line, is a method) of every def/class in gdfit."""
    found = []
    for path in _sources(root / "gdfit"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = str(path.relative_to(root))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and not node.decorator_list:  # a decorator registers it (@app.command)
                found.append((rel, node.name, node.lineno, False))
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                            and not item.decorator_list:
                        found.append((rel, item.name, item.lineno, True))
    return found


def uses(paths: list[Path]) -> Counter[str]:
    """How often each identifier occurs as a use (not as the name of a def/class)."""
    counts: Counter[str] = Counter()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)
                      and isinstance(node.value, ast.Constant)}
        for node in ast.walk(tree):
            if id(node) in docstrings:
                continue  # a docstring mentioning a name does not call it
            if isinstance(node, ast.Name):
                counts[node.id] += 1
            elif isinstance(node, ast.Attribute):
                counts[node.attr] += 1
            elif isinstance(node, ast.alias):
                counts[node.name.rsplit(".", 1)[-1]] += 1
                if node.asname:
                    counts[node.asname] += 1
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", node.value):
                    counts[word] += 1
    return counts


def overridden(root: Path) -> set[str]:
    """Names of methods defined by more than one class (an interface: keep them all)."""
    methods = Counter(name for _, name, _, method in definitions(root) if method)
    return {name for name, n in methods.items() if n > 1}


def dead(root: Path) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int, str]]]:
    """(unused anywhere, used only outside gdfit: with where) definitions."""
    own = uses(_sources(root / "gdfit"))
    tests = uses(_sources(root / "tests"))
    bench = uses(_sources(root / "benchmarks"))
    readme_path = root / "README.md"
    readme = Counter(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", readme_path.read_text(
        encoding="utf-8"))) if readme_path.exists() else Counter()
    keep = overridden(root)
    unused, outside = [], []
    for rel, name, line, method in definitions(root):
        if name.startswith("__") or (method and name in keep):
            continue
        if own[name]:
            continue
        where = [label for label, c in (("tests", tests), ("benchmarks", bench),
                                         ("README", readme)) if c[name]]
        if where:
            outside.append((rel, name, line, "+".join(where)))
        else:
            unused.append((rel, name, line))
    return unused, outside


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="folder holding gdfit/")
    args = parser.parse_args(argv)
    unused, outside = dead(args.root)
    print(f"defined in gdfit and used nowhere: {len(unused)}")
    for rel, name, line in unused:
        print(f"  {rel}:{line} {name}")
    print(f"used only by tests, benchmarks or README examples: {len(outside)}")
    for rel, name, line, where in outside:
        print(f"  {rel}:{line} {name}  ({where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
