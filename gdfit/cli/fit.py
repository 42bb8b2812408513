"""``gdfit fit``: read a table, run gradient descent, print the result."""

from __future__ import annotations

import time
from contextlib import nullcontext
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from gdfit.choices import (
    DEFAULT_GRAD_TOL,
    DEFAULT_LOSS_TOL,
    DEFAULT_MAX_ITER,
    DEFAULT_STEP,
    DEFAULT_STOCHASTIC_STEP,
    BadRows,
    Decimal,
    Engine,
    Scale,
    StepName,
)
from gdfit.cli import COMMAND_HELP, app
from gdfit.cli.common import (
    DATA,
    OUTPUT,
    STEP,
    STOP,
    DecimalOption,
    OutputFormat,
    err,
    note,
    reported_errors,
    split_columns,
    stdin_hint,
    warn_ill_conditioned,
)
from gdfit.cli.help import GdfitCommand
from gdfit.cli.step_options import (
    ALPHA_HELP,
    STEP_HELP,
    AdamBeta1Option,
    AdamBeta2Option,
    ArmijoCOption,
    BBMaxOption,
    BBMinOption,
    BBVariantOption,
    CGRestartOption,
    DecayNormOption,
    DecayPowerOption,
    EpsOption,
    MomentumBetaOption,
    NesterovRestartOption,
    NormShrinkOption,
    ParamTolOption,
    PatienceOption,
    PatienceTolOption,
    RelGradTolOption,
    RelLossTolOption,
    RMSDecayOption,
    ShrinkOption,
    StallIterOption,
    TimeLimitOption,
    TREtaOption,
    TRMaxRadiusOption,
    TRMethodOption,
    TRRadiusOption,
    WolfeC1Option,
    WolfeC2Option,
)
from gdfit.cli.views import (
    BatchSizeOption,
    DescentViews,
    ExplainOption,
    PlotFileOption,
    PlotOption,
    SeedOption,
    TraceOption,
)
from gdfit.errors import OptionError

if TYPE_CHECKING:
    from gdfit.cli.progress import DescentBar
    from gdfit.io import Dataset
    from gdfit.result import FitResult
    from gdfit.steps import StepPolicy
    from gdfit.stream import StreamInfo

DEFAULT_STEP_NAME = StepName(DEFAULT_STEP)
#: The highest --poly degree: beyond it the coefficients on raw powers mean nothing in float64
#: (a degree-22 fit of sin(x) on [0, 10] reports RMSE 0), and the basis takes n × K floats.
MAX_POLY = 20
BATCH = "Many fits"
ENGINE = "Engine"

FIT_EPILOG = """\
[b]Examples[/b]

  gdfit fit sample_data/housing.csv                      [dim]# all numeric columns, last is y[/]

  gdfit fit data.csv --x area,rooms --y price --step backtracking

  gdfit fit sample_data/tutorial.csv --step fixed --alpha 0.01 --max-iter 1000 --scale none

  cat data.csv | gdfit fit - --format json | jq .w

  gdfit fit train.csv --save model.json                  [dim]# for gdfit predict, gdfit show[/]

  gdfit fit 'logs/*.csv' --each-file --format jsonl      [dim]# one fit, one JSON line per file[/]

  gdfit fit sample_data/sensor.csv --group-by station    [dim]# one fit per station[/]

Environment: GDFIT_STEP and GDFIT_FORMAT set the defaults of --step and --format (the options
win). With --each-file or --group-by the exit code is 1 when any file or group could not be
fitted, else the worst of the fits' codes.

Exit codes: 0 success, 1 input/data error, 2 usage error, 3 stopped by --max-iter or
--stall-iter before a tolerance was met, 4 diverged, 130 interrupted.
"""


