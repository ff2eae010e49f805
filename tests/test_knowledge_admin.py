"""/kennisbank end to end in the sandbox: an organiser pages through the entries, edits an
answer in chat (the largest one refused), retires one, exports the CSV and imports it back
(unchanged, with errors, with changes after a confirmation), approves a volunteer's proposal
and adds an entry — in English, Dutch and Swedish; a member is refused, a forged button too.
What members are matched against follows each step at once."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from bot.services import knowledge
from bot.services.roles import RoleName
from handlers.knowledge_admin import KbCb
from storage.models import knowledge_entries
from tests import factories
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

ORGANISER, MEMBER, VOLUNTEER = 9201, 9202, 9203
JOIN = {"en": "How do I become a member?"}


async def best_answer(bot: RunningBot, text: str, lang: str) -> str | None:
    """What a member asking *text* would be shown (through the bot's own engine and cache)."""
    assert bot.app is not None
    async with bot.app.sessions() as session:
        found = (await knowledge.matcher(session)).match(text, lang)
    return found[0].entry.answer if found else None


async def revisions(bot: RunningBot) -> list[tuple[int, int]]:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        k = knowledge_entries.c
        return [tuple(r) for r in await session.execute(select(k.id, k.revision))]  # type: ignore[misc]


def rewrite(data: bytes, change: dict[str, str], drop: str) -> bytes:
    """The exported file with some answers changed and one entry left out."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        if row[0] == drop:
            continue
        writer.writerow([*row[:4], change.get(row[0], row[4])])
    return out.getvalue().encode()


async def test_an_organiser_keeps_the_knowledge_base(database_url: str) -> None:
    lang = "en"
    async with running_bot(database_url) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            await factories.onboarded(session, MEMBER, "Mia", "Groningen", locale=lang)
            await factories.give_role(session, ORGANISER, RoleName.ORGANISER, "noord")
        mia = bot.sandbox.user(MEMBER, "Mia", language_code=lang)
        await mia.send_text("/knowledge")
        await mia.expect_text(t(lang, "This command is for organisers only."))

        olga = bot.sandbox.user(ORGANISER, "Olga", language_code=lang)
        await olga.send_text("/knowledge")
        home = await olga.expect_text(t(lang, "<b>Knowledge base</b>"))
        assert t(lang, "{language}: {live} live, {retired} retired", language="🇬🇧 English",
                 live=37, retired=0) in home.text  # fmt: skip
        await olga.press("🇬🇧 English", message=home)
        listing = await olga.expect_text(t(lang, "{first}–{last} of {total}", first=1, last=8,
                                           total=37))  # fmt: skip
        assert listing.edited and sum(len(r) for r in listing.inline_keyboard) <= 100
        await olga.press("▶️", message=listing)
        await olga.expect_text(t(lang, "{first}–{last} of {total}", first=9, last=16, total=37))
        await olga.press("◀️")
        await olga.expect_text(t(lang, "{first}–{last} of {total}", first=1, last=8, total=37))

        # an entry's card; its answer edited in chat, the largest text refused
        await olga.press(f"1. {JOIN[lang]}")
        card = await olga.expect_text(t(lang, "<b>Answer:</b>"))
        assert JOIN[lang] in card.text
        await olga.press("✏️ " + t(lang, "Answer"), message=card)
        await olga.expect_text(t(lang, "Send the new answer (at most {limit} characters).",
                                 limit=600))  # fmt: skip
        await olga.send_text("x" * 4096)
        await olga.expect_text(
            t(lang, "That answer has {count} characters; at most {limit} fit. Please send a "
                    "shorter one.", count="4,096", limit=600)
        )  # fmt: skip
        await olga.send_sticker()
        await olga.expect_text(t(lang, "Please send text (or /stop)."))
        new_answer = "Join on our website, under Membership. Welcome!"
        await olga.send_text(new_answer)
        await olga.expect_text(t(lang, "Saved."))
        card = await olga.expect_text(new_answer)
        assert await best_answer(bot, "how do i join", lang) == new_answer

        # retired: no longer what members get
        await olga.press("🗄 " + t(lang, "Retire"), message=card)
        card = await olga.expect_text(t(lang, "retired"))
        assert olga.callback_answers[-1].text == t(
            lang, "Retired: members no longer get this answer."
        )
        assert await best_answer(bot, "how do i join", lang) != new_answer

        # export, and the same file back: nothing to change
        await olga.press("⬅️ " + t(lang, "Back to the list"), message=card)
        await olga.expect_text(t(lang, "{language}: <b>retired entries</b>", language="🇬🇧 English"))
        await olga.press("⬅️ " + t(lang, "Back"))
        await olga.expect_text(t(lang, "{first}–{last} of {total}", first=1, last=8, total=36))
        await olga.press("📤 " + t(lang, "Export CSV"))
        exported = await olga.expect_text(t(lang, "The live entries in {language}. Change them "
                                            "in a spreadsheet and send the file back with 📥 "
                                            "Import CSV.", language="🇬🇧 English"))  # fmt: skip
        assert exported.document is not None
        assert exported.document.filename == "knowledge-en.csv"
        data = exported.document.data
        assert len(list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))) == 1 + 36
        before = await revisions(bot)
        await olga.press("📥 " + t(lang, "Import CSV"))
        await olga.expect_text("id, topic, question")
        await olga.send_document("knowledge-en.csv", data)
        await olga.expect_text(t(lang, "The file matches the knowledge base: nothing to change."))

        # a file with mistakes: every line named, nothing changed
        await olga.press("📥 " + t(lang, "Import CSV"))
        await olga.expect_text("id, topic, question")
        bad = data.decode("utf-8-sig") + "Bad Id,x,Question?,q,Answer.\nshort,x\n"
        await olga.send_document("knowledge-en.csv", bad.encode())
        report = await olga.expect_text(
            t(lang, "Nothing was changed. Please correct these and send the file again:")
        )
        assert t(lang, "Line {line}: {problem}", line=38, problem=t(
            lang, "“{detail}” is not an id: lower-case letters, digits and _, starting with a "
                  "letter", detail="Bad Id")) in report.text  # fmt: skip
        assert t(lang, "Line {line}: {problem}", line=39, problem=t(
            lang, "{detail} fields; every line needs 5: id, topic, question, phrasings, answer",
            detail="2")) in report.text  # fmt: skip
        assert await revisions(bot) == before

        # a changed file: a summary first, applied only when confirmed
        ids = [row[0] for row in csv.reader(io.StringIO(data.decode("utf-8-sig")))][1:]
        changed = rewrite(data, {ids[0]: "A better answer."}, drop=ids[1])
        await olga.send_document("knowledge-en.csv", changed)  # still asked for a file
        summary = await olga.expect_text(
            t(lang, "This file changes the knowledge base in {language}:", language="🇬🇧 English")
        )
        assert t(lang, "Changed: {count}", count=1) + f" ({ids[0]})" in summary.text
        assert t(lang, "Retired: {count}", count=1) + f" ({ids[1]})" in summary.text
        assert t(lang, "Unchanged: {count}", count=34) in summary.text
        assert await revisions(bot) == before
        await olga.press("✅ " + t(lang, "Apply"), message=summary)
        done = await olga.expect_text(t(lang, "Imported into {language}:", language="🇬🇧 English"))
        assert done.edited
        assert olga.callback_answers[-1].text == t(lang, "Imported.")
        async with bot.app.sessions() as session:
            assert (await knowledge.entry(session, lang, ids[0])).answer == "A better answer."  # type: ignore[union-attr]
            assert await knowledge.entry(session, lang, ids[1]) is None
        apply = KbCb(action="apply", lang=lang).pack()
        await olga.press_raw(summary.message_id, apply)  # a second tap: nothing left to apply
        await bot.sandbox.idle()
        assert olga.alerts[-1] == t(lang, "That button is no longer valid.")


async def test_proposals_new_entries_and_forged_buttons(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            await factories.onboarded(session, MEMBER, "Mats", "Goteborg", locale="sv")
            await factories.give_role(session, ORGANISER, RoleName.ORGANISER, None)
            long_answer = "Ja, hundar är välkomna i koppel. " * 30
            proposal = await knowledge.propose(
                session, "nl", "Mag mijn hond mee naar de trainingsdag?", long_answer, VOLUNTEER
            )
        lang = "nl"
        olga = bot.sandbox.user(ORGANISER, "Olga", language_code=lang)
        await olga.send_text("/kennisbank")
        home = await olga.expect_text(
            t(lang, "{count} proposal from volunteers is waiting.", count=1)
        )
        await olga.press("💡 " + t(lang, "Proposals ({count})", count=1), message=home)
        await olga.expect_text(t(lang, "<b>Proposals from volunteers</b>"))
        await olga.press("1. 🇳🇱 Mag mijn hond mee naar de trainingsdag?")
        card = await olga.expect_text(t(lang, "proposed by a volunteer"))
        assert "⚠️" in card.text and len(card.text) <= 4096
        await olga.press("✅ " + t(lang, "Approve"), message=card)
        await bot.sandbox.idle()
        assert olga.alerts[-1] == t(
            lang, "That answer has {count} characters; at most {limit} fit. Please send a "
                  "shorter one.", count=len(long_answer.strip()), limit=600,
        )  # fmt: skip
        await olga.press("✏️ " + t(lang, "Answer"), message=card)
        await olga.expect_text(t(lang, "Now:"))
        await olga.send_text("Ja, aangelijnd is je hond welkom.")
        card = await olga.expect_text("Ja, aangelijnd is je hond welkom.")
        await olga.press("✅ " + t(lang, "Approve"), message=card)
        await olga.expect_text(t(lang, "live"))
        assert olga.callback_answers[-1].text == t(
            lang, "Approved: members get this answer from now on."
        )
        assert await best_answer(bot, "mag mijn hond mee naar de trainingsdag", lang) == (
            "Ja, aangelijnd is je hond welkom."
        )

        # a new entry in Swedish, from the list
        await olga.send_text("/kennisbank")
        home = await olga.expect_text(t(lang, "<b>Knowledge base</b>"))
        await olga.press("🇸🇪 Svenska", message=home)
        await olga.expect_text(t(lang, "{language}: <b>knowledge base</b>", language="🇸🇪 Svenska"))
        await olga.press("➕ " + t(lang, "New entry"))
        await olga.expect_text(
            t(lang, "A new entry in {language}. Which question does it answer? (Send /stop at "
                    "any time to stop.)", language="🇸🇪 Svenska")
        )  # fmt: skip
        await olga.send_text("Var kan jag parkera vid partihuset?")
        await olga.expect_text(t(lang, "And the answer members get? (at most {limit} characters)",
                                 limit=600))  # fmt: skip
        await olga.send_text("Det finns parkering på baksidan.")
        await olga.send_text("parkering\nparkera bilen")
        await olga.expect_text(t(lang, "Added: members get this answer from now on."))
        added = await olga.expect_text("Det finns parkering på baksidan.")
        assert await best_answer(bot, "var parkerar jag bilen", "sv") == (
            "Det finns parkering på baksidan."
        )

        # /stop leaves an edit as it was
        await olga.press("✏️ " + t(lang, "Question"), message=added)
        await olga.expect_text(t(lang, "Send the new question (at most {limit} characters).",
                                 limit=200))  # fmt: skip
        await olga.send_text("/stop")
        await olga.expect_text(t(lang, "Stopped; nothing was saved."))

        # forged and stale buttons: re-checked
        await olga.press_raw(card.message_id, KbCb(action="view", row=99999).pack())
        await bot.sandbox.idle()
        assert olga.alerts[-1] == t(lang, "That button is no longer valid.")
        mats = bot.sandbox.user(MEMBER, "Mats", language_code="sv")
        await mats.send_text("/kunskap")
        await mats.expect_text(t("sv", "This command is for organisers only."))
        await mats.press_raw(1, KbCb(action="retire", row=proposal).pack())
        await bot.sandbox.idle()
        assert mats.alerts[-1] == t("sv", "This command is for organisers only.")
        assert await best_answer(bot, "mag mijn hond mee naar de trainingsdag", lang) is not None
