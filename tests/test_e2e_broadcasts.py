"""End to end: an organiser composes an announcement with a version per language, chooses
its audience, previews it exactly as members get it with the count, and sends it; members
get it in their language, sign up from its button (the announcement stays as it was), turn
announcements off from it or in /instellingen; approval above the threshold; the live
progress message with pause and cancel; a regional organiser held to their region."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.services.onboarding import Kind
from bot.services.roles import RoleName
from sandbox.users import SandboxUser
from storage.models import Member, Signup
from tests import factories
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

BRAM, EVA = 9100, 9101  # organisers
ANNA, ERIC, SANNA, WIM, FLEUR = 9110, 9111, 9112, 9113, 9114
START = (
    "A new announcement. Is it about a training day, or general news? Members can turn each "
    "kind off. (Send /stop at any time to stop.)"
)
ASK_TEXT = (
    "Send the text of the announcement, formatted as you like (bold, italics, links). Or send "
    "a photo with the text as its caption."
)
NO_WORKSHOP = "There is no upcoming workshop with that number in your region. Send another number."
BAD_LINK = (
    "Please send a label of at most 40 characters and an https link, like: Programme "
    "https://example.org/programme"
)
VERSIONS = (
    "Versions per language: members get the one in their language, the others the {default} "
    "one. Written so far: {have}. Add another?"
)


async def setup_members(bot: RunningBot) -> int:
    """Anna (nl), Eric (en) and Sanna (sv) members in Oost, Wim a sympathiser in Oost,
    Fleur a member in West; a workshop in Zwolle. The workshop's id."""
    assert bot.app is not None
    async with bot.app.sessions() as session:
        oost = {"region": "oost"}
        await factories.onboarded(session, ANNA, "Anna", "Zwolle", wishes="debatteren", **oost)
        await factories.onboarded(session, ERIC, "Eric", "Deventer", locale="en", **oost)
        await factories.onboarded(session, SANNA, "Sanna", "Enschede", locale="sv", **oost)
        await factories.onboarded(session, WIM, "Wim", "Zwolle", kind=Kind.SYMPATHISER, **oost)
        await factories.onboarded(session, FLEUR, "Fleur", "Utrecht", region="west")
        for tid, name in ((BRAM, "Bram"), (EVA, "Eva")):  # staff, who want no announcements
            await factories.bare_members(
                session, 1, tid, first_name=name, mute_training=True, mute_news=True
            )
        return await factories.workshop(
            session, "Debattraining", "Zwolle", starts_in=timedelta(days=20), region_code="oost"
        )


async def give_role(bot: RunningBot, telegram_id: int, region: str | None = None) -> None:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        await factories.give_role(session, telegram_id, RoleName.ORGANISER, region)


async def compose(
    bot: RunningBot, who: SandboxUser, lang: str, text: str, *, kind: str = "Training day"
) -> None:
    """/bericht up to the audience question: the kind, the text, no photo."""
    await who.send_text("/bericht")
    await who.expect_text(t(lang, START))
    icon = "📅 " if kind == "Training day" else "📰 "
    await who.press(icon + t(lang, kind))
    await who.expect_text(t(lang, ASK_TEXT))
    await who.send_text(text)
    await who.expect_text(t(lang, "Add a photo above it? Send the photo, or tap Skip."))


