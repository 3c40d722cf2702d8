"""`python -m rnnforecast` runs the command-line interface."""

from rnnforecast.cli import main

main()
