"""The engine stays pure: no channel, database, network or clock enters bot/engine."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import bot.engine

ENGINE = Path(bot.engine.__file__).parent
FORBIDDEN = ("telegram", "twilio", "sqlmodel", "sqlalchemy", "bot.storage", "bot.channels", "httpx")
# Standard-library modules that would let the engine do I/O or read the clock behind our back.
FORBIDDEN_STDLIB = ("os", "socket", "time", "asyncio", "threading", "subprocess", "random")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_engine_modules_import_only_the_engine_and_plain_stdlib() -> None:
    for path in sorted(ENGINE.glob("*.py")):
        for name in _imports(path):
            root = name.split(".")[0]
            assert name.startswith("bot.engine") or root in sys.stdlib_module_names, (path, name)
            assert root not in FORBIDDEN_STDLIB, (path, name)


def test_importing_the_engine_loads_no_channel_or_database_library() -> None:
    code = (
        "import sys, bot.engine\n"
        f"bad = [m for m in sys.modules\n"
        f"       if m.split('.')[0] in {FORBIDDEN!r} or m in {FORBIDDEN!r}]\n"
        "print(','.join(sorted(bad)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_engine_never_asks_for_the_time() -> None:
    """`now` comes from the context; datetime.now/utcnow/today in the engine would break that."""
    for path in sorted(ENGINE.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for call in ("datetime.now", "datetime.utcnow", "date.today", "time.time"):
            assert call not in source, (path, call)
