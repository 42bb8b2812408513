"""Start-up stays light: --help, --version and ``import gdfit`` load no heavy library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import gdfit

HEAVY = ("numpy", "pandas", "pyarrow", "scipy", "matplotlib", "dask")


def _loaded_after(code: str) -> list[str]:
    probe = (f"import sys\n{code}\n"
             f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return [m for m in proc.stdout.strip().split(",") if m]


@pytest.mark.parametrize("code", [
    "import gdfit",
    "from gdfit.cli import main",
    "from gdfit.cli import app",  # builds the app: every command module is imported
    "import gdfit.choices",
])
def test_light_imports(code: str) -> None:
    assert _loaded_after(code) == []


def test_help_renders_without_heavy_imports() -> None:
    code = ("import contextlib, io\nsys.argv = ['gdfit', '--help']\nfrom gdfit.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as buf:\n"
            "    try:\n        main()\n    except SystemExit:\n        pass\n"
            "assert 'fit' in buf.getvalue() and 'compare' in buf.getvalue()")
    assert _loaded_after(code) == []


def test_bare_version_skips_typer() -> None:
    code = ("import sys\nsys.argv = ['gdfit', '--version']\nfrom gdfit.cli import main\nmain()\n"
            "assert 'typer' not in sys.modules and 'gdfit.cli.fit' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout == f"gdfit {gdfit.__version__}\n"


def test_every_public_name_resolves() -> None:
    import gdfit.api
    import gdfit.steps

    for name in gdfit.__all__:
        assert getattr(gdfit, name) is not None, name
    assert gdfit.fit is gdfit.api.fit
    assert gdfit.STEP_POLICIES is gdfit.steps.STEP_POLICIES
    with pytest.raises(AttributeError):
        gdfit.no_such_name  # noqa: B018


def test_choices_are_the_modules_own() -> None:
    """The numpy-free enums are the very objects the heavy modules use."""
    from gdfit import choices, engines, policies, policies_adaptive, predict, scaling, steps

    assert steps.StepName is choices.StepName
    assert [s.value for s in choices.StepName] == list(steps.STEP_POLICIES)
    assert steps.DEFAULT_STEP in steps.STEP_POLICIES
    assert scaling.Scale is choices.Scale
    assert engines.Engine is choices.Engine and engines.BadRows is choices.BadRows
    assert policies.BBVariant is choices.BBVariant
    assert policies.TrustRegionMethod is choices.TrustRegionMethod
    assert policies_adaptive.NesterovRestart is choices.NesterovRestart
    assert predict.PredictFormat is choices.PredictFormat


def test_a_command_builds_only_its_own_module(tmp_path: Path) -> None:
    # `gdfit fit …` registers the fit command alone; the other commands' modules stay unloaded.
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n2,4\n3,6\n")
    code = ("import sys, contextlib, io\n"
            f"sys.argv = ['gdfit', 'fit', {str(data)!r}, '--quiet', '--format', 'json']\n"
            "from gdfit.cli import main, COMMANDS\n"
            "with contextlib.redirect_stdout(io.StringIO()) as buf:\n"
            "    try:\n        main()\n    except SystemExit as exc:\n        assert not exc.code\n"
            "assert '\"w\"' in buf.getvalue()\n"
            "print([m for m in COMMANDS.values()\n"
            "       if m != 'fit' and f'gdfit.cli.{m}' in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "[]"


def test_every_command_module_is_listed() -> None:
    from gdfit.cli import COMMANDS, get_app

    app = get_app()
    names = {c.name for c in app.registered_commands}
    assert names == set(COMMANDS)


def test_overview_matches_typers_help() -> None:
    # `gdfit --help` is drawn without Typer; it must say what Typer's help would.
    import typer.main

    from gdfit.cli import COMMAND_HELP, get_app
    from gdfit.cli.overview import OPTIONS, print_overview

    app = get_app()
    assert {c.name: c.short_help for c in app.registered_commands} == COMMAND_HELP
    group = typer.main.get_command(app)
    ctx = group.make_context("gdfit", [], resilient_parsing=True)
    typer_options = {opt for param in group.get_params(ctx)
                     for opt in param.opts + param.secondary_opts}
    ours = {opt for long, short, _ in OPTIONS for opt in (long, short) if opt}
    assert ours == typer_options
    import io

    buf = io.StringIO()
    print_overview(buf)
    text = buf.getvalue()
    for name in COMMAND_HELP:
        assert f"│ {name}" in text


def test_top_level_help_skips_typer() -> None:
    code = ("import sys, contextlib, io\nsys.argv = ['gdfit', '--help']\n"
            "from gdfit.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as buf:\n    main()\n"
            "assert 'Usage: gdfit' in buf.getvalue()\n"
            "print('typer' in sys.modules, 'gdfit.cli.fit' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "False False"
