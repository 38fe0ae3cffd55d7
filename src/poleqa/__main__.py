"""`python -m poleqa`: the `poleqa` command."""

from poleqa.cli import main

main()
