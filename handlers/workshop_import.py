"""Organisers send a CSV file to the bot: all workshops in it are imported, or none.

Every problem is reported by line and column, in the organiser's language, HTML-escaped (the
cells are the organiser's own text) and split over messages that fit Telegram's limit.
`/workshops_csv` sends the workshops back as a CSV file (the same columns), to edit or to
archive. A regional organiser imports and exports their own region(s) only.
"""

from __future__ import annotations

import io
import logging
from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formatting import pack_lines
from bot.lazy import lazy_module
from bot.services import roles
from bot.services.roles import Grant
from bot.settings import Settings
from handlers.common import private_router
from storage.models import Member

workshop_csv = lazy_module("bot.services.workshop_csv")  # loaded at the first file (bot/lazy.py)
log = logging.getLogger(__name__)
MAX_BYTES = 2 * 1024 * 1024
#: Telegram's 4,096 characters, less room for the closing "…and 12 more problems." line.
MESSAGE_CHARS = 4096 - 200
#: A report longer than this many messages ends with a count: the file needs fixing anyway.
MAX_MESSAGES = 5


async def on_csv_document(
    message: Message,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    settings: Settings,
) -> None:
    if roles.organiser_scope(grants) is None:
        await message.answer(_("Only organisers can import workshops."))
        return
    document = message.document
    assert document is not None
    if document.file_size is not None and document.file_size > MAX_BYTES:
        await message.answer(_("The file is larger than 2 MB; split it into smaller files."))
        return
    buffer = io.BytesIO()
    await bot.download(document, destination=buffer)
    report = await workshop_csv.import_csv(session, buffer.getvalue(), settings.tz, grants)
    log.info(
        "csv import by member %s: %s created, %s errors",
        member.id if member else "-",
        report.created,
        len(report.errors),
    )
    if report.errors:
        for text in error_report(report.errors):
            await message.answer(text)
        return
    await message.answer(
        ngettext(
            "{count} workshop imported.", "{count} workshops imported.", report.created
        ).format(count=report.created)
    )


def error_report(errors: list[workshop_csv.RowError]) -> list[str]:
    """Every problem, escaped, in messages within Telegram's limit; at most MAX_MESSAGES."""
    lines = [_("Nothing was imported. Please correct these and send the file again:"), ""]
    lines += ["• " + escape(workshop_csv.describe(e)) for e in errors]
    chunks = pack_lines(lines, MESSAGE_CHARS)
    kept = chunks[:MAX_MESSAGES]
    hidden = sum(len(chunk) for chunk in chunks[MAX_MESSAGES:])
    if hidden:
        kept[-1].append(
            ngettext("…and {count} more problem.", "…and {count} more problems.", hidden).format(
                count=hidden
            )
        )
    return ["\n".join(chunk) for chunk in kept]


async def on_export(
    message: Message, grants: frozenset[Grant], session: AsyncSession, settings: Settings
) -> None:
    scope = roles.organiser_scope(grants)
    if scope is None:
        await message.answer(_("This command is for organisers only."))
        return
    text = await workshop_csv.export_csv(session, settings.tz, scope)
    data = ("\ufeff" + text).encode()
    await message.answer_document(BufferedInputFile(data, filename="workshops.csv"))


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("workshop_import")
    router.message.register(on_export, Command("workshops_csv"))
    csv_name = F.document.file_name.lower().endswith(".csv")
    router.message.register(on_csv_document, F.document, csv_name)
    return router
