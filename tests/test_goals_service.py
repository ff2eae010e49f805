"""Goals: set by admins only, and progress counted from the data, per region and year, on a
small data set with known answers (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import goals
from bot.services.goals import Metric
from bot.services.roles import ALL_REGIONS, Grant, RoleName, Scope
from storage.models import MemberSkill, Role, Signup, welcomes
from tests import factories

ADMIN = frozenset({Grant(RoleName.ADMIN)})
ORGANISER = frozenset({Grant(RoleName.ORGANISER)})
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
LAST_YEAR = datetime(2026, 6, 1, tzinfo=UTC)


def day(month: int, d: int, year: int = 2027) -> datetime:
    return datetime(year, month, d, 10, 0, tzinfo=UTC)


async def known_data(session: AsyncSession) -> None:
    """oost: 5 members, west: 2. The expected figures for 2027 are in the test below."""
    oost = await factories.bare_members(session, 5, 100, region_code="oost")
    west = await factories.bare_members(session, 2, 200, region_code="west")
    a, b, c, d, e = oost
    skills = [
        # profiles: a, b, c in oost (c twice), one in west
        dict(member_id=a.id, typed_text="debatteren", kind="wish", created_at=day(1, 5)),
        dict(member_id=b.id, typed_text="begroting", kind="talent", level="teach",
             created_at=day(2, 1)),  # a new trainer in 2027
        dict(member_id=c.id, typed_text="spreken", kind="talent", level="teach",
             created_at=LAST_YEAR),  # a trainer since 2026: not new
        dict(member_id=c.id, typed_text="schrijven", kind="talent", level="teach",
             created_at=day(2, 2)),
        dict(member_id=west[0].id, typed_text="media", kind="wish", created_at=day(1, 1)),
    ]  # fmt: skip
    await session.execute(insert(MemberSkill), [{"status": "ok", **s} for s in skills])
    roles = [
        dict(telegram_id=d.telegram_id, role="trainer", granted_at=day(1, 15)),  # new
        dict(telegram_id=c.telegram_id, role="trainer", granted_at=day(1, 15)),  # not new
        dict(telegram_id=e.telegram_id, role="volunteer", granted_at=day(1, 15)),
    ]
    await session.execute(insert(Role), roles)
    first = await factories.workshop(session, "Eén", now=NOW)
    second = await factories.workshop(session, "Twee", now=NOW)
    visits = [
        (first, a, day(1, 20)), (second, a, day(2, 20)),  # a twice: counted once
        (first, b, day(1, 20)), (second, e, None),  # e signed up, never came
        (second, d, LAST_YEAR),  # another year
        (first, west[1], day(1, 20)),
    ]  # fmt: skip
    await session.execute(
        insert(Signup),
        [
            dict(workshop_id=w, member_id=m.id, status="confirmed", checked_in_at=at)
            for w, m, at in visits
        ],
    )
    contacts = [
        (a, "oost", "contacted", day(1, 10), day(1, 20)),  # within 14 days
        (b, "oost", "contacted", day(1, 10), day(2, 10)),  # too late
        (c, "oost", "open", day(2, 1), None),
        (d, "oost", "contacted", day(12, 20, 2026), day(12, 22, 2026)),  # joined last year
        (west[0], "west", "contacted", day(2, 1), day(2, 15)),  # exactly 14 days
    ]
    await session.execute(
        insert(welcomes),
        [
            dict(member_id=m.id, region_code=r, state=s, joined_at=j, done_at=done,
                 volunteer_id=e.telegram_id, assigned_at=j)
            for m, r, s, j, done in contacts
        ],
    )  # fmt: skip
    await session.commit()


async def test_progress_counts_from_the_data(session: AsyncSession) -> None:
    await known_data(session)
    assert await goals.counts(session, 2027) == {
        Metric.PROFILES: {"oost": 3, "west": 1},
        Metric.ATTENDED: {"oost": 2, "west": 1},
        Metric.TRAINERS: {"oost": 2},
        Metric.WELCOMED: {"oost": 1, "west": 1},
    }
    for metric, target in ((Metric.PROFILES, 500), (Metric.WELCOMED, 4)):
        await goals.set_goal(session, ADMIN, 2027, "oost", metric, target, NOW)
    await goals.set_goal(session, ADMIN, 2027, "west", Metric.TRAINERS, 10, NOW)
    await goals.set_goal(session, ADMIN, 2026, "zuid", Metric.TRAINERS, 10, NOW)
    shown = await goals.progress(session, ALL_REGIONS, 2027)
    assert [(p.code, [(x.metric, x.count, x.target) for x in p.lines]) for p in shown] == [
        ("oost", [(Metric.PROFILES, 3, 500), (Metric.WELCOMED, 1, 4)]),
        ("west", [(Metric.TRAINERS, 0, 10)]),
    ]
    regional = await goals.progress(session, Scope(frozenset({"west"})), 2027)
    assert [p.code for p in regional] == ["west"]
    assert await goals.progress(session, ALL_REGIONS, 2030) == []


async def test_a_goal_is_replaced_and_removed_with_zero(session: AsyncSession) -> None:
    await goals.set_goal(session, ADMIN, 2027, "oost", Metric.PROFILES, 500, NOW)
    await goals.set_goal(session, ADMIN, 2027, "oost", Metric.PROFILES, 600, NOW)
    (oost,) = await goals.progress(session, ALL_REGIONS, 2027)
    assert [x.target for x in oost.lines] == [600]
    await goals.set_goal(session, ADMIN, 2027, "oost", Metric.PROFILES, 0, NOW)
    assert await goals.progress(session, ALL_REGIONS, 2027) == []


async def test_only_admins_set_goals_and_bad_input_changes_nothing(
    session: AsyncSession,
) -> None:
    with pytest.raises(goals.NotAdmin):
        await goals.set_goal(session, ORGANISER, 2027, "oost", Metric.PROFILES, 5, NOW)
    with pytest.raises(goals.UnknownRegion):
        await goals.set_goal(session, ADMIN, 2027, "atlantis", Metric.PROFILES, 5, NOW)
    for year, target in ((1999, 5), (2027, -1), (2027, goals.MAX_TARGET + 1)):
        with pytest.raises(goals.BadNumber):
            await goals.set_goal(session, ADMIN, year, "oost", Metric.PROFILES, target, NOW)
    with pytest.raises(goals.UnknownMetric):
        goals.parse_metric("happiness")
    assert goals.parse_metric("Profielen") is Metric.PROFILES
    assert goals.parse_metric("utbildare") is Metric.TRAINERS
    assert await goals.progress(session, ALL_REGIONS, 2027) == []
    assert timedelta(days=14) == goals.OVERDUE_AFTER
