"""/vragenrapport (/questionreport, /fragerapport): the questions of the last eight weeks in
figures, for organisers (their own region) and admins (everything); the same figures as a
CSV file from the button under it."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.lazy import lazy_module
from bot.question_keys import QuestionCb
from bot.services import roles
from bot.services.roles import Grant
from bot.settings import Settings
from handlers.common import private_router

report = lazy_module("bot.services.question_report")  # loaded at the first report
CSV_ACTION = "report_csv"  # QuestionCb action: the report as a file (qid unused, 0)


async def on_report(
    message: Message, grants: frozenset[Grant], session: AsyncSession, i18n: I18n,
    settings: Settings,
) -> None:  # fmt: skip
    scope = roles.organiser_scope(grants)
    if scope is None:
        await message.answer(_("This command is for organisers only."))
        return
    figures = await report.weekly(session, scope, settings.tz, clock.now())
    where = await report.where(session, scope)
    texts = report.render(figures, i18n.current_locale, where)
    kb = InlineKeyboardBuilder()
    kb.button(text="📄 " + _("As a CSV file"), callback_data=QuestionCb(action=CSV_ACTION, qid=0))
    for n, text in enumerate(texts, start=1):
        await message.answer(text, reply_markup=kb.as_markup() if n == len(texts) else None)


async def on_csv(
    callback: CallbackQuery, grants: frozenset[Grant], session: AsyncSession, bot: Bot,
    settings: Settings,
) -> None:  # fmt: skip
    """The button is not trusted: the scope is read again, and the figures are today's."""
    scope = roles.organiser_scope(grants)
    if scope is None:
        await callback.answer(_("This command is for organisers only."), show_alert=True)
        return
    await callback.answer(_("Here is the file."))
    now = clock.now()
    figures = await report.weekly(session, scope, settings.tz, now)
    name = f"questions-{now.astimezone(settings.tz).date().isoformat()}.csv"
    await bot.send_document(
        callback.from_user.id,
        BufferedInputFile(report.csv_bytes(figures.weeks), filename=name),
        caption=_("The questions per week, as in /vragenrapport."),
    )


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("question_report")
    router.message.register(on_report, Command("vragenrapport", "questionreport", "fragerapport"))
    router.callback_query.register(on_csv, QuestionCb.filter(F.action == CSV_ACTION))
    return router
