"""The talent search's plans agree: walking a region's members or the skill's talent rows,
ranking every match (with a window count) or only the page's level (counted to the cap,
with or without a box around the place) gives the same members, order and count, at every
offset: ties, members without a place, other levels, the unfindable and the unreachable
included. Each plan runs on both databases, whichever would choose it."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import catalogue
from storage.models import Member, MemberSkill, Region, Skill
from storage.repositories import talent

GONE = datetime(2026, 11, 1, tzinfo=UTC)
PLANS = [
    talent.Plan(),  # every match ranked, from the skill's rows
    talent.Plan(from_members=True),  # every match ranked, from the region's members
    talent.Plan(level_first=True),  # the page's level only, from the level in the index
    talent.Plan(level_first=True, boxed=True),  # ... from a box (PostgreSQL)
    talent.Plan(level_first=True, boxed=True, from_members=True),  # ... (SQLite)
]


async def _fill(session: AsyncSession) -> tuple[int, list[str]]:
    await catalogue.ensure_defaults(session)
    skill_id, other = list(await session.scalars(select(Skill.id).order_by(Skill.id)))[:2]
    regions = [r.code for r in await session.scalars(select(Region).order_by(Region.code))]
    rng = random.Random(3)
    towns = [(52.0, 5.0), (52.1, 5.2), (52.5, 6.1), (53.2, 6.6), (51.4, 5.5)]  # shared: ties
    members = []
    for i in range(300):
        spread = (rng.uniform(51.6, 52.6), rng.uniform(4.7, 5.7))  # around the first towns
        place = rng.choice(towns) if i % 3 == 0 else spread
        place = None if i % 9 == 0 else place
        members.append(
            {"telegram_id": 5_000 + i, "locale": "nl", "kind": "member", "first_name": f"L{i}",
             "latitude": place[0] if place else None, "longitude": place[1] if place else None,
             "region_code": rng.choice(regions[:2]), "onboarding_step": "done",
             "findable": i % 7 != 0}
        )  # fmt: skip
    await session.execute(insert(Member), members)
    ids = list(await session.scalars(select(Member.id).order_by(Member.id)))
    unreachable = ids[5::11]
    await session.execute(
        update(Member).where(Member.id.in_(unreachable)).values(unreachable_since=GONE)
    )
    rows = []
    for n, member_id in enumerate(ids):
        level = rng.choice(["teach", "experienced", "some", None])
        kind = "wish" if n % 13 == 0 else "talent"
        rows.append(
            {"member_id": member_id, "skill_id": skill_id, "typed_text": "x", "kind": kind,
             "level": level, "status": "unsure" if n % 17 == 0 else "ok"}
        )  # fmt: skip
        rows.append(
            {"member_id": member_id, "skill_id": other, "typed_text": "y", "kind": "talent",
             "level": "teach", "status": "ok"}
        )  # fmt: skip
    await session.execute(insert(MemberSkill), rows)
    await session.commit()
    return skill_id, regions[:2]


@pytest.mark.parametrize("near", [(52.1, 5.2), (40.0, -3.0), None])
async def test_every_page_alike_whichever_side_drives(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch, near: tuple[float, float] | None
) -> None:
    skill_id, regions = await _fill(session)
    pages: dict[talent.Plan, list[tuple[list[talent.Row], int]]] = {}
    for plan in PLANS:

        async def choose(*_args: object, chosen: talent.Plan = plan) -> talent.Plan:
            return chosen

        monkeypatch.setattr(talent, "_plan", choose)
        pages[plan] = [
            await talent.page(session, skill_id, region, near, offset, 5, count_to)
            for region in ([regions[0]], regions)
            # Counted exactly, and no further than 40 ("more than 40" on the first pages).
            for offset, count_to in [(n, 1000) for n in range(0, 240, 3)]
            + [(n, 40) for n in range(0, 60, 3)]
        ]
    one_pass = pages[PLANS[0]]
    for plan in PLANS[1:]:
        assert pages[plan] == one_pass, plan
    totals = {total for _rows, total in one_pass}
    assert max(totals) > 41 and 0 in totals  # real pages, and pages past the end
    assert 41 in totals  # "more than 40"


async def test_level_first_only_for_many_matches_near_a_place(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL ranks a level from a box when it expects far more matches than it counts
    (a hash join ranks and counts a few as fast); SQLite past RANK_ALL talent rows."""
    skill_id, regions = await _fill(session)  # about 200 matches in the two regions
    talent._remembering.clear()
    sqlite = session.get_bind().dialect.name == "sqlite"
    near = (52.1, 5.2)
    for rank_all, count_to, level_first in [
        (100, 40, True),
        (100, 1000, sqlite),
        (10**6, 40, not sqlite),
    ]:
        monkeypatch.setattr(talent, "RANK_ALL", rank_all)
        plan = await talent._plan(session, skill_id, regions, near, count_to)
        assert plan.level_first is level_first
        assert plan.boxed is level_first  # more talent rows than findable members, here
    for regions_, near_ in [(regions, None), (None, near)]:
        assert not (await talent._plan(session, skill_id, regions_, near_, 40)).level_first
