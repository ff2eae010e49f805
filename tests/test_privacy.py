"""GDPR completeness: every table is classified, an export holds every column that is about
the person, and after erasure no table mentions them."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import BigInteger, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import privacy, signups, tracks
from storage.models import (
    AuditEntry,
    Base,
    Broadcast,
    Consent,
    ContactRequest,
    Counsellor,
    Feedback,
    Member,
    MemberSkill,
    OutboxRow,
    Role,
    Signup,
    Skill,
    Track,
    TrackPlace,
    Workshop,
    knowledge_entries,
    linked_chats,
    question_messages,
    question_routes,
    questions,
    team_available,
    team_members,
    teams,
    welcomes,
    workshop_proposals,
)
from tests import factories
from tests.botrunner import running_bot, t

ME, NAME, OTHER = 424242, "Xandra", 515151
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def fill(session: AsyncSession) -> None:
    """The person in every role the schema knows, with every column set."""
    skill = Skill(key="debating", name_nl="Debatteren", name_en="Debating", name_sv="Debattera")
    me = Member(
        telegram_id=ME, locale="nl", kind="member", place_id=2755251, town="Groningen",
        latitude=53.2, longitude=6.56, region_code="noord", onboarding_step="done",
        first_name=NAME, username="xandra_g", contact_direct=True, findable=True,
        available_evenings=True, available_weekends=True, available_daytime=True,
        available_online=True, profile_step="contact", unreachable_since=NOW,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    other = Member(telegram_id=OTHER, locale="sv", first_name="Olof", onboarding_step="kind")
    session.add_all([skill, me, other])
    await session.flush()
    session.add_all(
        [
            Consent(member_id=me.id, version="2026-11", locale="nl", granted_at=NOW),
            Consent(member_id=other.id, version="2026-11", locale="sv", granted_at=NOW),
            MemberSkill(
                member_id=me.id, skill_id=skill.id, typed_text="debatteren", kind="talent",
                level="teach", status="ok", created_at=NOW,
            ),
            ContactRequest(
                requester_id=OTHER, member_id=me.id, skill_id=skill.id, status="accepted",
                created_at=NOW, answered_at=NOW,
            ),
            ContactRequest(requester_id=ME, member_id=other.id, skill_id=skill.id),
            Role(
                telegram_id=ME, role="organiser", region_code="noord", granted_by=OTHER,
                granted_at=NOW,
            ),
            Role(  # a role the person, an admin, gave someone else
                telegram_id=OTHER, role="trainer", region_code="noord", granted_by=ME,
                granted_at=NOW,
            ),
            AuditEntry(
                actor_id=ME, action="search", query="begroting", region_code="noord", results=3,
                created_at=NOW,
            ),
            Workshop(
                title="Debattraining", description="Oefenen", starts_at=NOW, ends_at=NOW,
                venue="Partijhuis", address="Grote Markt 1", place_id=2755251, town="Groningen",
                latitude=53.2, longitude=6.56, region_code="noord", online_url="https://x.nl/y",
                capacity=20, language="nl", members_only=True, signup_deadline=NOW,
                trainer_id=me.id, status="published", checkin_token="tok", lock_version=1,
                created_at=NOW,
                updated_at=NOW,
            ),
        ]
    )  # fmt: skip
    await session.flush()
    workshop = await session.scalar(select(Workshop))
    assert workshop is not None
    session.add(
        Signup(workshop_id=workshop.id, member_id=me.id, status="confirmed", position=1,
               reminder_claimed_at=NOW, reminded_at=NOW, checked_in_at=NOW,
               feedback_asked_at=NOW, created_at=NOW,
               updated_at=NOW)
    )  # fmt: skip
    session.add(
        Feedback(workshop_id=workshop.id, member_id=me.id, rating=5, comment="Top", created_at=NOW)
    )
    announcement = Broadcast(
        author_id=ME, kind="training", status="done", texts={"nl": "Trainingsdag"},
        default_locale="nl", media={"type": "photo", "file_id": "f1"},
        buttons=[{"signup": workshop.id}], audience={"regions": ["noord"]}, region_code="noord",
        letters={"nl": [{"text": "Trainingsdag"}]},
        recipients=1, approved_by=ME, send_at=NOW, started_at=NOW, finished_at=NOW,
        progress_chat_id=ME, progress_message_id=7, created_at=NOW,
    )  # fmt: skip
    session.add(announcement)
    await session.flush()
    session.add(
        OutboxRow(
            priority=1, state="sent", chat_id=ME, member_id=me.id, broadcast_id=announcement.id,
            payload={"text": "Tot zaterdag!"}, attachment=b"BEGIN:VCALENDAR", not_before=NOW,
            attempts=1, claimed_at=NOW, done_at=NOW, error="-", created_at=NOW, sealed=b"-",
            expires_at=NOW,
        )
    )  # fmt: skip
    session.add(
        Counsellor(telegram_id=ME, kind="external", display_name="Vertrouwenspersoon X",
                   locale="nl", about="Bel gerust", reachable=True)
    )  # fmt: skip
    mine = await session.execute(
        insert(questions).values(
            member_id=me.id, language="nl", region_code="noord", identity="contact",
            state="closed", knowledge_id="contribution-bank", volunteer_id=OTHER,
            claimed_how="claim", created_at=NOW, queued_at=NOW, claimed_at=NOW,
            first_answer_at=NOW, escalated_at=NOW, closed_at=NOW, closed_by="member",
            rating="helpful", card_message_id=12,
        )
    )  # fmt: skip
    theirs = await session.execute(  # a question the person answered as a volunteer
        insert(questions).values(member_id=other.id, language="sv", identity="name",
                                 state="claimed", volunteer_id=ME, created_at=NOW)
    )  # fmt: skip
    (mine_id,), (theirs_id,) = mine.inserted_primary_key, theirs.inserted_primary_key
    await session.execute(
        insert(question_messages).values(
            question_id=theirs_id, author="note", author_id=ME, kind="photo",
            text="Bel haar morgen", file_id="AgAD", created_at=NOW,
        )
    )  # fmt: skip
    await session.execute(
        insert(question_routes).values(chat_id=ME, message_id=41, question_id=mine_id)
    )
    for author, author_id, text in (  # their own question's thread, and a note about it
        ("member", None, "Hoe wijzig ik mijn iban?"),
        ("volunteer", OTHER, "Via de ledenadministratie"),
        ("note", OTHER, "Lijkt op eerdere vraag"),
    ):
        await session.execute(
            insert(question_messages).values(question_id=mine_id, author=author,
                                             author_id=author_id, kind="text", text=text,
                                             created_at=NOW)
        )  # fmt: skip
    await session.execute(
        insert(linked_chats).values(purpose="volunteers", chat_id=-1001234, title="Vrijwilligers",
                                    linked_by=ME, linked_at=NOW)
    )  # fmt: skip
    await session.execute(
        insert(knowledge_entries).values(
            language="nl", entry_id="pinpas", topic="general", question="Waar is mijn pas?",
            phrasings="pas kwijt", answer="Bel de ledenadministratie.", state="retired",
            origin="volunteer", proposed_by=ME, edited_by=ME, revision=3, created_at=NOW,
            updated_at=NOW,
        )
    )  # fmt: skip
    await session.execute(
        insert(welcomes).values(member_id=me.id, region_code="noord", volunteer_id=OTHER,
                                state="contacted", joined_at=NOW, assigned_at=NOW, done_at=NOW)
    )  # fmt: skip
    await session.execute(  # a new member the person welcomed as a volunteer
        insert(welcomes).values(member_id=other.id, region_code="noord", volunteer_id=ME,
                                state="contacted", joined_at=NOW, assigned_at=NOW, done_at=NOW)
    )  # fmt: skip
    track = Track(title="Stap 1", places=10)
    session.add(track)
    await session.flush()
    workshop.track_id = track.id
    session.add(
        TrackPlace(track_id=track.id, member_id=me.id, status="placed", position=1,
                   previous_places=0, intake_answer="Graag!", created_at=NOW,
                   completed_at=NOW)
    )  # fmt: skip
    await session.execute(insert(team_available).values(member_id=me.id, since=NOW))
    await session.execute(
        insert(workshop_proposals).values(
            skill_id=skill.id, region_code="noord", organiser_id=ME, trainer_id=me.id,
            status="planned", workshop_id=workshop.id, created_at=NOW, answered_at=NOW,
        )
    )  # fmt: skip
    team = await session.execute(
        insert(teams).values(organiser_id=ME, topic="Campagne", size=5, skill_ids=[skill.id],
                             regions=["noord"], status="invited", created_at=NOW)
    )  # fmt: skip
    await session.execute(
        insert(team_members).values(team_id=team.inserted_primary_key[0], member_id=me.id,
                                    status="yes", position=1, answered_at=NOW)
    )  # fmt: skip
    await session.commit()


def test_every_table_is_classified() -> None:
    tables = set(Base.metadata.tables)
    assert tables == (set(privacy.PERSONAL) | privacy.NOT_PERSONAL | privacy.SEALED | privacy.KEYED)


def person_columns() -> set[tuple[str, str, str]]:
    """From the models, not by hand: every column that points at a member (a foreign key to
    members.id) or holds a Telegram id (every BigInteger column)."""
    found = set()
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if any(fk.target_fullname == "members.id" for fk in column.foreign_keys):
                found.add((table.name, column.name, "member"))
            elif isinstance(column.type, BigInteger):
                found.add((table.name, column.name, "telegram"))
    return found


def test_every_column_about_a_person_is_linked() -> None:
    linked = {(link.table, link.column, link.by) for link in privacy.LINKS}
    missing = person_columns() - linked
    assert not missing, f"privacy.LINKS does not cover {sorted(missing)}"
    assert ("roles", "granted_by", "telegram") in person_columns()  # the test sees it


async def test_export_holds_every_column_about_the_person(session: AsyncSession) -> None:
    await fill(session)
    data = await privacy.export(session, ME)
    for name in privacy.PERSONAL:
        table = Base.metadata.tables[name]
        assert data[name], f"{name}: nothing exported"
        mine = data[name][0] if name != "contact_requests" else data[name]
        rows = mine if isinstance(mine, list) else [mine]
        for row in rows:
            assert set(row) == {c.name for c in table.columns}, name
        if name != "contact_requests":
            missing = [k for k, v in data[name][0].items() if v is None]
            assert missing == [], f"{name}: columns not filled by this test: {missing}"
    assert {r["requester_id"] for r in data["contact_requests"]} == {OTHER, ME}
    assert data["members"][0]["first_name"] == NAME
    assert OTHER not in {r["telegram_id"] for r in data["members"]}
    assert privacy.export_json(data).decode().count(NAME) == 1


async def test_after_erasure_no_table_mentions_the_person(session: AsyncSession) -> None:
    await fill(session)
    await privacy.erase(session, ME)
    for table in Base.metadata.sorted_tables:
        for row in (await session.execute(select(table))).all():
            for value in row:
                assert value != ME, f"{table.name} still holds the Telegram id"
                assert not (isinstance(value, str) and NAME in value), f"{table.name}: name"
    # what stays: the other member, the workshop without its trainer, and anonymous counts
    workshop = await session.scalar(select(Workshop))
    assert workshop is not None and workshop.trainer_id is None
    assert await session.scalar(select(Member.first_name).where(Member.telegram_id == OTHER))
    audit = (await session.scalars(select(AuditEntry))).all()
    assert [(a.actor_id, a.action, a.results) for a in audit] == [(None, "search", 3)]
    asked = (await session.scalars(select(ContactRequest))).all()
    assert [(c.requester_id, c.status) for c in asked] == [(None, "pending")]
    # the role the erased admin gave stays, without their Telegram id, also in its export
    given = (await privacy.export(session, OTHER))["roles"]
    assert [(r["role"], r["granted_by"]) for r in given] == [("trainer", None)]


async def test_a_member_s_questions_are_theirs_without_volunteers_notes(
    session: AsyncSession,
) -> None:
    """Exported: their questions with the thread as they saw it (and what they wrote as a
    volunteer); never a volunteer's private note about them. Erased: all of it."""
    await fill(session)
    data = await privacy.export(session, ME)
    assert [(q["state"], q["rating"]) for q in data["questions"]] == [
        ("closed", "helpful"),
        ("claimed", None),  # the one they held as a volunteer
    ]
    assert [(m["author"], m["text"]) for m in data["question_messages"]] == [
        ("note", "Bel haar morgen"),  # their own note, as a volunteer
        ("member", "Hoe wijzig ik mijn iban?"),
        ("volunteer", "Via de ledenadministratie"),
    ]
    theirs = await privacy.export(session, OTHER)
    assert [m["text"] for m in theirs["question_messages"]] == [
        "Via de ledenadministratie",  # what the other wrote as a volunteer
        "Lijkt op eerdere vraag",
    ]

    await privacy.erase(session, ME)
    left = (await session.execute(select(questions.c.member_id, questions.c.volunteer_id))).all()
    other_id = await session.scalar(select(Member.id).where(Member.telegram_id == OTHER))
    assert left == [(other_id, None)]
    notes = await session.execute(
        select(question_messages.c.author, question_messages.c.author_id, question_messages.c.text)
    )
    assert notes.all() == [("note", None, "Bel haar morgen")]
    assert (await session.execute(select(question_routes))).all() == []


