"""End to end, on SQLite and PostgreSQL: an organiser creates and edits a learning track in
the chat (every wrong answer refused with a reason and nothing stored), members withdraw and
the first waiting is told in their own language, a completed track is announced with what it
opens, and a "yes" to training others puts the member in the trainer pool."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select, update

from bot import clock
from bot.services import catalogue, roles, tracks
from bot.services.roles import RoleName
from handlers.tracks import tell_completions
from storage.models import Member, MemberSkill, Signup, Track, TrackPlace
from tests import factories
from tests.botrunner import I18N, RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

OOST, MEMBER = 8611, 8612
NOT_FUTURE = "That is not a future date and time, like 2027-03-14 12:00. Or tap the button."
NO_TRACK = "There is no track #{number}. Tap one of the tracks, or send - for none."
INTAKE_Q = "A question to ask members when they apply (the intake question)? Send - for none."
COUNTS = "{placed} placed · {waiting} waiting"
TOO_FEW = (
    "Not saved: {n} member already has a place, so the track needs at least {n} place.",
    "Not saved: {n} members already have a place, so the track needs at least {n} places.",
)
MOVED_UP = "A place came free in <b>{title}</b>, and it is yours now."
BAD_SESSIONS = (
    "Not saved: these workshops do not exist, are not published or are not in your "
    "region: {numbers}."
)
NUMBERS = "Please send workshop numbers separated by spaces, like 14 15, or - for none."
BAD_BEFORE = "Not saved: that track does not exist, or it is this track or comes after it."
ASK_WITHDRAW = (
    "Withdraw from <b>{title}</b>? A place you have goes to the first on the waiting list."
)
COMPLETED = "You completed <b>{title}</b>: you attended every session. Well done!"
OPENS = "It opens the way to {tracks}: apply in /leergangen."


async def track_row(bot: RunningBot, track_id: int) -> Track:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        track = await session.get(Track, track_id)
        assert track is not None
        return track


async def place_rows(bot: RunningBot, track_id: int) -> dict[int, str]:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        rows = await session.execute(
            select(Member.telegram_id, TrackPlace.status)
            .join(Member, Member.id == TrackPlace.member_id)
            .where(TrackPlace.track_id == track_id)
        )
        return {telegram_id: status for telegram_id, status in rows}


async def test_an_organiser_creates_and_edits_a_track_in_the_chat(database_url: str) -> None:
    async with running_bot(database_url) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            await factories.give_role(session, OOST, RoleName.ORGANISER, "oost")
            await factories.onboarded(session, MEMBER, "Mila", "Zwolle")
            step1 = await tracks.create(session, title="Ledenscholing stap 1", places=20)
            west = await tracks.create(session, title="West", places=5, region_code="west")
            in_west = await factories.workshop(session, "Utrecht", "Utrecht", region_code="west")
            in_oost = await factories.workshop(session, "Deventer", "Deventer", region_code="oost")
        mila = bot.sandbox.user(MEMBER, "Mila", language_code="nl")
        await mila.send_text("/nieuweleergang")
        await mila.expect_text(t("nl", "This command is for organisers only."))

        bram = bot.sandbox.user(OOST, "Bram", language_code="nl")
        await bram.send_text("/nieuweleergang")
        await bram.expect_text("/stop")
        await bram.send_sticker()
        await bram.expect_text(t("nl", "Please answer with text (or send /stop to stop)."))
        await bram.send_text("x" * 201)
        await bram.expect_text(t("nl", "Please send a title of at most 200 characters."))
        await bram.send_text("Ledenscholing stap 2")
        await bram.expect_text(t("nl", "A short description for members? Send - for none."))
        await bram.send_text("Twee avonden <debat> & begroting.")
        await bram.expect_text(t("nl", "How many places? Send a number."))
        for wrong in ("veel", "-3", "10001"):
            await bram.send_text(wrong)
            await bram.expect_text(t("nl", "Please send a whole number from 0 to 10000."))
        await bram.send_text("2")
        ask = await bram.expect_text("2027-03-14 12:00")
        await bram.send_text("morgen")
        await bram.expect_text(t("nl", NOT_FUTURE))
        await bram.press("👥 " + t("nl", "First come, first served"), message=ask)
        await bram.expect_text(t("nl", "No prerequisite"))
        await bram.send_text("999")
        await bram.expect_text(t("nl", NO_TRACK, number="999"))
        await bram.press(f"#{step1.id} Ledenscholing stap 1")
        await bram.expect_text("debatteren")  # the skills question
        await bram.send_text("debatteren, kwantumfysica")
        await bram.expect_text("kwantumfysica")
        await bram.send_text("debatteren, begroting lezen")
        await bram.expect_text(t("nl", INTAKE_Q))
        await bram.send_text("Waarom wil je meedoen?")
        summary = await bram.expect_text(t("nl", "Create this track?"))
        assert "Ledenscholing stap 2" in summary.text and "Oost" in summary.text
        assert "<debat> & begroting" in summary.text  # escaped in HTML, shown as typed
        await bram.press("✅ " + t("nl", "Create"), message=summary)
        created = await bram.expect_text("/leergang")
        track_id = int(created.text.split("#")[1].split(".")[0])
        track = await track_row(bot, track_id)
        assert (track.title, track.places, track.region_code) == ("Ledenscholing stap 2", 2, "oost")
        assert (track.prerequisite_id, track.intake_question) == (
            step1.id,
            "Waarom wil je meedoen?",
        )
        async with bot.app.sessions() as session:
            assert len(await tracks.skill_ids_of(session, track_id)) == 2
            # two placed, one waiting (she is told in Swedish when she moves up)
            people = await factories.bare_members(session, 3, 8620)
            await session.execute(
                update(Member).where(Member.id == people[2].id).values(locale="sv")
            )
            for n, (p, status) in enumerate(
                zip(people, ("placed", "placed", "waiting"), strict=True)
            ):
                session.add(
                    TrackPlace(
                        track_id=track_id,
                        member_id=p.id,
                        status=status,
                        position=n if status == "waiting" else 0,
                    )
                )
            await session.commit()

        sv = bot.sandbox.user(8622, "Sara", language_code="sv")  # she has a chat with the bot
        # the card, and fewer places than members placed: refused, nothing changed
        await bram.send_text(f"/leergang {track_id}")
        card = await bram.expect_text(t("nl", COUNTS, placed=2, waiting=1))
        await bram.press("👥 " + t("nl", "Places"), message=card)
        await bram.expect_text(t("nl", "Send the new number of places."))
        await bram.send_text("1")
        confirm = await bram.expect_text(t("nl", "Save this change?"))
        await bram.press("💾 " + t("nl", "Save"), message=confirm)
        refusal = I18N.gettext(*TOO_FEW, 2, locale="nl").format(n=2)
        await bram.expect_text(refusal)
        assert (await track_row(bot, track_id)).places == 2
        # more places: the first waiting moves up and is told, in Swedish
        await bram.press("👥 " + t("nl", "Places"), message=card)
        await bram.expect_text(t("nl", "Send the new number of places."))
        await bram.send_text("3")
        confirm = await bram.expect_text(t("nl", "Save this change?"))
        await bram.press("💾 " + t("nl", "Save"), message=confirm)
        await bram.expect_text(t("nl", COUNTS, placed=3, waiting=0))
        await sv.expect_text(t("sv", MOVED_UP, title="Ledenscholing stap 2"))
        assert (await track_row(bot, track_id)).places == 3

        # sessions: a West workshop is refused, an Oost one taken
        await bram.press("📅 " + t("nl", "Sessions"), message=card)
        await bram.expect_text("14 15")
        await bram.send_text(f"{in_oost} {in_west}")
        confirm = await bram.expect_text(t("nl", "Save this change?"))
        await bram.press("💾 " + t("nl", "Save"), message=confirm)
        await bram.expect_text(t("nl", BAD_SESSIONS, numbers=f"#{in_west}"))
        await bram.press("📅 " + t("nl", "Sessions"), message=card)
        await bram.expect_text("14 15")
        await bram.send_text("veertien")
        await bram.expect_text(t("nl", NUMBERS))
        await bram.send_text(f"#{in_oost}")
        confirm = await bram.expect_text(t("nl", "Save this change?"))
        await bram.press("✖️ " + t("nl", "Cancel"), message=confirm)  # changes nothing
        await bram.expect_text(t("nl", "Nothing was changed."))
        await bram.press("📅 " + t("nl", "Sessions"), message=card)
        await bram.expect_text("14 15")
        await bram.send_text(f"#{in_oost}")
        confirm = await bram.expect_text(t("nl", "Save this change?"))
        await bram.press("💾 " + t("nl", "Save"), message=confirm)
        await bram.expect_text(f"#{in_oost} Deventer")
        # a circle of prerequisites is refused
        async with bot.app.sessions() as session:
            await tracks.edit(
                session, tracks.ALL_REGIONS, step1.id, tracks.Field.PREREQUISITE, None
            )
        await bram.press("➡️ " + t("nl", "Prerequisite"), message=card)
        await bram.expect_text("/stop")
        await bram.send_text(str(track_id))
        confirm = await bram.expect_text(t("nl", "Save this change?"))
        await bram.press("💾 " + t("nl", "Save"), message=confirm)
        await bram.expect_text(t("nl", BAD_BEFORE))
        assert (await track_row(bot, track_id)).prerequisite_id == step1.id

        # rights: another region's track, by command and by a forged button
        await bram.send_text(f"/leergang {west.id}")
        await bram.expect_text(t("nl", "This track is not in your region."))
        before = len(bram.alerts)
        await bram.press_raw(card.message_id, f"tedit:{west.id}:title")
        await bot.sandbox.idle()
        assert len(bram.alerts) == before + 1
        assert bram.alerts[-1] == t("nl", "That button is no longer valid.")
        await mila.send_text(f"/leergang {track_id}")
        await mila.expect_text(t("nl", "This command is for organisers only."))
        assert (await track_row(bot, west.id)).title == "West"


async def test_withdrawing_moves_the_first_waiting_up_in_their_language(
    database_url: str,
) -> None:
    """One place; four members each withdraw in turn: the next is told in en, sv, nl."""
    people = ((8631, "Anne", "nl"), (8632, "Ben", "en"), (8633, "Siv", "sv"), (8634, "Piet", "nl"))
    async with running_bot(database_url) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            members = [
                await factories.onboarded(session, tid, name, "Utrecht", locale=lang)
                for tid, name, lang in people
            ]
            track = await tracks.create(session, title="Debat <stap 1>", places=1)
            for m in members:
                await tracks.apply(session, m, track.id)
        for (tid, name, lang), (next_id, next_name, next_lang) in pairwise(people):
            user = bot.sandbox.user(tid, name, language_code=lang)
            await user.send_text("/leergangen")
            page = await user.expect_text(t(lang, "You have a place."))
            await user.press("↩️ " + t(lang, "Withdraw") + ": Debat <stap 1>", message=page)
            ask = await user.expect_text(t(lang, ASK_WITHDRAW, title="Debat <stap 1>"))
            await user.press("↩️ " + t(lang, "Yes, withdraw"), message=ask)
            await user.expect_text(t(lang, "You withdrew from {title}.", title="Debat <stap 1>"))
            moved = bot.sandbox.user(next_id, next_name, language_code=next_lang)
            await moved.expect_text(t(next_lang, MOVED_UP, title="Debat <stap 1>"))
            # the old confirmation again: refused, nothing changes
            await user.press_raw(ask.message_id, f"twd:{track.id}:yes")
            await bot.sandbox.idle()
            assert user.alerts[-1] == t(lang, "You are not in this track.")
        assert await place_rows(bot, track.id) == {
            8631: "withdrawn",
            8632: "withdrawn",
            8633: "withdrawn",
            8634: "placed",
        }
        anne = bot.sandbox.user(8631, "Anne", language_code="nl")  # applies again: at the back
        await anne.send_text("/leergangen")
        page = await anne.expect_text(t("nl", "Learning tracks"))
        await anne.press("✍️ Debat <stap 1>", message=page)
        await anne.expect_text("1")
        await anne.send_text("/leergangen")
        await anne.expect_text(
            t("nl", "You are number {position} on the waiting list.", position=1)
        )
        # "No, stay" keeps the place
        piet = bot.sandbox.user(8634, "Piet", language_code="nl")
        await piet.send_text("/leergangen")
        page = await piet.expect_text(t("nl", "You have a place."))
        await piet.press("↩️ " + t("nl", "Withdraw") + ": Debat <stap 1>", message=page)
        ask = await piet.expect_text(t("nl", ASK_WITHDRAW, title="Debat <stap 1>"))
        await piet.press(t("nl", "No, stay"), message=ask)
        await bot.sandbox.idle()
        assert (await place_rows(bot, track.id))[8634] == "placed"
        assert (await place_rows(bot, track.id))[8631] == "waiting"


async def test_completion_notice_and_train_the_trainer(database_url: str) -> None:
    async with running_bot(database_url) as bot:
        assert bot.app is not None
        people = ((8641, "Yara", "en"), (8642, "Nils", "sv"), (8643, "Noor", "nl"))
        async with bot.app.sessions() as session:
            members = [
                await factories.onboarded(session, tid, name, "Utrecht", locale=lang)
                for tid, name, lang in people
            ]
            await catalogue.ensure_defaults(session)
            await session.commit()
            skills = await factories.skill_ids(session, "debatteren", "begroting lezen")
            step1 = await tracks.create(session, title="Step 1", places=10)
            step2 = await tracks.create(
                session, title="Step 2", places=10, prerequisite_id=step1.id, skill_ids=skills
            )
            step3 = await tracks.create(
                session, title="Step 3", places=10, prerequisite_id=step2.id
            )
            day = await factories.workshop(session, "Step 2, day 1", starts_in=timedelta(hours=1))
            await tracks.add_session(session, step2.id, day)
            for m in members:
                session.add(TrackPlace(track_id=step2.id, member_id=m.id, status="placed"))
                session.add(
                    Signup(
                        workshop_id=day,
                        member_id=m.id,
                        status="confirmed",
                        checked_in_at=clock.now(),
                    )
                )
            await session.commit()
            step2_id, step3_title = step2.id, step3.title
        yara, nils, noor = (bot.sandbox.user(tid, n, language_code=lang) for tid, n, lang in people)
        with clock.travel_to(clock.now() + timedelta(hours=5)):
            assert await tell_completions(bot.app.bot, bot.app.sessions, bot.app.i18n) == 3
            assert await tell_completions(bot.app.bot, bot.app.sessions, bot.app.i18n) == 0
        notices = {}
        for user, lang in ((yara, "en"), (nils, "sv"), (noor, "nl")):
            notice = await user.expect_text(t(lang, COMPLETED, title="Step 2"))
            assert t(lang, OPENS, tracks=step3_title) in notice.text
            notices[lang] = notice
        assert "Debating" in notices["en"].text and "Debattera" in notices["sv"].text
        await yara.press("✅ " + t("en", "Yes, I would"), message=notices["en"])
        await yara.expect_text("trainer pool")
        offer = await yara.expect_text("/profiel")
        await yara.press("🔎 " + t("en", "Let organisers find me"), message=offer)
        await yara.expect_text(
            t("en", "Done: organisers can find you and ask you through the bot.")
        )
        await nils.press(t("sv", "No, thank you"), message=notices["sv"])
        await nils.expect_text(t("sv", "That is fine. Should you change your mind: /profiel."))
        async with bot.app.sessions() as session:
            rows = (
                await session.execute(
                    select(Member.telegram_id, MemberSkill.skill_id, MemberSkill.level).join(
                        Member, Member.id == MemberSkill.member_id
                    )
                )
            ).all()
        assert sorted((r.skill_id, r.level) for r in rows if r.telegram_id == 8641) == sorted(
            (s, "teach") for s in skills
        )
        assert not [r for r in rows if r.telegram_id == 8642]
        async with bot.app.sessions() as session:
            yara_row = await session.scalar(select(Member).where(Member.telegram_id == 8641))
            assert yara_row is not None and yara_row.findable
            assert await roles.agreed_to_train(session, yara_row)  # in the trainer pool
        # a forged answer for a track the member did not complete
        before = len(noor.alerts)
        await noor.press_raw(notices["nl"].message_id, f"tteach:{step2_id + 1}:1")
        await bot.sandbox.idle()
        assert len(noor.alerts) == before + 1
        assert noor.alerts[-1] == t("nl", "That button is no longer valid.")


async def test_an_admin_creates_a_national_lottery_track_and_moves_it_to_a_region(
    database_url: str,
) -> None:
    """The draw's time typed in the dialog, the commitment shown (never the seed); the region
    chosen with a button (national included for those who act everywhere), and changed later
    from the card; a forged region button for a region that does not exist is refused."""
    async with running_bot(database_url, admin_ids="8650") as bot:
        assert bot.app is not None
        ada = bot.sandbox.user(8650, "Ada", language_code="en")
        await ada.send_text("/newtrack")
        await ada.expect_text("/stop")
        await ada.send_text("Leadership")
        await ada.expect_text(t("en", "A short description for members? Send - for none."))
        await ada.send_text("-")
        await ada.expect_text(t("en", "How many places? Send a number."))
        await ada.send_text("12")
        await ada.expect_text("2027-03-14 12:00")
        await ada.send_text("2020-01-01 12:00")  # in the past
        await ada.expect_text(t("en", NOT_FUTURE))
        await ada.send_text("2031-01-10 12:00")
        await ada.expect_text(t("en", "No prerequisite"))
        await ada.press(t("en", "No prerequisite"))
        await ada.expect_text("debating")
        await ada.send_text("-")
        await ada.expect_text(t("en", INTAKE_Q))
        await ada.send_text("-")
        ask = await ada.expect_text(t("en", "Which region is this track for?"))
        assert "🌍 " + t("en", "National") in ask.button_texts
        await ada.press_raw(ask.message_id, "tregion:atlantis")
        await bot.sandbox.idle()
        assert ada.alerts[-1] == t("en", "That button is no longer valid.")
        await ada.press("🌍 " + t("en", "National"), message=ask)
        summary = await ada.expect_text(t("en", "Create this track?"))
        assert "by lottery" in summary.text
        await ada.press("✅ " + t("en", "Create"), message=summary)
        created = await ada.expect_text("SHA-256")
        track_id = int(created.text.split("#")[1].split(".")[0])
        track = await track_row(bot, track_id)
        assert (track.allocation, track.region_code, track.places) == ("lottery", None, 12)
        assert track.seed and track.seed not in created.text
        assert str(track.seed_commitment) in created.text

        await ada.send_text("/track")  # without a number: which ones there are
        listed = await ada.expect_text(
            t("en", "Send /leergang and a track's number, like /leergang 3.")
        )
        assert f"#{track_id} Leadership" in listed.text
        await ada.send_text(f"/track {track_id}")
        card = await ada.expect_text(t("en", COUNTS, placed=0, waiting=0))
        await ada.press("📍 " + t("en", "Region"), message=card)
        ask = await ada.expect_text(t("en", "Which region is this track for?"))
        await ada.press("Oost", message=ask)
        confirm = await ada.expect_text(t("en", "Save this change?"))
        assert "Oost" in confirm.text
        await ada.press("💾 " + t("en", "Save"), message=confirm)
        await ada.expect_text("📍 Oost")
        assert (await track_row(bot, track_id)).region_code == "oost"
        # the dialog's buttons are dead once it is over
        await ada.press_raw(summary.message_id, "tnew:create:0")
        await bot.sandbox.idle()
        assert ada.alerts[-1] == t("en", "That button is no longer valid.")


async def test_the_card_of_the_largest_track_fits_one_message(sqlite_url: str) -> None:
    """Every text at its longest, of characters HTML must escape, and 40 sessions: the card
    stays within 4,096 characters and shows the texts as typed."""
    async with running_bot(sqlite_url, admin_ids="8660") as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            await catalogue.ensure_defaults(session)
            await session.commit()
            skills = await factories.skill_ids(session, "debatteren", "begroting lezen")
            before = await tracks.create(session, title="&" * 200, places=1)
            track = await tracks.create(
                session, title="<&>" * 66, places=10_000, description="&" * 2000,
                intake_question="<" * 500, prerequisite_id=before.id, skill_ids=skills,
            )  # fmt: skip
            for n in range(40):
                workshop = await factories.workshop(session, f"{n:02d}" + "&" * 198)
                await tracks.add_session(session, track.id, workshop)
        ada = bot.sandbox.user(8660, "Ada", language_code="en")
        await ada.send_text(f"/track {track.id}")
        card = await ada.expect_text(t("en", COUNTS, placed=0, waiting=0))
        assert len(card.text) <= 4096 and "<&><&>" in card.text and "… +25" in card.text
        assert len(card.button_texts) == 8
