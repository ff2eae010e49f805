"""The demand report at scale: 100,000 members (400,000 talent and wish rows) and 2,000
workshops (a year past, six months ahead, with sign-ups, check-ins and ratings), then the
report for one region and for the whole organisation — the figures alone, and with the chart
and the CSV — on SQLite and on PostgreSQL. Target: under 2 s.

    python bench/report.py [--members 100000] [--workshops 2000] [--runs 5] [--skip-postgres]
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

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bot.lean_code  # noqa: F401  as the bot runs: numpy keeps its docstrings (see there)

# isort: split
from bench.harness import drop_postgres, postgres_url
from bot import clock, report_chart
from bot.i18n import create_i18n
from bot.services import catalogue, demand
from bot.services import regions as region_service
from bot.services.places import default_gazetteer
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Feedback, Member, MemberSkill, Region, Signup, Skill, Workshop
from storage.models import workshop_topics as topics

TZ = ZoneInfo("Europe/Amsterdam")


async def fill(url: str, n_members: int, n_workshops: int, rng: random.Random) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    async with sessions() as session:
        await catalogue.ensure_defaults(session)
        skill_ids = list(await session.scalars(select(Skill.id)))
        configured = list(await session.scalars(select(Region)))
    places = [p for p in default_gazetteer() if p.country == "NL"]
    weights = [1 / (i + 1) for i in range(len(skill_ids))]  # a few skills are very common
    now = clock.now()
    async with engine.begin() as conn:
        for start in range(0, n_members, 5000):
            members = []
            for i in range(start, min(start + 5000, n_members)):
                place = rng.choice(places)
                region = region_service.suggest(place, configured)
                members.append(
                    {"telegram_id": 10_000_000 + i, "locale": "nl", "kind": "member",
                     "region_code": region.code if region else None, "onboarding_step": "done",
                     "findable": rng.random() < 0.7}
                )  # fmt: skip
            await conn.execute(insert(Member), members)
            first = await conn.scalar(
                select(Member.id).where(Member.telegram_id == 10_000_000 + start)
            )
            rows = []
            for offset in range(len(members)):
                chosen: set[int] = set()
                while len(chosen) < 4:  # two talents and two wishes: 400,000 rows in all
                    chosen.add(rng.choices(skill_ids, weights)[0])
                for j, skill_id in enumerate(chosen):
                    kind = "talent" if j < 2 else "wish"
                    level = rng.choice(["some", "experienced", "teach"]) if j < 2 else None
                    rows.append(
                        {"member_id": first + offset, "skill_id": skill_id, "typed_text": "x",
                         "kind": kind, "level": level, "status": "ok"}
                    )  # fmt: skip
            await conn.execute(insert(MemberSkill), rows)
        member_ids = list(await conn.scalars(select(Member.id)))
        codes = [r.code for r in configured] + [None]
        for i in range(n_workshops):
            starts = now + timedelta(days=rng.uniform(-365, 182))
            wid = await conn.scalar(
                insert(Workshop)
                .values(
                    title=f"Workshop {i}", starts_at=starts, ends_at=starts + timedelta(hours=3),
                    region_code=rng.choice(codes), capacity=20, status="published",
                    code=f"bench{i:07d}",
                )
                .returning(Workshop.id)
            )  # fmt: skip
            for skill_id in rng.sample(skill_ids[:40], rng.randint(1, 2)):
                await conn.execute(insert(topics).values(workshop_id=wid, skill_id=skill_id))
            people = rng.sample(member_ids, rng.randint(5, 20))
            await conn.execute(
                insert(Signup),
                [
                    {"workshop_id": wid, "member_id": m, "status": "confirmed",
                     "checked_in_at": starts if starts < now and rng.random() < 0.8 else None}
                    for m in people
                ],
            )  # fmt: skip
            if starts < now:
                await conn.execute(
                    insert(Feedback),
                    [{"workshop_id": wid, "member_id": m, "rating": rng.randint(2, 5)}
                     for m in people[: len(people) // 2]],
                )  # fmt: skip
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:  # what autovacuum does within a minute of a load
            settled = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await settled.exec_driver_sql("VACUUM ANALYZE")
    await engine.dispose()


async def measure(url: str, runs: int) -> dict[str, list[float]]:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    i18n = create_i18n("nl")
    times: dict[str, list[float]] = {}
    try:
        with i18n.context(), i18n.use_locale("nl"):
            report_chart.render([], "nl", report_chart.Labels(*"abcdef"))  # import matplotlib
            for region in ("oost", None):
                for _ in range(runs):
                    async with sessions() as session:
                        started = time.perf_counter()
                        report = await demand.build(session, region, clock.now(), region)
                        figures = time.perf_counter() - started
                    labels = report_chart.labels_for(report, "nl", TZ)
                    report_chart.render(report.top, "nl", labels)
                    demand.csv_bytes(report, "nl", TZ)
                    whole = time.perf_counter() - started
                    name = region or "all regions"
                    times.setdefault(f"{name}: figures", []).append(figures)
                    times.setdefault(f"{name}: figures + chart + CSV", []).append(whole)
    finally:
        await engine.dispose()
    return times


async def main(n_members: int, n_workshops: int, runs: int, skip_postgres: bool) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as folder:
        targets = [("SQLite", f"sqlite+aiosqlite:///{folder}/bench.db")]
        if not skip_postgres:
            targets.append(("PostgreSQL", await postgres_url()))
        try:
            for name, url in targets:
                started = time.perf_counter()
                await fill(url, n_members, n_workshops, random.Random(7))
                filled = time.perf_counter() - started
                print(
                    f"{name}: {n_members:,} members, {4 * n_members:,} talent and wish rows, "
                    f"{n_workshops:,} workshops (filled in {filled:.0f} s)"
                )
                for label, values in (await measure(url, runs)).items():
                    print(
                        f"  {label}: median {statistics.median(values):.3f} s, "
                        f"max {max(values):.3f} s ({len(values)} runs)"
                    )
        finally:
            if not skip_postgres:
                await drop_postgres(targets[-1][1])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--workshops", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.members, args.workshops, args.runs, args.skip_postgres))
