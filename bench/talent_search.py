"""Talent base at scale: 100,000 members with 400,000 talent and wish rows, then
(a) matching one typed skill against the catalogue and (b) an organiser's search with a
region and a distance, p50/p95, on SQLite and on PostgreSQL.

    python bench/talent_search.py [--members 100000] [--searches 300] [--skip-postgres]
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
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import drop_postgres, postgres_url
from bot.services import catalogue, talent
from bot.services import regions as region_service
from bot.services.places import default_gazetteer
from bot.services.roles import Grant, RoleName
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Member, MemberSkill, Region, Skill

TYPED = ["debateren", "begroting lezn", "public speaking", "debatt", "sociale media",
         "moties schrijven", "fotografie", "campagne voeren", "voorzitten",
         "fondsenwerving"]  # fmt: skip


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def fill(url: str, n_members: int, rng: random.Random) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    async with sessions() as session:
        await catalogue.ensure_defaults(session)
        skill_ids = list(await session.scalars(select(Skill.id)))
        configured = list(await session.scalars(select(Region)))
    places = [p for p in default_gazetteer() if p.country == "NL"]
    weights = [1 / (i + 1) for i in range(len(skill_ids))]  # a few skills are very common
    async with engine.begin() as conn:
        for start in range(0, n_members, 5000):
            members = []
            for i in range(start, min(start + 5000, n_members)):
                place = rng.choice(places)
                region = region_service.suggest(place, configured)
                members.append(
                    {
                        "telegram_id": 10_000_000 + i, "locale": "nl", "kind": "member",
                        "first_name": f"Lid {i}", "place_id": place.id, "town": place.name,
                        "latitude": place.lat, "longitude": place.lon,
                        "region_code": region.code if region else None,
                        "onboarding_step": "done", "findable": rng.random() < 0.7,
                        "available_evenings": rng.random() < 0.5,
                    }
                )  # fmt: skip
            await conn.execute(insert(Member), members)
            first = await conn.scalar(
                select(Member.id).where(Member.telegram_id == 10_000_000 + start)
            )
            rows = []
            for offset in range(len(members)):
                chosen: set[int] = set()
                while len(chosen) < 4:  # exactly four distinct skills: 400,000 rows in all
                    chosen.add(rng.choices(skill_ids, weights)[0])
                for j, skill_id in enumerate(chosen):
                    kind = "talent" if j < 3 else "wish"
                    level = (
                        rng.choice(["some", "experienced", "teach"]) if kind == "talent" else None
                    )
                    rows.append(
                        {"member_id": first + offset, "skill_id": skill_id, "typed_text": "x",
                         "kind": kind, "level": level, "status": "ok"}
                    )  # fmt: skip
            await conn.execute(insert(MemberSkill), rows)
    if engine.dialect.name == "postgresql":
        # What autovacuum does to a table this size within a minute of the load: statistics
        # for the planner, and the visibility map that lets it read an index alone.
        async with engine.connect() as conn:
            settled = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await settled.exec_driver_sql("VACUUM ANALYZE")
    await engine.dispose()


async def measure(url: str, searches: int, rng: random.Random) -> tuple[list[float], list[float]]:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    admin = frozenset({Grant(RoleName.ADMIN)})
    towns = [p for p in default_gazetteer() if p.country == "NL"]
    matching: list[float] = []
    searching: list[float] = []
    async with sessions() as session:
        matcher = await catalogue.matcher(session)
        regions = [r.code for r in await session.scalars(select(Region))]
        for i in range(5000):
            started = time.perf_counter()
            matcher.match(TYPED[i % len(TYPED)])
            matching.append((time.perf_counter() - started) * 1000)
        skill_ids = list(await session.scalars(select(Skill.id)))
        for i in range(searches + 20):
            started = time.perf_counter()
            await talent.search(
                session, actor_id=1, grants=admin, skill_id=rng.choice(skill_ids[:30]),
                region=rng.choice(regions), near=rng.choice(towns), query_text="bench",
            )  # fmt: skip
            if i >= 20:  # the first few warm the caches
                searching.append((time.perf_counter() - started) * 1000)
    await engine.dispose()
    return matching, searching


async def main(n_members: int, searches: int, skip_postgres: bool) -> None:
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
                await fill(url, n_members, random.Random(7))
                filled = time.perf_counter() - started
                matching, searching = await measure(url, searches, random.Random(11))
                print(
                    f"{name}: {n_members:,} members, {4 * n_members:,} talent and wish rows "
                    f"(filled in {filled:.0f} s)\n"
                    f"  (a) match one typed skill: p50 {pct(matching, 50):.3f} ms, "
                    f"p95 {pct(matching, 95):.3f} ms ({len(matching):,} calls)\n"
                    f"  (b) organiser search, region + distance, first page of 5: "
                    f"p50 {pct(searching, 50):.1f} ms, p95 {pct(searching, 95):.1f} ms "
                    f"({len(searching)} searches)"
                )
        finally:
            if not skip_postgres:
                await drop_postgres(targets[-1][1])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.members, args.searches, args.skip_postgres))
