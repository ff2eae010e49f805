"""The command menu, per role and per language: people see only what they may use."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __

from bot.services.roles import Grant, RoleName
from bot.settings import SUPPORTED_LOCALES

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    description: object  # a lazy translation, rendered in the reader's locale
    roles: tuple[RoleName, ...] = ()  # empty: everyone


COMMANDS = (
    Command("start", __("Start or continue")),
    Command("help", __("What I can do for you")),
    Command("vraag", __("Ask a question")),
    Command("workshops", __("Workshops for you")),
    Command("leergangen", __("Learning tracks")),
    Command("profiel", __("Your talents and learning wishes")),
    Command("taal", __("Change the language")),
    Command("mijngegevens", __("Everything I store about you")),
    Command("vergeetmij", __("Erase everything about you")),
    Command("instellingen", __("Which announcements you get")),
    Command("vertrouwelijk", __("A confidential conversation")),
    Command("welkom", __("Being welcomed by a volunteer, or welcoming")),
    Command("projectteam", __("Available for a project team, or not")),
    Command("zaken", __("Your open confidential cases"), (RoleName.COUNSELLOR,)),
    Command("zoek", __("Search the talent base"), (RoleName.ORGANISER, RoleName.ADMIN)),
    Command("nieuw", __("Create a workshop"), (RoleName.ORGANISER, RoleName.ADMIN)),
    Command("workshop", __("Manage a workshop"), (RoleName.ORGANISER, RoleName.ADMIN)),
    Command(
        "workshops_csv",
        __("The workshops you manage, as a CSV file (send one back to import)"),
        (RoleName.ORGANISER, RoleName.ADMIN),
    ),
    Command(
        "leergang", __("Create or edit a learning track"), (RoleName.ORGANISER, RoleName.ADMIN)
    ),
    Command("bericht", __("Send an announcement"), (RoleName.ORGANISER, RoleName.ADMIN)),
    Command("berichten", __("Past announcements"), (RoleName.ORGANISER, RoleName.ADMIN)),
    Command("vaardigheden", __("Curate the skills list"), (RoleName.ORGANISER, RoleName.ADMIN)),
    Command(
        "rapport",
        __("What members want to learn, who can teach it, the gaps"),
        (RoleName.ORGANISER, RoleName.ADMIN),
    ),
    Command(
        "vragenrapport",
        __("Members' questions per week: volume, answer times, ratings"),
        (RoleName.ORGANISER, RoleName.ADMIN),
    ),
    Command(
        "kennisbank",
        __("The knowledge base: known answers, proposals, CSV"),
        (RoleName.ORGANISER, RoleName.ADMIN),
    ),
    Command("doelen", __("Goals per region and progress"), (RoleName.ORGANISER, RoleName.ADMIN)),
    Command(
        "voorstel",
        __("From a wish nobody teaches yet to a planned workshop"),
        (RoleName.ORGANISER, RoleName.ADMIN),
    ),
    Command("team", __("Put together a project team"), (RoleName.ORGANISER, RoleName.ADMIN)),
    Command("rol", __("Give or take away a role"), (RoleName.ADMIN,)),
    Command(
        "vertrouwenspersonen",
        __("Confidential counsellors and monthly counts"),
        (RoleName.ADMIN,),
    ),
    Command("enquete", __("The anonymous survey: publish, close, results"), (RoleName.ADMIN,)),
    Command("mijnvragen", __("Members' questions you are answering"), (RoleName.VOLUNTEER,)),
    Command("wachtrij", __("Members' questions waiting for a volunteer"), (RoleName.VOLUNTEER,)),
)


def available(grants: Iterable[Grant]) -> list[Command]:
    held = {g.role for g in grants}
    return [c for c in COMMANDS if not c.roles or held & set(c.roles)]


def as_bot_commands(commands: Iterable[Command]) -> list[BotCommand]:
    return [BotCommand(command=c.name, description=str(c.description)) for c in commands]


async def publish_defaults(bot: Bot, i18n: I18n) -> None:
    """Everyone's menu, once per language Telegram may ask for."""
    for locale in SUPPORTED_LOCALES:
        with i18n.context(), i18n.use_locale(locale):
            commands = as_bot_commands(available(()))
        await bot.set_my_commands(
            commands, scope=BotCommandScopeAllPrivateChats(), language_code=locale
        )
    with i18n.context(), i18n.use_locale(i18n.default_locale):
        await bot.set_my_commands(as_bot_commands(available(())), BotCommandScopeAllPrivateChats())


async def publish_for(
    bot: Bot, i18n: I18n, chat_id: int, grants: Iterable[Grant], locale: str
) -> None:
    """A staff member's own menu, in their language; without roles, back to everyone's."""
    grants = frozenset(grants)
    with i18n.context(), i18n.use_locale(locale):
        commands = as_bot_commands(available(grants))
    scope = BotCommandScopeChat(chat_id=chat_id)
    try:
        if grants:
            await bot.set_my_commands(commands, scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramAPIError as exc:
        log.warning("could not set a command menu: %s", type(exc).__name__)
