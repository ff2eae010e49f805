"""Latency of SkillMatcher.match() on the typed inputs of tests/data/skill_matching.tsv,
repeated, with the bundled catalogue; plus split_input() on a full 4 KB message.

    python bench/skill_match.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import rapidfuzz

from bot.services.skill_match import (
    SkillMatcher,
    catalogue_entries,
    load_default_catalogue,
    split_input,
)

TABLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "skill_matching.tsv"


def table_inputs() -> list[str]:
    """The table's typed inputs (first column), header and comments skipped."""
    lines = TABLE.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0] for line in lines if line and not line.startswith("#")]


def percentile(sorted_ns: list[int], pct: float) -> float:
    """Nearest-rank percentile, in microseconds."""
    index = min(len(sorted_ns) - 1, int(len(sorted_ns) * pct / 100))
    return sorted_ns[index] / 1000


def main(calls: int) -> None:
    started = time.perf_counter()
    catalogue = load_default_catalogue()
    matcher = SkillMatcher(catalogue_entries(catalogue))
    build_ms = (time.perf_counter() - started) * 1000
    strings = sum(
        len(item["names"]) + sum(map(len, item["synonyms"].values())) for item in catalogue
    )
    inputs = table_inputs()

    for text in inputs:  # warm-up: first calls pay for imports and caches
        matcher.match(text)
    times: list[int] = []
    for i in range(calls):
        text = inputs[i % len(inputs)]
        start = time.perf_counter_ns()
        matcher.match(text)
        times.append(time.perf_counter_ns() - start)
    times.sort()

    message = ("debateren, speechen en begroting lezen; " * 110)[:4096]
    split_ns: list[int] = []
    for _ in range(1000):
        start = time.perf_counter_ns()
        split_input(message)
        split_ns.append(time.perf_counter_ns() - start)
    split_ns.sort()

    print(
        f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, rapidfuzz {rapidfuzz.__version__}"
    )
    print(
        f"catalogue: {len(catalogue)} skills, {strings} names and synonyms; "
        f"load + build {build_ms:.1f} ms"
    )
    print(
        f"match(): {calls} calls over {len(inputs)} table inputs: "
        f"p50 {percentile(times, 50):.0f} µs, p95 {percentile(times, 95):.0f} µs, "
        f"p99 {percentile(times, 99):.0f} µs, max {times[-1] / 1000:.0f} µs, "
        f"mean {sum(times) / len(times) / 1000:.0f} µs"
    )
    print(
        f"split_input() on a 4,096-character message: p50 {percentile(split_ns, 50):.0f} µs, "
        f"p99 {percentile(split_ns, 99):.0f} µs"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    main(parser.parse_args().calls)
