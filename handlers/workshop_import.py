"""Organisers send a CSV file to the bot: all workshops in it are imported, or none.

Every problem is reported by line and column, in the organiser's language. `/workshops_csv`
sends the current list back as a CSV file (the same columns), to edit or to archive.
"""

from __future__ import annotations

import io
import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import talent, workshop_csv
from bot.services.roles import Grant
from bot.settings import Settings
from handlers.common import private_router

log = logging.getLogger(__name__)
MAX_BYTES = 2 * 1024 * 1024
SHOWN_ERRORS = 25


async def on_csv_document(
    message: Message, grants: frozenset[Grant], session: AsyncSession, bot: Bot, settings: Settings
) -> None:
    if talent.scope_of(grants) is None:
        await message.answer(_("Only organisers can import workshops."))
        return
    document = message.document
    assert document is not None
    if document.file_size is not None and document.file_size > MAX_BYTES:
        await message.answer(_("The file is larger than 2 MB; split it into smaller files."))
        return
    buffer = io.BytesIO()
    await bot.download(document, destination=buffer)
    report = await workshop_csv.import_csv(session, buffer.getvalue(), settings.tz)
    log.info("csv import: %s created, %s errors", report.created, len(report.errors))
    if report.errors:
        lines = [_("Nothing was imported. Please correct these and send the file again:"), ""]
        lines += ["• " + workshop_csv.describe(e) for e in report.errors[:SHOWN_ERRORS]]
        hidden = len(report.errors) - SHOWN_ERRORS
        if hidden > 0:
            lines.append(
                ngettext(
                    "…and {count} more problem.", "…and {count} more problems.", hidden
                ).format(count=hidden)
            )
        await message.answer("\n".join(lines)[:4000])
        return
    await message.answer(
        ngettext(
            "{count} workshop imported.", "{count} workshops imported.", report.created
        ).format(count=report.created)
    )


async def on_export(
    message: Message, grants: frozenset[Grant], session: AsyncSession, settings: Settings
) -> None:
    if talent.scope_of(grants) is None:
        await message.answer(_("This command is for organisers only."))
        return
    text = await workshop_csv.export_csv(session, settings.tz)
    data = ("\ufeff" + text).encode()
    await message.answer_document(BufferedInputFile(data, filename="workshops.csv"))


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("workshop_import")
    router.message.register(on_export, Command("workshops_csv"))
    csv_name = F.document.file_name.lower().endswith(".csv")
    router.message.register(on_csv_document, F.document, csv_name)
    return router
