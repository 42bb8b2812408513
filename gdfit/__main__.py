"""``python -m gdfit``."""

from gdfit.cli import run

run()