@app.command("fit", short_help=COMMAND_HELP["fit"], epilog=FIT_EPILOG, cls=GdfitCommand)
def fit_command(
    paths: Annotated[list[str], typer.Argument(
        help="CSV file(s) (.gz/.zst; Parquet with --engine gram), quoted globs ('data/*.csv') "
        "or - for standard input: one data set (same columns), unless --each-file.",
        show_default=False, metavar="PATH")],
    x: Annotated[str | None, typer.Option(
        "--x", "-x", help="x columns: comma-separated names or 0-based indices "
        "\\[default: every numeric column but y]", rich_help_panel=DATA,
        show_default=False)] = None,
    y: Annotated[str | None, typer.Option(
        "--y", "-y", help="y column: a name or 0-based index \\[default: the last numeric "
        "column]", rich_help_panel=DATA, show_default=False)] = None,
    header: Annotated[bool, typer.Option(
        "--header/--no-header", help="Whether the first line names the columns; without "
        "one, refer to columns by index.", rich_help_panel=DATA)] = True,
    sep: Annotated[str | None, typer.Option(
        "--sep", help="Field delimiter: ',', ';', '\\t', '|', 'whitespace', … \\[default: "
        "detected]", rich_help_panel=DATA, show_default=False)] = None,
    decimal: DecimalOption = Decimal.point,
    dropna: Annotated[bool, typer.Option(
        "--dropna", help="Drop rows with a missing, NaN or infinite value in a used column "
        "(and say how many).", rich_help_panel=DATA)] = False,
    intercept: Annotated[bool, typer.Option(
        "--intercept/--no-intercept", help="Fit y = X·w + b, or y = X·w through the origin.",
        rich_help_panel=DATA)] = True,
    step: Annotated[StepName | None, typer.Option(
        "--step", help=STEP_HELP + f" \\[default: {DEFAULT_STEP}; with --batch-size, "
        f"{DEFAULT_STOCHASTIC_STEP}]", rich_help_panel=STEP, envvar="GDFIT_STEP",
        show_default=False)] = None,
    alpha: Annotated[float | None, typer.Option(
        "--alpha", help=ALPHA_HELP, rich_help_panel=STEP, show_default=False)] = None,
    armijo_c: ArmijoCOption = None,
    shrink: ShrinkOption = None,
    wolfe_c1: WolfeC1Option = None,
    wolfe_c2: WolfeC2Option = None,
    bb_variant: BBVariantOption = None,
    bb_min: BBMinOption = None,
    bb_max: BBMaxOption = None,
    tr_method: TRMethodOption = None,
    tr_radius: TRRadiusOption = None,
    tr_max_radius: TRMaxRadiusOption = None,
    tr_eta: TREtaOption = None,
    cg_restart: CGRestartOption = None,
    momentum_beta: MomentumBetaOption = None,
    nesterov_restart: NesterovRestartOption = None,
    adam_beta1: AdamBeta1Option = None,
    adam_beta2: AdamBeta2Option = None,
    eps: EpsOption = None,
    rms_decay: RMSDecayOption = None,
    norm_shrink: NormShrinkOption = None,
    decay_power: DecayPowerOption = None,
    decay_norm: DecayNormOption = False,
    max_iter: Annotated[int, typer.Option(
        "--max-iter", min=0, help="Iteration budget.", rich_help_panel=STOP)] = DEFAULT_MAX_ITER,
    grad_tol: Annotated[float, typer.Option(
        "--grad-tol", help="Stop when ‖∇f‖ ≤ this (in the scaled space under --scale "
        "standard); 0 switches it off.", rich_help_panel=STOP)] = DEFAULT_GRAD_TOL,
    loss_tol: Annotated[float, typer.Option(
        "--loss-tol", help="Stop when the loss changes by ≤ this in one iteration; 0 "
        "switches it off.", rich_help_panel=STOP)] = DEFAULT_LOSS_TOL,
    rel_grad_tol: RelGradTolOption = 0.0,
    rel_loss_tol: RelLossTolOption = 0.0,
    param_tol: ParamTolOption = 0.0,
    patience: PatienceOption = 0,
    patience_tol: PatienceTolOption = None,
    time_limit: TimeLimitOption = 0.0,
    stall_iter: StallIterOption = None,
    scale: Annotated[Scale, typer.Option(
        "--scale", help="Descend on standardised columns or on the raw ones; results are "
        "always in the data's units.", rich_help_panel=STEP)] = Scale.standard,
    poly: Annotated[int | None, typer.Option(
        "--poly", min=1, max=MAX_POLY, help="Fit a polynomial of degree K in the single x "
        "column (y = b + w₁·x + … + w_K·x^K): the descent runs on orthogonal polynomials, the "
        "coefficients are reported on the raw powers.", rich_help_panel=DATA, show_default=False,
        metavar="K")] = None,
    precise: Annotated[bool, typer.Option(
        "--precise", help="Certified-accuracy preset: descend in an orthonormal basis, then "
        "refine with residuals recomputed in extended precision (it sets --step and the "
        "tolerances).", rich_help_panel=STEP)] = False,
    show_stats: Annotated[bool, typer.Option(
        "--stats", help="Print the inference table (as R's summary(lm)): standard errors, t, "
        "p-values, intervals, R², F. JSON always has it.",
        rich_help_panel=OUTPUT)] = False,
    ci: Annotated[float, typer.Option(
        "--ci", help="Confidence level of the intervals in the statistics.",
        rich_help_panel=OUTPUT, metavar="LEVEL")] = 0.95,
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="Result format on stdout (jsonl: one compact JSON object "
        "per line, per fit).", rich_help_panel=OUTPUT, envvar="GDFIT_FORMAT")
    ] = OutputFormat.table,
    every: Annotated[int | None, typer.Option(
        "--every", min=1, help="Show progress every K iterations \\[default: 0, 1, 2, 5, 10, "
        "20, 50, …]", rich_help_panel=OUTPUT, show_default=False, metavar="K")] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress or notes on stderr; only the result and errors.",
        rich_help_panel=OUTPUT)] = False,
    traceback: Annotated[bool, typer.Option(
        "--traceback", help="Show the full Python traceback of an error (for bug reports).",
        rich_help_panel=OUTPUT, envvar="GDFIT_TRACEBACK")] = False,
    each_file: Annotated[bool, typer.Option(
        "--each-file", help="Fit each input on its own, one result row per file; a bad file "
        "gets its error in its row and the others still run.",
        rich_help_panel=BATCH)] = False,
    group_by: Annotated[str | None, typer.Option(
        "--group-by", "-g", help="Fit one model per group of rows with equal values in these "
        "columns; one result row per group, keys as columns.",
        rich_help_panel=BATCH, show_default=False, metavar="COL[,COL…]")] = None,
    save: Annotated[str | None, typer.Option(
        "--save", help="Save the fitted model as JSON (for gdfit predict and gdfit show); "
        "written atomically.", rich_help_panel=OUTPUT, show_default=False)] = None,
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="Write the result to this file (atomically) instead of stdout.",
        rich_help_panel=OUTPUT, show_default=False)] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite the --save, --output, --trace and --plot-file files if "
        "they exist (never an input).", rich_help_panel=OUTPUT)] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="More notes on stderr (each batch fit, the files "
        "written).", rich_help_panel=OUTPUT)] = False,
    batch_size: BatchSizeOption = None,
    seed: SeedOption = None,
    trace: TraceOption = None,
    plot: PlotOption = False,
    plot_file: PlotFileOption = None,
    explain: ExplainOption = False,
    engine: Annotated[Engine, typer.Option(
        "--engine", help="Where the loss and gradient come from: gram (the sufficient "
        "statistics, one streaming pass, constant memory), rows (the rows in memory), dask (a "
        "Dask cluster), auto (gram, or rows when an option needs the rows).",
        rich_help_panel=ENGINE, envvar="GDFIT_ENGINE")] = Engine.auto,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Address of a running dask.distributed scheduler "
        "(tcp://host:8786) for --engine dask \\[default: a local cluster]",
        rich_help_panel=ENGINE, show_default=False, metavar="ADDRESS")] = None,
    on_bad_rows: Annotated[BadRows, typer.Option(
        "--on-bad-rows", help="A malformed row (wrong field count, text in a used column): "
        "stop at its line, or skip and count it (gram engine).",
        rich_help_panel=DATA)] = BadRows.error,
) -> None:
    """Fit y = X·w + b to PATH by gradient descent and print w, b and how the run went.

    Progress goes to stderr, the result to stdout (a table, or JSON/CSV for programs).
    """
    # pandas (behind gdfit.batch → gdfit.io) is slow to import; keep --help fast
    import numpy as np

    from gdfit.basis import ColumnBasis
    from gdfit.batch import batch_exit_code, fit_dataset, fit_each_file, read_inputs
    from gdfit.cli.output import (
        check_targets,
        json_line,
        print_renderable,
        result_stream,
        save_fit_model,
        write_batch,
    )
    from gdfit.cli.params import cli_result, cli_row
    from gdfit.engines import check_engine_options, choose_engine
    from gdfit.magnitude import Units
    from gdfit.precise import check_model_options, fit_model, model_info, model_names
    from gdfit.render import ProgressPrinter, result_csv, result_dict, result_json, result_table
    from gdfit.render_stats import stats_dict, stats_table
    from gdfit.sources import expand_inputs, is_glob
    from gdfit.stats import check_level, summarise
    from gdfit.steps import make_step
    from gdfit.stopping import build_extra_rules, build_rules

    # Messages about one input start with its name already; prefix only a lone plain path.
    lone = len(paths) == 1 and not is_glob(paths[0])
    source = ("<stdin>" if paths[0] == "-" else paths[0]) if lone else None
    with reported_errors(source, traceback):
        # Every option is checked before any input is read (a bad option is exit 2 at once,
        # not after reading a large file).
        inputs = expand_inputs(paths)
        check_targets(inputs=inputs, save=save, output=output, trace=trace,
                      plot_file=plot_file, force=force, quiet=quiet, verbose=verbose,
                      batch=each_file or group_by is not None)
        if step is None:
            step = StepName(DEFAULT_STEP if batch_size is None else DEFAULT_STOCHASTIC_STEP)
            if batch_size is not None and not quiet:
                note(f"gdfit: --batch-size given without --step: using --step {step.value} "
                     "(per-coordinate steps from running means of the batch gradients; the "
                     f"default {DEFAULT_STEP} needs exact gradients); a mini-batch run ends "
                     "at its noise floor, reported as stalled, unless a tolerance such as "
                     "--rel-loss-tol or --patience is met first")
        policy = make_step(
            step.value, alpha=alpha, c=armijo_c, rho=shrink, c1=wolfe_c1, c2=wolfe_c2,
            variant=bb_variant, alpha_min=bb_min, alpha_max=bb_max, method=tr_method,
            radius=tr_radius, max_radius=tr_max_radius, eta=tr_eta, restart_every=cg_restart,
            beta=momentum_beta, restart=nesterov_restart, beta1=adam_beta1, beta2=adam_beta2,
            eps=eps, decay_rate=rms_decay, shrink=norm_shrink, power=decay_power,
            normalize=decay_norm or None)
        stop_rules = build_extra_rules(
            rel_grad_tol=rel_grad_tol, rel_loss_tol=rel_loss_tol, param_tol=param_tol,
            patience=patience, patience_tol=patience_tol, time_limit=time_limit,
            stall_iter=stall_iter)
        build_rules(max_iter, grad_tol, loss_tol, extra_rules=stop_rules)  # the tolerances
        if stop_rules and (poly is not None or precise):
            raise OptionError("--rel-grad-tol, --rel-loss-tol, --param-tol, --patience, "
                              "--time-limit and --stall-iter cannot be combined with --poly or "
                              "--precise yet")
        views = DescentViews(trace=trace, plot=plot, plot_file=plot_file, explain=explain,
                             batch_size=batch_size, seed=seed, quiet=quiet, force=force,
                             inputs=tuple(inputs))
        views.check([policy], max_iter, batch=each_file or group_by is not None)
        check_model_options(poly=poly, precise=precise, stats=show_stats,
                            batch=each_file or group_by is not None, batch_size=batch_size,
                            explain=explain, save=save)
        check_level(ci)
        inputs = expand_inputs(paths)
        read: dict[str, Any] = {"x": split_columns(x), "y": y, "header": header, "sep": sep,
                                "dropna": dropna, "by": split_columns(group_by, "--group-by"),
                                "decimal": decimal.value}
        options: dict[str, Any] = {"intercept": intercept, "step": policy,
                                   "max_iter": max_iter, "grad_tol": grad_tol,
                                   "loss_tol": loss_tol, "scale": scale, "catch_interrupt": True}
        if stop_rules:
            options["extra_rules"] = stop_rules
        needs_rows = [name for name, given in (
            ("--stats", show_stats), ("--poly", poly is not None), ("--precise", precise),
            ("--batch-size", batch_size is not None), ("--explain", explain), ("--plot", plot),
            ("--plot-file", plot_file is not None), ("--trace", trace is not None),
            ("--each-file", each_file), ("--group-by", group_by is not None)) if given]
        chosen, why = choose_engine(engine, needs_rows)
        check_engine_options(chosen, inputs, why=why, scheduler=scheduler,
                             on_bad_rows=on_bad_rows)
        stdin_hint(inputs)
        if chosen is not Engine.rows:
            _fit_streamed(chosen, why, inputs, read, options, views=views, every=every,
                          quiet=quiet, output_format=output_format, output=output, force=force,
                          save=save, verbose=verbose, traceback=traceback,
                          on_bad_rows=on_bad_rows, scheduler=scheduler, ci=ci)
        if each_file or group_by is not None:
            rows = map(cli_row, fit_each_file(inputs, read=read, **options) if each_file
                       else fit_dataset(read_inputs(inputs, **read), **options))
            with result_stream(output, force, inputs) as stream:
                done = write_batch(rows, output_format, stream, quiet=quiet, verbose=verbose)
            raise typer.Exit(int(batch_exit_code(done)))
        data = read_inputs(inputs, **read)
        if not quiet:
            # The engine that will descend: the rows' own loss and gradient with --engine rows
            # or mini-batches; otherwise their sufficient statistics (FitResult.engine says).
            on_rows = poly is None and not precise and (
                engine is Engine.rows if batch_size is None else batch_size < len(data.y))
            _describe_data(data, f"engine rows ({why})" if on_rows
                           else f"engine gram, rows in memory ({why})")
        progress = None if quiet or explain else ProgressPrinter(
            err, model_names(data.features, poly), intercept, every=every, max_iter=max_iter)
        fitted, fit_stats = None, None
        units: Units | None = None
        # --trace is written as the descent runs and appears when the block ends.
        with views.recording(model_names(data.features, poly), intercept) as recording:
            if poly is not None or precise:  # gdfit.precise: --poly and --precise
                fitted = fit_model(data.X, data.y, features=data.features, target=data.target,
                                   poly=poly, precise=precise, level=ci, callback=progress,
                                   every=every, history=recording.history(policy.name),
                                   **options)
                result, design, fit_stats = fitted.result, fitted.basis, fitted.stats
            else:
                with views.bar(max_iter) as bar:
                    # --engine rows asked for: every full-batch iteration reads the rows.
                    fit_with = (partial(_fit_rows, views) if engine is Engine.rows
                                and batch_size is None else views.fit)
                    result = fit_with(data.X, data.y, policy, bar, features=data.features,
                                      target=data.target, intercept=intercept,
                                      max_iter=max_iter, grad_tol=grad_tol, loss_tol=loss_tol,
                                      scale=scale, callback=progress, every=every,
                                      catch_interrupt=True, extra_rules=stop_rules,
                                      history=recording.history(policy.name))
                # The library checked the design (rank, constant columns) before it descended,
                # on columns scaled by powers of two when their values cannot be squared.
                units = Units.of_rows(np.asarray(data.X, dtype=np.float64),
                                      np.asarray(data.y, dtype=np.float64))
                scaled_X = data.X if units is None else units.rows(
                    np.asarray(data.X, dtype=np.float64), np.asarray(data.y))[0]
                design = ColumnBasis(scaled_X, data.features, intercept=intercept)
        if progress is not None:
            progress.finish()
        result = cli_result(result)
        views.show(design.raw_columns(), data.y, [(policy.name, result)], policy=policy,
                   scale=scale)
        if fit_stats is None and (show_stats or output_format in (OutputFormat.json,
                                                                  OutputFormat.jsonl)):
            if units is None:
                fit_stats = summarise(design, data.y, result, level=ci)
            else:
                scaled_y = units.rows(np.asarray(data.X, dtype=np.float64),
                                      np.asarray(data.y, dtype=np.float64))[1]
                fit_stats = units.statistics(summarise(design, scaled_y,
                                                       units.to_scaled(result), level=ci))
        if save is not None:
            save_fit_model(result, data, inputs, policy, save, force=force, quiet=quiet,
                           stopping={"max_iter": max_iter, "grad_tol": grad_tol,
                                     "loss_tol": loss_tol})
    context: dict[str, Any] = {"source": data.source, "dropped_rows": len(data.dropped_rows)}
    if fit_stats is not None:
        context.update(model_info(fitted), stats=stats_dict(fit_stats))
    with reported_errors(output, traceback), result_stream(output, force, inputs) as stream:
        if output_format is OutputFormat.json:
            stream.write(result_json(result, **context))
        elif output_format is OutputFormat.jsonl:
            stream.write(json_line(result_dict(result, **context)))
        elif output_format is OutputFormat.csv:
            stream.write(result_csv(result, source=data.source))
        else:
            print_renderable(stream, result_table(result, data.source))
            if show_stats and fit_stats is not None:
                print_renderable(stream, stats_table(fit_stats))
    if verbose and output not in (None, "-"):
        note(f"gdfit: wrote the result to {output}")
    warn_ill_conditioned(result, quiet)
    if not result.success and not quiet:
        note(f"gdfit: {result.status}: {result.message}")
    raise typer.Exit(int(result.exit_code))


