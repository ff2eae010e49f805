"""End to end: suggestions with reasons, a deep link, signing up, the waiting list, a
promotion, cancelling, the calendar file, and forged buttons."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import clock
from bot.services import onboarding, profile
from bot.services.onboarding import Kind
from bot.services.places import default_gazetteer
from bot.services.profile import SkillKind
from storage.models import Member, Signup, Workshop, utcnow
from tests import factories
from tests.botrunner import RunningBot, running_bot, t
from tests.conftest import next_local

pytestmark = pytest.mark.e2e


async def member(
    bot: RunningBot, tid: int, name: str, town: str, wishes: str = "", kind: Kind = Kind.MEMBER
) -> None:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        await factories.onboarded(session, tid, name, town, kind=kind, wishes=wishes)


async def workshop(
    bot: RunningBot, title: str, town: str | None, days: int, capacity: int, **kw: object
) -> int:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        return await factories.workshop(
            session, title, town, starts_in=timedelta(days=days), hours=2, capacity=capacity, **kw
        )


async def code_of(bot: RunningBot, workshop_id: int) -> str:
    """The unguessable code of a workshop's poster link."""
    assert bot.app is not None
    async with bot.app.sessions() as session:
        found = await session.get(Workshop, workshop_id)
        assert found is not None
        return found.code