async def test_erasure_gives_the_place_to_the_first_waiting(session: AsyncSession) -> None:
    me, first, second = await factories.bare_members(session, 3, ME)
    workshop = await factories.workshop(session, capacity=1)
    for person in (me, first, second):
        await signups.sign_up(session, person, workshop)
    waiting_elsewhere = await factories.workshop(session, capacity=0)
    await signups.sign_up(session, me, waiting_elsewhere)
    erased = await privacy.erase(session, ME)
    assert erased.promoted == (
        signups.Withdrawn(workshop, (first.id,)), signups.Withdrawn(waiting_elsewhere, ()),
    )  # fmt: skip
    rows = (await session.execute(select(Signup.member_id, Signup.status))).all()
    assert sorted(rows) == [(first.id, "confirmed"), (second.id, "waiting")]


async def test_erasure_gives_the_track_place_to_the_first_waiting(session: AsyncSession) -> None:
    me, first, second = await factories.bare_members(session, 3, ME)
    track = await tracks.create(session, title="Stap 1", places=1)
    for person in (me, first, second):
        await tracks.apply(session, person, track.id)
    erased = await privacy.erase(session, ME)
    assert erased.track_promoted == ((track.id, (first.id,)),)
    rows = (await session.execute(select(TrackPlace.member_id, TrackPlace.status))).all()
    assert sorted(rows) == [(first.id, "placed"), (second.id, "waiting")]