def _commas_hint(columns: tuple[str, ...]) -> str:
    if not columns:
        return ""
    return (f" ({', '.join(columns)} look{'s' if len(columns) == 1 else ''} like decimal "
            "commas: try --decimal ,)")


def _describe_data(data: Dataset, engine: str = "") -> None:
    how = "chosen automatically" if data.auto_columns else "as given"
    text = f"{data.source}: {len(data.y)} rows; y = {data.target}, x = " \
           f"{', '.join(data.features)} ({how})"
    if data.ignored_columns:
        text += f"; ignored non-numeric: {', '.join(data.ignored_columns)}"
        text += _commas_hint(data.comma_columns)
    if data.dropped_rows:
        text += f"; dropped {len(data.dropped_rows)} rows with missing or non-finite values"
    note(text + (f"; {engine}" if engine else ""))


def _fit_rows(views: DescentViews, X: Any, y: Any, policy: StepPolicy, bar: DescentBar,
              **options: Any) -> FitResult:
    """``views.fit`` with every iteration's loss and gradient computed from the rows."""
    from gdfit.cli.views import bar_loss_factor
    from gdfit.engines import fit_rows

    watched = bar.watch(policy, loss_factor=bar_loss_factor(X, y, options, bar))
    return fit_rows(X, y, step=watched, **options)


