"""Latency of KnowledgeMatcher.match() on the typed questions of
tests/data/knowledge_matching.tsv, and on the largest input: 4,096 characters, as fresh junk
(every word new: no cache helps), as a story around a question, and as one question repeated.
Prints wall time and CPU time per call (CPU time is steadier on a shared machine).

    python bench/knowledge_match.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from collections.abc import Callable
from pathlib import Path

import rapidfuzz

from bot.services.knowledge_match import (
    MAX_QUERY_CHARS,
    KnowledgeMatcher,
    load_default_entries,
)

TABLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "knowledge_matching.tsv"


def table_rows() -> list[tuple[str, str]]:
    """(language, question) of every table row, header and comments skipped."""
    lines = TABLE.read_text(encoding="utf-8").splitlines()[1:]
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return [(row[0], row[1]) for row in rows]


def junk(rnd: random.Random) -> str:
    letters = "abcdefghijklmnopqrstuvwxyzåäöë"
    words = ("".join(rnd.choice(letters) for _ in range(rnd.randint(2, 14))) for _ in range(900))
    return " ".join(words)[:MAX_QUERY_CHARS]


def percentile(sorted_ns: list[int], pct: float) -> float:
    """Nearest-rank percentile, in microseconds."""
    index = min(len(sorted_ns) - 1, int(len(sorted_ns) * pct / 100))
    return sorted_ns[index] / 1000


def timed(calls: list[Callable[[], object]]) -> tuple[list[int], list[int]]:
    """Wall and CPU nanoseconds of each call, each list sorted."""
    wall, cpu = [], []
    for call in calls:
        w, c = time.perf_counter_ns(), time.process_time_ns()
        call()
        cpu.append(time.process_time_ns() - c)
        wall.append(time.perf_counter_ns() - w)
    return sorted(wall), sorted(cpu)


def line(label: str, wall: list[int], cpu: list[int]) -> str:
    return (
        f"{label}: {len(wall)} calls; wall p50 {percentile(wall, 50):.0f} µs, "
        f"p99 {percentile(wall, 99):.0f} µs; CPU p50 {percentile(cpu, 50):.0f} µs, "
        f"p99 {percentile(cpu, 99):.0f} µs, mean {sum(cpu) / len(cpu) / 1000:.0f} µs"
    )


def main(calls: int) -> None:
    started = time.perf_counter()
    entries = load_default_entries()
    matcher = KnowledgeMatcher(entries)
    build_ms = (time.perf_counter() - started) * 1000
    rows = table_rows()
    for language, question in rows:  # warm-up: imports and the word cache
        matcher.match(question, language)

    table_calls = [
        (lambda lang=lang, q=q: matcher.match(q, lang))
        for lang, q in (rows[i % len(rows)] for i in range(calls))
    ]
    rnd = random.Random(4096)
    fresh = [junk(rnd) for _ in range(300)]
    story = (
        "Ik ben verhuisd: hoe geef ik mijn nieuwe adres door? " + "Verder gaat alles goed. " * 200
    )
    repeated = "hoe verander ik mijn iban " * 200
    big = {
        "4,096 characters of fresh junk (every word new)": [
            (lambda t=t: matcher.match(t, "nl")) for t in fresh
        ],
        "4,096 characters, a story around a question": [
            (lambda: matcher.match(story[:MAX_QUERY_CHARS], "nl")) for _ in range(300)
        ],
        "4,096 characters, one question repeated": [
            (lambda: matcher.match(repeated[:MAX_QUERY_CHARS], "nl")) for _ in range(300)
        ],
    }

    print(
        f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
        f"rapidfuzz {rapidfuzz.__version__}"
    )
    phrasings = sum(len(e.texts()) for e in entries)
    print(
        f"knowledge base: {len(entries)} entries in {len(matcher.languages)} languages, "
        f"{phrasings} questions and phrasings; load + index {build_ms:.1f} ms"
    )
    print(line(f"match() over the {len(rows)} table questions", *timed(table_calls)))
    for label, group in big.items():
        print(line(label, *timed(group)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    main(parser.parse_args().calls)
