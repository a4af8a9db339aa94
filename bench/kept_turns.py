"""Kept turns: how often a turn is handed out again, and what the cache holds in memory.

    .venv/bin/python bench/kept_turns.py [--people 300] [--messages 22]

Simulated people in the seven countries (one mobile prefix each) walk through the flows on
SMS: "hello", agree, then random choices and keywords, one message at a time through
`Pipeline.handle` on a fresh SQLite database holding the sample schedule. Prints the kept
turns' hits and misses, how many turns are kept (at most TURN_CACHE_SIZE), and the memory
they hold: tracemalloc's count of what clearing the cache frees, in all and per turn.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pipeline_vs_ptb import fresh_database
from bot.channels.base import InboundMessage
from bot.flowfiles import flow_set
from bot.pipeline import Pipeline
from bot.turncache import TURN_CACHE_SIZE

# A mobile number of each project country: (prefix, digits after it).
PHONES = (
    ("+5511", 9), ("+22507", 8), ("+23324", 7), ("+62812", 8), ("+95942", 7), ("+6681", 7),
    ("+8491", 7),
)  # fmt: skip
CHOICES = ("1", "2", "3", "4", "5", "menu", "help", "2", "1", "3")


def walk(person: int, messages: int) -> list[str]:
    rng = random.Random(person)
    return ["hello", "1", "1"] + [rng.choice(CHOICES) for _ in range(messages - 3)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--messages", type=int, default=22, help="per person")
    args = parser.parse_args()
    with fresh_database("sqlite") as database:
        engine = database.engine()
        bot = Pipeline(engine, flow_set())
        tracemalloc.start()
        sent = 0
        for person in range(args.people):
            prefix, digits = PHONES[person % len(PHONES)]
            phone = f"{prefix}{person:0{digits}d}"
            for text in walk(person, args.messages):
                sent += 1
                bot.handle(InboundMessage("sms", phone, f"k{sent}", text, phone=phone))
        gc.collect()
        before = tracemalloc.take_snapshot()
        kept = len(bot.turns._kept)
        bot.turns.clear()
        gc.collect()
        freed = -sum(
            s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename")
        )
        tracemalloc.stop()
        engine.dispose()
    hits, misses = bot.turns.hits, bot.turns.misses
    print(
        f"kept turns: {args.people} people x {args.messages} messages = {sent} turns; "
        f"{hits} handed out again, {misses} run ({hits / (hits + misses):.0%} kept ones)"
    )
    print(
        f"kept turns: {kept} held (at most {TURN_CACHE_SIZE}); clearing them freed "
        f"{freed / 1024:,.0f} KiB = {freed / max(kept, 1) / 1024:.1f} KiB a turn"
    )


if __name__ == "__main__":
    main()
