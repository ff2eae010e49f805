"""What /workshops lists (workshops.listing): the month and region narrowing done in SQL at
their edges, and the topics' names, kept in a cache, as the catalogue has them.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import catalogue, workshops
from storage.models import Member, Skill, Workshop
from storage.repositories import skills as skill_repo
from storage.repositories import workshops as repo
from tests import factories
from tests.factories import NOW

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


async def _titles(session: AsyncSession, member: Member, **narrow: str) -> list[str]:
    found = await workshops.listing(session, member, NOW, AMSTERDAM, max_km=150, **narrow)
    return sorted(hit.workshop.title for hit in found.hits)


async def _at(session: AsyncSession, title: str, starts_at: datetime, **changes: object) -> int:
    return await factories.workshop(session, title, starts_in=starts_at - NOW, now=NOW, **changes)


async def test_a_month_is_the_members_calendar_month(session: AsyncSession) -> None:
    """Summer time starts on 28 March 2027: April begins at 22:00 UTC on 31 March."""
    (member,) = await factories.bare_members(session, 1)
    await _at(session, "earlier today", NOW - timedelta(hours=1))
    await _at(session, "last of March", datetime(2027, 3, 31, 21, 59, 59, tzinfo=UTC))
    await _at(session, "first of April", datetime(2027, 3, 31, 22, 0, tzinfo=UTC))
    await _at(session, "last of April", datetime(2027, 4, 30, 21, 59, 59, tzinfo=UTC))
    await _at(session, "first of May", datetime(2027, 4, 30, 22, 0, tzinfo=UTC))
    assert await _titles(session, member, month="2027-03") == ["last of March"]
    assert await _titles(session, member, month="2027-04") == ["first of April", "last of April"]
    assert await _titles(session, member, month="2027-05") == ["first of May"]
    assert await _titles(session, member, month="2027-13") == []
    assert len(await _titles(session, member)) == 4  # suggestions: everything still to come


async def test_a_region_online_and_what_is_not_published(session: AsyncSession) -> None:
    (member,) = await factories.bare_members(session, 1, region_code="oost")
    await factories.workshop(session, "Zwolle", "Zwolle", now=NOW, region_code="oost")
    await factories.workshop(session, "Leiden", "Leiden", now=NOW, region_code="west")
    await factories.workshop(session, "Online", None, now=NOW, region_code="oost")
    cancelled = await factories.workshop(session, "Gone", "Deventer", now=NOW, region_code="oost")
    gone = await session.get(Workshop, cancelled)
    assert gone is not None
    gone.status = "cancelled"
    await session.commit()
    assert await _titles(session, member, region="oost") == ["Online", "Zwolle"]
    assert await _titles(session, member, region="west") == ["Leiden"]
    assert await _titles(session, member, region=workshops.ONLINE) == ["Online"]
    assert await _titles(session, member, region="noord") == []
    regions = (await workshops.listing(session, member, NOW, AMSTERDAM, region="oost")).regions
    assert [r.code for r in regions] == ["noord", "oost", "west", "zuid"]


async def test_topics_named_as_the_catalogue_names_them_now(session: AsyncSession) -> None:
    await catalogue.ensure_defaults(session)
    member = await factories.onboarded(session, 1, "Ada", "Zwolle", wishes="debatteren")
    debate = (await factories.skill_ids(session, "debatteren"))[0]
    wid = await factories.workshop(session, now=NOW, skills=("debatteren", "begroting lezen"))
    found = await workshops.listing(session, member, NOW, AMSTERDAM, max_km=150)
    (hit,) = found.hits
    assert hit.wishes == (debate,)
    assert debate in {t.id for t in hit.workshop.topics} and len(hit.workshop.topics) == 2
    # A skill another worker added: not in this worker's cache yet.
    added = Skill(key="moestuin", category="custom", name_nl="Moestuin", name_en="Garden",
                  name_sv="Trädgård")  # fmt: skip
    session.add(added)
    workshop = await session.get(Workshop, wid)
    assert workshop is not None
    await session.refresh(workshop, ["topics"])
    workshop.topics.append(added)
    await session.commit()
    (hit,) = (await workshops.listing(session, member, NOW, AMSTERDAM, max_km=150)).hits
    assert {t.name("en") for t in hit.workshop.topics} >= {"Garden"}
    await catalogue.rename(session, debate, "nl", "Debatteren voor gevorderden")
    (hit,) = (await workshops.listing(session, member, NOW, AMSTERDAM, max_km=150)).hits
    names = sorted(t.name("nl") for t in hit.workshop.topics)
    assert "Debatteren voor gevorderden" in names and "Moestuin" in names and len(names) == 3


async def test_wishes_carried_with_the_workshops_as_read_apart(session: AsyncSession) -> None:
    await catalogue.ensure_defaults(session)
    member = await factories.onboarded(session, 1, "Ada", "Zwolle", wishes="debatteren")
    (other,) = await factories.bare_members(session, 1)
    assert await repo.upcoming_with_wishes(session, NOW, member.id) == ([], [])  # none needed
    await factories.workshop(session, now=NOW, skills=("debatteren",))
    await factories.workshop(session, "Online", None, now=NOW)
    listed, wishes = await repo.upcoming_with_wishes(session, NOW, member.id)
    assert listed == await repo.upcoming_listed(session, NOW)
    assert wishes == sorted(await skill_repo.wish_ids(session, member.id)) != []
    assert (await repo.upcoming_with_wishes(session, NOW, other.id))[1] == []