async def test_compose_preview_send_sign_up_and_opt_out(database_url: str) -> None:
    async with running_bot(database_url) as bot:
        workshop_id = await setup_members(bot)
        await give_role(bot, BRAM)
        bram = bot.sandbox.user(BRAM, "Bram", language_code="nl")
        users = {
            tid: bot.sandbox.user(tid, name, language_code=lang)
            for tid, name, lang in (
                (ANNA, "Anna", "nl"), (ERIC, "Eric", "en"), (SANNA, "Sanna", "sv"),
                (WIM, "Wim", "nl"), (FLEUR, "Fleur", "nl"),
            )
        }  # fmt: skip
        await compose(bot, bram, "nl", "Trainingsdag in Zwolle op 14 maart!")
        await bram.press("⏭ " + t("nl", "Skip"))
        await bram.expect_text(t("nl", "Buttons under the announcement (optional):"))
        await bram.press("✍️ " + t("nl", "Sign-up button for a workshop"))
        listing = await bram.expect_text(t("nl", "Which workshop? Tap it, or send its number."))
        assert any("Debattraining" in label for label in listing.button_texts)
        await bram.send_text("999")  # no such workshop
        await bram.expect_text(t("nl", NO_WORKSHOP))
        await bram.send_text(str(workshop_id))
        await bram.expect_text(t("nl", "Buttons under the announcement (optional):"))
        await bram.press("🔗 " + t("nl", "Link button"))
        await bram.expect_text("https://example.org/programme")
        await bram.send_text("Programma http://example.org")  # not https
        await bram.expect_text(t("nl", BAD_LINK))
        await bram.send_text("Programma https://example.org/programma")
        buttons = await bram.expect_text("Programma")
        await bram.press("➡️ " + t("nl", "Next"), message=buttons)
        await bram.expect_text(t("nl", VERSIONS, default="Nederlands", have="Nederlands"))
        await bram.press("➕ English")
        await bram.expect_text(t("nl", "Send the {language} text.", language="English"))
        await bram.send_text("Training day in Zwolle on 14 March!")
        await bram.expect_text(t("nl", VERSIONS, default="Nederlands", have="Nederlands, English"))
        await bram.press("➡️ " + t("nl", "Next"))
        view = await bram.expect_text(t("nl", "Who gets it?"))
        assert "5" in view.text  # everyone: five members
        await bram.press("▫️ Oost")
        view = await bram.expect_text(t("nl", "Who gets it?"))
        assert view.edited
        await bram.press("▫️ " + t("nl", "members"))
        view = await bram.expect_text(t("nl", "Who gets it?"))
        assert t("nl", "Reaches {count} members.", count=3) in view.text  # Anna, Eric, Sanna

        await bram.press("👁 " + t("nl", "Preview"))
        await bram.expect_text(t("nl", "Preview: {language}", language="Nederlands"))
        dutch = await bram.expect_text("Trainingsdag in Zwolle")
        assert dutch.button_texts == [
            "✅ " + t("nl", "Sign me up"), "Programma", "🔕 " + t("nl", "No more of these"),
        ]  # fmt: skip
        await bram.expect_text(t("nl", "Preview: {language}", language="English"))
        english = await bram.expect_text("Training day in Zwolle")
        assert english.button_texts[0] == "✅ " + t("en", "Sign me up")
        summary = await bram.expect_text(t("nl", "Reaches {count} members.", count=3))
        await bram.press("✅ " + t("nl", "Send now"), message=summary)
        progress = await bram.expect_text(t("nl", "Sent: {sent}", sent=0, partial=True))
        assert "⏸ " + t("nl", "Pause") in progress.button_texts

        anna, eric, sanna = users[ANNA], users[ERIC], users[SANNA]
        got_nl = await anna.expect_text("Trainingsdag in Zwolle", timeout=10)
        got_en = await eric.expect_text("Training day in Zwolle", timeout=10)
        got_sv = await sanna.expect_text("Trainingsdag in Zwolle", timeout=10)  # the default
        assert got_sv.button_texts[0] == "✅ " + t("sv", "Sign me up")
        assert got_en.button_texts[-1] == "🔕 " + t("en", "No more of these")
        await bram.expect_text(
            t("nl", "Announcement #{id}: {status}", id=1, status=t("nl", "done")), timeout=15
        )
        await users[WIM].expect_silence()
        await users[FLEUR].expect_silence()

        # Anna signs up from the announcement: a place, the announcement text unchanged.
        await anna.press("✅ " + t("nl", "Sign me up"), message=got_nl)
        edited = await anna.next()
        assert edited.edited and edited.text == got_nl.text
        assert "❌ " + t("nl", "Cancel my place") in edited.button_texts
        assert "🔕 " + t("nl", "No more of these") in edited.button_texts
        assert anna.alerts[-1].startswith("✅")

        # Eric turns training days off from the button; Sanna turns them off in /instellingen.
        await eric.press("🔕 " + t("en", "No more of these"), message=got_en)
        await bot.sandbox.idle()
        assert eric.alerts[-1] == t(
            "en", "Done: no more training-day announcements. Changed your mind? /instellingen"
        )
        await sanna.send_text("/installningar")
        card = await sanna.expect_text(t("sv", "Announcements"))
        label = next(b for b in card.button_texts if t("sv", "Training day") in b)
        await sanna.press(label, message=card)
        card = await sanna.expect_text(t("sv", "Announcements"))
        assert card.edited and t("sv", "off") in card.text

        assert bot.app is not None
        async with bot.app.sessions() as session:
            muted = await session.scalars(
                select(Member.telegram_id).where(Member.mute_training).order_by(Member.id)
            )
            assert list(muted) == [ERIC, SANNA, BRAM, EVA]
            signups = await session.scalar(
                select(func.count()).select_from(Signup).where(Signup.workshop_id == workshop_id)
            )
            assert signups == 1

        # The same audience again: only Anna is counted and gets it.
        await compose(bot, bram, "nl", "Nog een trainingsdag")
        await bram.press("⏭ " + t("nl", "Skip"))
        await bram.expect_text(t("nl", "Buttons under the announcement (optional):"))
        await bram.press("➡️ " + t("nl", "Next"))
        await bram.expect_text(t("nl", VERSIONS, default="Nederlands", have="Nederlands"))
        await bram.press("➡️ " + t("nl", "Next"))
        await bram.expect_text(t("nl", "Who gets it?"))
        await bram.press("▫️ Oost")
        await bram.expect_text(t("nl", "Who gets it?"))
        await bram.press("▫️ " + t("nl", "members"))
        view = await bram.expect_text(t("nl", "Reaches {count} member.", count=1))
        assert "2" in view.text  # left out: two who turned these off
        await bram.press("👁 " + t("nl", "Preview"))
        summary = await bram.expect_text(t("nl", "Reaches {count} member.", count=1))
        await bram.press("✅ " + t("nl", "Send now"), message=summary)
        await anna.expect_text("Nog een trainingsdag", timeout=10)
        await eric.expect_silence(quiet=1.0)
        await sanna.expect_silence()

        # /berichten: newest first, with who, recipients, delivered and the sign-up.
        await bram.send_text("/berichten")
        history = await bram.expect_text(t("nl", "Announcements"))
        assert history.text.index("#2") < history.text.index("#1")
        assert t(
            "nl", "{count} of them signed up for {title} after receiving it", count=1,
            title="Debattraining",
        ) in history.text  # fmt: skip
        assert "Bram" in history.text
