"""One pager for every paged list: ◀️, "2/5", ▶️ under the talent search, the workshops
list and the profile's long lists; the page buttons' data fits Telegram and is re-checked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import select

from bot.services.profile import Level
from handlers.profile import paged
from handlers.talent import SearchCb
from handlers.workshops import ListCb
from storage.models import AuditEntry
from tests import factories
from tests.botrunner import RunningBot, running_bot, t
from tests.test_e2e_talent import add_member

pytestmark = pytest.mark.e2e

ADMIN = 8201


def nav_row(message: object) -> list[str]:
    """The texts of the pager's row: the last row holding a page number."""
    rows = [[b.text for b in row] for row in message.inline_keyboard]  # type: ignore[attr-defined]
    found = [row for row in rows if any("/" in text and text[0].isdigit() for text in row)]
    return found[-1] if found else []


def data_fits(message: object) -> bool:
    buttons = message.buttons  # type: ignore[attr-defined]
    return all(len((b.data or "").encode()) <= 64 for b in buttons)


async def test_talent_results_use_the_one_pager(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        for i in range(7):
            await add_member(bot, 9600 + i, f"Lid{i}", "Utrecht", "west", "fotografie", Level.SOME)
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.send_text("/zoek fotografie")
        page = await admin.expect_text("🔎")
        assert nav_row(page) == ["1/2", "▶️"] and data_fits(page)
        await admin.press("▶️", message=page)
        page2 = await admin.next()
        assert nav_row(page2) == ["◀️", "2/2"]
        assert "Lid5" in page2.text and "Lid0" not in page2.text
        await admin.press("2/2", message=page2)  # the middle button: the same page again
        await bot.sandbox.idle()
        shown = admin.bot_messages[-1]
        assert shown.message_id == page.message_id and "Lid5" in shown.text
        await admin.press("◀️", message=shown)
        await bot.sandbox.idle()
        await admin.press("1/2", message=admin.bot_messages[-1])
        await bot.sandbox.idle()
        assert "Lid0" in admin.bot_messages[-1].text
        assert await searches_audited(bot) == 1  # paging back is not a new search

        nxt = SearchCb.unpack(admin.bot_messages[-1].buttons[-1].data or "")
        forged = SearchCb(**{**nxt.model_dump(), "offset": 995}).pack()
        await admin.press_raw(page.message_id, forged)  # past the end: the last real page
        await bot.sandbox.idle()
        shown_text = "{total} found, showing {first}–{last}"
        assert t("en", shown_text, total=7, first=6, last=7) in admin.bot_messages[-1].text


async def searches_audited(bot: RunningBot) -> int:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        entries = await session.scalars(select(AuditEntry).where(AuditEntry.action == "search"))
        return len(entries.all())


async def online_workshops(bot: RunningBot, n: int) -> None:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        for i in range(n):
            await factories.workshop(session, f"Cursus {i}", None, starts_in=timedelta(days=3 + i))


async def test_workshops_list_uses_the_one_pager(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            await factories.onboarded(session, 7951, "Sanne", "Zwolle")
        await online_workshops(bot, 7)
        sanne = bot.sandbox.user(7951, "Sanne", language_code="nl")
        await sanne.send_text("/workshops")
        page = await sanne.expect_text(t("nl", "Workshops for you"))
        assert nav_row(page) == ["1/2", "▶️"] and data_fits(page)
        await sanne.press("▶️", message=page)
        page2 = await sanne.expect_text(t("nl", "Workshops for you"))
        assert nav_row(page2) == ["◀️", "2/2"] and "6. " in page2.text
        forged = ListCb(offset=995).pack()  # past the end: the last real page, not nothing
        await sanne.press_raw(page2.message_id, forged)
        last = await sanne.expect_text(t("nl", "Workshops for you"))
        assert "6. " in last.text and nav_row(last) == ["◀️", "2/2"]


def plain(rows: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """A button per item, as keyboards.removals builds them, without a locale."""
    buttons = [[InlineKeyboardButton(text=label, callback_data=f"rm:{i}")] for i, label in rows]
    return InlineKeyboardMarkup(inline_keyboard=buttons)


def test_profile_lists_use_the_one_pager() -> None:
    items = [(i, f"item {i}") for i in range(1, 46)]
    text, markup = paged("remove", "Which?", items, 1, plain)
    assert [b.text for b in markup.inline_keyboard[-1]] == ["◀️", "2/3", "▶️"]
    assert text == "Which?"
    _text, first = paged("remove", "Which?", items, -4, plain)  # forged: page 1
    assert [b.text for b in first.inline_keyboard[-1]] == ["1/3", "▶️"]
    _text, single = paged("remove", "Which?", items[:3], 0, plain)
    assert all("/" not in b.text for row in single.inline_keyboard for b in row)
