"""Ranking 500 upcoming workshops for one member: p50/p95, the ranking alone and with the
database load that /workshops does (SQLite).

    python bench/suggest.py [--workshops 500] [--runs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bot.services import catalogue, suggest
from bot.services.places import default_gazetteer
from bot.services.workshops import Draft, create_many
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Member, Skill, utcnow
from storage.repositories import workshops as workshop_repo


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


async def main(n: int, runs: int) -> None:
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{folder}/bench.db")
        await upgrade(engine)
        sessions = create_session_factory(engine)
        async with sessions() as session:
            await catalogue.ensure_defaults(session)
            skills = list(await session.scalars(select(Skill.id)))
            towns = [p for p in default_gazetteer() if p.country == "NL"]
            now = utcnow()
            drafts = []
            for i in range(n):
                start = now + timedelta(days=rng.uniform(1, 180))
                online = rng.random() < 0.2
                drafts.append(
                    Draft(
                        title=f"Workshop {i}", starts_at=start, ends_at=start + timedelta(hours=2),
                        capacity=20, place=None if online else rng.choice(towns),
                        online_url="https://meet.example.org" if online else None,
                        skill_ids=rng.sample(skills, 2),
                    )
                )  # fmt: skip
            await create_many(session, drafts)
            place = rng.choice(towns)
            member = Member(
                telegram_id=1, locale="nl", kind="member", onboarding_step="done",
                latitude=place.lat, longitude=place.lon, region_code="oost",
            )  # fmt: skip
            session.add(member)
            await session.commit()
            wishes = rng.sample(skills, 3)
            upcoming = await workshop_repo.upcoming(session, now)
            ranking, whole = [], []
            for _ in range(runs):
                started = time.perf_counter()
                suggest.rank(upcoming, member, wishes, now)
                ranking.append((time.perf_counter() - started) * 1000)
            for _ in range(runs):
                started = time.perf_counter()
                loaded = await workshop_repo.upcoming(session, utcnow())
                suggest.rank(loaded, member, wishes, utcnow())
                whole.append((time.perf_counter() - started) * 1000)
        await engine.dispose()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"rank {len(upcoming)} upcoming workshops for one member: "
        f"p50 {pct(ranking, 50):.2f} ms, p95 {pct(ranking, 95):.2f} ms ({runs} runs)"
    )
    print(
        f"load them from SQLite (with topics) and rank: "
        f"p50 {pct(whole, 50):.1f} ms, p95 {pct(whole, 95):.1f} ms ({runs} runs)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workshops", type=int, default=500)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.workshops, args.runs))
