"""Learning tracks on SQLite and PostgreSQL: prerequisites, first come first served, and
the lottery drawn once, weighted, and verifiable from the published seed."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services import privacy, tracks
from bot.services.places import default_gazetteer
from bot.services.workshops import Draft, create
from storage.models import Member, Signup, TrackPlace
from tests import factories

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


async def people(session: AsyncSession, n: int, start: int = 0) -> list[Member]:
    return await factories.bare_members(session, n, 800_000 + start)


async def test_first_come_first_served_with_a_waiting_list(session: AsyncSession) -> None:
    members = await people(session, 4)
    track = await tracks.create(session, title="Ledenscholing stap 1", places=2)
    results = [await tracks.apply(session, m, track.id) for m in members]
    assert [(r.status, r.position) for r in results] == [
        ("placed", 0), ("placed", 0), ("waiting", 1), ("waiting", 2),
    ]  # fmt: skip
    with pytest.raises(tracks.AlreadyApplied):
        await tracks.apply(session, members[0], track.id)


async def test_step_2_needs_every_session_of_step_1(session: AsyncSession) -> None:
    (member,) = await people(session, 1)
    step1 = await tracks.create(session, title="Stap 1", places=10)
    step2 = await tracks.create(session, title="Stap 2", places=10, prerequisite_id=step1.id)
    sessions = []
    for day in (1, 8):
        workshop = await create(
            session,
            Draft(
                title=f"Stap 1 dag {day}", starts_at=NOW + timedelta(days=day),
                ends_at=NOW + timedelta(days=day, hours=3), capacity=10,
                place=default_gazetteer().search("Utrecht")[0].place,
            ),
        )  # fmt: skip
        await tracks.add_session(session, step1.id, workshop.id)
        session.add(
            Signup(workshop_id=workshop.id, member_id=member.id, status="confirmed", position=1)
        )
        sessions.append(workshop.id)
    await session.commit()
    with pytest.raises(tracks.PrerequisiteMissing) as missing:
        await tracks.apply(session, member, step2.id)
    assert missing.value.prerequisite.title == "Stap 1"
    await session.execute(
        update(Signup).where(Signup.workshop_id == sessions[0]).values(checked_in_at=NOW)
    )
    await session.commit()
    assert not await tracks.completed(session, member.id, step1.id)  # one of two sessions
    await session.execute(update(Signup).values(checked_in_at=NOW))
    await session.commit()
    assert await tracks.completed(session, member.id, step1.id)
    assert (await tracks.apply(session, member, step2.id)).status == "placed"


async def test_the_lottery_is_drawn_once_weighted_and_verifiable(session: AsyncSession) -> None:
    members = await people(session, 12)
    earlier = await tracks.create(session, title="Eerder", places=6)
    for m in members[:6]:  # half of them had a place before
        await tracks.apply(session, m, earlier.id)
    track = await tracks.create(session, title="Leiderschap", places=4, lottery_at=NOW)
    assert track.seed and len(track.seed) == 32  # secret until the draw
    assert track.seed_commitment == hashlib.sha256(track.seed.encode()).hexdigest()
    for m in members:
        assert (await tracks.apply(session, m, track.id, "Omdat ik wil leren")).status == "applied"
    assert await tracks.due_draws(session, NOW - timedelta(minutes=1)) == []
    assert await tracks.due_draws(session, NOW) == [track.id]
    result = await tracks.run_draw(session, track.id, NOW)
    assert len(result.placed) == 4 and len(result.waiting) == 8
    with pytest.raises(tracks.TrackError):
        await tracks.run_draw(session, track.id, NOW)  # only once
    rows = list(await session.scalars(select(TrackPlace).where(TrackPlace.track_id == track.id)))
    weights = {r.member_id: r.previous_places for r in rows}
    assert sorted(weights.values()) == [0] * 6 + [1] * 6
    checked = await tracks.verify(session, track.id, f" {track.seed} ")
    assert checked.ok and checked.winners == result.placed
    assert [line.ticket for line in checked.tickets] != []
    other = await tracks.verify(session, track.id, "0" * 32)
    assert not other.commitment_ok
    assert not other.draw_ok  # 12 applicants: another seed gives the same order ~1 in 2e7
    late = await people(session, 1, start=100)
    assert (await tracks.apply(session, late[-1], track.id)).status == "waiting"


async def test_ledenbot_lottery_verify_as_a_real_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from storage.engine import create_engine, create_session_factory
    from storage.migrate import upgrade
    from tests.test_cli import run_cli

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    async with create_session_factory(engine)() as session:
        members = await people(session, 12)  # another seed giving the same order: ~1 in 2e7
        track = await tracks.create(session, title="Loting", places=4, lottery_at=NOW)
        for m in members:
            await tracks.apply(session, m, track.id)
        result = await tracks.run_draw(session, track.id, NOW)
        seed, track_id = track.seed, track.id
    await engine.dispose()
    code, out = await run_cli(tmp_path, "lottery", "verify", str(track_id), str(seed))
    assert code == 0, out
    assert f"winners (member ids, in draw order): {' '.join(map(str, result.placed))}" in out
    assert out.strip().splitlines()[-1] == "commitment ok, draw ok"
    assert "tickets in draw order" in out and len(out.splitlines()) >= 12 + 4
    code, out = await run_cli(tmp_path, "lottery", "verify", str(track_id), "not-the-seed")
    assert code == 1 and "commitment mismatch" in out and "commitment ok" not in out


async def test_verify_names_a_wrong_seed_and_a_tampered_allocation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A wrong seed fails the commitment; the right seed with places swapped afterwards
    fails the draw; both exit non-zero with the reason."""
    from storage.engine import create_engine, create_session_factory
    from storage.migrate import upgrade
    from tests.test_cli import run_cli

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    async with create_session_factory(engine)() as session:
        members = await people(session, 6)
        track = await tracks.create(session, title="Loting", places=2, lottery_at=NOW)
        for m in members:
            await tracks.apply(session, m, track.id)
        result = await tracks.run_draw(session, track.id, NOW)
        seed, track_id = str(track.seed), track.id
        wrong = await tracks.verify(session, track_id, seed[::-1])
        assert (wrong.commitment_ok, wrong.ok) == (False, False)
        winner, loser = result.placed[0], result.waiting[0]
        for member_id, status in ((winner, "waiting"), (loser, "placed")):
            await session.execute(
                update(TrackPlace)
                .where(TrackPlace.track_id == track_id, TrackPlace.member_id == member_id)
                .values(status=status, position=1)
            )
        await session.commit()
        tampered = await tracks.verify(session, track_id, seed)
        assert (tampered.commitment_ok, tampered.draw_ok) == (True, False)
    await engine.dispose()
    code, out = await run_cli(tmp_path, "lottery", "verify", str(track_id), seed)
    assert code == 1 and "draw mismatch" in out and "commitment mismatch" not in out
    code, out = await run_cli(tmp_path, "lottery", "verify", str(track_id), seed[::-1])
    assert code == 1 and "commitment mismatch" in out


