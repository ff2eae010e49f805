"""A small generated organisation whose demand report is known by heart (tests/test_demand*.py,
tests/test_report*.py). Rows go in directly, as a year of the bot's use would have left them.

oost, 10 members: wish Alpha 6, Beta 4, Gamma 2 (+ an unsure Gamma wish and an uncatalogued
wish, which do not count); teach Alpha 1, Beta 3, Delta 2 (+ an "experienced" Gamma talent,
which does not count). west, 6 members: wish Gamma 5, Epsilon 1; teach Alpha 2.
Coming: oost Beta in 30 days; national online Gamma in 60 days; west Alpha in 20 days; oost
Alpha in 100 days (past the horizon) and a cancelled oost Alpha in 10 days: so oost's only gap
is Alpha, west's is Epsilon, the whole organisation's Epsilon.
Past (oost, 30 days ago): 4 confirmed (3 checked in), 1 cancelled, ratings 5 and 4.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feedback, Member, MemberSkill, Signup, Skill, Workshop, workshop_topics

LONG = "Begrotingen van gemeenten lezen, begrijpen en er kritische vragen over stellen"
NAMES = {
    "alpha": ("Alfa nl", "Alpha", "Alfa sv"),
    "beta": (LONG, "Reading municipal budgets and asking critical questions about them", "Beta"),
    "gamma": ("Gamma", "Gamma", "Gamma"),
    "delta": ("Delta", "Delta", "Delta"),
    "epsilon": ("Epsilon", "Epsilon", "Epsilon"),
}


async def skills(session: AsyncSession) -> dict[str, int]:
    ids = {}
    for key, (nl, en, sv) in NAMES.items():
        ids[key] = await session.scalar(
            insert(Skill)
            .values(key=f"test_{key}", name_nl=nl, name_en=en, name_sv=sv, synonyms={})
            .returning(Skill.id)
        )
    return ids


async def members(session: AsyncSession, region: str, n: int, start: int) -> list[int]:
    ids = []
    for i in range(n):
        ids.append(
            await session.scalar(
                insert(Member)
                .values(
                    telegram_id=start + i,
                    locale="nl",
                    kind="member",
                    onboarding_step="done",
                    region_code=region,
                )
                .returning(Member.id)
            )
        )
    return ids


def _skill(member: int, skill: int | None, kind: str, **more: object) -> dict[str, object]:
    return {
        "member_id": member,
        "skill_id": skill,
        "typed_text": "x",
        "kind": kind,
        "status": "ok",
        "level": None,
        **more,
    }


async def workshop(
    session: AsyncSession,
    title: str,
    region: str | None,
    starts_at: datetime,
    skill: int,
    status: str = "published",
) -> int:
    wid = await session.scalar(
        insert(Workshop)
        .values(
            title=title,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=3),
            region_code=region,
            capacity=20,
            status=status,
            online_url=None if region else "https://meet.example.org/x",
        )
        .returning(Workshop.id)
    )
    await session.execute(insert(workshop_topics).values(workshop_id=wid, skill_id=skill))
    return int(wid)


async def fill(session: AsyncSession, now: datetime) -> dict[str, int]:
    """The organisation above; returns the skill ids by key (and "past": the past workshop)."""
    s = await skills(session)
    oost = await members(session, "oost", 10, 5_000_000)
    west = await members(session, "west", 6, 6_000_000)
    rows = [_skill(m, s["alpha"], "wish") for m in oost[:6]]
    rows += [_skill(m, s["beta"], "wish") for m in oost[2:6]]
    rows += [_skill(m, s["gamma"], "wish") for m in oost[6:8]]
    rows += [_skill(oost[9], s["gamma"], "wish", status="unsure"), _skill(oost[9], None, "wish")]
    rows += [_skill(oost[0], s["alpha"], "talent", level="teach")]
    rows += [_skill(m, s["beta"], "talent", level="teach") for m in oost[7:10]]
    rows += [_skill(m, s["delta"], "talent", level="teach") for m in oost[:2]]
    rows += [_skill(oost[5], s["gamma"], "talent", level="experienced")]
    rows += [_skill(m, s["gamma"], "wish") for m in west[:5]]
    rows += [_skill(west[5], s["epsilon"], "wish")]
    rows += [_skill(m, s["alpha"], "talent", level="teach") for m in west[:2]]
    await session.execute(insert(MemberSkill), rows)
    day = timedelta(days=1)
    await workshop(session, "Beta oost", "oost", now + 30 * day, s["beta"])
    await workshop(session, "Gamma online", None, now + 60 * day, s["gamma"])
    await workshop(session, "Alpha west", "west", now + 20 * day, s["alpha"])
    await workshop(session, "Alpha later", "oost", now + 100 * day, s["alpha"])
    await workshop(session, "Alpha off", "oost", now + 10 * day, s["alpha"], status="cancelled")
    past = await workshop(session, "Beta before", "oost", now - 30 * day, s["beta"])
    await workshop(session, "Gamma west before", "west", now - 40 * day, s["gamma"])
    signups = [
        {"workshop_id": past, "member_id": m, "status": "confirmed", "checked_in_at": checked}
        for m, checked in zip(oost[:4], [now - 30 * day] * 3 + [None], strict=True)
    ]
    signups.append(
        {"workshop_id": past, "member_id": oost[4], "status": "cancelled", "checked_in_at": None}
    )
    await session.execute(insert(Signup), signups)
    await session.execute(
        insert(Feedback),
        [
            {"workshop_id": past, "member_id": oost[0], "rating": 5},
            {"workshop_id": past, "member_id": oost[1], "rating": 4},
        ],
    )
    await session.commit()
    return {**s, "past": past}
