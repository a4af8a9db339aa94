"""Instructions per stored message, counted by valgrind: steady where this VM's clock is not.

    .venv/bin/python bench/instructions.py [--database sqlite|postgres] [--users 100]
        [--batch 64]

Runs `Pipeline.handle_many` over U users x 4 messages in batches (as the group commit's writer
does, in one thread) under `valgrind --tool=callgrind`, once with U users and once with 3U, and
prints the difference divided by the 8U messages between them: the instructions one more
message costs, start-up, imports and database creation cancelling out. The same code, inputs
and environment give the same count whatever else the machine is doing (PYTHONHASHSEED is
fixed); compare two states of the code with it, not two machines. Takes a few minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
MESSAGES_PER_USER = 4  # bench/pipeline_vs_ptb.py's TEXTS


def counted(database: str, users: int, batch: int) -> int:
    """Instructions of one run of the batched pipeline for `users` people."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={folder}/callgrind.out",
            sys.executable,
            str(Path(__file__).resolve()),
            "--run",
            "--database",
            database,
            "--users",
            str(users),
            "--batch",
            str(batch),
        ]
        env = dict(os.environ, PYTHONHASHSEED="0")
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def run_once(database: str, users: int, batch: int) -> None:
    """What valgrind runs: the batched pipeline, as bench/pipeline_vs_ptb.py --profile does."""
    sys.path.insert(0, str(BENCH.parent))
    from bench.pipeline_vs_ptb import fresh_database, run_ours
    from bot.flowfiles import flow_set

    with fresh_database(database) as fresh:
        run_ours(fresh, flow_set(), users, batch, profiled=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_once(args.database, args.users, args.batch)
        return
    low = counted(args.database, args.users, args.batch)
    high = counted(args.database, 3 * args.users, args.batch)
    messages = 2 * args.users * MESSAGES_PER_USER
    print(
        f"instructions per message, {args.database}, batches of {args.batch}: "
        f"{(high - low) / messages:,.0f} (callgrind; {args.users} and {3 * args.users} users)"
    )


if __name__ == "__main__":
    main()
