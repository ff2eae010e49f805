"""Learning tracks, finished, on SQLite and PostgreSQL: withdrawing with the first waiting
moving up, editing within the organiser's region, the completion claimed once, the
train-the-trainer answer, and no more places taken than the track has under concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import clock
from bot.services import catalogue, tracks
from bot.services.roles import ALL_REGIONS, Scope
from storage.models import Member, MemberSkill, Signup, Track, TrackPlace
from tests import factories

OOST = Scope(frozenset({"oost"}))


async def people(session: AsyncSession, n: int, start: int = 0) -> list[Member]:
    return await factories.bare_members(session, n, 810_000 + start)


async def statuses(session: AsyncSession, track_id: int) -> dict[int, str]:
    rows = await session.execute(
        select(TrackPlace.member_id, TrackPlace.status).where(TrackPlace.track_id == track_id)
    )
    return {member_id: status for member_id, status in rows}


async def test_withdrawing_gives_the_place_to_the_first_waiting(session: AsyncSession) -> None:
    members = await people(session, 4)
    track = await tracks.create(session, title="Stap 1", places=2)
    for m in members:
        await tracks.apply(session, m, track.id)
    left = await tracks.withdraw(session, members[0], track.id)
    assert left == tracks.Withdrew("placed", (members[2].id,))
    assert (await statuses(session, track.id))[members[0].id] == "withdrawn"
    place = await session.scalar(select(TrackPlace).where(TrackPlace.member_id == members[3].id))
    assert place is not None and await tracks.position_of(session, place) == 1
    # leaving the waiting list frees no place
    assert await tracks.withdraw(session, members[3], track.id) == tracks.Withdrew("waiting", ())
    with pytest.raises(tracks.NotApplied):  # twice, or a forged button
        await tracks.withdraw(session, members[3], track.id)
    with pytest.raises(tracks.TrackGone):
        await tracks.withdraw(session, members[1], 9999)
    assert members[1].id  # the member object stays usable after a refusal
    # applying again after withdrawing: at the back
    assert (await tracks.apply(session, members[0], track.id)).status == "waiting"


async def test_more_places_move_the_waiting_up_and_fewer_than_placed_are_refused(
    session: AsyncSession,
) -> None:
    members = await people(session, 5)
    track = await tracks.create(session, title="Stap 1", places=2)
    for m in members:
        await tracks.apply(session, m, track.id)
    with pytest.raises(tracks.TooFewPlaces) as few:
        await tracks.edit(session, ALL_REGIONS, track.id, tracks.Field.PLACES, 1)
    assert few.value.taken == 2
    edited = await tracks.edit(session, ALL_REGIONS, track.id, tracks.Field.PLACES, 4)
    assert edited.promoted == (members[2].id, members[3].id)
    await session.refresh(track)
    assert track.places == 4
    with pytest.raises(tracks.Invalid):
        await tracks.edit(session, ALL_REGIONS, track.id, tracks.Field.PLACES, 10_001)
    with pytest.raises(tracks.Invalid):
        await tracks.edit(session, ALL_REGIONS, track.id, tracks.Field.TITLE, "  ")
    with pytest.raises(tracks.Invalid):
        await tracks.edit(session, ALL_REGIONS, track.id, tracks.Field.TITLE, "x" * 201)
    await session.refresh(track)
    assert (track.title, track.places) == ("Stap 1", 4)


async def test_prerequisites_cannot_go_round_in_a_circle(session: AsyncSession) -> None:
    one = await tracks.create(session, title="Stap 1", places=5)
    two = await tracks.create(session, title="Stap 2", places=5, prerequisite_id=one.id)
    three = await tracks.create(session, title="Stap 3", places=5, prerequisite_id=two.id)
    for before in (one.id, three.id, 9999):
        with pytest.raises(tracks.BadPrerequisite):
            await tracks.edit(session, ALL_REGIONS, one.id, tracks.Field.PREREQUISITE, before)
    await tracks.edit(session, ALL_REGIONS, three.id, tracks.Field.PREREQUISITE, one.id)
    await tracks.edit(session, ALL_REGIONS, two.id, tracks.Field.PREREQUISITE, None)
    await session.refresh(two)
    await session.refresh(three)
    assert (two.prerequisite_id, three.prerequisite_id) == (None, one.id)
    with pytest.raises(tracks.BadPrerequisite):
        await tracks.create(session, title="X", places=1, prerequisite_id=9999)


async def test_a_regional_organiser_acts_in_their_region_only(session: AsyncSession) -> None:
    with pytest.raises(tracks.NotAllowed):
        await tracks.create(session, title="West", places=5, region_code="west", scope=OOST)
    with pytest.raises(tracks.NotAllowed):  # national: for organisers of every region
        await tracks.create(session, title="Landelijk", places=5, scope=OOST)
    mine = await tracks.create(session, title="Oost", places=5, region_code="oost", scope=OOST)
    west = await tracks.create(session, title="West", places=5, region_code="west")
    with pytest.raises(tracks.NotAllowed):
        await tracks.edit(session, OOST, west.id, tracks.Field.TITLE, "Van mij")
    with pytest.raises(tracks.NotAllowed):  # moving their track out of their region
        await tracks.edit(session, OOST, mine.id, tracks.Field.REGION, "west")
    assert not tracks.may_edit(OOST, west) and tracks.may_edit(OOST, mine)
    assert not tracks.may_edit(None, mine)
    in_west = await factories.workshop(session, "Utrecht dag", "Utrecht", region_code="west")
    in_oost = await factories.workshop(session, "Zwolle dag", "Zwolle", region_code="oost")
    with pytest.raises(tracks.BadSessions) as bad:
        await tracks.edit(session, OOST, mine.id, tracks.Field.SESSIONS, [in_oost, in_west, 777])
    assert bad.value.ids == tuple(sorted((777, in_west)))
    await tracks.edit(session, OOST, mine.id, tracks.Field.SESSIONS, [in_oost])
    card = await tracks.card(session, mine.id)
    assert card is not None and [w.id for w in card.sessions] == [in_oost]
    await tracks.edit(session, ALL_REGIONS, west.id, tracks.Field.SESSIONS, [in_west])
    with pytest.raises(tracks.BadSessions):  # taking a West session out of a West track
        await tracks.edit(session, OOST, mine.id, tracks.Field.SESSIONS, [in_oost, in_west])
    await session.refresh(west)
    assert (west.title, west.region_code) == ("West", "west")


async def completed_track(
    session: AsyncSession, members: list[Member], *, prerequisite: int | None = None
) -> Track:
    """A track with two sessions that ended yesterday, every one of `members` placed."""
    await catalogue.ensure_defaults(session)
    await session.commit()
    skills = await factories.skill_ids(session, "debatteren", "begroting lezen")
    track = await tracks.create(
        session, title="Stap 2", places=10, prerequisite_id=prerequisite, skill_ids=skills
    )
    for n in (1, 2):
        workshop = await factories.workshop(session, f"Dag {n}", starts_in=timedelta(days=n))
        await tracks.add_session(session, track.id, workshop)
        for m in members:
            session.add(Signup(workshop_id=workshop, member_id=m.id, status="confirmed"))
    await session.commit()
    session.add_all(  # placed (step 1 done long ago: the prerequisite is not this test's)
        TrackPlace(track_id=track.id, member_id=m.id, status="placed") for m in members
    )
    await session.commit()
    return track


async def test_completion_is_claimed_once_with_what_it_unlocks(session: AsyncSession) -> None:
    members = await people(session, 3)
    step1 = await tracks.create(session, title="Stap 1", places=10)
    track = await completed_track(session, members, prerequisite=step1.id)
    step3 = await tracks.create(session, title="Stap 3", places=10, prerequisite_id=track.id)
    later = clock.now() + timedelta(days=5)
    assert await tracks.claim_completions(session, later) == []  # nobody checked in
    await session.execute(
        update(Signup)
        .where(Signup.member_id.in_([members[0].id, members[1].id]))
        .values(checked_in_at=clock.now())
    )
    await session.execute(  # the third came to one of the two days
        update(Signup)
        .where(
            Signup.member_id == members[2].id,
            Signup.id == select(func.min(Signup.id)).scalar_subquery(),
        )
        .values(checked_in_at=clock.now())
    )
    await session.commit()
    assert await tracks.claim_completions(session, clock.now()) == []  # not over yet
    [done] = await tracks.claim_completions(session, later)
    assert done.member_ids == (members[0].id, members[1].id)
    assert [t.title for t in done.unlocks] == [step3.title]
    assert {s.key for s in done.skills} and done.asks_to_teach
    assert await tracks.claim_completions(session, later) == []  # told once


async def test_train_the_trainer_yes_gives_the_level_teach(session: AsyncSession) -> None:
    members = await people(session, 3)
    step1 = await tracks.create(session, title="Stap 1", places=10)
    track = await completed_track(session, members, prerequisite=step1.id)
    await session.execute(update(Signup).values(checked_in_at=clock.now()))
    await session.commit()
    yes, no, outsider = members
    (debating,) = await factories.skill_ids(session, "debatteren")
    session.add(  # a talent they had already, at a lower level
        MemberSkill(member_id=yes.id, skill_id=debating, typed_text="debat", kind="talent",
                    level="some")
    )  # fmt: skip
    await session.commit()
    with pytest.raises(tracks.NotCompleted):  # not told yet: a forged button
        await tracks.answer_teach(session, yes, track.id, True)
    await tracks.claim_completions(session, clock.now() + timedelta(days=5))
    taught = await tracks.answer_teach(session, yes, track.id, True)
    assert len(taught) == 2
    await tracks.answer_teach(session, yes, track.id, True)  # twice changes nothing more
    await tracks.answer_teach(session, no, track.id, False)
    columns = (MemberSkill.member_id, MemberSkill.skill_id, MemberSkill.level)
    rows = (await session.execute(select(*columns, MemberSkill.typed_text))).all()
    assert sorted((r.skill_id, r.level) for r in rows if r.member_id == yes.id) == sorted(
        (s.id, "teach") for s in taught
    )
    assert "debat" in {r.typed_text for r in rows}  # the member's own word kept
    assert not [r for r in rows if r.member_id == no.id]
    with pytest.raises(tracks.NotCompleted):
        await tracks.answer_teach(session, outsider, step1.id, True)


async def test_concurrent_withdrawals_and_applications_never_overbook(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """5 places: 5 placed and 10 waiting withdraw and apply all at once with 15 newcomers,
    each in its own transaction, while a watcher counts: never more than 5 placed, and in
    the end every place is taken, by someone still in, first come first served."""
    async with sessions() as session:
        members = await people(session, 30)
        track = await tracks.create(session, title="Druk", places=5)
        for m in members[:15]:
            await tracks.apply(session, m, track.id)
        track_id = track.id
    ids = [m.id for m in members]
    seen: list[int] = []
    stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set():
            async with sessions() as session:
                placed = await session.scalar(
                    select(func.count()).where(
                        TrackPlace.track_id == track_id, TrackPlace.status == "placed"
                    )
                )
                seen.append(int(placed or 0))
            await asyncio.sleep(0)

    async def act(member_id: int, leave: bool) -> tuple[int, ...]:
        async with sessions() as session:
            member = await session.get(Member, member_id)
            assert member is not None
            if leave:
                return (await tracks.withdraw(session, member, track_id)).promoted
            await tracks.apply(session, member, track_id)
            return ()

    watcher = asyncio.create_task(watch())
    leaving = ids[:5] + ids[5:15:2]  # every placed member and half the waiting list
    results = await asyncio.gather(
        *(act(i, True) for i in leaving), *(act(i, False) for i in ids[15:])
    )
    stop.set()
    await watcher
    promoted = [p for r in results for p in r]
    async with sessions() as session:
        final = await statuses(session, track_id)
    placed = [i for i, s in final.items() if s == "placed"]
    assert len(placed) == 5 and max(seen) <= 5
    assert len(promoted) == len(set(promoted)) and not set(placed) & set(leaving)
    assert not set(promoted) & set(ids[:5])  # the first placed never waited
    assert set(placed) <= set(promoted) | set(ids[15:])
    assert sum(s == "withdrawn" for s in final.values()) == len(leaving)
    assert all(final[i] == "waiting" for i in ids[6:15:2] if i not in placed)


async def test_after_the_draw_a_withdrawal_moves_the_first_waiting_up(
    session: AsyncSession,
) -> None:
    """Before the draw leaving frees nothing (the draw gives the places); after it the first
    on the drawn waiting list moves up."""
    members = await people(session, 5)
    now = clock.now()
    track = await tracks.create(session, title="Loting", places=2, lottery_at=now)
    for m in members:
        await tracks.apply(session, m, track.id)
    assert await tracks.withdraw(session, members[4], track.id) == tracks.Withdrew("applied", ())
    result = await tracks.run_draw(session, track.id, now)
    assert len(result.placed) == 2 and len(result.waiting) == 2
    winner = next(m for m in members if m.id == result.placed[0])
    left = await tracks.withdraw(session, winner, track.id)
    assert left == tracks.Withdrew("placed", (result.waiting[0],))


async def test_erasure_leaves_every_track_and_frees_the_place(session: AsyncSession) -> None:
    """`withdraw_everywhere`, for /vergeetmij: the erased member's rows go, their place goes
    to the first waiting."""
    me, first, second = await people(session, 3)
    one = await tracks.create(session, title="Een", places=1)
    two = await tracks.create(session, title="Twee", places=0)
    for person in (me, first, second):
        await tracks.apply(session, person, one.id)
    await tracks.apply(session, me, two.id)
    done = await tracks.withdraw_everywhere(session, me.id)
    assert sorted(done) == [(one.id, (first.id,)), (two.id, ())]
    assert me.id not in await statuses(session, one.id)
    assert await statuses(session, two.id) == {}
