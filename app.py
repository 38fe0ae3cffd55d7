"""Starts the poleqa web chat: `python app.py [--port N ...]` is `poleqa serve [--port N ...]`."""

import os
import sys

# Set at the very edge, before anything imports gradio: no usage statistics leave the machine.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from poleqa.cli import cli

if __name__ == "__main__":
    cli.main(args=["serve", *sys.argv[1:]], prog_name="app.py")
