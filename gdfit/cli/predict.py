"""``gdfit predict``: apply a saved model to rows, streaming them back with the prediction."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gdfit.choices import DEFAULT_CHUNK_ROWS, Decimal, PredictFormat
from gdfit.choices import DEFAULT_PREDICT_NAME as DEFAULT_NAME
from gdfit.cli import COMMAND_HELP, app
from gdfit.cli.common import DATA, OUTPUT, DecimalOption, note, reported_errors, stdin_hint
from gdfit.cli.help import GdfitCommand
from gdfit.errors import OptionError

PREDICT_EPILOG = """\
[b]Examples[/b]

  gdfit fit train.csv --save model.json
  gdfit predict model.json new.csv > scored.csv
  gdfit predict model.json 'parts/*.csv' --format jsonl | jq .prediction
  cat new.csv | gdfit predict model.json - --name price_hat | head

Exit codes: 0 success, 1 input/model error (a missing column, text where a number belongs,
a model written by a newer gdfit), 2 usage error, 130 interrupted.
"""


@app.command("predict", short_help=COMMAND_HELP["predict"], epilog=PREDICT_EPILOG,
             cls=GdfitCommand)
def predict_command(
    model_path: Annotated[str, typer.Argument(
        metavar="MODEL", help="Model file written by gdfit fit --save.", show_default=False)],
    paths: Annotated[list[str], typer.Argument(
        metavar="PATH", help="CSV file(s) to predict, quoted globs, or - for standard "
        "input; all must have the same columns.", show_default=False)],
    name: Annotated[str, typer.Option(
        "--name", help="Name of the prediction column.", rich_help_panel=OUTPUT)
    ] = DEFAULT_NAME,
    residual: Annotated[bool, typer.Option(
        "--residual/--no-residual", help="Add a residual column (y − prediction) when the "
        "input has the model's target column.", rich_help_panel=OUTPUT)] = True,
    output_format: Annotated[PredictFormat, typer.Option(
        "--format", "-f", help="csv: the input rows with the new columns; json: one array of "
        "objects; jsonl: one object per line.", rich_help_panel=OUTPUT,
        envvar="GDFIT_PREDICT_FORMAT")] = PredictFormat.csv,
    header: Annotated[bool, typer.Option(
        "--header/--no-header", help="Whether the first line names the columns (without one "
        "the columns are named 0, 1, …, as in the fit).", rich_help_panel=DATA)] = True,
    sep: Annotated[str | None, typer.Option(
        "--sep", help="Field delimiter: ',', ';', '\\t', '|', 'whitespace', … \\[default: "
        "detected]", rich_help_panel=DATA, show_default=False)] = None,
    decimal: DecimalOption = Decimal.point,
    chunk_size: Annotated[int, typer.Option(
        "--chunk-size", min=1, help="Rows read, predicted and written at a time (memory "
        "stays constant whatever the input's size).", rich_help_panel=DATA)
    ] = DEFAULT_CHUNK_ROWS,
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="Write to this file (atomically; never the model or an input) "
        "instead of stdout.",
        rich_help_panel=OUTPUT, show_default=False)] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite the --output file if it exists.", rich_help_panel=OUTPUT)
    ] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No notes on stderr; only the rows and errors.",
        rich_help_panel=OUTPUT)] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="More notes on stderr (the model, the rows written).",
        rich_help_panel=OUTPUT)] = False,
    traceback: Annotated[bool, typer.Option(
        "--traceback", help="Show the full Python traceback of an error (for bug reports).",
        rich_help_panel=OUTPUT, envvar="GDFIT_TRACEBACK")] = False,
) -> None:
    """Predict y for every row of PATH with a saved MODEL; rows go to stdout with a
    prediction column (and a residual column when PATH has the target).

    Rows are streamed a chunk at a time, each field echoed as it was written. A row with a
    missing value in a column the model needs gets an empty prediction (null in JSON).
    """
    from gdfit.cli.output import check_targets, result_stream
    from gdfit.model import load_model
    from gdfit.predict import predict_files
    from gdfit.sources import expand_inputs

    with reported_errors(None, traceback):
        if not name:  # checked again by predict_files; here before any file is read
            raise OptionError("--name must not be empty")
        inputs = expand_inputs(paths)
        # The model file is an input too: -o must not name it (nor a data file).
        check_targets(inputs=[model_path, *inputs], output=output, force=force, quiet=quiet,
                      verbose=verbose)
        model = load_model(model_path)
        stdin_hint(inputs)
        if verbose:
            terms = [(float(w), f"·{f}") for f, w in zip(model.features, model.w, strict=True)]
            terms += [(model.b, "")] if model.b is not None else []
            text = " ".join(f"{'−' if v < 0 else '+'} {abs(v):.6g}{name}" for v, name in terms)
            note(f"gdfit: {model_path}: {model.target} = {text.removeprefix('+ ')}")
        with result_stream(output, force, [model_path, *inputs]) as stream:
            summary = predict_files(model, inputs, stream, fmt=output_format, name=name,
                                    residual=residual, header=header, sep=sep,
                                    decimal=decimal.value,
                                    chunk_size=min(chunk_size, sys.maxsize))  # islice's limit
    if summary.missing and not quiet:
        has = "row has" if summary.missing == 1 else "rows have"
        note(f"gdfit: {summary.missing} of {summary.rows} {has} a missing or non-finite value "
             "in a column the model needs; the prediction is empty there")
    if verbose:
        where = f" to {output}" if output not in (None, "-") else ""
        note(f"gdfit: wrote {summary.rows} rows from {summary.files} input"
             f"{'s' if summary.files != 1 else ''}{where}")
