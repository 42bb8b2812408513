"""``gdfit COMMAND --help`` stays scannable at any width, and ``gdfit steps NAME`` carries the
per-policy detail that ``fit --help`` only lists by name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer.main
from rich.cells import cell_len
from typer.testing import CliRunner

from gdfit.cli import app
from gdfit.cli.step_options import ALPHA_ROLE, STEP_OPTION_HELP, STEP_OPTIONS
from gdfit.errors import ExitCode
from gdfit.steps import STEP_POLICIES

runner = CliRunner()
TUTORIAL = str(Path(__file__).resolve().parents[1] / "sample_data" / "tutorial.csv")
#: Lines of ``gdfit fit --help`` at most, by terminal width (Typer's layout took 556, 339, 205).
MOST_LINES = {60: 230, 80: 190, 120: 135}


def help_text(command: str, width: int) -> str:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


def options_of(command: str) -> list[str]:
    click_command = typer.main.get_command(app).get_command(None, command)  # type: ignore[attr-defined]
    assert click_command is not None
    return [opt for p in click_command.params if p.param_type_name == "option"
            for opt in (*p.opts, *p.secondary_opts)]


@pytest.mark.parametrize("width", sorted(MOST_LINES))
def test_fit_help_is_short_and_fits_the_width(width: int) -> None:
    text = help_text("fit", width)
    lines = text.splitlines()
    assert len(lines) <= MOST_LINES[width], len(lines)
    assert all(cell_len(line) <= width for line in lines)
    assert all(line == line.rstrip() for line in lines)
    assert not re.search(r"--[\w-]*…", text) and "╭" not in text  # no name cut, no box


@pytest.mark.parametrize("command", ["fit", "compare", "predict", "show", "steps"])
@pytest.mark.parametrize("width", [60, 120])
def test_every_option_is_named_whole(command: str, width: int) -> None:
    words = set(re.split(r"[\s,/]+", help_text(command, width)))
    for option in options_of(command):
        assert option in words, option


def test_the_step_choices_are_never_broken_mid_word() -> None:
    words = set(re.split(r"[\s,.:;()]+", help_text("fit", 60)))
    assert set(STEP_POLICIES) <= words


def test_help_points_to_gdfit_steps_for_the_policy_parameters() -> None:
    text = " ".join(help_text("fit", 80).split())
    assert "Step parameters: each applies to one policy or two; gdfit steps NAME" in text
    assert "--armijo-c --shrink --wolfe-c1" in text


@pytest.mark.parametrize("name", list(STEP_POLICIES))
def test_gdfit_steps_name_describes_each_option(name: str) -> None:
    result = runner.invoke(app, ["steps", name], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert STEP_POLICIES[name].formula.split()[0] in text
    for option in STEP_POLICIES[name].options.values():
        assert option in text
        described = ALPHA_ROLE[name] if option == "--alpha" else STEP_OPTION_HELP[option]
        assert " ".join(described.split()[1:4]) in text
    data = json.loads(runner.invoke(app, ["steps", name, "-f", "json"]).stdout)
    assert data["name"] == name and all(p["help"] for p in data["parameters"])


def test_gdfit_steps_refuses_an_unknown_name() -> None:
    result = runner.invoke(app, ["steps", "sideways"])
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert result.stderr.startswith("gdfit: error: NAME: 'sideways' is not one of")


def test_every_policy_option_has_its_help_and_declaration() -> None:
    used = {opt for cls in STEP_POLICIES.values() for opt in cls.options.values()}
    assert used - {"--alpha"} == set(STEP_OPTION_HELP) == set(STEP_OPTIONS)


@pytest.mark.parametrize("option", sorted(STEP_OPTIONS))
def test_every_policy_option_still_works(option: str) -> None:
    import inspect

    name, cls = next((n, c) for n, c in STEP_POLICIES.items() if option in c.options.values())
    param = next(p for p, o in cls.options.items() if o == option)
    default = inspect.signature(cls.__init__).parameters[param].default
    value = [] if isinstance(default, bool) else [
        str(getattr(default, "value", default))]
    result = runner.invoke(app, ["fit", TUTORIAL, "--step", name, option, *value, "-q",
                                 "--max-iter", "50", "-f", "json"])
    assert result.exit_code in (0, 3), result.output
    assert json.loads(result.stdout)["step"].startswith(name)