def _fit_streamed(chosen: Engine, why: str, inputs: list[str], read: dict[str, Any],
                  options: dict[str, Any], *, views: DescentViews, every: int | None,
                  quiet: bool, output_format: OutputFormat, output: str | None, force: bool,
                  save: str | None, verbose: bool, traceback: bool, on_bad_rows: BadRows,
                  scheduler: str | None, ci: float) -> NoReturn:
    """--engine gram or dask: the statistics in one pass, the descent on them, the output.

    Ctrl-C while reading fits the rows read so far and reports them marked interrupted; the
    result and model files are written atomically, so nothing partial is left behind.
    """
    from gdfit.api import fit_statistics, with_rows_reference
    from gdfit.cli.output import json_line, print_renderable, result_stream
    from gdfit.cli.params import cli_result
    from gdfit.engines import fit_interrupted_read, moment_statistics, read_progress
    from gdfit.render import ProgressPrinter, result_csv, result_dict, result_json, result_table
    from gdfit.render_stats import stats_dict
    from gdfit.scaling import AffineScaling
    from gdfit.stream import ReadInterrupted, stream_statistics

    intercept = options["intercept"]
    columns = {k: read[k] for k in ("x", "y", "header", "sep", "dropna", "decimal")}
    descent = {k: v for k, v in options.items() if k != "intercept"}
    started = time.perf_counter()
    try:
        if chosen is Engine.dask:
            from gdfit.dask_engine import dask_statistics

            problem, info = dask_statistics(inputs, intercept=intercept, scheduler=scheduler,
                                            **columns)
        else:
            with read_progress(None if quiet else err, "reading") as progress_bar:
                problem, info = stream_statistics(inputs, intercept=intercept,
                                                  on_bad_rows=on_bad_rows.value,
                                                  progress=progress_bar, **columns)
    except ReadInterrupted as stop:
        interrupted = fit_interrupted_read(stop.moments, stop.info, intercept=intercept,
                                           **descent)
        if interrupted is None:
            raise
        if stop.info.units is not None:  # the moments of power-of-two-scaled columns
            interrupted = stop.info.units.result(interrupted)
        result, info, problem = interrupted, stop.info, stop.moments.problem(intercept)
    else:
        if not quiet:
            _describe_stream(info, f"engine {chosen.value} ({why})",
                             time.perf_counter() - started)
        printer = None if quiet else ProgressPrinter(err, info.features, intercept, every=every,
                                                     max_iter=descent["max_iter"])
        # fit_statistics checks the design (too few rows, constant or dependent columns).
        with reported_errors(info.source, traceback), views.bar(descent["max_iter"]) as bar:
            factor = 1.0 if Scale(descent["scale"]) is Scale.none or not bar.enabled else \
                AffineScaling.standard(problem).loss_factor
            descent["step"] = bar.watch(descent["step"], loss_factor=factor)
            units = info.units  # statistics of columns scaled by powers of two
            on_iter = printer if units is None else units.observers(printer, False)[0]
            with nullcontext() if units is None else units.restating():
                result = fit_statistics(problem, features=info.features, target=info.target,
                                        callback=on_iter, every=every, engine=chosen, **descent)
            if info.rows_kept is not None:  # a small input: the reference from its rows
                result = with_rows_reference(result, *info.rows_kept)
            if units is not None:
                result = units.result(result)
        if printer is not None:
            printer.finish()
    result = cli_result(result)
    if save is not None:
        _save_streamed(result, info, inputs, options["step"], save, force=force, quiet=quiet,
                       stopping={k: options[k] for k in ("max_iter", "grad_tol", "loss_tol")})
    context: dict[str, Any] = {"source": info.source, "dropped_rows": info.dropped_rows}
    if on_bad_rows is BadRows.skip:
        context["skipped_rows"] = info.skipped_rows
    if output_format in (OutputFormat.json, OutputFormat.jsonl):
        units = info.units
        if units is None:
            context["stats"] = stats_dict(moment_statistics(problem, result, level=ci))
        else:
            context["stats"] = stats_dict(units.statistics(
                moment_statistics(problem, units.to_scaled(result), level=ci)))
    with reported_errors(output, traceback), result_stream(output, force, inputs) as stream:
        if output_format is OutputFormat.json:
            stream.write(result_json(result, **context))
        elif output_format is OutputFormat.jsonl:
            stream.write(json_line(result_dict(result, **context)))
        elif output_format is OutputFormat.csv:
            stream.write(result_csv(result, source=info.source))
        else:
            print_renderable(stream, result_table(result, info.source))
    if verbose and output not in (None, "-"):
        note(f"gdfit: wrote the result to {output}")
    warn_ill_conditioned(result, quiet)
    if not result.success and not quiet:
        note(f"gdfit: {result.status}: {result.message}")
    raise typer.Exit(int(result.exit_code))


