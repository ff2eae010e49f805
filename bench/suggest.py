"""Suggestions for one member among 500 upcoming workshops: p50/p95 of the ranking alone, and
of what /workshops does (`workshops.listing`: load them, their topics, the member's wishes and
the regions, then rank), on SQLite and on PostgreSQL.

    python bench/suggest.py [--workshops 500] [--runs 300] [--skip-postgres]
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
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench.harness import drop_postgres, postgres_url
from bot.services import catalogue, suggest, workshops
from bot.services.places import default_gazetteer
from bot.services.workshops import Draft, create_many
from bot.settings import Settings
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Member, MemberSkill, Skill, utcnow
from storage.repositories import workshops as workshop_repo

MAX_KM = Settings.model_fields["suggest_max_km"].default
TZ = ZoneInfo("Europe/Amsterdam")


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


async def measure(url: str, n: int, runs: int) -> tuple[list[float], list[float], int]:
    """Ranking alone, then the whole listing as the handler asks for it (suggestions first)."""
    rng = random.Random(5)
    engine = create_engine(url)
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
        await session.flush()
        wishes = rng.sample(skills, 3)
        for skill_id in wishes:
            session.add(
                MemberSkill(member_id=member.id, skill_id=skill_id, typed_text="x", kind="wish")
            )
        await session.commit()
        upcoming = await workshop_repo.upcoming(session, now)
        ranking, whole = [], []
        for _ in range(runs):
            started = time.perf_counter()
            suggest.rank(upcoming, member, wishes, now)
            ranking.append((time.perf_counter() - started) * 1000)
    async with sessions() as session:  # a fresh session per update, as the middleware opens
        member = await session.get(Member, member.id)
        assert member is not None
    for i in range(runs + 20):
        async with sessions() as session:
            started = time.perf_counter()
            await workshops.listing(session, member, utcnow(), TZ, max_km=MAX_KM)
            if i >= 20:  # the first few warm the caches
                whole.append((time.perf_counter() - started) * 1000)
    await engine.dispose()
    return ranking, whole, len(upcoming)


async def main(n: int, runs: int, skip_postgres: bool) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as folder:
        targets = [("SQLite", f"sqlite+aiosqlite:///{folder}/bench.db")]
        if not skip_postgres:
            targets.append(("PostgreSQL", await postgres_url()))
        try:
            for name, url in targets:
                ranking, whole, count = await measure(url, n, runs)
                if name == "SQLite":
                    print(
                        f"rank {count} upcoming workshops for one member: "
                        f"p50 {pct(ranking, 50):.2f} ms, p95 {pct(ranking, 95):.2f} ms "
                        f"({runs} runs)"
                    )
                print(
                    f"{name}: workshops.listing (load, topics, wishes, regions, rank): "
                    f"p50 {pct(whole, 50):.1f} ms, p95 {pct(whole, 95):.1f} ms ({runs} runs)"
                )
        finally:
            if not skip_postgres:
                await drop_postgres(targets[-1][1])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workshops", type=int, default=500)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.workshops, args.runs, args.skip_postgres))
