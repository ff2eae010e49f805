"""/doelen: admins set per-region goals for a year; organisers see the progress (regional
organisers their own regions)."""

from __future__ import annotations

import logging
from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal, format_percent
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.formatting import split_lines
from bot.services import goals
from bot.services.goals import Metric
from bot.services.roles import Grant, RoleName, Scope, has_role, organiser_scope
from bot.settings import Settings
from handlers.common import private_router, shorten

log = logging.getLogger(__name__)


def metric_label(metric: Metric) -> str:
    return {
        Metric.PROFILES: _("Members with a profile"),
        Metric.ATTENDED: _("Members who attended a workshop"),
        Metric.TRAINERS: _("New trainers"),
        Metric.WELCOMED: _("New members contacted within 14 days"),
    }[metric]


def usage() -> str:
    return "\n".join(
        [
            _("/doelen 2027 — the progress in 2027"),
            _("/doelen 2027 oost profielen 500 — set a goal (0 removes it)"),
            _(
                "Goals: profielen (members with a profile), workshops (attended a workshop), "
                "trainers (new trainers), welkom (contacted within 14 days of joining)"
            ),
        ]
    )


async def progress_texts(
    session: AsyncSession, scope: Scope, year: int, locale: str, admin: bool
) -> list[str]:
    """The progress against every goal, per region, in as many messages as it needs."""
    shown = await goals.progress(session, scope, year)
    lines = ["🎯 <b>" + _("Goals for {year}").format(year=year) + "</b>"]
    if not shown:
        lines.append(_("No goals have been set for {year} yet.").format(year=year))
    for region in shown:
        lines += ["", f"<b>{escape(region.name)}</b>"]
        for line in region.lines:
            share = format_percent(line.count / line.target, locale=locale)
            lines.append(
                "• "
                + _("{what}: {count} of {target} ({share})").format(
                    what=metric_label(line.metric),
                    count=format_decimal(line.count, locale=locale),
                    target=format_decimal(line.target, locale=locale),
                    share=share,
                )
            )
    if admin:
        lines += ["", usage()]
    return split_lines(lines)


async def on_goals(
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
    admin = has_role(grants, RoleName.ADMIN)
    args = (command.args or "").split()
    year = clock.now().astimezone(settings.tz).year
    if args and not (args[0].isdecimal() and len(args[0]) == 4):
        await message.answer(_("I did not understand that.") + "\n\n" + usage())
        return
    if args:
        year = int(args[0])
    if len(args) == 4:
        if not await _set(message, grants, args, session):
            return
    elif len(args) > 1:
        await message.answer(_("I did not understand that.") + "\n\n" + usage())
        return
    for text in await progress_texts(session, scope, year, i18n.current_locale, admin):
        await message.answer(text)


async def _set(
    message: Message, grants: frozenset[Grant], args: list[str], session: AsyncSession
) -> bool:
    """`/doelen YEAR REGION METRIC TARGET`; a refusal is answered here (False)."""
    year, region, word, number = int(args[0]), args[1].casefold(), args[2], args[3]
    try:
        metric = goals.parse_metric(word)
        if not number.isdecimal() or len(number) > 7:
            raise goals.BadNumber
        await goals.set_goal(session, grants, year, region, metric, int(number), clock.now())
    except goals.NotAdmin:
        await message.answer(_("This command is for administrators only."))
        return False
    except goals.UnknownMetric:
        await message.answer(_("I do not know that goal.") + "\n\n" + usage())
        return False
    except goals.UnknownRegion:
        await message.answer(
            _("There is no region with the code “{code}”.").format(code=shorten(region))
        )
        return False
    except goals.BadNumber:
        await message.answer(_("Please give a year from 2000 and a number from 0 to 1,000,000."))
        return False
    log.info("goal %s %s %s set to %s", year, region, metric.value, number)
    await message.answer(_("Goal saved."))
    return True


def build_router() -> Router:
    router = private_router("goals")
    router.message.register(on_goals, Command("doelen", "goals", "mal"))
    return router
