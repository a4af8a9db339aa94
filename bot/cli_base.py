"""What every `bot` command shares: plain help, and failures as one line in plain words.

The Secretariat runs these commands and is not made of programmers: a failure is one line
saying what to do and a non-zero exit, never a traceback (`bot --debug ...` adds it).
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError

GENERIC = "the command failed ({kind}); run it again as `bot --debug ...` to see where"


@dataclass
class Display:
    traceback: bool = False


DISPLAY = Display()


def group(help_text: str) -> typer.Typer:
    """A command group. Plain help: Typer's rich panels print `<bool>` beside every flag."""
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)


def say(text: str) -> None:
    """One message for the operator on stderr, as written: no markup, never re-wrapped."""
    typer.echo(text, err=True)


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A table for people at a terminal; tab-separated lines for scripts and pipes."""
    if not sys.stdout.isatty():
        for row in [headers, *rows]:
            print("\t".join(row))
        return
    table = Table(*headers)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def output_file(path: Path, option: str = "--output") -> Path:
    """A file we may write: its folder must exist (checked before any work is done)."""
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder; give a file name", param_hint=option)
    if not path.parent.is_dir():
        raise typer.BadParameter(
            f"the folder {path.parent} does not exist; create it first", param_hint=option
        )
    return path


def file_format(path: Path, asked: str | None, formats: tuple[str, ...]) -> str:
    """The format of a file we write: from its name, or `--format` when it does not contradict
    the name (a spreadsheet program refuses a CSV named .xlsx)."""
    named = path.suffix.lower().removeprefix(".")
    listed = _either(formats)
    if asked is None:
        if named not in formats:
            endings = _either(tuple(f".{f}" for f in formats))
            raise typer.BadParameter(f"end the file name in {endings}", param_hint="--output")
        return named
    asked = asked.lower().removeprefix(".")
    if asked not in formats:
        raise typer.BadParameter(listed, param_hint="--format")
    if named in formats and named != asked:
        raise typer.BadParameter(
            f"{asked}, but the file name ends in .{named}: leave --format out or rename the file",
            param_hint="--format",
        )
    return asked


def _either(choices: tuple[str, ...]) -> str:
    """("a", "b", "c") -> "a, b or c"."""
    return " or ".join(filter(None, (", ".join(choices[:-1]), choices[-1])))


def run(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        code = app(args=args, prog_name="bot", standalone_mode=False)
    except typer.TyperException as error:  # the command line itself is wrong
        say(_usage(error))
        return error.exit_code
    except typer.Abort:  # Ctrl-D or Ctrl-C at a question
        say("cancelled: nothing was changed")
        return 1
    except Exception as error:
        if DISPLAY.traceback:
            traceback.print_exc(file=sys.stderr)
        say(plain(error))
        return 1
    return code if isinstance(code, int) else 0


def _usage(error: typer.TyperException) -> str:
    message = error.format_message()
    context = getattr(error, "ctx", None)
    if "\n" in message or context is None:  # a group called without a command: its help
        return message
    return f"{message} (see `{context.command_path} --help`)"


def plain(error: Exception) -> str:
    """What went wrong, in words an operator can act on."""
    if isinstance(error, OSError) and error.filename:
        return f"{error.filename}: {error.strerror or error}"
    if isinstance(error, DBAPIError):
        detail = str(error.orig).strip().splitlines()[0] if error.orig else ""
        if "no such table" in detail or ("relation" in detail and "does not exist" in detail):
            return "the database has no tables yet: run `bot db upgrade` first"
        if error.connection_invalidated or "connect" in detail:
            return f"cannot reach the database set by DATABASE_URL ({detail})"
    return GENERIC.format(kind=type(error).__name__)
