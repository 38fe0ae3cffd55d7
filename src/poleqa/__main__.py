"""`python -m poleqa`: the `poleqa` command."""

from poleqa.cli import main

if __name__ == "__main__":
    main()
