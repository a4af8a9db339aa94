"""Every benchmark, one after the other, at its defaults (what `make bench` runs).

    .venv/bin/python bench/run_all.py

Runs each script of the list below with the same Python, printing a header before each and its
own output as it comes; a script that is not there yet is skipped with a message. Ends with the
time each took and the total. Exits 1 if any script failed. One benchmark at a time: on a small
machine, two at once would give neither honest figures.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# Explicit, in a fixed order: the cheap reports last, so the long runs see a quiet machine.
RUNS: list[list[str]] = [
    ["reminder_fanout.py", "--database", "both"],
    ["broadcast_fanout.py", "--database", "sqlite"],
    ["broadcast_fanout.py", "--database", "postgres"],
    ["webhook_throughput.py", "--web-only"],
    ["pipeline_vs_ptb.py"],
    ["instructions.py", "--database", "sqlite"],
    ["footprint.py"],
    ["kept_turns.py"],
    ["reach_report.py"],
]


def run(script: str, options: list[str]) -> tuple[str, float]:
    """Runs one script; returns its outcome in words and the seconds it took."""
    command = " ".join(["bench/" + script, *options])
    print(f"\n===== {command} =====", flush=True)
    if not (BENCH / script).exists():
        print(f"skipped: bench/{script} does not exist yet", flush=True)
        return "skipped", 0.0
    started = time.perf_counter()
    code = subprocess.run([sys.executable, str(BENCH / script), *options], cwd=ROOT).returncode
    took = time.perf_counter() - started
    outcome = "ok" if code == 0 else f"FAILED (exit {code})"
    print(f"----- {command}: {outcome} in {took:.1f} s", flush=True)
    return outcome, took


def main() -> None:
    started = time.perf_counter()
    results = [(" ".join([script, *options]), *run(script, options)) for script, *options in RUNS]
    total = time.perf_counter() - started
    print("\n===== summary =====")
    for command, outcome, took in results:
        print(f"  {command:<40} {outcome:<18} {took:7.1f} s")
    print(f"  total: {total:.1f} s ({total / 60:.1f} min)")
    sys.exit(1 if any(outcome.startswith("FAILED") for _, outcome, _ in results) else 0)


if __name__ == "__main__":
    main()