async def test_ledenbot_tracks_create_and_add_as_a_real_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from storage.engine import create_engine, create_session_factory
    from tests.test_cli import run_cli

    code, out = await run_cli(tmp_path, "tracks", "create", "--title", "Stap 1", "--places", "20")
    assert (code, out.strip().splitlines()[-1]) == (0, "track 1 created")
    code, out = await run_cli(
        tmp_path, "tracks", "create", "--title", "Stap 2", "--places", "20", "--after", "1",
        "--lottery", "2031-01-10 12:00", "--intake", "Waarom?",
    )  # fmt: skip
    assert code == 0 and "track 2 created; publish the lottery commitment" in out
    commitment = out.strip().split()[-1]
    assert len(commitment) == 64 and "seed (publish it)" not in out
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    async with create_session_factory(engine)() as session:
        track = await tracks.get(session, 2)
        assert track is not None and track.seed and track.seed not in out
        assert track.seed_commitment == commitment
    await engine.dispose()
    code, out = await run_cli(tmp_path, "tracks", "add", "1", "99")
    assert code == 2 and "no such track or workshop" in out
    code, out = await run_cli(tmp_path, "tracks", "create", "--title", "X", "--places", "1",
                              "--lottery", "morgen")  # fmt: skip
    assert code == 2 and "2027-01-10 12:00" in out


async def draw_numbers(session: AsyncSession, track_id: int, seed: str) -> dict[int, float]:
    """Each ticket's random number ``u`` (its draw number), from the verifier's printout."""
    return {line.ticket: line.u for line in (await tracks.verify(session, track_id, seed)).tickets}


