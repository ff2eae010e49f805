"""A crowd taps *Sign me up* at once: every member is answered on the button and on their
own card with their true place, in their language, and nobody gets an extra message."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from storage.models import Member, Signup, Workshop
from tests import factories
from tests.botrunner import running_bot, t

pytestmark = pytest.mark.e2e

LOCALES = ("nl", "en", "sv")
PEOPLE = 300
PLACES = 30


async def test_300_taps_at_once_each_answered_with_their_own_place(database_url: str) -> None:
    async with running_bot(database_url, flood_rate=100.0) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            for n, locale in enumerate(LOCALES):
                await factories.bare_members(
                    session, PEOPLE // 3, 8_000_000 + n * 1000, locale=locale
                )
            item = await factories.workshop(session, "Volle zaal", "Utrecht", capacity=PLACES)
            found = await session.get(Workshop, item)
            assert found is not None
            code = found.code
        people = [
            bot.sandbox.user(8_000_000 + n * 1000 + i, f"Lid{n}{i}", language_code="nl")
            for n in range(3)
            for i in range(PEOPLE // 3)
        ]
        cards = []
        for person in people:
            await person.send_text(f"/start w_{code}")
            cards.append(await person.expect_text("Volle zaal", timeout=20))
        locale_of = {p.id: LOCALES[(p.id - 8_000_000) // 1000] for p in people}
        await asyncio.gather(
            *(
                person.press("✅ " + t(locale_of[person.id], "Sign me up"), message=card)
                for person, card in zip(people, cards, strict=True)
            )
        )
        async with asyncio.timeout(60):  # a batch may keep the API quiet longer than idle() waits
            while any(not person.alerts for person in people):  # noqa: ASYNC110 (no event to wait on)
                await asyncio.sleep(0.05)
        await bot.sandbox.idle()
        async with bot.app.sessions() as session:
            rows = (
                await session.execute(
                    select(Member.telegram_id, Signup.status, Signup.position)
                    .join(Signup, Signup.member_id == Member.id)
                    .order_by(Signup.position)
                )
            ).all()
        assert len(rows) == PEOPLE and len({r.position for r in rows}) == PEOPLE
        assert [r.status for r in rows] == ["confirmed"] * PLACES + ["waiting"] * (PEOPLE - PLACES)
        place = {r.telegram_id: (r.status, i - PLACES + 1) for i, r in enumerate(rows)}
        for person in people:
            lang = locale_of[person.id]
            status, queue = place[person.id]
            if status == "confirmed":
                toast = t(lang, "✅ You are signed up for {title}.", title="Volle zaal")
                line = t(lang, "You are signed up.")
            else:
                full = "⏳ {title} is full: you are number {position} on the waiting list."
                toast = t(lang, full, title="Volle zaal", position=queue)
                line = t(lang, "You are number {position} on the waiting list.", position=queue)
            assert person.alerts == [toast], person
            [edited] = person.unseen  # the card, edited in place: no message of its own
            assert edited.edited and line in edited.text
            places = next(x for x in edited.text.splitlines() if x.startswith("👥"))
            assert re.search(r"\d", places)


@pytest.mark.parametrize("lang", LOCALES)
async def test_the_longest_title_and_description_fit_the_answer_and_the_card(
    sqlite_url: str, lang: str
) -> None:
    title, description = ("Ö" * 199) + "!", "Lange uitleg. " * 107  # 200 and 1,498 characters
    async with running_bot(sqlite_url) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            [person] = await factories.bare_members(session, 1, 8_100_000, locale=lang)
            item = await factories.workshop(
                session, title, "Utrecht", capacity=1, description=description
            )
            found = await session.get(Workshop, item)
            assert found is not None
            code = found.code
        user = bot.sandbox.user(person.telegram_id, "Lid", language_code=lang)
        await user.send_text(f"/start w_{code}")
        card = await user.expect_text(title)
        await user.press("✅ " + t(lang, "Sign me up"), message=card)
        edited = await user.expect_text(t(lang, "You are signed up."))
        [toast] = user.alerts
        assert len(toast) <= 200 and toast.endswith("….") and toast.startswith("✅")
        assert description.strip() in edited.text and len(edited.text) <= 4096
