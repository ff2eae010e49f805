"""The knowledge base in the database (bot/services/knowledge.py), on SQLite and PostgreSQL:
seeded from the bundled files without a step by hand, kept by organisers (edit, retire,
restore, proposals, CSV), and what members are matched against follows at once — in another
worker within a few seconds."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.services import knowledge
from bot.services.knowledge_match import load_default_entries
from storage.engine import create_engine, create_session_factory
from storage.models import knowledge_entries

k = knowledge_entries.c
ORGANISER, VOLUNTEER = 7001, 7002
IBAN_NL = "hoe verander ik mijn iban"


async def ids(session: AsyncSession, language: str) -> list[str]:
    return [e.entry_id for e in await knowledge.entries(session, language)]


async def row_of(session: AsyncSession, language: str, entry_id: str) -> knowledge.Row:
    row_id = await session.scalar(
        select(k.id).where(k.language == language, k.entry_id == entry_id)
    )
    assert row_id is not None
    row = await knowledge.get(session, row_id)
    assert row is not None
    return row


async def best(session: AsyncSession, text: str, language: str) -> str | None:
    found = (await knowledge.matcher(session)).match(text, language)
    return found[0].entry_id if found else None


async def test_a_new_database_holds_the_bundled_entries(session: AsyncSession) -> None:
    rows = (await session.execute(select(k.language, k.state, k.origin))).all()
    assert len(rows) == 3 * 37
    assert {(lang, state, origin) for lang, state, origin in rows} == {
        (lang, "live", "bundled") for lang in ("nl", "en", "sv")
    }
    bundled = load_default_entries()
    for lang in ("nl", "en", "sv"):
        assert await knowledge.entries(session, lang) == [e for e in bundled if e.language == lang]
    assert await best(session, IBAN_NL, "nl") is not None


async def test_a_newer_release_adds_entries_without_undoing_organisers(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        edited = await row_of(session, "nl", "join")
        await knowledge.edit(session, edited.id, ORGANISER, answer="Word lid op onze site.")
        retired = await row_of(session, "en", "join")
        await knowledge.retire(session, retired.id, ORGANISER)
        # as if these were not in the database yet: an entry a newer release bundles, and a
        # shipped text the release improved (nobody edited that row)
        await session.execute(delete(knowledge_entries).where(k.entry_id == "cancel_membership"))
        await session.execute(
            update(knowledge_entries).where(k.language == "sv").values(answer="Gammal text.")
        )
        await session.commit()
        assert await knowledge.sync_bundled(session)
        assert await knowledge.sync_bundled(session)  # idempotent
    async with sessions() as session:
        assert (await row_of(session, "nl", "join")).answer == "Word lid op onze site."
        assert (await row_of(session, "en", "join")).state == "retired"
        bundled = {(e.language, e.entry_id): e for e in load_default_entries()}
        for lang in ("nl", "en", "sv"):
            back = await row_of(session, lang, "cancel_membership")
            assert (back.state, back.origin) == ("live", "bundled")
            assert back.answer == bundled[lang, "cancel_membership"].answer
        assert (await row_of(session, "sv", "join")).answer == bundled["sv", "join"].answer
        assert await session.scalar(select(func.count()).select_from(knowledge_entries)) == 3 * 37


async def test_an_edit_is_what_members_get_at_once(session: AsyncSession) -> None:
    found = await best(session, IBAN_NL, "nl")
    assert found is not None
    row = await row_of(session, "nl", found)
    text = "Je IBAN wijzig je in de ledenomgeving onder Betalingen."
    changed = await knowledge.edit(session, row.id, ORGANISER, answer=text)
    assert (changed.answer, changed.origin, changed.edited_by) == (text, "organiser", ORGANISER)
    matches = (await knowledge.matcher(session)).match(IBAN_NL, "nl")
    assert matches[0].entry.answer == text
    assert (await knowledge.entry(session, "nl", found)) == matches[0].entry

    # the phrasings too: a new way of asking finds the entry
    assert await best(session, "parkeren bij het partijhuis", "nl") is None
    await knowledge.edit(session, row.id, ORGANISER, phrasings="parkeren partijhuis\niban")
    assert await best(session, "parkeren bij het partijhuis", "nl") == found


async def test_a_retired_entry_is_no_longer_matched_until_restored(session: AsyncSession) -> None:
    found = await best(session, IBAN_NL, "nl")
    assert found is not None
    row = await row_of(session, "nl", found)
    await knowledge.retire(session, row.id, ORGANISER)
    assert await best(session, IBAN_NL, "nl") != found
    assert found not in await ids(session, "nl")
    assert await knowledge.entry(session, "nl", found) is None
    with pytest.raises(knowledge.Gone):  # a second tap on Retire
        await knowledge.retire(session, row.id, ORGANISER)
    await knowledge.restore(session, row.id, ORGANISER)
    assert await best(session, IBAN_NL, "nl") == found


async def test_a_volunteers_answer_goes_live_once_approved(session: AsyncSession) -> None:
    question = "Mag ik mijn hond meenemen naar de trainingsdag?"
    assert await best(session, "mag mijn hond mee", "nl") is None
    long_answer = "Ja, " + "honden zijn welkom zolang ze aangelijnd zijn. " * 20
    row_id = await knowledge.propose(session, "nl", question, long_answer, VOLUNTEER)
    proposal = await knowledge.get(session, row_id)
    assert proposal is not None
    assert (proposal.state, proposal.origin, proposal.proposed_by) == (
        "proposed",
        "volunteer",
        VOLUNTEER,
    )
    assert proposal.entry_id == "mag_ik_mijn_hond_meenemen_naar_de"
    assert await best(session, "mag mijn hond mee", "nl") is None  # not yet
    page = await knowledge.listing(session, None, "proposed", 0)
    assert [r.id for r in page.rows] == [row_id]

    with pytest.raises(knowledge.TooLong) as refused:  # too long for a chat answer: shorten
        await knowledge.approve(session, row_id, ORGANISER)
    assert (refused.value.what, refused.value.limit) == ("answer", knowledge.MAX_ANSWER_CHARS)
    await knowledge.edit(session, row_id, ORGANISER, answer="Ja, aangelijnd is hij welkom.")
    live = await knowledge.approve(session, row_id, ORGANISER)
    assert (live.state, live.edited_by) == ("live", ORGANISER)
    matches = (await knowledge.matcher(session)).match("mag mijn hond meenemen?", "nl")
    assert [m.entry.answer for m in matches[:1]] == ["Ja, aangelijnd is hij welkom."]
    with pytest.raises(knowledge.Gone):  # approved twice (two organisers)
        await knowledge.approve(session, row_id, ORGANISER)

    other = await knowledge.propose(session, "en", "Can I bring my dog?", "Yes.", VOLUNTEER)
    await knowledge.reject(session, other)
    assert await knowledge.get(session, other) is None
    with pytest.raises(knowledge.Gone):
        await knowledge.reject(session, other)


async def test_organisers_add_entries_with_fresh_ids(session: AsyncSession) -> None:
    first = await knowledge.add(
        session, "sv", "Får jag ta med hunden?", "Ja, i koppel.", "hund | ta med hunden", ORGANISER
    )
    again = await knowledge.add(session, "sv", "Får jag ta med hunden?", "Ja.", "hunden", ORGANISER)
    assert (first.entry_id, again.entry_id) == ("far_jag_ta_med_hunden", "far_jag_ta_med_hunden_2")
    assert first.phrasings == "hund|ta med hunden"
    assert await best(session, "ta med hunden", "sv") in {first.entry_id, again.entry_id}
    with pytest.raises(knowledge.Empty):
        await knowledge.add(session, "sv", "  ", "Ja.", "hund", ORGANISER)


async def test_the_largest_answer_is_refused_and_nothing_changes(session: AsyncSession) -> None:
    row = await row_of(session, "en", "join")
    with pytest.raises(knowledge.TooLong) as refused:
        await knowledge.edit(session, row.id, ORGANISER, answer="x" * 4096)
    assert (refused.value.what, refused.value.length, refused.value.limit) == ("answer", 4096, 600)
    with pytest.raises(knowledge.TooLong):
        await knowledge.edit(session, row.id, ORGANISER, question="why " * 100)
    assert await row_of(session, "en", "join") == row
    # the limit itself is accepted
    done = await knowledge.edit(session, row.id, ORGANISER, answer="y" * 600)
    assert len(done.answer) == 600


async def test_export_then_import_changes_nothing(session: AsyncSession) -> None:
    for lang in ("nl", "en", "sv"):
        text = await knowledge.export_csv(session, lang)
        before = await session.execute(select(k.revision, k.updated_at))
        plan = await knowledge.apply_import(session, lang, ("\ufeff" + text).encode(), ORGANISER)
        assert plan.ok and plan.changes == 0 and plan.unchanged == 37
        assert (await session.execute(select(k.revision, k.updated_at))).all() == before.all()


async def test_an_import_adds_changes_retires_and_restores(session: AsyncSession) -> None:
    text = await knowledge.export_csv(session, "en")
    header, first, second, *rest = csv.reader(io.StringIO(text))
    assert first[0] == "join"
    retired = await row_of(session, "en", rest[0][0])
    await knowledge.retire(session, retired.id, ORGANISER)
    new = ["dog", "events", "Can I bring my dog?", "dog | bring my dog", "Yes, on a lead."]
    out = io.StringIO()
    csv.writer(out).writerows([header, [*first[:4], "Join on our website."], new, *rest])
    changed = out.getvalue()  # the second entry left out
    plan = await knowledge.check_import(session, "en", changed.encode())
    assert plan.ok
    assert (plan.added, plan.changed, plan.restored) == (("dog",), ("join",), (retired.entry_id,))
    assert plan.retired == (second[0],)
    assert plan.unchanged == 37 - 3
    # nothing changes before the organiser confirms
    assert (await row_of(session, "en", "join")).answer != "Join on our website."
    done = await knowledge.apply_import(session, "en", changed.encode(), ORGANISER)
    assert done == plan
    assert (await knowledge.entry(session, "en", "join")).answer == "Join on our website."  # type: ignore[union-attr]
    assert await best(session, "can i bring my dog", "en") == "dog"
    assert second[0] not in await ids(session, "en")
    assert retired.entry_id in await ids(session, "en")


BAD = (
    "id,topic,question,phrasings,answer\n"
    "join,membership,How do I join?,join,Like this.\n"
    "fine_one,membership,,join | sign up,An answer.\n"  # line 3: empty question
    "Bad Id,membership,Question?,q,Answer.\n"  # line 4: not lower_snake_case
    'long,membership,Question?,q,"' + "a" * 700 + '"\n'  # line 5: answer too long
    "join,membership,Again?,again,Again.\n"  # line 6: id repeated
    "short,membership,Question?\n"  # line 7: three fields
)


async def test_a_bad_file_is_reported_per_line_and_changes_nothing(
    session: AsyncSession,
) -> None:
    before = (await session.execute(select(k.revision))).all()
    plan = await knowledge.apply_import(session, "en", BAD.encode(), ORGANISER)
    assert not plan.ok and plan.changes == 0
    assert [(p.line, p.code) for p in plan.problems] == [
        (3, "empty"),
        (4, "id"),
        (5, "answer"),
        (6, "duplicate"),
        (7, "fields"),
    ]
    assert plan.problems[2].detail == "700/600"
    for data, code in (
        (b"id;topic;question\n", "header"),
        ("id,topic,question,phrasings,answer\njoin,a,b,c,é\n".encode("latin-1"), "encoding"),
        (b"id,topic,question,phrasings,answer\n", "nothing"),
        (b"x" * (knowledge.MAX_IMPORT_BYTES + 1), "size"),
    ):
        assert [p.code for p in (await knowledge.check_import(session, "en", data)).problems] == [
            code
        ]
    proposal = await knowledge.propose(session, "en", "Dogs?", "Yes.", VOLUNTEER)
    taken = (await knowledge.get(session, proposal)).entry_id  # type: ignore[union-attr]
    clash = await knowledge.export_csv(session, "en") + f"{taken},x,Dogs?,dogs,Yes.\n"
    assert [
        p.code for p in (await knowledge.check_import(session, "en", clash.encode())).problems
    ] == ["proposal"]
    assert (await session.execute(select(k.revision).where(k.state != "proposed"))).all() == before


async def test_another_worker_sees_a_change_within_seconds(
    database_url: str, sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two engines on one database stand for two worker processes: each has its own cache."""
    other_engine = create_engine(database_url)
    try:
        other = create_session_factory(other_engine)
        async with other() as theirs:
            found = await best(theirs, IBAN_NL, "nl")
            assert found is not None
        async with sessions() as mine:
            row = await row_of(mine, "nl", found)
            await knowledge.retire(mine, row.id, ORGANISER)
            assert await best(mine, IBAN_NL, "nl") != found  # here: at once
        async with other() as theirs:
            assert await best(theirs, IBAN_NL, "nl") == found  # there: not checked yet
            monkeypatch.setattr(knowledge, "VERSION_CHECK_SECONDS", 0.0)
            assert await best(theirs, IBAN_NL, "nl") != found  # checked: rebuilt
    finally:
        await other_engine.dispose()