@pytest.mark.e2e
async def test_my_data_with_the_largest_profile_fits_telegram(sqlite_url: str) -> None:
    """/mijngegevens: the readable summary is split within 4,096 characters a message, shows
    every talent and wish, and the JSON file still comes."""
    async with running_bot(sqlite_url) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            member = await factories.onboarded(session, 7291, "Alva", "Goteborg", locale="sv")
            talents, wishes = await factories.full_profile(session, member)
        user = bot.sandbox.user(7291, "Alva", language_code="sv")
        await user.send_text("/mijngegevens")
        # Until every talent and wish was shown (idle() alone may come between two parts on a
        # busy machine), then nothing more.
        for _ in range(200):
            shown = "\n".join(m.text or "" for m in user.bot_messages)
            if all(typed in shown for typed in talents + wishes):
                break
            await asyncio.sleep(0.05)
        await bot.sandbox.idle()
        sent = list(user.bot_messages)
        assert all(len(m.text) <= 4096 for m in sent)
        files = [m for m in sent if m.document is not None]
        assert len(files) == 1 and files[0].document is not None
        assert json.loads(files[0].document.data)["members"][0]["first_name"] == "Alva"
        summary = [m for m in sent if m.document is None]
        assert len(summary) > 1  # split: it does not fit one message
        assert summary[0].text.startswith(
            "📄 " + t("sv", "This file holds everything I store about you. In short:")
        )
        shown = "\n".join(m.text for m in summary)
        assert all(typed in shown for typed in talents + wishes)
