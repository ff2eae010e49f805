"""/profiel: talents (with a level), learning wishes, availability, findability, contact."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from html import escape

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.formatting import split_lines
from bot.keyboards import (
    AskLevelCb,
    AvailCb,
    ContactPrefCb,
    FindCb,
    LevelCb,
    PickCb,
    ProfileCb,
    RemoveCb,
)
from bot.services import profile
from bot.services.onboarding import Step
from bot.services.profile import Level, SkillKind
from bot.services.skill_match import split_input
from handlers.common import close_question, consent_first, private_router
from handlers.onboarding import ask as onboarding_ask
from storage.models import Member, MemberSkill

# A talent is a few words; anything longer is a sentence that belongs elsewhere (/vraag).
MAX_ITEM = 60
MAX_TEXT = 1000
# The guided profile walks these steps; None means the member is looking at their card.
STEPS = ("talents", "wishes", "availability", "findable", "contact")
# Rows per page of a list of buttons: with paging and Back, far below 100 buttons.
PAGE_ITEMS = 20


class ListPageCb(CallbackData, prefix="profpg"):
    """A page of a long list of buttons: view is "remove" or "levels"."""

    view: str
    page: int


class NoMember(Filter):
    """A profile button pressed by someone who has not (or no longer) consented."""

    async def __call__(self, event: TelegramObject, member: Member | None = None) -> bool:
        return member is None


class AwaitingText(Filter):
    """An onboarded member whose profile conversation waits for typed talents or wishes."""

    async def __call__(self, event: TelegramObject, member: Member | None = None) -> bool:
        return (
            member is not None
            and member.onboarding_step == Step.DONE
            and member.profile_step in ("talents", "wishes")
        )


def skill_label(row: MemberSkill, locale: str) -> str:
    if row.skill is not None:
        return row.skill.name(locale)
    return _("“{typed}” (as you typed it)").format(typed=row.typed_text)


def talent_line(row: MemberSkill, locale: str) -> str:
    label = skill_label(row, locale)
    return f"{label} — {keyboards.level_label(row.level)}" if row.level else label


async def card_lines(session: AsyncSession, member: Member, locale: str) -> list[str]:
    """The profile card, a line each, every user-typed text escaped."""
    rows = await profile.listed(session, member)
    talents = [escape(talent_line(r, locale)) for r in rows if r.kind == SkillKind.TALENT]
    wishes = [escape(skill_label(r, locale)) for r in rows if r.kind == SkillKind.WISH]
    none = _("none yet")
    slots = [keyboards.availability_label(s).lower() for s in profile.availability(member)]
    if member.contact_direct and member.username:
        contact = _("organisers see your Telegram name @{username}").format(
            username=escape(member.username)
        )
    else:
        contact = _("only through the bot, after you agree")
    return [
        "🧩 <b>" + _("Your talents and learning wishes") + "</b>",
        "",
        "<b>" + _("Talents") + "</b>",
        *(f"• {t}" for t in talents or [none]),
        "",
        "<b>" + _("Learning wishes") + "</b>",
        *(f"• {w}" for w in wishes or [none]),
        "",
        _("Available: {slots}").format(slots=", ".join(slots) or _("not given")),
        _("Findable by organisers: {answer}").format(
            answer=_("yes") if member.findable else _("no")
        ),
        _("Contact: {how}").format(how=contact),
        _("Contact requests through the bot: {answer}").format(
            answer=_("never") if member.no_contact_requests else _("yes")
        ),
    ]


def card_keyboard(member: Member) -> InlineKeyboardMarkup:
    """The card's buttons, and one to stop or allow contact requests."""
    markup = keyboards.profile_card(member.findable)
    if member.no_contact_requests:
        label = "📨 " + _("Allow contact requests again")
    else:
        label = "🚫 " + _("Never ask me for contact")
    toggle = InlineKeyboardButton(text=label, callback_data=ProfileCb(action="requests").pack())
    return InlineKeyboardMarkup(inline_keyboard=[*markup.inline_keyboard, [toggle]])


