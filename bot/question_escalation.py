"""Questions nobody answered in time go to the organisers (a scheduler pass).

A question queued longer than `question_escalate_hours` without a first answer from a
volunteer is escalated once: ONE conditional UPDATE marks it (two workers never both do),
and in the same transaction the organisers of the member's region — or, when that region has
none, the organisers without a region and the admins — each get one notice in their own
language listing everything that became due for them, oldest first. The notices wait in the
outbox (bot/outbox.py), so a failed send is retried and a crash loses none of them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from html import escape

from aiogram import Bot
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from babel import Locale, UnknownLocaleError
from babel.dates import format_timedelta
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import clock, outbox
from bot.budget import Priority
from bot.formatting import TEXT_LIMIT
from bot.settings import Settings
from storage.repositories import question_report as repo
from storage.repositories.question_report import Waiting

log = logging.getLogger(__name__)

QUOTE = 200  # characters of each question shown in the notice


async def escalate_due(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], i18n: I18n, settings: Settings
) -> int:
    """One pass: escalate what is due and wake the outbox's sender; how many escalated."""
    async with sessions() as session:
        escalated, posted = await escalate(session, i18n, settings, clock.now())
    if posted:
        outbox.sender_for(bot, sessions).wake()
    if escalated:
        log.info("escalated %s questions in %s notices", len(escalated), len(posted))
    return len(escalated)


async def escalate(
    session: AsyncSession, i18n: I18n, settings: Settings, now: datetime
) -> tuple[list[int], list[int]]:
    """Mark what is due and post the organisers' notices, in one transaction (committed):
    the question ids escalated and the outbox rows posted."""
    due = timedelta(hours=settings.question_escalate_hours)
    ids = await repo.escalate_due(session, now - due, now)
    if not ids:
        await session.commit()
        return [], []
    questions = await repo.waiting(session, ids)
    plan = recipients(questions, await repo.staff(session), settings.admin_ids)
    people = await repo.people(session, plan)
    letters = []
    for telegram_id, theirs in plan.items():
        person = people[telegram_id]
        locale = person.locale or settings.default_locale
        with i18n.context(), i18n.use_locale(locale):
            text = notice(theirs, locale, now, due)
        letters.append(outbox.Letter(telegram_id, text, member_id=person.member_id))
    posted = await outbox.post(session, letters, Priority.PERSONAL)
    await session.commit()
    if not letters:
        log.warning("questions %s escalated, but there is no organiser or admin to tell", ids)
    return ids, posted


def recipients(
    questions: Iterable[Waiting],
    staff: Iterable[tuple[int, str, str | None]],
    admin_ids: Collection[int],
) -> dict[int, list[Waiting]]:
    """Who hears of which question: the organisers of its region; when there are none (or
    the member gave no region), the organisers without a region and the admins."""
    regional: dict[str, set[int]] = defaultdict(set)
    national: set[int] = set(admin_ids)
    for telegram_id, role, region in staff:
        if role == "admin" or (role == "organiser" and region is None):
            national.add(telegram_id)
        elif role == "organiser" and region is not None:
            regional[region].add(telegram_id)
    plan: dict[int, list[Waiting]] = defaultdict(list)
    for question in questions:
        found = regional.get(question.region_code or "") or national
        for telegram_id in sorted(found):
            plan[telegram_id].append(question)
    return dict(plan)


def notice(questions: list[Waiting], locale: str, now: datetime, due: timedelta) -> str:
    """One organiser's notice (HTML, in the current locale): how many wait, then each of them
    oldest first, as many as fit one message, and where volunteers can take them."""
    head = "⏰ " + ngettext(
        "<b>{count} question</b> has waited more than {time} for an answer:",
        "<b>{count} questions</b> have waited more than {time} for an answer:",
        len(questions),
    ).format(count=len(questions), time=duration(due, locale))
    foot = _("Volunteers can claim them in /wachtrij; you can too, or ask someone to.")
    reserve = len(head) + len(foot) + 200  # room for the "and N more" line
    blocks: list[str] = []
    size = 0
    for question in questions:
        block = _block(question, locale, now)
        if size + len(block) + 2 > TEXT_LIMIT - reserve:
            break
        blocks.append(block)
        size += len(block) + 2
    lines = [head, "", "\n\n".join(blocks)]
    rest = len(questions) - len(blocks)
    if rest:
        lines += ["", _("… and {count} more.").format(count=rest)]
    lines += ["", foot]
    return "\n".join(lines)


def _block(question: Waiting, locale: str, now: datetime) -> str:
    waited = duration(now - question.queued_at, locale)
    head = _("<b>#{id}</b> · {language} · waiting {time}").format(
        id=question.id, language=language_name(question.language, locale), time=waited
    )
    if question.text is None:
        return head + "\n" + _("(a photo or file, without text)")
    return head + "\n<i>" + escape(quote(question.text)) + "</i>"


def quote(text: str, limit: int = QUOTE) -> str:
    """The member's text on one line, cut to `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def duration(delta: timedelta, locale: str) -> str:
    """'26 hours', '3 days': Babel's words, in hours until two days."""
    return format_timedelta(delta, threshold=2, locale=locale)


def language_name(code: str, locale: str) -> str:
    """'Nederlands' / 'Dutch' / 'nederländska' for "nl", in the reader's language."""
    try:
        return Locale.parse(code).get_language_name(locale) or code
    except (ValueError, UnknownLocaleError):
        return code
