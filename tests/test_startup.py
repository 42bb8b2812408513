"""Start-up stays light: --help, --version and ``import gdfit`` load no heavy library."""

from __future__ import annotations

import subprocess
import sys

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