async def show_card(
    bot: Bot, chat_id: int, member: Member, session: AsyncSession, i18n: I18n
) -> None:
    """The card, split over as many messages as it needs; its buttons under the last."""
    chunks = split_lines(await card_lines(session, member, i18n.current_locale))
    for chunk in chunks[:-1]:
        await bot.send_message(chat_id, chunk)
    await bot.send_message(chat_id, chunks[-1], reply_markup=card_keyboard(member))


async def advance(
    bot: Bot, chat_id: int, member: Member, session: AsyncSession, i18n: I18n
) -> None:
    """Ask whatever is open: a pick or a level first, then the current step, else the card."""
    locale = i18n.current_locale
    pending = profile.next_question(await profile.rows(session, member))
    if pending is not None:
        what, row = pending
        if what == "pick":
            options = await profile.options(session, row)
            names = await profile.skill_names(session, [o.skill_id for o in options], locale)
            await bot.send_message(
                chat_id,
                _("Which one did you mean by “{typed}”?").format(typed=escape(row.typed_text)),
                reply_markup=keyboards.picks(row.id, names, row.typed_text),
            )
        else:
            await bot.send_message(
                chat_id,
                _("How much experience do you have with <b>{skill}</b>?").format(
                    skill=escape(skill_label(row, locale))
                ),
                reply_markup=keyboards.levels(row.id),
            )
        return
    step = member.profile_step
    if step == "talents":
        await bot.send_message(
            chat_id,
            _(
                "What are you good at? Type your talents, separated by commas — for example: "
                "debating, reading budgets, social media. Any language is fine."
            ),
            reply_markup=keyboards.skip_or_done("skip"),
        )
    elif step == "wishes":
        await bot.send_message(
            chat_id,
            _(
                "And what would you like to learn? Type your learning wishes, separated by "
                "commas — for example: writing motions, public speaking."
            ),
            reply_markup=keyboards.skip_or_done("skip"),
        )
    elif step == "availability":
        await bot.send_message(
            chat_id,
            _("When are you usually available? Tap all that apply, then Done."),
            reply_markup=keyboards.availability(profile.availability(member)),
        )
    elif step == "findable":
        await bot.send_message(
            chat_id,
            _(
                "May organisers find you when they look for someone with your talents? Only "
                "organisers of your organisation can search, and every search is recorded. "
                "You can pause this at any time."
            ),
            reply_markup=keyboards.findable(),
        )
    elif step == "contact":
        await bot.send_message(
            chat_id,
            _(
                "How may an organiser reach you? Through the bot, you first get their request "
                "and decide yourself."
            ),
            reply_markup=keyboards.contact_preference(await _telegram_username(bot, chat_id)),
        )
    else:
        await show_card(bot, chat_id, member, session, i18n)


async def _telegram_username(bot: Bot, chat_id: int) -> str | None:
    """The member's current Telegram username, offered but not stored until they choose it."""
    try:
        return (await bot.get_chat(chat_id)).username
    except TelegramAPIError:
        return None


async def _next_step(session: AsyncSession, member: Member) -> None:
    step = member.profile_step
    following = STEPS[STEPS.index(step) + 1] if step in STEPS[:-1] else None
    await profile.set_step(session, member, following)


async def on_profile_command(
    message: Message, member: Member | None, session: AsyncSession, bot: Bot, i18n: I18n
) -> None:
    if member is None:
        await message.answer(_("Please give your consent first: send /start."))
        return
    await _open(bot, message.chat.id, member, session, i18n)


async def _open(bot: Bot, chat_id: int, member: Member, session: AsyncSession, i18n: I18n) -> None:
    """The card, or the guided questions for someone who has not filled anything in."""
    if member.onboarding_step != Step.DONE:
        await bot.send_message(
            chat_id,
            _("Let us finish the short questions first; then we will do your talents and wishes."),
        )
        await onboarding_ask(bot, chat_id, member, session)
        return
    rows = await profile.rows(session, member)
    if not rows and member.profile_step is None and not member.findable:
        await profile.set_step(session, member, "talents")
    await advance(bot, chat_id, member, session, i18n)


