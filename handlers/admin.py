"""/rol: admins give and take away roles."""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import commands
from bot.formatting import split_lines
from bot.services import onboarding, roles
from bot.services.roles import Grant, RoleName
from bot.settings import Settings
from handlers.common import private_router, shorten
from storage.models import Member

log = logging.getLogger(__name__)
MESSAGE_BUDGET = 3800  # characters per message, under Telegram's 4,096


def role_label(role: RoleName) -> str:
    return {
        RoleName.ORGANISER: _("organiser"),
        RoleName.TRAINER: _("trainer"),
        RoleName.VOLUNTEER: _("volunteer"),
        RoleName.COUNSELLOR: _("counsellor"),
        RoleName.ADMIN: _("admin"),
    }[role]


def usage() -> str:
    names = ", ".join(role_label(r) for r in RoleName)
    return "\n".join(
        [
            _("<b>Give or take away a role</b>"),
            _("/rol 12345 organiser — give user 12345 a role"),
            _("/rol 12345 organiser oost — an organiser for one region only"),
            _("/rol 12345 -organiser — take the role away"),
            _("Roles: {names}").format(names=names),
            _("The number is the person's Telegram user id."),
        ]
    )


async def grants_overview(session: AsyncSession) -> list[str]:
    """The current roles, in as many messages as needed to stay under Telegram's limit."""
    grants = await roles.all_grants(session)
    if not grants:
        return [_("No roles have been given yet.")]
    lines = [_("<b>Current roles</b>")]
    for g in grants:
        where = f" ({escape(g.region_code)})" if g.region_code else ""
        lines.append(f"• {g.telegram_id}: {role_label(RoleName(g.role))}{where}")
    return split_lines(lines, MESSAGE_BUDGET)


async def on_role(
    message: Message,
    command: CommandObject,
    member: Member | None,
    grants: frozenset[Grant],
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    if not roles.has_role(grants, RoleName.ADMIN):
        await message.answer(_("This command is for administrators only."))
        return
    args = (command.args or "").split()
    if not args:
        await message.answer(usage())
        for chunk in await grants_overview(session):
            await message.answer(chunk)
        return
    if len(args) not in (2, 3) or not args[0].isdecimal() or len(args[0]) > 15:
        await message.answer(_("I did not understand that.") + "\n\n" + usage())
        return
    actor_id = message.from_user.id if message.from_user else message.chat.id
    target_id, word = int(args[0]), args[1]
    region = args[2].casefold() if len(args) == 3 else None
    revoking = word.startswith("-")
    try:
        role = roles.parse_role(word.lstrip("-"))
        if revoking:
            await roles.revoke(session, actor=grants, target_id=target_id, role=role, region=region)
            reply = _("{user} no longer has the role {role}.")
        else:
            await roles.assign(
                session,
                actor=grants,
                actor_id=actor_id,
                target_id=target_id,
                role=role,
                region=region,
            )
            reply = _("{user} now has the role {role}.")
    except roles.UnknownRole:
        await message.answer(_("I do not know that role.") + "\n\n" + usage())
        return
    except roles.UnknownRegion:
        await message.answer(
            _("There is no region with the code “{code}”.").format(code=shorten(region or ""))
        )
        return
    except roles.NotRegional:
        await message.answer(_("Only organisers can be limited to one region."))
        return
    except roles.AlreadyGranted:
        await message.answer(_("That person already has this role."))
        return
    except roles.NotGranted:
        await message.answer(_("That person does not have this role."))
        return
    target = await onboarding.member_of(session, target_id)
    log.info(  # internal ids only: "-" for someone without a member row
        "role %s %s for member %s by member %s",
        "revoked" if revoking else "granted",
        role,
        target.id if target else "-",
        member.id if member else "-",
    )
    label = role_label(role) + (f" ({escape(region)})" if region else "")
    await message.answer(reply.format(user=target_id, role=label))
    await _refresh_menu(bot, i18n, session, settings, target_id, target)


async def _refresh_menu(
    bot: Bot,
    i18n: I18n,
    session: AsyncSession,
    settings: Settings,
    target_id: int,
    target: Member | None,
) -> None:
    """The person's command menu follows their roles, in their language."""
    locale = target.locale if target else i18n.default_locale
    grants = await roles.grants_of(session, target_id, settings.admin_ids)
    await commands.publish_for(bot, i18n, target_id, grants, locale)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("admin")
    router.message.register(on_role, Command("rol", "role"))
    return router
