"""/rapport (/report): the demand vs supply report for organisers — a chart, a CSV file and a
short summary in their language. A regional organiser gets only their own region; someone
who acts everywhere picks a region or the whole organisation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from html import escape
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_decimal, format_percent
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.formatting import TEXT_LIMIT
from bot.lazy import lazy_module
from bot.services import regions as region_list
from bot.services.roles import Grant, Scope, organiser_scope
from bot.settings import Settings
from handlers.common import private_router, shorten
from handlers.proposals import ProposalCb

if TYPE_CHECKING:
    from bot.services.demand import Report
    from bot.services.regions import Configured

demand = lazy_module("bot.services.demand")  # loaded at the first report (bot/lazy.py)
report_chart = lazy_module("bot.report_chart")  # and matplotlib only inside its render()
log = logging.getLogger(__name__)
SUMMARY_SKILLS = 5  # the summary names the top five; the chart has more, the CSV all
SUMMARY_GAPS = 8
GAP_BUTTONS = 5  # under the summary: the most wished gaps, each a tap from a proposal
ALL = "*"  # the callback's region for the whole organisation


class ReportCb(CallbackData, prefix="rprt"):
    region: str  # a region code, or ALL


async def on_report(
    message: Message,
    command: CommandObject,
    grants: frozenset[Grant],
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    scope = organiser_scope(grants)
    if scope is None:
        await message.answer(_("This command is for organisers only."))
        return
    configured = await region_list.configured(session)
    mine = [r for r in configured if scope.allows(r.code)]
    if command.args:
        word = command.args.strip().casefold()
        found = [r.code for r in configured if word in (r.code.casefold(), r.name.casefold())]
        if not found:
            text = _("I do not know the region “{text}”.").format(text=shorten(command.args))
            await message.answer(
                text + "\n" + _("Which region?"), reply_markup=_choice(mine, scope)
            )
            return
        await _send(message, found[0], grants, session, settings, i18n)
        return
    if not scope.everywhere and len(mine) == 1:
        await _send(message, mine[0].code, grants, session, settings, i18n)
        return
    await message.answer(_("Which region?"), reply_markup=_choice(mine, scope))


def _choice(mine: list[Configured], scope: Scope) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for region in mine:
        kb.button(text=region.name, callback_data=ReportCb(region=region.code))
    if scope.everywhere:
        kb.button(text=_("All regions"), callback_data=ReportCb(region=ALL))
    kb.adjust(2)
    return kb.as_markup()


async def on_report_button(
    callback: CallbackQuery,
    callback_data: ReportCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    """The tap is answered at once; the report follows (scope checked again by the service)."""
    message = callback.message
    if organiser_scope(grants) is None or not isinstance(message, Message):
        await callback.answer(_("This command is for organisers only."), show_alert=True)
        return
    await callback.answer(_("Making the report…"))
    region = None if callback_data.region == ALL else callback_data.region
    with contextlib.suppress(TelegramBadRequest):  # the choice is made: its buttons go
        await message.edit_text(_("Making the report…"), reply_markup=None)
    await _send(message, region, grants, session, settings, i18n)


async def _send(
    message: Message,
    region: str | None,
    grants: frozenset[Grant],
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    try:
        report = await demand.report(session, grants=grants, region_code=region, now=clock.now())
    except demand.OutOfScope:
        await message.answer(_("You can only see the report of your own region."))
        return
    except demand.UnknownRegion:  # a region removed since its button was sent, or forged
        await message.answer(
            _("I do not know the region “{text}”.").format(text=shorten(region or ""))
        )
        return
    except demand.DemandError:
        await message.answer(_("This command is for organisers only."))
        return
    locale = i18n.current_locale
    log.info("demand report for chat %s, region %s", message.chat.id, region or "all")
    labels = report_chart.labels_for(report, locale, settings.tz)
    # matplotlib is imported at the first chart (a second or so), drawn in a thread
    png = await asyncio.to_thread(report_chart.render, report.top, locale, labels)
    stem = report_chart.file_stem(report, settings.tz)
    await message.answer_photo(
        BufferedInputFile(png, filename=f"{stem}.png"), caption=escape(labels.title)
    )
    data = demand.csv_bytes(report, locale, settings.tz)
    await message.answer_document(BufferedInputFile(data, filename=f"{stem}.csv"))
    await message.answer(
        summary(report, locale, settings), reply_markup=gap_buttons(report, locale)
    )


def gap_buttons(report: Report, locale: str) -> InlineKeyboardMarkup | None:
    """A region's gaps, most wished first, each one tap from a proposed workshop (trainers to
    ask, the members who wish for it: handlers/proposals.py). The whole organisation's report
    has none: a workshop is proposed for a region."""
    if report.region_code is None or not report.gaps:
        return None
    kb = InlineKeyboardBuilder()
    for gap in report.gaps[:GAP_BUTTONS]:
        kb.button(
            text="💡 "
            + _("Propose a workshop: {skill}").format(skill=shorten(gap.name(locale), 40)),
            callback_data=ProposalCb(skill_id=gap.skill_id, region=report.region_code),
        )
    kb.adjust(1)
    return kb.as_markup()


def summary(report: Report, locale: str, settings: Settings) -> str:
    """A few lines to read in the chat; within one message whatever the names' length."""

    def n(value: int) -> str:
        return format_decimal(value, locale=locale)

    head = report_chart.title(report)
    lines = [f"<b>{escape(head)}</b>", escape(report_chart.subtitle(report, locale, settings.tz))]
    lines.append("")
    top = report.top[:SUMMARY_SKILLS]
    if top:
        lines.append(_("<b>Most wanted</b> (want to learn it · can teach it):"))
        lines += [
            f"{i}. {shorten(s.name(locale), 60)} — {n(s.wishers)} · {n(s.teachers)}"
            for i, s in enumerate(top, 1)
        ]
    else:
        lines.append(_("No learning wishes in this region yet."))
    if report.gaps:
        shown = ", ".join(shorten(g.name(locale), 60) for g in report.gaps[:SUMMARY_GAPS])
        more = len(report.gaps) - SUMMARY_GAPS
        if more > 0:
            shown += " " + ngettext("and {count} more", "and {count} more", more).format(
                count=n(more)
            )
        lines += [
            "",
            _("<b>No workshop planned</b> in the coming 3 months: {skills}").format(skills=shown),
        ]
    lines += ["", _past(report, locale), "", _("Every skill and workshop is in the CSV file.")]
    text = "\n".join(lines)
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def _past(report: Report, locale: str) -> str:
    count = len(report.past)
    if not count:
        return _("No workshops in the last 12 months.")

    def fmt(value: int) -> str:
        return format_decimal(value, locale=locale)

    text = ngettext(
        "<b>Last 12 months</b>: {count} workshop, {signed} signed up, {attended} attended",
        "<b>Last 12 months</b>: {count} workshops, {signed} signed up, {attended} attended",
        count,
    ).format(count=fmt(count), signed=fmt(report.signed_up), attended=fmt(report.attended))
    if report.signed_up:
        share = format_percent(report.attended / report.signed_up, locale=locale)
        text += f" ({share})"
    average = report.average
    if average is not None:
        ratings = sum(p.ratings for p in report.past)
        text += "; " + ngettext(
            "average rating {average} ({count} rating)",
            "average rating {average} ({count} ratings)",
            ratings,
        ).format(
            average=format_decimal(round(average, 1), format="0.0", locale=locale),
            count=fmt(ratings),
        )
    return text + "."


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("report")
    router.message.register(on_report, Command("rapport", "report"))
    router.callback_query.register(on_report_button, ReportCb.filter())
    return router
