"""``python -m gdfit``."""

from gdfit.cli import main

main()