async def on_skills_typed(
    message: Message, member: Member, session: AsyncSession, bot: Bot, i18n: I18n
) -> None:
    if profile.next_question(await profile.rows(session, member)) is not None:
        await message.answer(_("Please answer the question above with one of its buttons first."))
        return
    text = message.text or ""
    if text.startswith("/"):
        await message.answer(_("Please type your answer, or tap Skip."))
        return
    items = split_input(text)
    if len(text) > MAX_TEXT or any(len(item) > MAX_ITEM for item in items):
        await message.answer(
            _(
                "That is rather long. Please use a few words per talent or wish, separated by "
                "commas."
            )
        )
        return
    kind = SkillKind.TALENT if member.profile_step == "talents" else SkillKind.WISH
    try:
        added = await profile.add(session, member, kind, text)
    except profile.TooMany:
        await message.answer(_("That is a long list! Please keep it to the main ones."))
        return
    if not (added.recognised or added.unsure or added.unknown or added.duplicates):
        await message.answer(
            _("I could not find any talents or wishes in that. Please type a few words.")
        )
        return
    locale = i18n.current_locale
    lines = []
    if added.recognised:
        names = ", ".join(escape(skill_label(r, locale)) for r in added.recognised)
        lines.append("✅ " + _("Noted: {names}").format(names=names))
    if added.unknown:
        typed = ", ".join(escape(r.typed_text) for r in added.unknown)
        lines.append(
            "📝 "
            + _("Kept as you typed it: {typed}. An organiser may add it to the list.").format(
                typed=typed
            )
        )
    if added.duplicates:
        lines.append(
            "↩️ "
            + _("Already in your profile: {typed}").format(
                typed=escape(", ".join(added.duplicates))
            )
        )
    for chunk in split_lines(lines):
        await message.answer(chunk)
    await _next_step(session, member)
    await advance(bot, message.chat.id, member, session, i18n)


async def on_not_text(message: Message) -> None:
    await message.answer(_("Please type your answer, or tap Skip."))


async def on_button_without_consent(callback: CallbackQuery) -> None:
    await consent_first(callback)


async def on_show(
    callback: CallbackQuery, member: Member, session: AsyncSession, bot: Bot, i18n: I18n
) -> None:
    await callback.answer()
    await _open(bot, callback.from_user.id, member, session, i18n)


# Card buttons that open one step of the guided profile: action → step.
STEP_BUTTONS = {
    "add_talent": "talents",
    "add_wish": "wishes",
    "availability": "availability",
    "contact": "contact",
}


