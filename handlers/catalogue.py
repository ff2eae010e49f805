"""/vaardigheden: organisers and admins curate the skills catalogue.

/vaardigheden                                  the words members typed that we lack
/vaardigheden add Koken voor grote groepen     a new skill
/vaardigheden merge moestuin > Duurzaamheid    fold a typed word into a skill
/vaardigheden rename Debatteren > en Debating  rename a skill in one language
"""

from __future__ import annotations

import hashlib
import logging
from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import catalogue
from bot.services.roles import Grant, organiser_scope
from bot.settings import SUPPORTED_LOCALES
from handlers.common import close_question, private_router, shorten
from storage.models import Member

log = logging.getLogger(__name__)

ADD_WORDS = {"add", "toevoegen", "nieuw", "ny", "lagg", "lägg"}
MERGE_WORDS = {"merge", "samenvoegen", "sammanfoga", "slå", "sla"}
RENAME_WORDS = {"rename", "hernoemen", "byt", "döp", "dop"}


class CandidateCb(CallbackData, prefix="cand"):
    digest: str  # of the typed word: the word itself may not fit in 64 bytes


def digest(word: str) -> str:
    return hashlib.sha1(word.encode()).hexdigest()[:10]


def usage() -> str:
    return "\n".join(
        [
            _("<b>The skills list</b>"),
            _("/vaardigheden add Name — add a skill"),
            _("/vaardigheden merge word > Skill — fold a word members typed into a skill"),
            _("/vaardigheden rename Skill > en New name — rename a skill in nl, en or sv"),
        ]
    )


async def overview(session: AsyncSession) -> tuple[str, object]:
    words = await catalogue.candidates(session, limit=20)
    if not words:
        return usage() + "\n\n" + _("Members have typed no words that are missing."), None
    lines = [usage(), "", _("<b>Words members typed that are not in the list</b>")]
    kb = InlineKeyboardBuilder()
    for n, (word, count) in enumerate(words, start=1):
        members = ngettext("{count} member", "{count} members", count).format(count=count)
        lines.append(f"{n}. {shorten(word, 60)} ({members})")
        label = "➕ " + _("Add “{word}”").format(word=word[:30])
        kb.button(text=label, callback_data=CandidateCb(digest=digest(word)))
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


async def on_catalogue(
    message: Message,
    command: CommandObject,
    grants: frozenset[Grant],
    session: AsyncSession,
    i18n: I18n,
) -> None:
    if organiser_scope(grants) is None:
        await message.answer(_("This command is for organisers only."))
        return
    args = (command.args or "").strip()
    if not args:
        text, markup = await overview(session)
        await message.answer(text, reply_markup=markup)
        return
    verb, _sep, rest = args.partition(" ")
    verb = verb.casefold()
    try:
        if verb in ADD_WORDS:
            skill = await catalogue.add_skill(session, rest, i18n.current_locale)
            reply = _("Added to the list: {skill}.").format(skill=escape(skill.name_nl))
        elif verb in MERGE_WORDS:
            word, target = _split(rest)
            skill = await catalogue.find_skill(session, target)
            moved = await catalogue.merge_candidate(session, word, skill.id, i18n.current_locale)
            reply = ngettext(
                "“{word}” is now part of {skill} ({count} member moved).",
                "“{word}” is now part of {skill} ({count} members moved).",
                moved,
            ).format(
                word=shorten(word, 60),
                skill=escape(skill.name(i18n.current_locale)),
                count=moved,
            )
        elif verb in RENAME_WORDS:
            name, change = _split(rest)
            locale, _sep, new_name = change.partition(" ")
            if locale.casefold() not in SUPPORTED_LOCALES:
                raise catalogue.EmptyName
            skill = await catalogue.find_skill(session, name)
            await catalogue.rename(session, skill.id, locale.casefold(), new_name)
            reply = _("Renamed ({locale}): {skill}.").format(
                locale=locale.casefold(), skill=escape(new_name.strip())
            )
        else:
            reply = _("I did not understand that.") + "\n\n" + usage()
    except catalogue.SkillNameTaken:
        reply = _("That skill is already in the list.")
    except catalogue.UnknownSkill:
        reply = _("I could not find that skill in the list.")
    except (catalogue.EmptyName, ValueError):
        reply = _("I did not understand that.") + "\n\n" + usage()
    await message.answer(reply)


def _split(text: str) -> tuple[str, str]:
    left, sep, right = text.partition(">")
    if not sep or not left.strip() or not right.strip():
        raise ValueError(text)
    return left.strip(), right.strip()


async def on_add_candidate(
    callback: CallbackQuery,
    callback_data: CandidateCb,
    member: Member | None,
    grants: frozenset[Grant],
    session: AsyncSession,
    i18n: I18n,
) -> None:
    if organiser_scope(grants) is None:
        await callback.answer(_("This command is for organisers only."), show_alert=True)
        return
    words = {digest(w): w for w, _count in await catalogue.candidates(session, limit=200)}
    word = words.get(callback_data.digest)
    if word is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    try:
        skill = await catalogue.add_skill(session, word, i18n.current_locale)
    except catalogue.SkillNameTaken:
        await callback.answer(_("That skill is already in the list."), show_alert=True)
        return
    log.info("skill %s added from a candidate by member %s", skill.id, member.id if member else "-")
    await callback.answer(_("Added to the list: {skill}.").format(skill=skill.name_nl))
    await close_question(callback, _("Added to the list: {skill}.").format(skill=skill.name_nl))


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("catalogue")
    router.message.register(on_catalogue, Command("vaardigheden", "skills", "kompetenser"))
    router.callback_query.register(on_add_candidate, CandidateCb.filter())
    return router
