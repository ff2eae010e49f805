"""End to end: an organiser composes an announcement with a version per language, chooses
its audience, previews it exactly as members get it with the count, and sends it; members
get it in their language, sign up from its button (the announcement stays as it was), turn
announcements off from it or in /instellingen; approval above the threshold; the live
progress message with pause and cancel; a regional organiser held to their region."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot import clock
from bot.formatting import short_when
from bot.services import broadcasts
from bot.services.broadcasts import Audience, Draft
from bot.services.onboarding import Kind
from bot.services.roles import ALL_REGIONS, RoleName
from sandbox.limits import Limits
from sandbox.users import SandboxUser
from storage.models import Broadcast, Member, OutboxRow, Signup
from tests import factories
from tests.botrunner import I18N, RunningBot, running_bot, t
from tests.conftest import next_local

pytestmark = pytest.mark.e2e

BRAM, EVA = 9100, 9101  # organisers
ANNA, ERIC, SANNA, WIM, FLEUR = 9110, 9111, 9112, 9113, 9114
JOOP = 9115  # a member in Oost who blocked the bot
START = (
    "A new announcement. Is it about a training day, or general news? Members can turn each "
    "kind off. (Send /stop at any time to stop.)"
)
ASK_TEXT = (
    "Send the text of the announcement, formatted as you like (bold, italics, links). Or send "
    "a photo with the text as its caption."
)
NO_WORKSHOP = "There is no upcoming workshop with that number in your region. Send another number."
LONG_CAPTION = (
    "A caption holds at most 1024 characters; yours has {count}. Send the text on its own "
    "first (up to 4096 characters); I ask for the photo after."
)
LEFT_OUT = "Left out: {muted} who turned these off, {unreachable} unreachable."
ASK_SKILLS = (
    "Send the skills, separated by commas, like: debating, reading a budget. Members with any "
    "of them get it."
)
ASK_WHEN = "When should it go out? Send the date and time, like {example}."
ASK_LINK = "Send the button's label and its link, like: Programme https://example.org/programme"
BAD_LINK = (
    "Please send a label of at most 40 characters and an https link, like: Programme "
    "https://example.org/programme"
)


def tn(lang: str, singular: str, plural: str, n: int, /, **values: Any) -> str:
    """`t` for a message with plural forms."""
    text = I18N.gettext(singular, plural, n, locale=lang).format(count=n, **values)
    return html.unescape(re.sub(r"</?[a-z]+>", "", text))


def reaches(lang: str, n: int) -> str:
    return tn(lang, "Reaches <b>{count}</b> member.", "Reaches <b>{count}</b> members.", n)


PREVIEWED = "Above: the announcement as members get it ({languages})."
OVER = "More than {limit}: a second organiser or an admin must approve it first."
ASKED = (
    "It goes to {count} member: a second organiser or an admin must approve it. I have "
    "asked them; it goes out once one of them says yes.",
    "It goes to {count} members: a second organiser or an admin must approve it. I have "
    "asked them; it goes out once one of them says yes.",
)
NOBODY = (
    "There is nobody I could ask: no other organiser of these regions and no admin has a chat "
    "with me. An admin can approve it with /goedkeuren {id}."
)
SELF_APPROVAL = "You wrote this announcement: another organiser or an admin must approve it."
APPROVE = (
    "{name} asks to send announcement #{id} to {count} member. Approve it here or with "
    "/goedkeuren {id}. It is this one:",
    "{name} asks to send announcement #{id} to {count} members. Approve it here or with "
    "/goedkeuren {id}. It is this one:",
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
        await factories.onboarded(session, JOOP, "Joop", "Zwolle", **oost)
        for tid, name, lang in ((BRAM, "Bram", "nl"), (EVA, "Eva", "sv")):  # staff, who
            await factories.bare_members(  # want no announcements themselves
                session, 1, tid, first_name=name, locale=lang, mute_training=True, mute_news=True
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
    await who.expect_text(t(lang, "Add a photo or a file (a PDF, say)? Send it, or tap Skip."))


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
        joop = bot.sandbox.user(JOOP, "Joop", language_code="nl")
        joop.block()
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
        await bram.expect_text(t("nl", ASK_LINK))
        await bram.send_text("Programma http://example.org")  # not https
        await bram.expect_text(t("nl", BAD_LINK))
        await bram.send_text("Programma https://example.org/programma")
        buttons = await bram.expect_text("Programma")
        await bram.press("➡️ " + t("nl", "Next"), message=buttons)
        await bram.expect_text(t("nl", VERSIONS, default="Nederlands", have="Nederlands"))
        await bram.press("➕ English")
        await bram.expect_text(t("nl", "Send the {language} text.", language="Engels"))
        await bram.send_text("Training day in Zwolle on 14 March!")
        await bram.expect_text(t("nl", VERSIONS, default="Nederlands", have="Nederlands, Engels"))
        await bram.press("➡️ " + t("nl", "Next"))
        view = await bram.expect_text(t("nl", "Who gets it?"))
        assert "5" in view.text  # everyone: five members
        await bram.press("▫️ Oost")
        view = await bram.expect_text(t("nl", "Who gets it?"))
        assert view.edited
        await bram.press("▫️ " + t("nl", "members"))
        view = await bram.expect_text(t("nl", "Who gets it?"))
        assert reaches("nl", 3) in view.text  # Anna, Eric, Sanna
        assert t("nl", LEFT_OUT, muted=0, unreachable=1) in view.text  # Joop

        await bram.press("👁 " + t("nl", "Preview"))
        dutch = await bram.expect_text("Trainingsdag in Zwolle")
        assert dutch.button_texts == [
            "✅ " + t("nl", "Sign me up"), "Programma", "🔕 " + t("nl", "No more of these"),
        ]  # fmt: skip
        english = await bram.expect_text("Training day in Zwolle")
        assert english.button_texts[0] == "✅ " + t("en", "Sign me up")
        summary = await bram.expect_text(reaches("nl", 3))
        assert t("nl", PREVIEWED, languages="Nederlands, Engels") in summary.text
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
        await eric.press("🔕 " + t("en", "No more of these"), message=got_en)  # twice
        await bot.sandbox.idle()
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
        view = await bram.expect_text(reaches("nl", 1))
        assert "2" in view.text  # left out: two who turned these off
        await bram.press("👁 " + t("nl", "Preview"))
        summary = await bram.expect_text(reaches("nl", 1))
        await bram.press("✅ " + t("nl", "Send now"), message=summary)
        await anna.expect_text("Nog een trainingsdag", timeout=10)
        await eric.expect_silence(quiet=1.0)
        await sanna.expect_silence()

        # /berichten: newest first, with who, recipients, delivered and the sign-up.
        await bram.send_text("/berichten")
        history = await bram.expect_text(t("nl", "Announcements"))
        assert history.text.index("#2") < history.text.index("#1")
        signed = "{count} of them signed up for {title} after receiving it"
        assert tn("nl", signed, signed, 1, title="Debattraining") in history.text
        muted = "{count} turned these announcements off from it"  # Eric, counted once
        assert "🔕 " + tn("nl", muted, muted, 1) in history.text
        assert "Bram" in history.text


PIET = 9102  # organiser of West
CROWD = list(range(9300, 9340))


async def crowd_and_staff(bot: RunningBot) -> None:
    """Forty members in Oost (each a sandbox person); Bram (en) and Eva (sv) organisers of
    Oost, Piet (nl) of West, none of them wanting announcements themselves."""
    assert bot.app is not None
    async with bot.app.sessions() as session:
        await factories.bare_members(session, len(CROWD), CROWD[0], region_code="oost")
        for tid, name, lang, region in (
            (BRAM, "Bram", "en", "oost"), (EVA, "Eva", "sv", "oost"), (PIET, "Piet", "nl", "west"),
        ):  # fmt: skip
            await factories.bare_members(
                session, 1, tid, first_name=name, locale=lang, mute_training=True, mute_news=True
            )
            await factories.give_role(session, tid, RoleName.ORGANISER, region)
    for tid in CROWD:
        bot.sandbox.user(tid, f"Lid {tid}", language_code="nl")


async def states(bot: RunningBot) -> dict[str, int]:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        rows = await session.execute(
            select(OutboxRow.state, func.count()).group_by(OutboxRow.state)
        )
        return {state: n for state, n in rows.all()}


async def until(bot: RunningBot, check, timeout: float = 20.0) -> dict[str, int]:  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await states(bot)
        if check(found):
            return found
        assert asyncio.get_running_loop().time() < deadline, found
        await asyncio.sleep(0.2)


async def answered(user: SandboxUser, query_id: str) -> None:
    """Wait until the bot answered this tap (its outcome may take a database write)."""
    state = user._bot()
    assert state is not None
    for _tick in range(100):
        if state.callback_queries[query_id].answered:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{user.name}'s tap was not answered")


def delivered(bot: RunningBot) -> int:
    return sum(len(bot.sandbox.user(tid).bot_messages) for tid in CROWD)


async def test_approval_pause_resume_and_cancel_halfway(database_url: str) -> None:
    # Telegram's own limits at 2 messages a second: the broadcast takes twenty seconds.
    async with running_bot(
        database_url, limits=Limits(), broadcast_rate=2, broadcast_approval_over=30
    ) as bot:
        await crowd_and_staff(bot)
        bram = bot.sandbox.user(BRAM, "Bram", language_code="en")
        eva = bot.sandbox.user(EVA, "Eva", language_code="sv")
        piet = bot.sandbox.user(PIET, "Piet", language_code="nl")
        await compose(bot, bram, "en", "General meeting on Friday", kind="General news")
        await bram.press("⏭ " + t("en", "Skip"))
        await bram.expect_text(t("en", "Buttons under the announcement (optional):"))
        await bram.press("➡️ " + t("en", "Next"))
        await bram.expect_text(t("en", VERSIONS, default="English", have="English"))
        await bram.press("➡️ " + t("en", "Next"))
        view = await bram.expect_text(t("en", "Who gets it?"))
        assert [b for b in view.button_texts if "Oost" in b or "West" in b] == ["✅ Oost"]
        await bram.press("👁 " + t("en", "Preview"))
        summary = await bram.expect_text(reaches("en", 40))
        assert t("en", OVER, limit=30) in summary.text
        await bram.press("📨 " + t("en", "Ask for approval"), message=summary)
        await bram.expect_text(tn("en", *ASKED, 40))

        # The author cannot approve their own; an organiser of another region cannot either.
        await bram.send_text("/approve 1")
        await bram.expect_text(t("en", SELF_APPROVAL))
        await piet.send_text("/goedkeuren 1")
        await piet.expect_text(t("nl", "You cannot approve that announcement."))
        request = await eva.expect_text(tn("sv", *APPROVE, 40, name="Bram", id=1))
        await piet.press_raw(1, "bctl:1:approve")  # forged
        await piet.press_raw(1, "bctl:1:cancel")
        await bot.sandbox.idle()
        assert sorted(piet.alerts[-2:]) == sorted([
            t("nl", "You cannot approve that announcement."),
            t("nl", "That button is no longer valid."),
        ])  # fmt: skip
        assert (await states(bot)) == {}  # nothing went out
        await answered(eva, await eva.press("✅ " + t("sv", "Approve"), message=request))
        assert eva.alerts[-1] == t("sv", "Approved: announcement #{id} is going out now.", id=1)

        progress = await bram.expect_text(t("en", "Announcement #{id}: {status}", id=1,
                                                 status=t("en", "sending")))  # fmt: skip
        going = await bram.expect_text(" per second", timeout=10)  # the rate, and the time left
        assert going.edited and going.message_id == progress.message_id
        assert "🕒 About " in going.text and "✅ Sent: " in going.text
        await until(bot, lambda s: s.get("sent", 0) >= 2)
        await answered(bram, await bram.press("⏸ " + t("en", "Pause"), message=progress))
        assert bram.alerts[-1] == t("en", "Paused. Nothing more goes out until you resume.")
        paused = await until(bot, lambda s: s.get("sending", 0) == 0)  # those in flight land
        await asyncio.sleep(1.5)
        assert (await states(bot)) == paused and paused.get("held", 0) >= 20
        shown = next(m for m in bram.bot_messages if m.message_id == progress.message_id)
        assert "▶️ " + t("en", "Resume") in shown.button_texts

        await bram.press("▶️ " + t("en", "Resume"), message=shown)
        await until(bot, lambda s: s.get("sent", 0) >= paused["sent"] + 2)
        await answered(bram, await bram.press("❌ " + t("en", "Cancel"), message=shown))
        assert bram.alerts[-1].startswith(
            t("en", "Cancelled: {count} will not be sent.", count=0)[:10]
        )
        final = await until(bot, lambda s: s.get("sending", 0) == 0 and s.get("queued", 0) == 0)
        after_cancel = delivered(bot)
        await asyncio.sleep(2.0)
        assert delivered(bot) == after_cancel == final["sent"]  # nothing after the cancel
        assert final["cancelled"] >= 10 and final["sent"] + final["cancelled"] == 40
        assert not set(bot.sandbox.rate_limited) & set(CROWD)  # no member's chat was refused
        await bram.expect_text(t("en", "Announcement #{id}: {status}", id=1,
                                      status=t("en", "cancelled")))  # fmt: skip

        # Piet's own announcement stays in West: a forged Oost toggle is refused.
        await compose(bot, piet, "nl", "Nieuws uit West", kind="General news")
        await piet.press("⏭ " + t("nl", "Skip"))
        await piet.expect_text(t("nl", "Buttons under the announcement (optional):"))
        await piet.press("➡️ " + t("nl", "Next"))
        await piet.expect_text(t("nl", VERSIONS, default="Nederlands", have="Nederlands"))
        await piet.press("➡️ " + t("nl", "Next"))
        view = await piet.expect_text(t("nl", "Who gets it?"))
        assert [b for b in view.button_texts if "Oost" in b or "West" in b] == ["✅ West"]
        await piet.press_raw(view.message_id, "bc:2:region:oost")
        await piet.press_raw(view.message_id, "bc:1:preview")  # Bram's broadcast
        await bot.sandbox.idle()
        assert sorted(piet.alerts[-2:]) == sorted([
            t("nl", "You can only address members of your own region."),
            t("nl", "That button is no longer valid."),
        ])  # fmt: skip
        await piet.send_text("/berichten")
        history = await piet.expect_text(t("nl", "Announcements"))
        assert t("nl", "No announcements yet.") in history.text
        assert bot.app is not None
        async with bot.app.sessions() as session:
            piets = await session.get(Broadcast, 2)
            assert piets is not None and piets.audience["regions"] == ["west"]


async def test_a_photo_announcement_to_a_skill_scheduled_in_swedish(database_url: str) -> None:
    """An admin writing in Swedish: a photo carrying the text (a too long caption refused),
    the audience by a learning wish typed as members type it, a time typed the Swedish way;
    the scheduler sends it at that time and the progress message follows."""
    async with running_bot(database_url, admin_ids=str(EVA), reminder_interval=0.5) as bot:
        await setup_members(bot)
        eva = bot.sandbox.user(EVA, "Eva", language_code="sv")
        anna = bot.sandbox.user(ANNA, "Anna", language_code="nl")
        eric = bot.sandbox.user(ERIC, "Eric", language_code="en")
        await eva.send_text("/utskick")
        await eva.expect_text(t("sv", START))
        await eva.press("📰 " + t("sv", "General news"))
        await eva.expect_text(t("sv", ASK_TEXT))
        await eva.send_sticker()
        await eva.expect_text(
            t("sv", "Please send the announcement as text, or a photo with a caption.")
        )
        await eva.send_photo(caption="x" * 1100)
        await eva.expect_text(t("sv", LONG_CAPTION, count=1100))
        await eva.send_photo(caption="Medlemsmöte på fredag")
        await eva.expect_text(t("sv", "Buttons under the announcement (optional):"))
        await eva.press("➡️ " + t("sv", "Next"))
        await eva.expect_text(t("sv", VERSIONS, default="svenska", have="svenska"))
        await eva.press("➡️ " + t("sv", "Next"))
        await eva.expect_text(t("sv", "Who gets it?"))
        await eva.press("🎯 " + t("sv", "Learning wishes…"))
        await eva.expect_text(t("sv", ASK_SKILLS))
        await eva.send_text("debateren, pizza bakken")
        await eva.expect_text(t("sv", "Not in the skills list: {words}", words="pizza bakken"))
        view = await eva.expect_text(t("sv", "Who gets it?"))
        assert reaches("sv", 1) in view.text
        await eva.press("👁 " + t("sv", "Preview"))
        preview = await eva.next()
        assert preview.photo is not None and preview.text == "Medlemsmöte på fredag"
        assert preview.button_texts == ["🔕 " + t("sv", "No more of these")]
        summary = await eva.expect_text(reaches("sv", 1))
        await eva.press("🗓 " + t("sv", "Schedule…"), message=summary)
        await eva.expect_text(t("sv", ASK_WHEN, example="2027-03-14 10:00"))
        await eva.send_text("i morgon")
        await eva.expect_text(t("sv", "That is not a future date and time, like {example}.",
                                example="2027-03-14 10:00"))  # fmt: skip
        when = next_local("10:00")
        local = when.astimezone(ZoneInfo("Europe/Amsterdam"))
        await eva.send_text(local.strftime("%Y-%m-%d %H:%M"))
        on = short_when(when, "sv", ZoneInfo("Europe/Amsterdam"))
        scheduled = await eva.expect_text(t("sv", "Scheduled: it goes out on {when}.", when=on))
        assert scheduled.button_texts == ["❌ " + t("sv", "Cancel")]
        assert bot.app is not None
        async with bot.app.sessions() as session:
            made = await session.get(Broadcast, 1)
            assert made is not None and made.status == "scheduled" and made.send_at == when
        await anna.expect_silence(quiet=1.0)

        with clock.travel_to(when + timedelta(minutes=1)):
            got = await anna.expect_text("Medlemsmöte på fredag", timeout=10)
            assert got.photo is not None
            assert got.button_texts == ["🔕 " + t("nl", "No more of these")]
            await eva.expect_text(
                t("sv", "Announcement #{id}: {status}", id=1, status=t("sv", "done")), timeout=15
            )
        await eric.expect_silence()


async def test_the_history_pages_within_telegram_limits(sqlite_url: str) -> None:
    """Announcements with the longest audiences: every page fits one message, and paging
    forward shows each announcement once, newest first."""
    async with running_bot(sqlite_url) as bot:
        await give_role(bot, BRAM)
        assert bot.app is not None
        async with bot.app.sessions() as session:
            skills = await factories.skill_ids(
                session, "debatteren", "begroting", "speechen", "sociale media", "moties",
                "campagne", "fondsenwerving", "onderhandelen", "interviews", "presenteren",
            )  # fmt: skip
            long_title = "W" * 200
            workshop_id = await factories.workshop(session, long_title, "Zwolle")
            audience = Audience(
                regions=("noord", "oost", "west", "zuid"), member_kinds=("member",),
                locales=("nl", "en", "sv"), wishes=tuple(skills), talents=tuple(skills),
                workshop_id=workshop_id, signed_up=False,
            )  # fmt: skip
            for n in range(12):
                draft = Draft({"nl": f"Bericht {n}"}, "nl", signup_workshop_id=workshop_id)
                made = await broadcasts.create(session, BRAM, draft, audience, ALL_REGIONS)
                made.status, made.started_at = "done", clock.now()
            await session.commit()
        bram = bot.sandbox.user(BRAM, "Bram", language_code="nl")
        await bram.send_text("/berichten")
        page = await bram.expect_text(t("nl", "Announcements"))
        seen: list[int] = []
        while True:
            assert len(page.text) <= 4096 and len(page.raw) <= 4096
            seen += [int(n) for n in re.findall(r"^#(\d+) · 📅", page.text, re.MULTILINE)]
            if "▶️" not in page.button_texts:
                break
            await bram.press("▶️", message=page)
            page = await bram.expect_text(t("nl", "Announcements"))
            assert page.edited
        assert seen == list(range(12, 0, -1))


async def test_a_draft_survives_a_restart(sqlite_url: str) -> None:
    """The conversation is in memory, the draft in the database: after a restart the
    preview's Send button still sends it, once."""
    async with running_bot(sqlite_url) as bot:
        await setup_members(bot)
        await give_role(bot, BRAM)
        bram = bot.sandbox.user(BRAM, "Bram", language_code="nl")
        anna = bot.sandbox.user(ANNA, "Anna", language_code="nl")
        for tid in (ERIC, SANNA, WIM, FLEUR, JOOP):
            bot.sandbox.user(tid, "Lid", language_code="nl")
        await compose(bot, bram, "nl", "Na de herstart")
        await bram.press("⏭ " + t("nl", "Skip"))
        await bram.expect_text(t("nl", "Buttons under the announcement (optional):"))
        await bram.press("➡️ " + t("nl", "Next"))
        await bram.expect_text(t("nl", VERSIONS, default="Nederlands", have="Nederlands"))
        await bram.press("➡️ " + t("nl", "Next"))
        await bram.expect_text(t("nl", "Who gets it?"))
        await bram.press("👁 " + t("nl", "Preview"))
        summary = await bram.expect_text(reaches("nl", 6))
        send = summary.find_button("✅ " + t("nl", "Send now")).data
        assert send is not None
        await bot.restart()
        await bram.press_raw(summary.message_id, send)
        await anna.expect_text("Na de herstart", timeout=10)
        await bram.press_raw(summary.message_id, send)  # again: refused
        await bot.sandbox.idle()
        assert bram.alerts[-1] == t("nl", "That button is no longer valid.")
        assert len([m for m in anna.bot_messages if m.text == "Na de herstart"]) == 1


