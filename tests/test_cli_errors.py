"""How `bot` fails and explains itself: one plain line, a non-zero exit, flags that look like
flags in every --help."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import app
from tests.test_cli import _bot


def _commands(command: typer.main.TyperGroup | object, path: tuple[str, ...] = ()) -> Iterator:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


EVERY_COMMAND = [path for path, _ in _commands(typer.main.get_command(app))]


@pytest.mark.parametrize("path", EVERY_COMMAND, ids=lambda p: " ".join(p) or "bot")
def test_flags_look_like_flags_in_every_help(path: tuple[str, ...]) -> None:
    shown = CliRunner().invoke(app, [*path, "--help"], terminal_width=100)
    assert shown.exit_code == 0, shown.output
    assert "<bool>" not in shown.output and "╭" not in shown.output
    command = dict(_commands(typer.main.get_command(app)))[path]
    for param in getattr(command, "params", []):
        if getattr(param, "is_flag", False):
            names = " / ".join([*param.opts, *param.secondary_opts])  # e.g. --show / --no-show
            line = next(x for x in shown.output.splitlines() if x.strip().startswith(names))
            assert re.match(rf"\s*{names}(\s{{2,}}|$)", line), line  # the flag, then its help


def test_the_broadcast_help_shows_plain_flags() -> None:
    shown = CliRunner().invoke(app, ["broadcast", "--help"], terminal_width=100).output
    assert re.search(r"^\s+--yes\s+Send without asking\.$", shown, re.M), shown
    assert re.search(r"^\s+--all\s+Every country\.$", shown, re.M), shown


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_a_missing_output_folder_is_one_plain_line(tmp_path: Path) -> None:
    target = tmp_path / "no such folder" / "statements.xlsx"
    result = _bot("export", "statements", "-o", str(target), tmp_path=tmp_path)
    assert result.returncode != 0
    line = _one_line(result.stderr)
    assert f"the folder {target.parent} does not exist; create it first" in line


def test_an_unreachable_database_is_one_line_and_debug_shows_the_traceback(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://postgres@127.0.0.1:9/nothing"}

    def bot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    plain = bot("schedule", "list")
    assert plain.returncode == 1
    assert _one_line(plain.stderr).startswith("cannot reach the database set by DATABASE_URL")
    debug = bot("--debug", "schedule", "list")
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == plain.stderr.strip()


def test_a_database_without_tables_says_to_upgrade(tmp_path: Path) -> None:
    result = _bot("roles", "list", tmp_path=tmp_path)
    assert result.returncode == 1
    assert _one_line(result.stderr) == "the database has no tables yet: run `bot db upgrade` first"


def test_a_wrong_option_is_one_line_naming_the_help(tmp_path: Path) -> None:
    result = _bot("schedule", "list", "--contry", "TH", tmp_path=tmp_path)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "--contry" in line and line.endswith("(see `bot schedule list --help`)")


def test_the_export_format_follows_the_file_name(tmp_path: Path) -> None:
    assert _bot("db", "upgrade", tmp_path=tmp_path).returncode == 0
    for name, start in (("s.xlsx", b"PK"), ("s.json", b"{"), ("s.csv", "\ufeff".encode())):
        result = _bot("export", "statements", "-o", str(tmp_path / name), tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / name).read_bytes().startswith(start)
    clash = _bot(
        "export", "statements", "-o", str(tmp_path / "x.xlsx"), "--format", "csv", tmp_path=tmp_path
    )
    assert clash.returncode == 2 and not (tmp_path / "x.xlsx").exists()
    assert "csv, but the file name ends in .xlsx" in _one_line(clash.stderr)
    unnamed = _bot("export", "statements", "-o", str(tmp_path / "statements"), tmp_path=tmp_path)
    assert "end the file name in .xlsx, .csv or .json" in _one_line(unnamed.stderr)


def test_a_moment_that_is_not_one_is_explained(tmp_path: Path) -> None:
    result = _bot("reminders", "send-due", "--now", "tomorrow", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "Invalid value for --now: a moment like 2027-08-05T11:00:00Z" in _one_line(result.stderr)