def _describe_stream(info: StreamInfo, engine: str, seconds: float) -> None:
    how = "chosen automatically" if info.auto_columns else "as given"
    text = (f"{info.source}: {info.rows} rows; y = {info.target}, x = "
            f"{', '.join(info.features)} ({how})")
    if info.ignored_columns:
        text += f"; ignored non-numeric: {', '.join(info.ignored_columns)}"
        text += _commas_hint(info.comma_columns)
    if info.dropped_rows:
        text += f"; dropped {info.dropped_rows} rows with missing or non-finite values"
    if info.skipped_rows:
        where = ", ".join(f"{source} line {line}" if len(info.sources) > 1 else f"line {line}"
                          for source, line in info.skipped)
        more = ", …" if info.skipped_rows > len(info.skipped) else ""
        text += f"; skipped {info.skipped_rows} malformed rows ({where}{more})"
    rate = f"{info.bytes_read / 2**20:.1f} MiB in {seconds:.2f} s" if info.bytes_read else \
        f"{seconds:.2f} s"
    note(f"{text}; {engine}: read {rate} ({info.reader})")


def _save_streamed(result: FitResult, info: StreamInfo, inputs: list[str], policy: StepPolicy,
                   path: str, *, force: bool, quiet: bool, stopping: dict[str, Any]) -> None:
    """--save without the rows: the model file records the data's size and columns, no hash."""
    from gdfit.model import FitSettings, TrainingData, save_model
    from gdfit.stopping import StopReason

    if result.stop_reason in (StopReason.interrupted, StopReason.diverged):
        if not quiet:
            note(f"gdfit: the fit {result.status}; no model was saved to {path}")
        return
    save_model(result, path, force=force, inputs=inputs,
               settings=FitSettings.from_policy(policy, **stopping),
               data=TrainingData(sources=tuple("<stdin>" if p == "-" else p for p in inputs),
                                 rows=info.rows, columns=info.columns or (*info.features,
                                                                          info.target),
                                 dropped_rows=info.dropped_rows))
    if not quiet:
        note(f"gdfit: saved the model to {path}")