async def test_with_nobody_to_approve_the_author_is_told(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, broadcast_approval_over=0) as bot:
        await setup_members(bot)
        await give_role(bot, BRAM, "oost")
        bram = bot.sandbox.user(BRAM, "Bram", language_code="nl")
        await compose(bot, bram, "nl", "Alleen ik")
        await bram.press("⏭ " + t("nl", "Skip"))
        await bram.expect_text(t("nl", "Buttons under the announcement (optional):"))
        await bram.press("➡️ " + t("nl", "Next"))
        await bram.expect_text(t("nl", VERSIONS, default="Nederlands", have="Nederlands"))
        await bram.press("➡️ " + t("nl", "Next"))
        await bram.expect_text(t("nl", "Who gets it?"))
        await bram.press("👁 " + t("nl", "Preview"))
        summary = await bram.expect_text(reaches("nl", 5))
        await bram.press("📨 " + t("nl", "Ask for approval"), message=summary)
        await bram.expect_text(t("nl", NOBODY, id=1))


async def test_a_file_goes_with_the_announcement(sqlite_url: str) -> None:
    """A programme as a PDF, sent at the photo question: members get the file with the text
    as its caption (it fits in 1,024 characters), the buttons under it."""
    async with running_bot(sqlite_url) as bot:
        await setup_members(bot)
        await give_role(bot, BRAM)
        bram = bot.sandbox.user(BRAM, "Bram", language_code="nl")
        fleur = bot.sandbox.user(FLEUR, "Fleur", language_code="nl")
        await compose(bot, bram, "nl", "Het programma van de trainingsdag")
        await bram.send_sticker()
        await bram.expect_text(t("nl", "Please send a photo or a file, or tap Skip."))
        await bram.send_document("programma.pdf", b"%PDF-1.4 programma", "application/pdf")
        await bram.expect_text(t("nl", "Buttons under the announcement (optional):"))
        await bram.press("➡️ " + t("nl", "Next"))
        await bram.expect_text(t("nl", VERSIONS, default="Nederlands", have="Nederlands"))
        await bram.press("➡️ " + t("nl", "Next"))
        await bram.expect_text(t("nl", "Who gets it?"))
        await bram.press("▫️ West")
        await bram.expect_text(reaches("nl", 1))
        await bram.press("👁 " + t("nl", "Preview"))
        preview = await bram.next()
        assert preview.document is not None and preview.text == "Het programma van de trainingsdag"
        summary = await bram.expect_text(reaches("nl", 1))
        await bram.press("✅ " + t("nl", "Send now"), message=summary)
        got = await fleur.expect_text("Het programma van de trainingsdag", timeout=10)
        assert got.document is not None and got.document.filename == "programma.pdf"
        assert got.document.data == b"%PDF-1.4 programma"
        assert got.button_texts == ["🔕 " + t("nl", "No more of these")]
