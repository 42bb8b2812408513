"""``gdfit compare``: run several step policies on one data set and rank them."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import replace
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from gdfit.ascii import ascii_only
from gdfit.choices import DEFAULT_GRAD_TOL, DEFAULT_LOSS_TOL, DEFAULT_MAX_ITER, Decimal, Scale
from gdfit.cli import COMMAND_HELP, app
from gdfit.cli.common import (
    OUTPUT,
    STEP,
    DecimalOption,
    DropnaOption,
    GradTolOption,
    HeaderOption,
    InterceptOption,
    LossTolOption,
    MaxIterOption,
    QuietOption,
    SepOption,
    TracebackOption,
    XOption,
    YOption,
    note,
    reported_errors,
    split_columns,
    stdin_hint,
)
from gdfit.cli.help import GdfitCommand
from gdfit.cli.step_options import (
    ParamTolOption,
    PatienceOption,
    PatienceTolOption,
    RelGradTolOption,
    RelLossTolOption,
    StallIterOption,
    TimeLimitOption,
)
from gdfit.cli.views import (
    BatchSizeOption,
    DescentViews,
    PlotFileOption,
    PlotOption,
    ScaleOption,
    SeedOption,
    TraceOption,
    bar_loss_factor,
)
from gdfit.errors import ExitCode

if TYPE_CHECKING:
    from gdfit.comparison import CompareRow
    from gdfit.layout import FittedTable

COMPARE_EPILOG = (
    "[b]Examples[/b]\n\n"
    "  gdfit compare sample_data/housing.csv      [dim]# the tuning-free policies[/]\n\n"
    "  gdfit compare data.csv --steps exact,bb,fixed:alpha=0.1,fixed:alpha=0.5\n\n"
    "  gdfit compare data.csv --scale none --max-iter 5000 --plot --trace runs.csv --force\n\n"
    "  gdfit compare data.csv --steps all --format json | jq '.results[0].policy'\n\n"
    "A policy is NAME or NAME:PARAM=VALUE\\[:PARAM=VALUE…], PARAM being the option without "
    "dashes (alpha, armijo-c, shrink, …); --steps all runs every registered policy with its "
    "defaults.\n\n"
    "Exit codes: 0 the comparison ran (whether or not every policy converged), 1 input/data "
    "error, 2 usage error, 130 interrupted (the table shows the runs done so far).\n"
)


class CompareFormat(str, Enum):
    """How the comparison is written to stdout."""

    table = "table"
    json = "json"
    csv = "csv"


@app.command("compare", short_help=COMMAND_HELP["compare"], epilog=COMPARE_EPILOG,
             cls=GdfitCommand)
def compare_command(
    path: Annotated[str, typer.Argument(help="CSV file to fit, or - for standard input.",
                                        show_default=False, metavar="PATH")],
    steps: Annotated[str | None, typer.Option(
        "--steps", "-s", help="Comma-separated policies to run, each NAME or "
        "NAME:PARAM=VALUE…, or 'all' \\[default: every policy that needs no tuning]",
        rich_help_panel=STEP, show_default=False, metavar="POLICY,…")] = None,
    x: XOption = None,
    y: YOption = None,
    header: HeaderOption = True,
    sep: SepOption = None,
    decimal: DecimalOption = Decimal.point,
    dropna: DropnaOption = False,
    intercept: InterceptOption = True,
    scale: ScaleOption = Scale.standard,
    batch_size: BatchSizeOption = None,
    seed: SeedOption = None,
    max_iter: MaxIterOption = DEFAULT_MAX_ITER,
    grad_tol: GradTolOption = DEFAULT_GRAD_TOL,
    loss_tol: LossTolOption = DEFAULT_LOSS_TOL,
    rel_grad_tol: RelGradTolOption = 0.0,
    rel_loss_tol: RelLossTolOption = 0.0,
    param_tol: ParamTolOption = 0.0,
    patience: PatienceOption = 0,
    patience_tol: PatienceTolOption = None,
    time_limit: TimeLimitOption = 0.0,
    stall_iter: StallIterOption = None,
    output_format: Annotated[CompareFormat, typer.Option(
        "--format", "-f", help="Result format on stdout.", rich_help_panel=OUTPUT)
    ] = CompareFormat.table,
    trace: TraceOption = None,
    plot: PlotOption = False,
    plot_file: PlotFileOption = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite the --trace and --plot-file files if they exist (never the "
        "input).", rich_help_panel=OUTPUT)] = False,
    quiet: QuietOption = False,
    traceback: TracebackOption = False,
) -> None:
    """Run several step policies on PATH with the same stopping rules and rank them by
    iterations to converge (runs that did not converge come last).

    The table goes to stdout; progress, notes and plots to stderr.
    """
    from gdfit.cli.output import check_targets, print_renderable
    from gdfit.cli.params import cli_result
    from gdfit.comparison import compare, parse_steps
    from gdfit.io import read_dataset  # pandas is slow to import; keep --help fast
    from gdfit.stopping import StopReason, build_extra_rules, build_rules

    source = "<stdin>" if path == "-" else path
    with reported_errors(source, traceback):
        check_targets(inputs=[path], trace=trace, plot_file=plot_file, force=force)
        views = DescentViews(trace=trace, plot=plot, plot_file=plot_file,
                             batch_size=batch_size, seed=seed, quiet=quiet, force=force,
                             inputs=(path,))
        policies = parse_steps(steps, stochastic=batch_size is not None)
        # One set of extra rules serves every run: each starts afresh at iteration 0.
        extra_rules = build_extra_rules(
            rel_grad_tol=rel_grad_tol, rel_loss_tol=rel_loss_tol, param_tol=param_tol,
            patience=patience, patience_tol=patience_tol, time_limit=time_limit,
            stall_iter=stall_iter)
        build_rules(max_iter, grad_tol, loss_tol, extra_rules=extra_rules)  # the tolerances
        views.check(policies, max_iter)
        stdin_hint([path])
        data = read_dataset(path, x=split_columns(x), y=y, header=header, sep=sep,
                            dropna=dropna, decimal=decimal.value)
        if not quiet:
            note(f"{data.source}: {len(data.y)} rows; y = {data.target}, x = "
                 f"{', '.join(data.features)}; comparing {len(policies)} policies: "
                 f"{', '.join(p.name for p in policies)}")
        options: dict[str, Any] = dict(features=data.features, target=data.target,
                                       intercept=intercept, scale=scale, max_iter=max_iter,
                                       grad_tol=grad_tol, loss_tol=loss_tol,
                                       extra_rules=extra_rules)
        # --trace is written as the runs go and appears when the block ends.
        with views.recording(data.features, intercept) as recording, \
                views.bar(max_iter) as bar:
            factor = bar_loss_factor(data.X, data.y, options, bar)
            rows = compare(data.X, data.y, [bar.watch(p, loss_factor=factor) for p in policies],
                           batch_size=batch_size, seed=seed or 0,
                           history=recording.recorder if views.history else False,
                           catch_interrupt=True, **options)
        rows = [replace(r, result=cli_result(r.result)) for r in rows]
        views.show(data.X, data.y, [(r.label, r.result) for r in rows], scale=scale)
    stopping: dict[str, Any] = {"max_iter": max_iter, "grad_tol": grad_tol,
                                "loss_tol": loss_tol}
    stopping.update({k: v for k, v in (("rel_grad_tol", rel_grad_tol),
                                       ("rel_loss_tol", rel_loss_tol), ("param_tol", param_tol),
                                       ("patience", patience), ("patience_tol", patience_tol),
                                       ("time_limit", time_limit),
                                       ("stall_iter", stall_iter)) if v is not None and v})
    if output_format is CompareFormat.json:
        sys.stdout.write(comparison_json(rows, source=data.source, scale=scale.value,
                                         batch_size=batch_size, seed=seed, stopping=stopping))
    elif output_format is CompareFormat.csv:
        sys.stdout.write(comparison_csv(rows))
    else:
        print_renderable(sys.stdout, comparison_table(rows, data.source, stopping, scale.value))
    interrupted = any(r.result.stop_reason is StopReason.interrupted for r in rows)
    if interrupted and not quiet:
        note(f"gdfit: interrupted: {len(rows)} of {len(policies)} policies ran")
    raise typer.Exit(int(ExitCode.INTERRUPTED if interrupted else ExitCode.OK))


def comparison_json(rows: Sequence[CompareRow], **context: Any) -> str:
    """The comparison as one JSON object: the context, the exact solution and ranked results."""
    from gdfit.result import reference_info

    first = rows[0].result
    data = {
        **context,
        "target": first.target,
        "features": list(first.features),
        "n_obs": first.n_obs,
        "lstsq": {"w": [float(v) for v in first.lstsq_w], "b": first.lstsq_b,
                  **reference_info(first)},
        "results": [row.as_dict() for row in rows],
    }
    return json.dumps(data, ensure_ascii=ascii_only(), allow_nan=False, indent=2) + "\n"


CSV_COLUMNS = ("rank", "policy", "step", "iterations", "epochs", "gradient_evals",
               "function_evals", "elapsed_s", "loss", "excess_loss", "lstsq_distance",
               "lstsq_rel_distance", "grad_norm", "stop_reason", "converged")


def comparison_csv(rows: Sequence[CompareRow]) -> str:
    """The comparison as CSV: one row per policy in rank order, parameters and message last."""
    features = rows[0].result.features
    intercept = rows[0].result.intercept
    header = [*CSV_COLUMNS, *(f"w_{f}" for f in features), *(["b"] if intercept else []),
              "message"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        data = row.as_dict()
        cells = [data[k] for k in CSV_COLUMNS] + data["w"] + ([data["b"]] if intercept else [])
        cells.append(data["message"])
        writer.writerow(["" if v is None else v for v in cells])
    return buf.getvalue()


def _duration(seconds: float) -> str:
    from gdfit.render import duration

    return duration(seconds)


def _g(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}g}"


def comparison_table(rows: Sequence[CompareRow], source: str, stopping: dict[str, Any],
                     scale: str) -> FittedTable:
    """The ranked comparison as a table that fits any width (:class:`~gdfit.layout.FittedTable`):
    when it is split, rank and policy repeat and iterations, stop and the distances to the
    minimum come first; the MSE, the evaluation counts and the times after."""
    from gdfit.layout import Column, FittedTable
    from gdfit.layout_lines import Heading
    from gdfit.stopping import StopReason

    first = rows[0].result
    title = Heading(f"{first.target} ~ {' + '.join(first.features)}",
                    Text(f"{source}, n = {first.n_obs}", style="dim"))
    rules = ", ".join(f"--{k.replace('_', '-')} {v:g}" for k, v in stopping.items() if v)
    stochastic = any(r.result.epochs is not None for r in rows)
    columns = [Column("#", key=True), Column("policy", justify="left", key=True),
               Column("iterations")]
    if stochastic:
        columns.append(Column("epochs", priority=2))
    columns += [Column("∇f evals", priority=3, ascii="grad evals"),
                Column("f evals", priority=3), Column("time", priority=4),
                Column("MSE", priority=2), Column("MSE − min", priority=1, ascii="MSE - min"),
                Column("‖θ−θ*‖/‖θ*‖", priority=1, ascii="|t-t*|/|t*|"),
                Column("stop", justify="left")]
    cells: list[list[str | Text]] = []
    for row in rows:
        r = row.result
        line: list[str | Text] = [str(row.rank), Text(row.label), str(r.iterations)]
        if stochastic:
            line.append("—" if r.epochs is None else str(r.epochs))
        style = "green" if r.converged else ("red" if r.stop_reason is StopReason.diverged
                                             else "yellow")
        line += [str(r.gradient_evals), str(r.function_evals), _duration(r.elapsed),
                 _g(r.loss, 10), _g(row.excess_loss, 3), _g(r.lstsq_rel_distance, 3),
                 Text(r.stop_reason.value, style=style)]
        cells.append(line)
    return FittedTable(columns, cells, title=title,
                       caption=f"ranked by iterations to converge; stopping: {rules}; "
                               f"scale {scale}")
