"""``gdfit show``: print a saved model as the fit that made it did."""

from __future__ import annotations

from typing import Annotated

import typer

from gdfit.cli import COMMAND_HELP, app
from gdfit.cli.common import OUTPUT, OutputFormat, reported_errors
from gdfit.cli.help import GdfitCommand

SHOW_EPILOG = """\
[b]Examples[/b]

  gdfit show model.json

  gdfit show model.json --format json | jq .w
"""


@app.command("show", short_help=COMMAND_HELP["show"], epilog=SHOW_EPILOG,
             cls=GdfitCommand)
def show_command(
    model_path: Annotated[str, typer.Argument(
        metavar="MODEL", help="Model file written by gdfit fit --save.", show_default=False)],
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="table (with the model file's details), or json, jsonl or csv "
        "exactly as gdfit fit printed them.", rich_help_panel=OUTPUT, envvar="GDFIT_FORMAT")
    ] = OutputFormat.table,
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="Write to this file (atomically) instead of stdout.",
        rich_help_panel=OUTPUT, show_default=False)] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite the --output file if it exists.", rich_help_panel=OUTPUT)
    ] = False,
    traceback: Annotated[bool, typer.Option(
        "--traceback", help="Show the full Python traceback of an error (for bug reports).",
        rich_help_panel=OUTPUT, envvar="GDFIT_TRACEBACK")] = False,
) -> None:
    """Print the model in MODEL: its coefficients, how the fit went, and the training data."""
    from rich.console import Group

    from gdfit.cli.output import check_targets, json_line, print_renderable, result_stream
    from gdfit.cli.params import cli_result
    from gdfit.layout_lines import Fields
    from gdfit.model import load_model
    from gdfit.render import result_csv, result_dict, result_json, result_table

    with reported_errors(None, traceback):
        check_targets(inputs=[model_path], output=output, force=force)
        model = load_model(model_path)
        result = cli_result(model.to_result())  # a library-saved model speaks of alpha=
        doc = model.document
        data = doc["training_data"]
        source = ", ".join(data.get("sources") or []) or "(unknown)"
        context = {"model": model_path, "source": source,
                   "dropped_rows": data.get("dropped_rows", 0)}
        with result_stream(output, force, [model_path]) as stream:
            if output_format is OutputFormat.json:
                stream.write(result_json(result, **context))
            elif output_format is OutputFormat.jsonl:
                stream.write(json_line(result_dict(result, **context)))
            elif output_format is OutputFormat.csv:
                stream.write(result_csv(result, source=source))
            else:
                lines: list[tuple[str, str]] = [
                    ("model", f"{model_path}  (schema {doc['schema']} v{doc['version']}, gdfit "
                              f"{doc.get('gdfit_version', '?')}, "
                              f"{doc.get('created', 'date unknown')})")]
                columns = ", ".join(data.get("columns") or [])
                lines.append(("trained on", f"{source}: {data['rows']} rows; columns {columns}"))
                if data.get("sha256"):
                    lines.append(("data sha256", str(data["sha256"])))
                stopping = (doc["fit"].get("stopping") or {})
                if any(v is not None for v in stopping.values()):
                    lines.append(("stopping", ", ".join(
                        f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in stopping.items() if v is not None)))
                print_renderable(stream, Group(result_table(result, source), "",
                                               Fields(lines)))