async def on_open_step(
    callback: CallbackQuery,
    callback_data: ProfileCb,
    member: Member,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    """Open one step of the guided profile from a card button."""
    await callback.answer()
    await profile.set_step(session, member, STEP_BUTTONS[callback_data.action])
    await advance(bot, callback.from_user.id, member, session, i18n)


async def on_skip(
    callback: CallbackQuery, member: Member, session: AsyncSession, bot: Bot, i18n: I18n
) -> None:
    if member.profile_step not in ("talents", "wishes"):
        await callback.answer(_("This question has already been answered."), show_alert=True)
        return
    await callback.answer()
    await close_question(callback, _("Skipped"))
    await _next_step(session, member)
    await advance(bot, callback.from_user.id, member, session, i18n)


async def on_availability_done(
    callback: CallbackQuery, member: Member, session: AsyncSession, bot: Bot, i18n: I18n
) -> None:
    if member.profile_step != "availability":
        await callback.answer(_("This question has already been answered."), show_alert=True)
        return
    await callback.answer()
    slots = [keyboards.availability_label(s) for s in profile.availability(member)]
    await close_question(callback, ", ".join(slots) or _("Skipped"))
    await _next_step(session, member)
    await advance(bot, callback.from_user.id, member, session, i18n)


async def on_toggle_findable(
    callback: CallbackQuery, member: Member, session: AsyncSession, bot: Bot, i18n: I18n
) -> None:
    await profile.set_findable(session, member, not member.findable)
    await callback.answer(
        _("Organisers can find you again.")
        if member.findable
        else _("Paused: organisers cannot find you now.")
    )
    await show_card(bot, callback.from_user.id, member, session, i18n)


async def on_toggle_requests(
    callback: CallbackQuery, member: Member, session: AsyncSession, bot: Bot, i18n: I18n
) -> None:
    await profile.set_contact_requests(session, member, member.no_contact_requests)
    await callback.answer(
        _("Done: nobody will ask you for contact through the bot.")
        if member.no_contact_requests
        else _("Organisers may ask you for contact through the bot again.")
    )
    await show_card(bot, callback.from_user.id, member, session, i18n)


async def on_list_button(
    callback: CallbackQuery,
    callback_data: ProfileCb,
    member: Member,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    """ "Change a level" or "Remove something": the first page of that list."""
    await callback.answer()
    chat_id = callback.from_user.id
    kind = callback_data.action  # "levels" or "remove", as registered below
    view = await _list_view(kind, member, session, i18n.current_locale, 0)
    if view is None:
        empty = (
            _("Your profile has no talents yet.")
            if kind == "levels"
            else _("Your profile has no talents or wishes yet.")
        )
        await bot.send_message(chat_id, empty)
        return
    await bot.send_message(chat_id, view[0], reply_markup=view[1])


async def on_list_page(
    callback: CallbackQuery,
    callback_data: ListPageCb,
    member: Member,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    """Another page of the removal or level list, in the same message."""
    view = None
    if callback_data.view in ("remove", "levels"):
        locale = i18n.current_locale
        view = await _list_view(callback_data.view, member, session, locale, callback_data.page)
    message = callback.message
    if view is None or message is None or isinstance(message, InaccessibleMessage):
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    with contextlib.suppress(TelegramBadRequest):  # the same page again: "not modified"
        await message.edit_text(view[0], reply_markup=view[1])


async def _list_view(
    view: str, member: Member, session: AsyncSession, locale: str, page: int
) -> tuple[str, InlineKeyboardMarkup] | None:
    """One page of the talents to relevel or the items to remove; None: nothing to list."""
    if view == "levels":
        talents = await profile.listed(session, member, SkillKind.TALENT)
        items = [(r.id, talent_line(r, locale)) for r in talents]
        question = _("Which talent's level would you like to change?")
        build = keyboards.talents_to_relevel
    else:
        kinds = {SkillKind.TALENT: _("talent"), SkillKind.WISH: _("wish")}
        rows = await profile.listed(session, member)
        items = [(r.id, f"{skill_label(r, locale)} ({kinds[SkillKind(r.kind)]})") for r in rows]
        question, build = _("Which one should I remove?"), keyboards.removals
    return paged(view, question, items, page, build) if items else None


def paged(
    view: str,
    question: str,
    items: Sequence[tuple[int, str]],
    page: int,
    build: Callable[[Sequence[tuple[int, str]]], InlineKeyboardMarkup],
) -> tuple[str, InlineKeyboardMarkup]:
    """A page of PAGE_ITEMS buttons built by `build`, with the one pager under them."""
    pages = -(-len(items) // PAGE_ITEMS)
    page = min(max(page, 0), pages - 1)
    markup = build(items[page * PAGE_ITEMS : (page + 1) * PAGE_ITEMS])
    nav = keyboards.pager(page, pages, lambda n: ListPageCb(view=view, page=n))
    if not nav:
        return question, markup
    return question, InlineKeyboardMarkup(inline_keyboard=[*markup.inline_keyboard, nav])


async def on_unknown_action(callback: CallbackQuery) -> None:
    await callback.answer(_("That button is no longer valid."), show_alert=True)


async def on_pick(
    callback: CallbackQuery,
    callback_data: PickCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    if member is None:
        return await consent_first(callback)
    try:
        row = await profile.resolve(
            session, member, callback_data.row_id, callback_data.skill_id or None
        )
    except profile.NotYours:
        await callback.answer(_("This question has already been answered."), show_alert=True)
        return
    except profile.NotAnOption:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    await close_question(callback, skill_label(row, i18n.current_locale))
    await advance(bot, callback.from_user.id, member, session, i18n)


async def on_level(
    callback: CallbackQuery,
    callback_data: LevelCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    if member is None:
        return await consent_first(callback)
    try:
        level = Level(callback_data.level)
        await profile.set_level(session, member, callback_data.row_id, level)
    except (ValueError, profile.NotYours):
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    await close_question(callback, keyboards.level_label(level))
    await advance(bot, callback.from_user.id, member, session, i18n)


async def on_ask_level(
    callback: CallbackQuery,
    callback_data: AskLevelCb,
    member: Member | None,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    row = await profile.own_row(session, member, callback_data.row_id) if member else None
    if row is None or row.kind != SkillKind.TALENT:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.from_user.id,
        _("How much experience do you have with <b>{skill}</b>?").format(
            skill=escape(skill_label(row, i18n.current_locale))
        ),
        reply_markup=keyboards.levels(row.id),
    )


async def on_availability(
    callback: CallbackQuery, callback_data: AvailCb, member: Member | None, session: AsyncSession
) -> None:
    if member is None:
        return await consent_first(callback)
    if member.profile_step != "availability" or callback_data.slot not in profile.AVAILABILITY:
        await callback.answer(_("This question has already been answered."), show_alert=True)
        return
    await profile.toggle_availability(session, member, callback_data.slot)
    await callback.answer()
    if callback.message is not None and hasattr(callback.message, "edit_reply_markup"):
        await callback.message.edit_reply_markup(
            reply_markup=keyboards.availability(profile.availability(member))
        )


async def on_findable(
    callback: CallbackQuery,
    callback_data: FindCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    if member is None or member.profile_step != "findable":
        await callback.answer(_("This question has already been answered."), show_alert=True)
        return
    await profile.set_findable(session, member, callback_data.yes)
    await callback.answer()
    await close_question(
        callback, _("Yes, organisers may find me") if callback_data.yes else _("No, not now")
    )
    await _next_step(session, member)
    await advance(bot, callback.from_user.id, member, session, i18n)


async def on_contact_preference(
    callback: CallbackQuery,
    callback_data: ContactPrefCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    if member is None or member.profile_step != "contact":
        await callback.answer(_("This question has already been answered."), show_alert=True)
        return
    username = callback.from_user.username
    if callback_data.direct and not username:
        await callback.answer(_("You have no Telegram username to show."), show_alert=True)
        return
    await profile.set_contact(session, member, callback_data.direct, username)
    await callback.answer()
    chosen = (
        _("Show my Telegram name @{username}").format(username=username)
        if member.contact_direct
        else _("Only through the bot")
    )
    await close_question(callback, chosen)
    await profile.set_step(session, member, None)
    await advance(bot, callback.from_user.id, member, session, i18n)


async def on_remove(
    callback: CallbackQuery,
    callback_data: RemoveCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    if member is None:
        return await consent_first(callback)
    try:
        await profile.remove(session, member, callback_data.row_id)
    except profile.NotYours:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer(_("Removed."))
    await show_card(bot, callback.from_user.id, member, session, i18n)


PROFILE_BUTTONS = {
    "show": on_show,
    "skip": on_skip,
    "availability_done": on_availability_done,
    "findable": on_toggle_findable,
    "requests": on_toggle_requests,
    "levels": on_list_button,
    "remove": on_list_button,
}


def register_profile_buttons(router: Router) -> None:
    """One small handler per card button; a button without consent, or of an action that
    no longer exists, gets an alert."""
    router.callback_query.register(on_button_without_consent, ProfileCb.filter(), NoMember())
    router.callback_query.register(on_button_without_consent, ListPageCb.filter(), NoMember())
    router.callback_query.register(on_open_step, ProfileCb.filter(F.action.in_(STEP_BUTTONS)))
    for action, handler in PROFILE_BUTTONS.items():
        router.callback_query.register(handler, ProfileCb.filter(F.action == action))
    router.callback_query.register(on_list_page, ListPageCb.filter())
    router.callback_query.register(on_unknown_action, ProfileCb.filter())


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("profile")
    router.message.register(on_profile_command, Command("profiel", "profile", "profil"))
    router.message.register(on_skills_typed, F.text, AwaitingText())
    router.message.register(on_not_text, AwaitingText())
    register_profile_buttons(router)
    router.callback_query.register(on_pick, PickCb.filter())
    router.callback_query.register(on_level, LevelCb.filter())
    router.callback_query.register(on_ask_level, AskLevelCb.filter())
    router.callback_query.register(on_availability, AvailCb.filter())
    router.callback_query.register(on_findable, FindCb.filter())
    router.callback_query.register(on_contact_preference, ContactPrefCb.filter())
    router.callback_query.register(on_remove, RemoveCb.filter())
    return router
