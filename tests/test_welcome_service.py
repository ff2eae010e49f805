"""Welcome follow-up, the service on both databases: the fair rotation, no double assignment
under concurrent passes, the member's "do not contact me", the card's contents, marking, the
organisers' 14-day overview and reassigning."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import clock
from bot.services import privacy, welcome
from bot.services.roles import ALL_REGIONS, RoleName, Scope
from storage.models import welcomes
from tests import factories
from tests.factories import NOW

DAYS = 30


async def volunteers(session: AsyncSession, n: int, region: str, start: int) -> list[int]:
    people = await factories.bare_members(session, n, start, region_code=region, first_name="V")
    for person in people:
        await factories.give_role(session, person.telegram_id, RoleName.VOLUNTEER)
    return [p.telegram_id for p in people]


async def newcomers(session: AsyncSession, n: int, region: str, start: int, **fields: object):
    with clock.travel_to(NOW - timedelta(days=1)):
        return await factories.bare_members(
            session, n, start, region_code=region, first_name="Nieuw", **fields
        )


async def test_ten_newcomers_three_volunteers_four_three_three(session: AsyncSession) -> None:
    ours = await volunteers(session, 3, "oost", 500)
    theirs = await volunteers(session, 2, "west", 600)
    await newcomers(session, 10, "oost", 1000)
    done = await welcome.assign_due(session, NOW, DAYS)
    assert len(done) == 10
    load = Counter(a.volunteer_id for a in done)
    assert sorted(load.values()) == [3, 3, 4]
    assert set(load) == set(ours) and not set(load) & set(theirs)
    # the next newcomer goes to one of the two with three open
    more = await newcomers(session, 1, "oost", 2000)
    (next_one,) = await welcome.assign_due(session, NOW + timedelta(minutes=1), DAYS)
    assert next_one.member_id == more[0].id and load[next_one.volunteer_id] == 3
    assert await welcome.assign_due(session, NOW + timedelta(minutes=2), DAYS) == []


async def test_ties_go_to_the_least_recently_assigned(session: AsyncSession) -> None:
    first, second = await volunteers(session, 2, "noord", 500)
    await newcomers(session, 1, "noord", 1000)
    (a,) = await welcome.assign_due(session, NOW, DAYS)
    await welcome.mark(session, a.welcome_id, a.volunteer_id, True, NOW)
    await newcomers(session, 1, "noord", 1100)
    (b,) = await welcome.assign_due(session, NOW + timedelta(hours=1), DAYS)
    assert {a.volunteer_id, b.volunteer_id} == {first, second}  # both 0 open: not a again
    await welcome.mark(session, b.welcome_id, b.volunteer_id, True, NOW)
    await newcomers(session, 1, "noord", 1200)
    (c,) = await welcome.assign_due(session, NOW + timedelta(hours=2), DAYS)
    assert c.volunteer_id == a.volunteer_id


async def test_without_a_volunteer_they_wait_and_organisers_see_them(
    session: AsyncSession,
) -> None:
    await volunteers(session, 1, "west", 500)
    people = await newcomers(session, 2, "zuid", 1000)
    assert await welcome.assign_due(session, NOW, DAYS) == []
    page = await welcome.overview(session, ALL_REGIONS, NOW, 0)
    assert page.total == 2 and [r.member_id for r in page.rows] == [p.id for p in people]
    assert {r.state for r in page.rows} == {"waiting"}
    assert (await welcome.overview(session, Scope(frozenset({"west"})), NOW, 0)).total == 0
    # a volunteer arrives: the waiting ones are given out at the next pass
    (v,) = await volunteers(session, 1, "zuid", 700)
    done = await welcome.assign_due(session, NOW + timedelta(days=60), DAYS)
    assert [a.volunteer_id for a in done] == [v, v]


async def test_old_members_and_those_without_a_region_are_not_welcomed(
    session: AsyncSession,
) -> None:
    await volunteers(session, 1, "oost", 500)
    with clock.travel_to(NOW - timedelta(days=DAYS + 1)):
        await factories.bare_members(session, 1, 1000, region_code="oost")
    await newcomers(session, 1, "oost", 2000, unreachable_since=NOW)
    with clock.travel_to(NOW - timedelta(days=1)):
        await factories.bare_members(session, 1, 3000)
    assert await welcome.assign_due(session, NOW, DAYS) == []


async def test_two_concurrent_passes_never_assign_twice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await volunteers(session, 3, "oost", 500)
        await newcomers(session, 30, "oost", 1000)

    async def one_pass() -> list[welcome.Assigned]:
        async with sessions() as session:
            return await welcome.assign_due(session, NOW, DAYS)

    first, second = await asyncio.gather(one_pass(), one_pass())
    assert len(first) + len(second) == 30
    assert not {a.member_id for a in first} & {a.member_id for a in second}
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(welcomes)) == 30
        load = Counter((await session.execute(select(welcomes.c.volunteer_id))).scalars().all())
    assert sorted(load.values()) == [10, 10, 10]


async def test_a_member_who_declines_is_not_assigned_and_an_open_one_withdrawn(
    session: AsyncSession,
) -> None:
    (v,) = await volunteers(session, 1, "oost", 500)
    early, late = await newcomers(session, 2, "oost", 1000)
    await welcome.decline(session, early, NOW)
    (given,) = await welcome.assign_due(session, NOW, DAYS)
    assert given.member_id == late.id
    await welcome.decline(session, late, NOW)
    with pytest.raises(welcome.AlreadyDone):
        await welcome.mark(session, given.welcome_id, v, True, NOW)
    assert await welcome.open_of(session, v) == []
    found = await welcome.of_member(session, late)
    assert found is not None and found.state == "declined" and found.volunteer_id == v
    # changing their mind: the next pass welcomes them after all
    await welcome.allow(session, early)
    (again,) = await welcome.assign_due(session, NOW + timedelta(hours=1), DAYS)
    assert again.member_id == early.id


async def test_the_card_shows_only_what_the_member_shares(session: AsyncSession) -> None:
    await volunteers(session, 1, "oost", 500)
    with clock.travel_to(NOW - timedelta(days=1)):
        shy = await factories.onboarded(
            session, 1001, "Sanne", "Zwolle", region="oost", wishes="debatteren", findable=False
        )
        open_ = await factories.onboarded(
            session, 1002, "Joost", "Zwolle", region="oost", wishes="debatteren", findable=True,
            username="joost_z",
        )  # fmt: skip
    done = {a.member_id: a for a in await welcome.assign_due(session, NOW, DAYS)}
    hidden = await welcome.card(session, done[shy.id].welcome_id)
    shown = await welcome.card(session, done[open_.id].welcome_id)
    assert hidden is not None and shown is not None
    assert (hidden.first_name, hidden.region_code, hidden.wishes, hidden.username) == (
        "Sanne", "oost", (), None,
    )  # fmt: skip
    assert shown.username == "joost_z"
    assert [w.label("en") for w in shown.wishes] == ["debatteren"]


async def test_marking_contacted_only_by_their_volunteer_and_once(session: AsyncSession) -> None:
    mine, other = await volunteers(session, 2, "oost", 500)
    await newcomers(session, 1, "oost", 1000)
    (a,) = await welcome.assign_due(session, NOW, DAYS)
    stranger = other if a.volunteer_id == mine else mine
    with pytest.raises(welcome.NotYours):
        await welcome.mark(session, a.welcome_id, stranger, True, NOW)
    with pytest.raises(welcome.NotYours):
        await welcome.mark(session, 99999, a.volunteer_id, True, NOW)
    done = await welcome.mark(session, a.welcome_id, a.volunteer_id, True, NOW)
    assert (done.state, done.done_at) == ("contacted", NOW)
    with pytest.raises(welcome.AlreadyDone):
        await welcome.mark(session, a.welcome_id, a.volunteer_id, False, NOW)


async def test_overview_after_fourteen_days_paged_scoped_and_reassigned(
    session: AsyncSession,
) -> None:
    first, second = await volunteers(session, 2, "oost", 500)
    await volunteers(session, 1, "west", 600)
    await newcomers(session, 10, "oost", 1000)
    await newcomers(session, 1, "west", 2000)
    given = await welcome.assign_due(session, NOW, DAYS)
    done = [a for a in given if a.volunteer_id in (first, second)]
    await welcome.mark(session, done[0].welcome_id, done[0].volunteer_id, True, NOW)
    await welcome.mark(session, done[1].welcome_id, done[1].volunteer_id, False, NOW)
    assert (await welcome.overview(session, ALL_REGIONS, NOW + timedelta(days=12), 0)).total == 0
    later = NOW + timedelta(days=14)
    page = await welcome.overview(session, ALL_REGIONS, later, 0)
    assert (page.total, page.pages, len(page.rows)) == (10, 2, 8)
    assert len((await welcome.overview(session, ALL_REGIONS, later, 1)).rows) == 2
    oost = Scope(frozenset({"oost"}))
    page = await welcome.overview(session, oost, later, 0)
    assert page.total == 9 and {r.region_code for r in page.rows} == {"oost"}
    assert set(page.volunteer_names) <= {first, second}
    west_row = next(a for a in given if a.volunteer_id not in (first, second))
    with pytest.raises(welcome.NotAllowed):
        await welcome.reassign(session, west_row.welcome_id, oost, later)
    with pytest.raises(welcome.NoVolunteer):  # west has nobody else
        await welcome.reassign(session, west_row.welcome_id, ALL_REGIONS, later)
    moved = await welcome.reassign(session, done[2].welcome_id, oost, later)
    assert moved.volunteer_id != done[2].volunteer_id
    with pytest.raises(welcome.AlreadyDone):
        await welcome.reassign(session, done[0].welcome_id, oost, later)


async def test_my_data_holds_the_welcome_and_erasure_removes_it(session: AsyncSession) -> None:
    (v,) = await volunteers(session, 1, "oost", 500)
    (newcomer,) = await newcomers(session, 1, "oost", 1000)
    (a,) = await welcome.assign_due(session, NOW, DAYS)
    await welcome.mark(session, a.welcome_id, v, True, NOW + timedelta(days=2))
    data = await privacy.export(session, newcomer.telegram_id)
    assert [(r["state"], r["volunteer_id"]) for r in data["welcomes"]] == [("contacted", v)]
    assert [r["member_id"] for r in (await privacy.export(session, v))["welcomes"]] == [newcomer.id]
    # the volunteer erased: the welcome stays for the goals, without their id
    await privacy.erase(session, v)
    found = await welcome.of_member(session, newcomer)
    assert found is not None and (found.state, found.volunteer_id) == ("contacted", None)
    # the member erased: their welcome is gone
    await privacy.erase(session, newcomer.telegram_id)
    assert await session.scalar(select(func.count()).select_from(welcomes)) == 0


async def test_an_open_welcome_of_an_erased_volunteer_goes_to_another(
    session: AsyncSession,
) -> None:
    first, second = await volunteers(session, 2, "oost", 500)
    await newcomers(session, 1, "oost", 1000)
    (a,) = await welcome.assign_due(session, NOW, DAYS)
    await privacy.erase(session, a.volunteer_id)
    (b,) = await welcome.assign_due(session, NOW + timedelta(hours=1), DAYS)
    assert (
        b.welcome_id == a.welcome_id
        and b.volunteer_id == ({first, second} - {a.volunteer_id}).pop()
    )


async def test_the_cards_are_written_with_the_assignments_or_neither(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await volunteers(session, 1, "oost", 500)
        await newcomers(session, 2, "oost", 1000)

    async def crash(given: list[welcome.Assigned]) -> None:
        assert len(given) == 2
        raise RuntimeError("the outbox is full")

    async with sessions() as session:
        with pytest.raises(RuntimeError):
            await welcome.assign_due(session, NOW, DAYS, before_commit=crash)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(welcomes)) == 0
        assert len(await welcome.assign_due(session, NOW, DAYS)) == 2