async def test_suggestions_explain_themselves_and_sign_up_works(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        await member(bot, 7301, "Anna", "Zwolle", wishes="debatteren")
        far = await workshop(bot, "Begroting lezen", "Maastricht", 20, 10)
        near = await workshop(bot, "Debattraining", "Deventer", 30, 10, skills=("debatteren",))
        online = await workshop(bot, "Sociale media", None, 10, 10)
        anna = bot.sandbox.user(7301, "Anna", language_code="nl")
        await anna.send_text("/workshops")
        page = await anna.expect_text(t("nl", "Workshops for you"))
        lines = page.text.splitlines()
        assert lines[2].startswith("1. Debattraining")  # the wish counts most
        assert "Debatteren" in lines[3] and "km" in lines[3]
        assert "Sociale media" in lines[4] and t("nl", "online") in lines[5]
        assert "Begroting lezen" not in page.text  # Maastricht: beyond SUGGEST_MAX_KM
        await anna.press("1. Debattraining", message=page)
        detail = await anna.expect_text("Debattraining")
        assert t("nl", "{count} place left", count=10).split()[1] in detail.text
        await anna.press("✅ " + t("nl", "Sign me up"), message=detail)
        # the outcome on the button and on the card itself, no new message
        signed = await anna.expect_text(t("nl", "You are signed up."))
        assert signed.edited and signed.message_id == detail.message_id
        places = next(line for line in signed.text.splitlines() if line.startswith("👥"))
        assert " 9 " in places and " 10 " in detail.text  # the count brought up to date
        assert anna.alerts[-1] == t(
            "nl", "✅ You are signed up for {title}.", title="Debattraining"
        )
        labels = [b.text for row in signed.inline_keyboard for b in row]
        assert labels == [
            "📅 " + t("nl", "Calendar file"),
            "❌ " + t("nl", "Cancel my place"),
            "↩️ " + t("nl", "All workshops"),
        ]
        await anna.expect_silence()  # the calendar file only when asked for
        await anna.press("📅 " + t("nl", "Calendar file"), message=signed)
        ics = await anna.next()
        assert ics.document is not None and b"SUMMARY:Debattraining" in ics.document.data
        assert ics.document.filename == f"workshop-{near}.ics"
        assert far and online


async def test_waiting_list_promotion_and_cancel(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        await member(bot, 7302, "Bo", "Utrecht")
        await member(bot, 7303, "Cas", "Utrecht")
        one_place = await workshop(bot, "Voorzitten", "Utrecht", 7, 1)
        bo = bot.sandbox.user(7302, "Bo", language_code="nl")
        cas = bot.sandbox.user(7303, "Cas", language_code="nl")
        await bo.send_text(f"/start w_{one_place}")
        detail = await bo.expect_text("Voorzitten")
        await bo.press("✅ " + t("nl", "Sign me up"), message=detail)
        await bo.expect_text(t("nl", "You are signed up."))
        await cas.send_text(f"/start w_{one_place}")
        detail = await cas.expect_text("Voorzitten")
        await cas.press("✅ " + t("nl", "Sign me up"), message=detail)
        waiting = await cas.expect_text(
            t("nl", "You are number {position} on the waiting list.", position=1)
        )
        assert t("nl", "I will tell you at once if a place comes free.") in waiting.text
        assert t("nl", "Full — {count} on the waiting list", count=1) in waiting.text
        full = "⏳ {title} is full: you are number {position} on the waiting list."
        assert cas.alerts[-1] == t("nl", full, title="Voorzitten", position=1)
        assert next(b.text for row in waiting.inline_keyboard for b in row) == "❌ " + t(
            "nl", "Leave the waiting list"
        )
        # Bo cancels from a fresh detail view; Cas is promoted at once
        await bo.send_text(f"/start w_{one_place}")
        detail = await bo.expect_text(t("nl", "You are signed up."))
        await bo.press("❌ " + t("nl", "Cancel my place"), message=detail)
        await bo.expect_text(
            t("nl", "Your place at <b>{title}</b> is cancelled.", title="Voorzitten")
        )
        promoted = await cas.expect_text("🎉")
        assert "Voorzitten" in promoted.text
        assert bot.app is not None
        async with bot.app.sessions() as session:
            rows = (await session.scalars(select(Signup).order_by(Signup.id))).all()
        assert [r.status for r in rows] == ["cancelled", "confirmed"]


async def test_refusals_and_forged_buttons(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        await member(bot, 7304, "Dewi", "Leiden", kind=Kind.SYMPATHISER)
        closed = await workshop(bot, "Alleen leden", "Leiden", 5, 10, members_only=True)
        dewi = bot.sandbox.user(7304, "Dewi", language_code="en")  # her stored choice: nl
        await dewi.send_text(f"/start w_{await code_of(bot, closed)}")
        detail = await dewi.expect_text("Alleen leden")
        await dewi.press("✅ " + t("nl", "Sign me up"), message=detail)
        await bot.sandbox.idle()
        refusal = (
            "This workshop is for members only. If you have become a member, change it under "
            "✏️ Change my details."
        )
        assert dewi.alerts[-1] == t("nl", refusal)
        for forged in ("wsign:999999", "wcancel:999999", f"wcancel:{closed}", "w:999999"):
            await dewi.press_raw(detail.message_id, forged)
            await bot.sandbox.idle()
        gone = t("nl", "This workshop no longer exists or was cancelled.")
        assert dewi.alerts[-3] == gone
        assert dewi.alerts[-1] == t("nl", "You are not signed up for this workshop.")
        assert dewi.bot_messages[-1].text == gone
        assert bot.app is not None
        async with bot.app.sessions() as session:
            assert (await session.scalars(select(Signup))).all() == []
        # a stranger arriving by a poster's QR code sees the workshop, then the consent question
        stranger = bot.sandbox.user(7399, "Eef", language_code="nl")
        await stranger.send_text(f"/start w_{await code_of(bot, closed)}")
        card = await stranger.expect_text("Alleen leden")
        await stranger.expect_text(t("nl", "<b>Do you agree that I store this?</b>"))
        await stranger.press_raw(card.message_id, f"wsign:{closed}")  # an old or forged button
        await bot.sandbox.idle()
        assert stranger.alerts[-1] == t("nl", "Please give your consent first: send /start.")
        async with bot.app.sessions() as session:
            assert (await session.scalars(select(Signup))).all() == []


async def test_organiser_moves_then_cancels_a_workshop_and_everyone_is_told(
    sqlite_url: str,
) -> None:
    async with running_bot(sqlite_url, admin_ids="7400") as bot:
        await member(bot, 7401, "Fleur", "Utrecht")
        await member(bot, 7402, "Gijs", "Utrecht")
        assert bot.app is not None
        async with bot.app.sessions() as session:
            from bot.services import roles
            from bot.services.roles import Grant, RoleName

            await roles.assign(
                session, actor=frozenset({Grant(RoleName.ADMIN)}), actor_id=7400,
                target_id=7403, role=RoleName.ORGANISER, region="oost",
            )  # fmt: skip
        item = await workshop(bot, "Campagnedag", "Utrecht", 9, 1, region_code="west")
        for tid, name in ((7401, "Fleur"), (7402, "Gijs")):
            person = bot.sandbox.user(tid, name, language_code="nl" if tid == 7401 else "sv")
            await person.send_text(f"/start w_{item}")
            detail = await person.expect_text("Campagnedag")
            await person.press("✅ " + t("nl", "Sign me up"), message=detail)
            await person.next()
        fleur = bot.sandbox.user(7401, "Fleur", language_code="nl")
        gijs = bot.sandbox.user(7402, "Gijs", language_code="sv")
        fleur.drain()
        gijs.drain()

        regional = bot.sandbox.user(7403, "Hans", language_code="nl")  # organiser for oost
        await regional.send_text(f"/workshop {item}")
        await regional.expect_text(t("nl", "There is no such workshop in your region."))

        admin = bot.sandbox.user(7400, "Eva", language_code="en")
        await admin.send_text(f"/workshop {item}")
        view = await admin.expect_text("Campagnedag")
        assert f"?start=w_{await code_of(bot, item)}" in view.text
        await admin.send_text(f"/workshop {item} move 2031-05-06 19:30 21:30")
        await admin.expect_text("Moved. I told 2 people.")
        moved = await fleur.expect_text("🗓")
        assert "19:30" in moved.text and "2031" in moved.text
        await gijs.expect_text("🗓")
        await admin.send_text(f"/workshop {item} place Zwolle, Volkshuis")
        await admin.expect_text("Moved. I told 2 people.")
        relocated = await fleur.expect_text("🗓")
        assert "Volkshuis, Zwolle" in relocated.text
        await gijs.expect_text("Zwolle")
        await admin.send_text(f"/workshop {item} place Atlantis")
        await admin.expect_text(t("en", "I do not know that town. Try its name, like Zwolle."))

        await admin.press("📋 " + t("en", "Sign-ups"), message=view)
        listing = await admin.expect_text("📋")
        assert "1. Fleur ✅" in listing.text and "2. Gijs ⏳ 1" in listing.text
        await admin.press("❌ " + t("en", "Cancel this workshop"), message=view)
        confirm = await admin.expect_text("Campagnedag")
        await admin.press(t("en", "Yes, cancel it"), message=confirm)
        await admin.expect_text("Cancelled. I told 2 people.")
        await fleur.expect_text("❌")
        await gijs.expect_text("❌")
        await fleur.send_text(f"/start w_{item}")
        await fleur.expect_text(t("nl", "This workshop no longer exists or was cancelled."))


GOOD_CSV = """title;starts_at;ends_at;town;capacity;topics;members_only
Debatteren voor beginners;2031-03-14 10:00;2031-03-14 13:00;Deventer;12;debatteren;nee
Begroting lezen;2031-03-21 19:30;2031-03-21 21:30;Zwolle;15;begroting lezen;ja
"""
BAD_CSV = """title;starts_at;ends_at;town;capacity;topics;members_only
Debatteren voor beginners;2031-03-14 10:00;2031-03-14 13:00;Deventer;12;debatteren;nee
Begroting lezen;14 maart;2031-03-21 21:30;Atlantis;-3;begroting lezen;misschien
"""


async def test_organiser_imports_a_csv_file_in_the_chat(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids="7500") as bot:
        admin = bot.sandbox.user(7500, "Eva", language_code="nl")
        await admin.send_document("workshops.csv", BAD_CSV.encode())
        report = await admin.expect_text(
            t("nl", "Nothing was imported. Please correct these and send the file again:")
        )
        for column in ("starts_at", "town", "capacity", "members_only"):
            assert "3, " in report.text and column in report.text
        assert bot.app is not None
        async with bot.app.sessions() as session:
            from storage.models import Workshop

            assert (await session.scalars(select(Workshop))).all() == []
        await admin.send_document("workshops.csv", GOOD_CSV.encode())
        await admin.expect_text("2 workshops")
        await member(bot, 7501, "Ilse", "Zwolle", wishes="begroting lezen")
        ilse = bot.sandbox.user(7501, "Ilse", language_code="nl")
        await ilse.send_text("/workshops")
        page = await ilse.expect_text(t("nl", "Workshops for you"))
        assert page.text.splitlines()[2].startswith("1. Begroting lezen 🔒")
        # a member cannot import
        await ilse.send_document("workshops.csv", GOOD_CSV.encode())
        await ilse.expect_text(t("nl", "Only organisers can import workshops."))


async def test_trainer_shows_a_qr_code_and_members_check_in(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        await member(bot, 7601, "Jet", "Utrecht")  # the trainer
        await member(bot, 7602, "Kai", "Utrecht")
        await member(bot, 7603, "Lot", "Utrecht")
        assert bot.app is not None
        async with bot.app.sessions() as session:
            from sqlalchemy import update

            from storage.models import Member, Workshop

            trainer_id = await session.scalar(select(Member.id).where(Member.telegram_id == 7601))
        item = await workshop(bot, "Train de trainer", "Utrecht", 3, 1, trainer_id=trainer_id)
        for tid, name in ((7602, "Kai"), (7603, "Lot")):
            person = bot.sandbox.user(tid, name, language_code="nl")
            await person.send_text(f"/start w_{item}")
            detail = await person.expect_text("Train de trainer")
            await person.press("✅ " + t("nl", "Sign me up"), message=detail)
            await person.next()
        kai = bot.sandbox.user(7602, "Kai", language_code="nl")
        lot = bot.sandbox.user(7603, "Lot", language_code="nl")  # on the waiting list

        trainer = bot.sandbox.user(7601, "Jet", language_code="nl")
        await trainer.send_text(f"/workshop {item}")
        view = await trainer.expect_text("Train de trainer")
        await trainer.press("📷 " + t("nl", "Check-in QR code"), message=view)
        qr = await trainer.next()
        assert qr.photo is not None and qr.photo.data.startswith(b"\x89PNG")
        window = t(
            "nl",
            "Show this at the door: members scan it to check in. It works from an hour before "
            "the start until the end: {when}.",
            when="",
        )
        assert qr.text.startswith(window[:-1])  # the caption states the window, not a day
        token = qr.text.rsplit("start=c_", 1)[1]

        # scanned days before: refused with the window; at the workshop: checked in, once
        kai.drain()
        await kai.send_text(f"/start c_{token}")
        await kai.expect_text(
            t("nl", "This check-in code works only at the workshop itself: {when}.", when="")[:30]
        )
        async with bot.app.sessions() as session:
            await session.execute(
                update(Workshop).where(Workshop.id == item).values(starts_at=utcnow())
            )
            await session.commit()
        await kai.send_text(f"/start c_{token}")
        await kai.expect_text(
            t("nl", "Welcome at <b>{title}</b>! You are checked in.", title="Train de trainer")
        )
        await kai.send_text(f"/start c_{token}")
        await kai.expect_text(
            t("nl", "You were already checked in at <b>{title}</b>.", title="Train de trainer")
        )
        await lot.send_text(f"/start c_{token}")
        await lot.expect_text(
            t("nl", "You do not have a place at this workshop. Please ask the trainer.")
        )
        await kai.send_text("/start c_bogus-code")
        await kai.expect_text(t("nl", "I do not know this check-in code."))

        # the trainer sees the attendance, unticks and ticks by hand, and gets the CSV
        await trainer.press("✅ " + t("nl", "Attendance"), message=view)
        attendance = await trainer.expect_text("1")
        remove = "✖️ " + t("nl", "Take someone off the list")
        assert attendance.button_texts == ["✅ Kai", remove]
        await trainer.press("✅ Kai", message=attendance)
        edited = await trainer.next()
        assert edited.button_texts == ["▫️ Kai", remove]
        await trainer.press("▫️ Kai", message=edited)
        await trainer.next()
        await trainer.press("📄 " + t("nl", "Attendance list (CSV)"), message=view)
        sheet = await trainer.next()
        assert sheet.document is not None
        rows = sheet.document.data.decode("utf-8-sig").splitlines()
        assert rows[0] == "name;status;waiting_position;checked_in_at"
        assert rows[1].startswith("Kai;confirmed;;2") and rows[2] == "Lot;waiting;1;"
        # a trainer cannot cancel the workshop, and a member cannot open it
        await trainer.press_raw(view.message_id, f"wadm:{item}:cancel_yes")
        await bot.sandbox.idle()
        assert trainer.alerts[-1] == t("nl", "Only organisers can move or cancel a workshop.")
        await lot.send_text(f"/workshop {item}")
        await lot.expect_text(t("nl", "There is no such workshop in your region."))


async def test_attendees_are_asked_for_feedback_once_and_organisers_see_it(
    sqlite_url: str,
) -> None:
    async with running_bot(sqlite_url, admin_ids="7700", reminder_interval=0.2) as bot:
        await member(bot, 7701, "Mo", "Utrecht")
        await member(bot, 7702, "Noa", "Utrecht")
        item = await workshop(bot, "Fondsenwerving", "Utrecht", 2, 5)
        for tid, name in ((7701, "Mo"), (7702, "Noa")):
            person = bot.sandbox.user(tid, name, language_code="nl")
            await person.send_text(f"/start w_{item}")
            detail = await person.expect_text("Fondsenwerving")
            await person.press("✅ " + t("nl", "Sign me up"), message=detail)
            await person.next()
        assert bot.app is not None
        async with bot.app.sessions() as session:
            from sqlalchemy import update

            from storage.models import Workshop

            await session.execute(  # Mo was there; Noa was not; it ended an hour ago
                update(Signup)
                .where(
                    Signup.member_id
                    == select(Member.id).where(Member.telegram_id == 7701).scalar_subquery()
                )
                .values(checked_in_at=utcnow() - timedelta(hours=2), reminded_at=utcnow())
            )
            await session.execute(
                update(Signup).where(Signup.checked_in_at.is_(None)).values(reminded_at=utcnow())
            )
            await session.execute(
                update(Workshop).values(
                    starts_at=utcnow() - timedelta(hours=3), ends_at=utcnow() - timedelta(hours=1)
                )
            )
            await session.commit()
        mo = bot.sandbox.user(7701, "Mo", language_code="nl")
        noa = bot.sandbox.user(7702, "Noa", language_code="nl")
        mo.drain()
        noa.drain()
        question = await mo.expect_text("⭐", timeout=10)
        assert "Fondsenwerving" in question.text and len(question.button_texts) == 5
        await mo.press("⭐⭐⭐⭐", message=question)
        await mo.expect_text(
            t("nl", "Thank you! Anything you would like to add? Type it here, or tap No comment.")
        )
        await mo.send_text("Heel praktisch, meer oefenen graag")
        await mo.expect_text(t("nl", "Thank you, I have passed it on."))
        await noa.press_raw(question.message_id, f"fb:{item}:5")  # she was not there
        await asyncio.sleep(0.6)  # a few more scheduler passes: nobody is asked twice
        await mo.expect_silence()
        assert noa.unseen == [] and noa.alerts[-1] == t("nl", "That button is no longer valid.")
        admin = bot.sandbox.user(7700, "Eva", language_code="en")
        await admin.send_text(f"/workshop {item}")
        view = await admin.expect_text("Fondsenwerving")
        assert "Feedback: 4.0 on average (1 rating)" in view.text
        assert "Heel praktisch, meer oefenen graag" in view.text


async def test_learning_tracks_first_come_and_by_lottery(sqlite_url: str) -> None:
    from sqlalchemy import update

    async with running_bot(sqlite_url, reminder_interval=0.2) as bot:
        for tid, name in ((7801, "Olga"), (7802, "Piet"), (7803, "Quinn")):
            await member(bot, tid, name, "Utrecht")
        assert bot.app is not None
        async with bot.app.sessions() as session:
            from bot.services import tracks

            step1 = await tracks.create(session, title="Ledenscholing stap 1", places=1)
            await tracks.create(
                session, title="Ledenscholing stap 2", places=5, prerequisite_id=step1.id
            )
            lottery_track = await tracks.create(
                session, title="Leiderschap", places=1, lottery_at=utcnow() + timedelta(days=1),
                intake_question="Waarom wil je meedoen?",
            )  # fmt: skip
            seed, commitment = lottery_track.seed, lottery_track.seed_commitment
        olga = bot.sandbox.user(7801, "Olga", language_code="nl")
        await olga.send_text("/leergangen")
        listing = await olga.expect_text(t("nl", "Learning tracks"))
        assert str(commitment) in listing.text and str(seed) not in listing.text
        await olga.press("✍️ Ledenscholing stap 1", message=listing)
        await olga.expect_text(
            t("nl", "You have a place in <b>{title}</b>.", title="Ledenscholing stap 1")
        )
        await olga.press("✍️ Ledenscholing stap 2", message=listing)
        await olga.expect_text(
            t(
                "nl",
                "First complete <b>{title}</b>: attend all its sessions.",
                title="Ledenscholing stap 1",
            )
        )
        for person_id, name in ((7801, "Olga"), (7802, "Piet"), (7803, "Quinn")):
            person = bot.sandbox.user(person_id, name, language_code="nl")
            person.drain()
            await person.send_text("/leergangen")
            page = await person.expect_text(t("nl", "Learning tracks"))
            await person.press("✍️ Leiderschap", message=page)
            await person.expect_text("Waarom wil je meedoen?")
            await person.send_text("Ik wil leren leiden")
            await person.expect_text(commitment or "?")
        async with bot.app.sessions() as session:  # the draw's time has come
            from storage.models import Track

            await session.execute(update(Track).values(draw_at=utcnow()))
            await session.commit()
        results = []
        for person_id, name in ((7801, "Olga"), (7802, "Piet"), (7803, "Quinn")):
            person = bot.sandbox.user(person_id, name, language_code="nl")
            results.append((await person.expect_text("Leiderschap", timeout=10)).text)
        assert sum("🎉" in r for r in results) == 1  # one place, drawn
        assert sum("🎲" in r for r in results) == 2
        checkable = t(
            "nl",
            "The secret seed was <code>{seed}</code>; its SHA-256, published before the "
            "draw, is <code>{commitment}</code>. Anyone can check the draw with: "
            "<code>ledenbot lottery verify {track} {seed}</code>",
            seed=seed, commitment=commitment, track=lottery_track.id,
        )  # fmt: skip
        assert all(r.endswith(checkable) for r in results)  # placed and waiting alike


async def test_browse_by_region_and_month(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        await member(bot, 7901, "Rosa", "Groningen")
        await workshop(bot, "Noordelijke avond", "Groningen", 3, 10, region_code="noord")
        await workshop(bot, "Zuidelijke middag", "Maastricht", 4, 10, region_code="zuid")
        await workshop(bot, "Later online", None, 70, 10)
        rosa = bot.sandbox.user(7901, "Rosa", language_code="nl")
        await rosa.send_text("/workshops")
        page = await rosa.expect_text(t("nl", "Workshops for you"))
        assert all(x in page.text for x in ("Noordelijke", "Later online"))
        assert "Zuidelijke" not in page.text  # Maastricht: too far to suggest, not to browse
        await rosa.press("Zuid", message=page)
        south = await rosa.expect_text("Zuid")
        assert "Zuidelijke middag" in south.text and "Noordelijke" not in south.text
        await rosa.press("💻", message=south)
        online = await rosa.expect_text(t("nl", "online"))
        assert "Later online" in online.text and "Zuidelijke" not in online.text
        this_month = online.button_texts[-4]  # the month buttons follow "any month"
        await rosa.press(this_month, message=online)
        narrowed = await rosa.next()
        assert "Later online" not in narrowed.text  # 70 days away: another month
        assert (
            t("nl", "Nothing planned that matches; try another region or month.") in narrowed.text
        )
        await rosa.press_raw(narrowed.message_id, "wl:0:atlantis:2099-99")  # forged: all shown
        everything = await rosa.next()
        assert "Noordelijke" in everything.text


async def test_organiser_creates_a_workshop_in_a_guided_dialog(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids="7950") as bot:
        eva = bot.sandbox.user(7950, "Eva", language_code="en")
        await eva.send_text("/nieuw")
        await eva.expect_text(
            t("en", "A new workshop. What is its title? (Send /stop at any time to stop.)")
        )
        await eva.send_text("Speechen voor beginners")
        await eva.expect_text("2027-03-14 19:30 21:30")
        await eva.send_text("morgen om acht")  # not understood: asked again, nothing kept
        await eva.expect_text(
            t("en", "That is not a future date with a start and end, like 2027-03-14 19:30 21:30.")
        )
        await eva.send_text("2031-04-02 19:30 21:30")
        await eva.expect_text("Zwolle, Partijhuis")
        await eva.send_text("Atlantis")
        await eva.expect_text(t("en", "I do not know that town. Try its name, like Zwolle."))
        await eva.send_text("Zwolle, Partijhuis")
        await eva.expect_text(t("en", "How many places? Send a number."))
        await eva.send_text("veel")
        await eva.expect_text(t("en", "Please send a whole number from 1 to 10000."))
        await eva.send_text("16")
        await eva.expect_text("debating, public speaking")
        await eva.send_text("speechen, pizza bakken")
        await eva.expect_text("pizza bakken")
        await eva.send_text("speechen")
        summary = await eva.expect_text(t("en", "Publish it?"))
        assert "Partijhuis, Zwolle" in summary.text and "16" in summary.text
        await eva.press("🔒 " + t("en", "Members only"), message=summary)
        summary = await eva.expect_text(t("en", "members only"))
        await eva.press("✅ " + t("en", "Publish"), message=summary)
        link = await eva.expect_text("?start=w_")
        assert bot.app is not None
        async with bot.app.sessions() as session:
            from storage.models import Workshop

            (made,) = (await session.scalars(select(Workshop))).all()
            assert (made.title, made.capacity, made.members_only, made.town, made.region_code) == (
                "Speechen voor beginners", 16, True, "Zwolle", "oost",
            )  # fmt: skip
            assert [s.key for s in made.topics] == ["public_speaking"]
            assert link.text.endswith(f"?start=w_{made.code}")  # a code, not the sequential id
        # the stale button of the finished dialog does nothing
        await eva.press_raw(summary.message_id, "wnew:publish")
        await bot.sandbox.idle()
        assert eva.alerts[-1] == t("en", "That button is no longer valid.")


@pytest.mark.parametrize(
    ("lang", "name", "local_time"),
    [
        ("nl", "Saar", "23:30"),
        ("en", "Tom", "00:30"),
        ("sv", "Ulla", "23:30"),
        ("nl", "Ids", "00:30"),
    ],
)
async def test_the_whole_path_from_suggestion_to_feedback(
    sqlite_url: str, lang: str, name: str, local_time: str
) -> None:
    """Suggested for a wish, signed up, reminded, checked in by QR code, asked for feedback —
    late in the evening and just after midnight, when "today" and the workshop's day differ."""
    with clock.travel_to(next_local(local_time)):
        await _whole_path(sqlite_url, lang, name)


async def _whole_path(sqlite_url: str, lang: str, name: str) -> None:
    from sqlalchemy import update

    from storage.models import Workshop

    async with running_bot(sqlite_url, admin_ids="7990", reminder_interval=0.2) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            m, _ = await onboarding.give_consent(session, 7991, lang, name)
            await onboarding.answer_kind(session, m, Kind.MEMBER)
            await onboarding.answer_place(session, m, default_gazetteer().search("Zwolle")[0].place)
            if m.onboarding_step == onboarding.Step.REGION:
                await onboarding.answer_region(session, m, "oost")
            await profile.add(session, m, SkillKind.WISH, "debatteren")
        item = await workshop(
            bot, "Debatavond", "Zwolle", 10, 12, skills=("debatteren",), language=lang
        )
        person = bot.sandbox.user(7991, name, language_code=lang)
        await person.send_text("/workshops")
        page = await person.expect_text(t(lang, "Workshops for you"))
        assert page.text.splitlines()[2].startswith("1. Debatavond")
        wish = {"nl": "Debatteren", "en": "Debating", "sv": "Debattera"}[lang]
        assert wish in page.text.splitlines()[3]  # the reason: their wish, in their language
        await person.press("1. Debatavond", message=page)
        detail = await person.expect_text("Debatavond")
        await person.press("✅ " + t(lang, "Sign me up"), message=detail)
        await person.expect_text(t(lang, "You are signed up."))
        assert person.alerts[-1] == t(lang, "✅ You are signed up for {title}.", title="Debatavond")
        async with bot.app.sessions() as session:  # the day has come: starts in 30 minutes
            soon = utcnow() + timedelta(minutes=30)
            await session.execute(
                update(Workshop).values(starts_at=soon, ends_at=soon + timedelta(hours=2))
            )
            await session.commit()
        await person.expect_text("⏰", timeout=10)
        admin = bot.sandbox.user(7990, "Eva", language_code="en")
        await admin.send_text(f"/workshop {item}")
        view = await admin.expect_text("Debatavond")
        await admin.press("📷 " + t("en", "Check-in QR code"), message=view)
        token = (await admin.next()).text.rsplit("start=c_", 1)[1]
        await person.send_text(f"/start c_{token}")
        await person.expect_text(
            t(lang, "Welcome at <b>{title}</b>! You are checked in.", title="Debatavond")
        )
        async with bot.app.sessions() as session:  # and now it is over
            await session.execute(
                update(Workshop).values(
                    starts_at=utcnow() - timedelta(hours=3), ends_at=utcnow() - timedelta(hours=1)
                )
            )
            await session.commit()
        question = await person.expect_text("⭐", timeout=10)
        await person.press("⭐⭐⭐⭐⭐", message=question)
        await person.expect_text(
            t(lang, "Thank you! Anything you would like to add? Type it here, or tap No comment.")
        )
        await person.press(t(lang, "No comment"))
        await person.expect_text(t(lang, "Thank you!"))
        await admin.send_text(f"/workshop {item}")
        assert "5.0" in (await admin.expect_text("Debatavond")).text


SECRET_LINK = "https://meet.example.org/geheim-42"


async def _members_only_online(bot: RunningBot) -> tuple[int, int]:
    """A public workshop and a members-only online one with a trainer: (public, closed)."""
    await member(bot, 7611, "Tineke", "Utrecht")
    assert bot.app is not None
    async with bot.app.sessions() as session:
        trainer = await session.scalar(select(Member).where(Member.telegram_id == 7611))
        assert trainer is not None
        trainer_id = trainer.id
    public = await workshop(bot, "Open avond", "Utrecht", 5, 10)
    closed = await workshop(
        bot, "Ledenscholing", None, 6, 10, members_only=True, trainer_id=trainer_id,
        online_url=SECRET_LINK, description="Alleen voor leden: de strategie.",
    )  # fmt: skip
    return public, closed


def _leaks(text: str) -> list[str]:
    return [s for s in (SECRET_LINK, "Tineke", "strategie") if s in text]


async def test_strangers_enumerating_poster_links_see_nothing_members_only(
    sqlite_url: str,
) -> None:
    async with running_bot(sqlite_url) as bot:
        public, closed = await _members_only_online(bot)
        stranger = bot.sandbox.user(7612, "Eef", language_code="nl")
        gone = t("nl", "This workshop no longer exists or was cancelled.")
        for n in range(1, closed + 3):
            await stranger.send_text(f"/start w_{n}")
            await stranger.expect_text(t("nl", "<b>Do you agree that I store this?</b>"))
        seen = "\n".join(m.text or "" for m in stranger.bot_messages)
        assert "Ledenscholing" not in seen and not _leaks(seen)
        assert "Open avond" in seen and seen.count(gone) == closed + 1  # all but the public one
        for forged in ("w_AAAAAAAAAAAA", "w_-1", f"w_{closed:012d}"):
            await stranger.send_text(f"/start {forged}")
            await stranger.expect_text(gone)
        # the poster's own code shows what it is, and only that
        await stranger.send_text(f"/start w_{await code_of(bot, closed)}")
        poster = await stranger.expect_text("Ledenscholing")
        assert t("nl", "For members only") in poster.text and not _leaks(poster.text)
        assert public


async def test_forged_buttons_for_a_members_only_workshop_reveal_nothing(
    sqlite_url: str,
) -> None:
    async with running_bot(sqlite_url) as bot:
        _public, closed = await _members_only_online(bot)
        await member(bot, 7613, "Dewi", "Leiden", kind=Kind.SYMPATHISER)
        await member(bot, 7614, "Joost", "Leiden")
        dewi = bot.sandbox.user(7613, "Dewi", language_code="nl")
        joost = bot.sandbox.user(7614, "Joost", language_code="nl")
        for person in (dewi, joost):
            await person.send_text("/workshops")
            page = await person.expect_text(t("nl", "Workshops for you"))
            await person.press_raw(page.message_id, f"w:{closed}")
            view = await person.expect_text("Ledenscholing")
            assert SECRET_LINK not in view.text  # no place: no link
            await person.press_raw(page.message_id, f"wics:{closed}")
            await bot.sandbox.idle()
            assert person.alerts[-1] == t("nl", "You are not signed up for this workshop.")
            assert not [m for m in person.bot_messages if m.document is not None]
            if person is dewi:  # not a member: only the public part
                assert not _leaks(view.text) and t("nl", "For members only") in view.text
                row = page.text.split("Ledenscholing")[1].splitlines()[0]
                assert t("nl", "For members only") in row  # not where it is
            else:  # a member sees what it is about and who trains it
                assert "Tineke" in view.text and "strategie" in view.text


async def test_online_link_only_with_a_confirmed_place(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        _public, closed = await _members_only_online(bot)
        await member(bot, 7615, "Kees", "Zwolle")
        kees = bot.sandbox.user(7615, "Kees", language_code="nl")
        await kees.send_text(f"/start w_{await code_of(bot, closed)}")
        before = await kees.expect_text("Ledenscholing")
        assert SECRET_LINK not in before.text and t("nl", "online") in before.text
        await kees.press("✅ " + t("nl", "Sign me up"), message=before)
        signed = await kees.expect_text(t("nl", "You are signed up."))
        assert SECRET_LINK in signed.text
        await kees.press("📅 " + t("nl", "Calendar file"), message=signed)
        ics = await kees.next()
        assert ics.document is not None and SECRET_LINK.encode() in ics.document.data
        await kees.send_text(f"/start w_{await code_of(bot, closed)}")
        after = await kees.expect_text(t("nl", "You are signed up."))
        assert SECRET_LINK in after.text
        await kees.press("📅 " + t("nl", "Calendar file"), message=after)
        again = await kees.next()
        assert again.document is not None and SECRET_LINK.encode() in again.document.data


async def test_suggestions_leave_out_other_languages_far_away_but_browsing_shows_them(
    sqlite_url: str,
) -> None:
    """A Dutch member in Amersfoort is not offered a Swedish workshop in Göteborg (746 km)."""
    async with running_bot(sqlite_url) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            await factories.region(session, "vast", "Västsverige", country="SE")
        await member(bot, 7620, "Lotte", "Amersfoort", wishes="debatteren")
        await workshop(
            bot, "Debatt på svenska", "Göteborg", 5, 10, skills=("debatteren",),
            language="sv", region_code="vast",
        )  # fmt: skip
        await workshop(bot, "Debatavond Utrecht", "Utrecht", 8, 10, region_code="west")
        lotte = bot.sandbox.user(7620, "Lotte", language_code="nl")
        await lotte.send_text("/workshops")
        page = await lotte.expect_text(t("nl", "Workshops for you"))
        assert "Debatavond Utrecht" in page.text and "Debatt på svenska" not in page.text
        await lotte.press("Västsverige", message=page)
        browsed = await lotte.expect_text("Västsverige")
        assert "Debatt på svenska" in browsed.text