async def test_re_registering_with_a_new_member_id_changes_no_draw_number(
    session: AsyncSession,
) -> None:
    """The old draw hashed the member id, and /vergeetmij + /start gives a new one: a member
    could re-roll. Now a ticket is the place in the order of applying, so the same sequence
    of applications gives everyone, the re-registered member too, the same number."""
    members = await people(session, 6)
    first = await tracks.create(session, title="Eerste ronde", places=2, lottery_at=NOW)
    second = await tracks.create(session, title="Tweede ronde", places=2, lottery_at=NOW)
    second.seed, second.seed_commitment = first.seed, first.seed_commitment
    await session.commit()
    seed = str(first.seed)
    for n, m in enumerate(members):
        with clock.travel_to(NOW - timedelta(days=2, minutes=-n)):
            await tracks.apply(session, m, first.id)
    await tracks.run_draw(session, first.id, NOW)
    before = await draw_numbers(session, first.id, seed)
    old_id = members[2].id
    await privacy.erase(session, members[2].telegram_id)  # /vergeetmij ...
    (members[2],) = await factories.bare_members(session, 1, members[2].telegram_id)  # /start
    assert members[2].id != old_id
    for n, m in enumerate(members):
        with clock.travel_to(NOW - timedelta(days=1, minutes=-n)):
            await tracks.apply(session, m, second.id)
    await tracks.run_draw(session, second.id, NOW)
    after = await draw_numbers(session, second.id, seed)
    assert after == before and len(after) == 6
    checked = await tracks.verify(session, second.id, seed)
    assert {line.ticket: line.member_id for line in checked.tickets}[3] == members[2].id


async def test_tickets_follow_the_order_of_applying_not_member_ids(session: AsyncSession) -> None:
    """Members created in one order and applying in the reverse one: ticket 1 is the first
    to apply, whatever their member id."""
    members = await people(session, 4)
    track = await tracks.create(session, title="Volgorde", places=1, lottery_at=NOW)
    for n, m in enumerate(reversed(members)):
        with clock.travel_to(NOW - timedelta(hours=5 - n)):
            await tracks.apply(session, m, track.id)
    await tracks.run_draw(session, track.id, NOW)
    checked = await tracks.verify(session, track.id, str(track.seed))
    by_ticket = {line.ticket: line.member_id for line in checked.tickets}
    assert by_ticket == {1: members[3].id, 2: members[2].id, 3: members[1].id, 4: members[0].id}


@pytest.mark.e2e
async def test_the_seed_is_shown_nowhere_before_the_draw(sqlite_url: str) -> None:
    """Before the draw a member sees only the commitment, in /leergangen and when applying;
    after it /leergangen shows the seed, which hashes to that commitment."""
    from tests.botrunner import running_bot, t

    async with running_bot(sqlite_url, reminder_interval=0.2) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            for tid, name in ((7811, "Sara"), (7812, "Tom")):
                await factories.onboarded(session, tid, name, "Utrecht", locale="en")
            draw_at = clock.now() + timedelta(days=3)
            track = await tracks.create(session, title="Leiderschap", places=1, lottery_at=draw_at)
            seed, commitment = str(track.seed), str(track.seed_commitment)
        for tid, name in ((7811, "Sara"), (7812, "Tom")):
            user = bot.sandbox.user(tid, name, language_code="en")
            await user.send_text("/leergangen")
            page = await user.expect_text(t("en", "Learning tracks"))
            assert commitment in page.text
            await user.press("✍️ Leiderschap", message=page)
            applied = await user.expect_text("SHA-256")
            assert commitment in applied.text
            await user.send_text("/leergangen")
            await user.expect_text(t("en", "You are in the draw."))
            assert all(seed not in m.text for m in user.messages)
        with clock.travel_to(draw_at + timedelta(minutes=1)):
            sara = bot.sandbox.user(7811, "Sara", language_code="en")
            await sara.expect_text("Leiderschap", timeout=10)  # the draw's result
            await sara.send_text("/leergangen")
            page = await sara.expect_text(t("en", "Learning tracks"))
            assert f"(seed {seed})" in page.text
            assert hashlib.sha256(seed.encode()).hexdigest() == commitment


@pytest.mark.e2e
async def test_many_tracks_are_split_within_telegrams_limits(sqlite_url: str) -> None:
    """60 lottery tracks with the longest titles: every message of /leergangen stays within
    4,096 characters and 100 buttons, and every track is listed with its button."""
    from tests.botrunner import running_bot, t

    async with running_bot(sqlite_url) as bot:
        assert bot.app is not None
        titles = [f"{n:02d} <Leiderschap & debat> " + "x" * 170 for n in range(60)]
        async with bot.app.sessions() as session:
            await factories.onboarded(session, 7821, "Ruth", "Utrecht", locale="en")
            for title in titles:
                await tracks.create(
                    session, title=title, places=3, lottery_at=clock.now() + timedelta(days=9)
                )
        ruth = bot.sandbox.user(7821, "Ruth", language_code="en")
        await ruth.send_text("/leergangen")
        await ruth.expect_text(t("en", "Learning tracks"))
        await bot.sandbox.idle()
        pages = ruth.bot_messages
        assert len(pages) > 1
        assert all(len(p.text) <= 4096 and len(p.button_texts) <= 100 for p in pages)
        shown = "\n".join(p.text for p in pages)
        assert all(title in shown for title in titles)  # escaped in HTML, shown as typed
        assert sum(len(p.button_texts) for p in pages) == 60
