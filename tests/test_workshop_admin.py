"""The organiser's /workshop view: a move or cancel reaches everyone it can, whatever fails for
one of them, and the organiser sees the counts; long lists page within Telegram's limits."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.keyboards import pager
from bot.services import feedback, roster, signups
from handlers.workshop_admin import PageCb, paginate, shown_length
from sandbox import SandboxMessage
from sandbox.users import SandboxUser
from storage.models import Member
from tests import factories
from tests.botrunner import RunningBot, running_bot, t
from tests.chat_faults import block_unnoticed, fail_chat

PEOPLE = ((8101, "Anna", "nl"), (8102, "Bo", "en"), (8103, "Cilla", "sv"),
          (8104, "Dirk", "nl"), (8105, "Emma", "en"))  # fmt: skip


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "BACKOFF", 0.01)


async def five_signed_up(bot: RunningBot) -> int:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        people = [
            await factories.onboarded(session, tid, name, "Utrecht", locale=lang)
            for tid, name, lang in PEOPLE
        ]
        item = await factories.workshop(session, "Campagnedag", "Utrecht", capacity=3)
        await factories.signed_up(session, item, people)
    return item


@pytest.mark.e2e
async def test_a_blocked_and_a_failing_chat_do_not_stop_a_move_or_a_cancel(
    sqlite_url: str,
) -> None:
    async with running_bot(sqlite_url, admin_ids="8100") as bot:
        item = await five_signed_up(bot)
        users = {tid: bot.sandbox.user(tid, name, language_code=lang) for tid, name, lang in PEOPLE}
        await block_unnoticed(bot, 8102, "Bo")  # the 2nd: blocked, the bot never heard
        fail_chat(bot, 8103, times=outbox.ATTEMPTS)  # the 3rd: 5xx on every try
        admin = bot.sandbox.user(8100, "Eva", language_code="en")

        await admin.send_text(f"/workshop {item} move 2031-05-06 19:30 21:30")
        report = await admin.expect_text("Moved.")
        assert report.text == "Moved. I told 3 people.\n2 people could not be reached."
        for tid in (8101, 8104, 8105):
            moved = await users[tid].expect_text("🗓")
            assert "2031" in moved.text
            if tid == 8101:  # the calendar file (the online link) only with a place
                assert (await users[tid].next()).document is not None
        for tid in (8104, 8105):  # on the waiting list: the text alone
            await users[tid].expect_silence(0.2)
        assert users[8103].unseen == []
        async with bot.app.sessions() as session:  # type: ignore[union-attr]
            bo = await session.scalar(select(Member).where(Member.telegram_id == 8102))
            assert bo is not None and bo.unreachable_since is not None  # the 403 was heard

        await admin.send_text(f"/workshop {item}")
        view = await admin.expect_text("Campagnedag")
        await admin.press("❌ " + t("en", "Cancel this workshop"), message=view)
        confirm = await admin.expect_text("Campagnedag")
        await admin.press(t("en", "Yes, cancel it"), message=confirm)
        done = await admin.expect_text("Cancelled.")
        assert done.text == "Cancelled. I told 4 people.\n1 person could not be reached."
        for tid in (8101, 8103, 8104, 8105):  # Cilla's chat works again: she hears of it
            await users[tid].expect_text("❌")
        assert not any("❌" in m.text or "🗓" in m.text for m in users[8102].bot_messages)


@pytest.mark.e2e
async def test_the_organiser_sees_the_counts_in_their_language(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids="8100") as bot:
        item = await five_signed_up(bot)
        for tid, name, lang in PEOPLE:
            bot.sandbox.user(tid, name, language_code=lang)
        await block_unnoticed(bot, 8102, "Bo")
        admin = bot.sandbox.user(8100, "Eva", language_code="nl")
        await admin.send_text(f"/workshop {item}")
        view = await admin.expect_text("Campagnedag")
        await admin.press("❌ " + t("nl", "Cancel this workshop"), message=view)
        confirm = await admin.expect_text("Campagnedag")
        await admin.press(t("nl", "Yes, cancel it"), message=confirm)
        done = await admin.expect_text("Afgezegd")
        assert done.text.splitlines()[1] == "1 persoon kon ik niet bereiken."


LONG_NAME = ("Zoë <Jansen> & " + "x" * 64)[:64]
LONG_COMMENT = ("Goed <b>georganiseerd</b> & leerzaam; " * 40)[: feedback.MAX_COMMENT]


@pytest.mark.e2e
async def test_120_sign_ups_and_50_long_comments_fit_telegrams_limits(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids="8200") as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            people = await factories.bare_members(session, 120, start=820_000)
            await session.execute(update(Member).values(first_name=LONG_NAME))
            await session.commit()
            item = await factories.workshop(
                session, "Lange <lijst> & meer", "Utrecht", capacity=100
            )
            await factories.signed_up(session, item, people)
            await factories.feedback_given(session, item, people[:50], LONG_COMMENT)
        admin = bot.sandbox.user(8200, "Eva", language_code="en")
        await admin.send_text(f"/workshop {item}")
        view = await admin.expect_text("Lange <lijst> & meer")
        assert len(view.text) <= 4096
        assert "Feedback: 4.0 on average (50 ratings)" in view.text
        assert LONG_COMMENT in view.text  # the first comments, as typed

        await admin.press("📋 " + t("en", "Sign-ups"), message=view)
        page = await admin.expect_text("📋")
        lines = await walk_pages(admin, page, "📋")
        rows = [line for line in lines if not line.startswith("📋")]
        assert len(rows) == 120
        assert rows[0] == f"1. {LONG_NAME} ✅" and rows[100] == f"101. {LONG_NAME} ⏳ 1"

        await admin.press("💬 " + t("en", "All comments"), message=view)
        page = await admin.expect_text("💬")
        lines = await walk_pages(admin, page, "💬")
        assert [line for line in lines if "“" in line] == [f"💬 “{LONG_COMMENT}”"] * 50


async def walk_pages(user: SandboxUser, page: SandboxMessage, header: str) -> list[str]:
    """Every line of every page, pressing ▶️ until there is none (each page checked)."""
    lines: list[str] = []
    for _turn in range(50):
        assert len(page.text) <= 4096 and page.text.startswith(header)
        lines += page.text.splitlines()
        if "▶️" not in page.button_texts:
            return lines
        await user.press("▶️", message=page)
        page = await user.next()
    raise AssertionError("no last page")


def test_pages_never_exceed_the_budget_and_lose_nothing() -> None:
    lines = [f"{n}. {'&' * 64} ✅" for n in range(500)]
    pages = paginate(lines, 3800)
    assert [line for page in pages for line in page] == lines
    assert all(sum(shown_length(line) + 1 for line in page) <= 3800 for page in pages)
    assert shown_length("<b>a &amp; b</b> 📋") == len("a & b ") + 2  # an emoji counts two


def test_the_pager_offers_only_the_pages_there_are() -> None:
    def data(n: int) -> PageCb:
        return PageCb(workshop_id=7, kind="s", page=n)

    assert pager(0, 1, data) == []
    assert [b.text for b in pager(0, 3, data)] == ["1/3", "▶️"]
    assert [b.text for b in pager(1, 3, data)] == ["◀️", "2/3", "▶️"]
    assert [b.text for b in pager(9, 3, data)] == ["◀️", "3/3"]
    assert all(len(b.callback_data or "") <= 64 for b in pager(1, 3, data))
    # A list counted only so far: its last counted page still leads on.
    assert [b.text for b in pager(2, 3, data, more=True)] == ["◀️", "3/3+", "▶️"]
    assert [b.text for b in pager(0, 1, data, more=True)] == ["1/1+", "▶️"]


async def test_the_roster_lists_places_then_the_queue_without_the_cancelled(
    session: AsyncSession,
) -> None:
    people = await factories.bare_members(session, 5, start=850_000)
    for n, person in enumerate(people):
        person.first_name = f"P{n}"
    await session.commit()
    item = await factories.workshop(session, capacity=2)
    await factories.signed_up(session, item, people)
    await signups.cancel(session, people[3], item)  # the 2nd waiting leaves the queue
    entries = await roster.roster(session, item)
    assert [(e.name, e.confirmed, e.queue) for e in entries] == [
        ("P0", True, 0), ("P1", True, 0), ("P2", False, 1), ("P4", False, 2),
    ]  # fmt: skip
    assert await roster.counts(session, item) == (2, 2)
