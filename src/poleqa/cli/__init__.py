"""The `poleqa` command: a thin click layer over the library; errors become one line here."""

from __future__ import annotations

import os
import sys

import click

from poleqa import __version__
from poleqa.children import STOPPED_BUILD, stop_children
from poleqa.cli import ask_cmd, chat_cmd, eval_cmd, feedback_cmd, index_cmd, serve_cmd
from poleqa.cli.options import envvar_used
from poleqa.errors import BAD_INPUT, PoleqaError, QuestionSetError
from poleqa.names import shown_name, shown_text

# The command modules import poleqa's pipeline, index, embedding, query, evaluation and reading
# inside the commands, not at their top: those load numpy and FAISS (some torch), which would
# slow `poleqa --help`, and whose thread pools (OpenBLAS, OpenMP) read OMP_NUM_THREADS once,
# when they load: `poleqa serve --threads N` must set it first.


class _Group(click.Group):
    """Turns poleqa's expected errors into a clear message and an exit code, never a
    traceback (`_said`)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.BadParameter as e:
            _name_the_variable(e)
            raise
        except BAD_INPUT as e:
            click.echo(f"Error: {_said(e)}", err=True)
            sys.exit(2)
        except PoleqaError as e:
            click.echo(f"Error: {_said(e)}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            # Ctrl-C: said, and out at once. Left to Python's shutdown, the threads of the
            # model runtimes still reading ended it in a C++ abort (« terminate called… »,
            # exit 134). What a command writes is whole or not written (poleqa.atomic).
            click.echo("\nInterrupted.", err=True)
            if stop_children():
                click.echo(STOPPED_BUILD, err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)


def _said(e: PoleqaError) -> str:
    """The message in one line, escaped (a newline in a name splits no line, a control
    character acts on no terminal); a question set's problems one a line, each escaped where
    it was said (`evaluation.questions`)."""
    return shown_text(e.message) if isinstance(e, QuestionSetError) else shown_name(e.message)


def _name_the_variable(e: click.BadParameter) -> None:
    """A bad value read from an environment variable is said under the variable's name, not
    the flag's (« 'POLEQA_ASK_K' (--k) »): no flag was typed to look for."""
    if e.param_hint is not None or not isinstance(e.param, click.Option) or e.ctx is None:
        return
    envvar = envvar_used(e.param, e.ctx)
    if envvar is not None:
        e.param_hint = f"'{envvar}' ({max(e.param.opts, key=len)})"


@click.group(cls=_Group, context_settings={"auto_envvar_prefix": "POLEQA"})
@click.version_option(__version__, prog_name="poleqa")
def cli() -> None:
    """poleqa: extractive, cited answers about the French pôles de compétitivité."""
    # The edge of the program: nothing may reach a model hub or a telemetry service (ONNX
    # Runtime's Linux wheels carry one), and no download bars on stderr.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    # Python's resource tracker (a process of its own, reading this variable) frees the
    # semaphores of an index build stopped with its server (`children.stop_children`), and
    # would warn of each in a message meant for Python's developers.
    os.environ.setdefault("PYTHONWARNINGS", "ignore:resource_tracker:UserWarning")


def _register() -> None:
    # One module per command family; each exposes `commands`, a list of click commands.
    for module in (index_cmd, ask_cmd, chat_cmd, eval_cmd, serve_cmd, feedback_cmd):
        for command in module.commands:
            _envvars_after_option_names(command)
            cli.add_command(command)


def _envvars_after_option_names(command: click.Command, prefix: str = "POLEQA") -> None:
    """POLEQA_<COMMAND>_<OPTION> after the option as typed (POLEQA_ASK_JSON for --json), as the
    docs say: click's automatic name follows the Python parameter (POLEQA_ASK_AS_JSON), which
    still works. Options with a variable of their own (POLEQA_CORPUS…) keep it."""
    prefix = f"{prefix}_{(command.name or '').replace('-', '_').upper()}"
    for param in command.params:
        if not isinstance(param, click.Option) or param.envvar or param.name is None:
            continue
        longest = max(param.opts, key=len).lstrip("-").replace("-", "_").upper()
        if longest != param.name.upper():
            param.envvar = f"{prefix}_{longest}"
    for sub in getattr(command, "commands", {}).values():  # a group's: feedback export
        _envvars_after_option_names(sub, prefix)


_register()


def main() -> None:
    cli()
