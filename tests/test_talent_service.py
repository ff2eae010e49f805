"""The talent base as plain async calls, on SQLite and PostgreSQL: ranking, scope, paging,
audit, and contact requests answered once."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import catalogue, talent
from bot.services.places import default_gazetteer
from bot.services.profile import Level
from bot.services.roles import Grant, RoleName
from storage.models import AuditEntry
from tests import factories

ADMIN = frozenset({Grant(RoleName.ADMIN)})
OOST = frozenset({Grant(RoleName.ORGANISER, "oost")})


REGION_OF = {"Groningen": "noord", "Zwolle": "oost", "Enschede": "oost"}


async def member(
    session: AsyncSession, tid: int, town: str, level: Level | None, *, findable: bool = True
) -> int:
    region = REGION_OF.get(town, "west")
    added = await factories.onboarded(
        session, tid, f"Lid{tid}", town, region=region, talents="debatteren", level=level,
        findable=findable,
    )  # fmt: skip
    return added.id


@pytest.fixture
async def debating(session: AsyncSession) -> int:
    await catalogue.ensure_defaults(session)
    catalogue.invalidate()
    found = (await catalogue.matcher(session)).match("debatteren")
    return found[0].skill_id


async def test_ranking_by_level_then_distance(session: AsyncSession, debating: int) -> None:
    far_teacher = await member(session, 1, "Groningen", Level.TEACH)
    near_some = await member(session, 2, "Zwolle", Level.SOME)
    near_teacher = await member(session, 3, "Enschede", Level.TEACH)
    await member(session, 4, "Utrecht", Level.EXPERIENCED, findable=False)
    unsaid = await member(session, 5, "Utrecht", None)
    zwolle = default_gazetteer().search("Zwolle")[0].place
    results = await talent.search(
        session, actor_id=99, grants=ADMIN, skill_id=debating, region=None, near=zwolle
    )
    assert results.total == 4
    assert [h.row.member_id for h in results.hits] == [near_teacher, far_teacher, near_some, unsaid]
    assert results.hits[2].distance_km == pytest.approx(0, abs=1)
    assert 50 < results.hits[0].distance_km < 70  # Enschede–Zwolle


async def test_regional_organiser_sees_only_their_region(
    session: AsyncSession, debating: int
) -> None:
    await member(session, 1, "Groningen", Level.TEACH)
    oost = await member(session, 2, "Zwolle", Level.SOME)
    results = await talent.search(
        session, actor_id=7, grants=OOST, skill_id=debating, region=None, near=None
    )
    assert [h.row.member_id for h in results.hits] == [oost]
    with pytest.raises(talent.OutOfScope):
        await talent.search(
            session, actor_id=7, grants=OOST, skill_id=debating, region="noord", near=None
        )
    with pytest.raises(talent.NotAllowed):
        await talent.search(
            session, actor_id=7, grants=frozenset(), skill_id=debating, region=None, near=None
        )


async def test_pages_and_one_audit_entry_per_search(session: AsyncSession, debating: int) -> None:
    for tid in range(10, 22):
        await member(session, tid, "Utrecht", Level.SOME)
    seen: list[int] = []
    for offset in (0, 5, 10):
        page = await talent.search(
            session, actor_id=7, grants=ADMIN, skill_id=debating, region="west", near=None,
            offset=offset, query_text="debatteren west",
        )  # fmt: skip
        assert page.total == 12
        seen += [h.row.member_id for h in page.hits]
    assert len(seen) == len(set(seen)) == 12
    audit = (await session.scalars(select(AuditEntry))).all()
    assert [(a.actor_id, a.action, a.query, a.results) for a in audit] == [
        (7, "search", "debatteren west", 12)
    ]


async def test_contact_requests_are_answered_once(
    sessions: async_sessionmaker[AsyncSession], debating: int
) -> None:
    async with sessions() as session:
        target = await member(session, 30, "Zwolle", Level.TEACH)
        request = await talent.request_contact(
            session, actor_id=7, grants=OOST, member_id=target, skill_id=debating
        )
        with pytest.raises(talent.AlreadyAsked):
            await talent.request_contact(
                session, actor_id=7, grants=OOST, member_id=target, skill_id=debating
            )
    async with sessions() as first, sessions() as second:
        await talent.answer_contact(first, member_id=target, request_id=request.id, accept=True)
        with pytest.raises(talent.NotPending):
            await talent.answer_contact(
                second, member_id=target, request_id=request.id, accept=False
            )
        with pytest.raises(talent.NotPending):  # not addressed to this member
            await talent.answer_contact(first, member_id=999, request_id=request.id, accept=True)


async def test_nobody_who_paused_or_blocked_can_be_asked(
    session: AsyncSession, debating: int
) -> None:
    paused = await member(session, 40, "Utrecht", Level.TEACH, findable=False)
    with pytest.raises(talent.NotFindable):
        await talent.request_contact(
            session, actor_id=7, grants=ADMIN, member_id=paused, skill_id=debating
        )
    noord = await member(session, 41, "Groningen", Level.TEACH)
    with pytest.raises(talent.OutOfScope):
        await talent.request_contact(
            session, actor_id=7, grants=OOST, member_id=noord, skill_id=debating
        )
