"""The questions after consent: member or sympathiser, town, region; then the menu."""

from __future__ import annotations

from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove, TelegramObject
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.keyboards import KindCb, MenuCb, PlaceCb, RegionCb
from bot.services import onboarding, regions
from bot.services.onboarding import Kind, Step, StepClosed
from bot.services.places import Place, default_gazetteer
from handlers.common import close_question, consent_first, private_router, shorten
from storage.models import Member


class AtStep(Filter):
    """Matches updates from a consented member whose onboarding is at one of these steps."""

    def __init__(self, *steps: Step) -> None:
        self.steps = steps

    async def __call__(self, event: TelegramObject, member: Member | None = None) -> bool:
        return member is not None and member.onboarding_step in self.steps


# A typed town is taken without asking back when it is this sure and clearly ahead.
SURE_SCORE = 90.0
CLEAR_LEAD = 4.0
MAX_TOWN_LENGTH = 100


def _question(step: Step, text: str) -> str:
    p = onboarding.progress(step)
    return _("Question {number} of {total}").format(number=p.number, total=p.total) + "\n" + text


async def ask(
    bot: Bot, chat_id: int, member: Member, session: AsyncSession, heading: str | None = None
) -> None:
    """Ask whatever the member's onboarding is at; the one entry point for resuming.

    `heading` opens the message (a greeting, or the confirmation of the previous answer).
    """
    step = Step(member.onboarding_step)
    top = f"{heading}\n\n" if heading else ""
    if step is Step.KIND:
        text = _question(
            step,
            _(
                "Are you a <b>member</b>, or a <b>sympathiser</b> (not, or not yet, a member)? "
                "Most workshops are open to everyone; some are for members only."
            ),
        )
        await bot.send_message(chat_id, top + text, reply_markup=keyboards.kinds())
    elif step is Step.PLACE:
        text = _question(
            step,
            _(
                "Where do you live? Type the name of your town or village, or share your "
                "location with the button below. I keep only the nearest town, never your "
                "exact location, to suggest workshops close to you."
            ),
        )
        await bot.send_message(chat_id, top + text, reply_markup=keyboards.share_location())
    elif step is Step.REGION:
        await _ask_region(bot, chat_id, member, session, top)
    else:
        await show_summary(bot, chat_id, member, session, heading)


async def _ask_region(
    bot: Bot, chat_id: int, member: Member, session: AsyncSession, top: str
) -> None:
    choices = await onboarding.regions_for(session, member)
    place = onboarding.current_place(member)
    suggested = regions.suggest(place, choices)
    text = _("Which region do you belong to? Training days are organised per region.")
    if suggested is not None and place is not None:
        text += "\n" + _("For {town}, I suggest ⭐ {region}.").format(
            town=escape(place.name), region=escape(suggested.name)
        )
    markup = keyboards.region_choices(choices, suggested)
    await bot.send_message(chat_id, top + _question(Step.REGION, text), reply_markup=markup)


async def summary_lines(session: AsyncSession, member: Member) -> list[str]:
    """What we know from onboarding, as lines; also part of /mijngegevens."""
    not_given = _("not given")
    kinds = {Kind.MEMBER: _("member"), Kind.SYMPATHISER: _("sympathiser")}
    region = await onboarding.region_of(session, member)
    kind = kinds.get(Kind(member.kind), not_given) if member.kind else not_given
    return [
        _("What I know about you:"),
        "• " + _("Member or sympathiser: {value}").format(value=kind),
        "• " + _("Town: {value}").format(value=escape(member.town or not_given)),
        "• " + _("Region: {value}").format(value=escape(region.name if region else not_given)),
    ]


async def show_summary(
    bot: Bot, chat_id: int, member: Member, session: AsyncSession, heading: str | None = None
) -> None:
    """What we know about the member, and what they can do next."""
    lines = [heading, ""] if heading else []
    lines += await summary_lines(session, member)
    lines += ["", _("You can change this at any time. What would you like to do next?")]
    await bot.send_message(chat_id, "\n".join(lines), reply_markup=keyboards.main_menu())


def done_heading(member: Member) -> str | None:
    return _("Thank you, that is all for now! 🎉") if member.onboarding_step == Step.DONE else None


async def _closed(callback: CallbackQuery) -> None:
    await callback.answer(_("This question has already been answered."), show_alert=True)


async def on_kind(
    callback: CallbackQuery,
    callback_data: KindCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
) -> None:
    if member is None:
        await consent_first(callback)
        return
    labels = {"member": _("I am a member"), "sympathiser": _("I am a sympathiser")}
    if callback_data.kind not in (*labels, "skip"):
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    kind = None if callback_data.kind == "skip" else Kind(callback_data.kind)
    try:
        await onboarding.answer_kind(session, member, kind)
    except StepClosed:
        await _closed(callback)
        return
    await callback.answer()
    await close_question(callback, labels.get(callback_data.kind, _("Skipped")))
    await ask(bot, callback.from_user.id, member, session)


async def _place_chosen(
    bot: Bot, chat_id: int, member: Member, session: AsyncSession, place: Place | None
) -> bool:
    """Save the town (or the skip), confirm it, and ask on; False if the question was closed."""
    try:
        await onboarding.answer_place(session, member, place)
    except StepClosed:
        return False
    if place is None:
        note = _("Fine, we will skip that.")
    else:
        note = "📍 " + _("{town} — noted.").format(town=escape(place.label()))
    # The confirmation removes the location keyboard; the next question has its own buttons.
    await bot.send_message(chat_id, note, reply_markup=ReplyKeyboardRemove())
    await ask(bot, chat_id, member, session, done_heading(member))
    return True


def _is_skip(text: str) -> bool:
    return text.strip().casefold() in {
        keyboards.skip_label().casefold(),
        _("Skip").casefold(),
        "/skip",
    }


async def on_town_typed(message: Message, member: Member, session: AsyncSession, bot: Bot) -> None:
    text = message.text or ""
    if _is_skip(text):
        await _place_chosen(bot, message.chat.id, member, session, None)
        return
    if text.startswith("/"):
        await message.answer(_("Please type the name of your town, or tap Skip."))
        return
    if len(text) > MAX_TOWN_LENGTH or not text.strip():
        await message.answer(
            _("That does not look like the name of a town. Please type just the name of your town.")
        )
        return
    matches = default_gazetteer().search(text, limit=3)
    if not matches:
        await message.answer(
            _(
                "I could not find a town called “{text}”. Check the spelling, try a larger town "
                "nearby, or share your location."
            ).format(text=shorten(text))
        )
        return
    best = matches[0]
    runner_up = matches[1].score if len(matches) > 1 else 0.0
    if best.score >= SURE_SCORE and best.score - runner_up >= CLEAR_LEAD:
        await _place_chosen(bot, message.chat.id, member, session, best.place)
        return
    await message.answer(
        _("Did you mean one of these?"),
        reply_markup=keyboards.place_choices(m.place for m in matches),
    )


async def on_location(message: Message, member: Member, session: AsyncSession, bot: Bot) -> None:
    assert message.location is not None
    place = default_gazetteer().nearest(message.location.latitude, message.location.longitude)
    if place is None:
        await message.answer(
            _(
                "That location is outside the area I know (the Netherlands, Belgium and "
                "Sweden). Please type your town instead."
            )
        )
        return
    await _place_chosen(bot, message.chat.id, member, session, place)


async def on_place_other(message: Message) -> None:
    await message.answer(
        _("Please type the name of your town, or use the button below to share your location."),
        reply_markup=keyboards.share_location(),
    )


async def on_place_pick(
    callback: CallbackQuery,
    callback_data: PlaceCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
) -> None:
    if member is None:
        await consent_first(callback)
        return
    if member.onboarding_step != Step.PLACE:
        await _closed(callback)
        return
    chat_id = callback.from_user.id
    if callback_data.place_id == 0:
        await callback.answer()
        await close_question(callback, _("None of these"))
        await bot.send_message(
            chat_id,
            _("Then please type your town again, or share your location."),
            reply_markup=keyboards.share_location(),
        )
        return
    place = default_gazetteer().get(callback_data.place_id)
    if place is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    if not await _place_chosen(bot, chat_id, member, session, place):
        await _closed(callback)
        return
    await callback.answer()
    await close_question(callback, place.label())


async def on_region(
    callback: CallbackQuery,
    callback_data: RegionCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
) -> None:
    if member is None:
        await consent_first(callback)
        return
    code = callback_data.code or None
    choices = {r.code: r for r in await onboarding.regions_for(session, member)}
    try:
        await onboarding.answer_region(session, member, code)
    except onboarding.UnknownRegion:
        await callback.answer(_("That region no longer exists."), show_alert=True)
        return
    except StepClosed:
        await _closed(callback)
        return
    await callback.answer()
    await close_question(callback, choices[code].name if code else _("Skipped"))
    await ask(bot, callback.from_user.id, member, session, done_heading(member))


async def on_button_expected(message: Message) -> None:
    await message.answer(_("Please answer with one of the buttons, or tap Skip."))


async def on_change_details(
    callback: CallbackQuery, member: Member | None, session: AsyncSession, bot: Bot
) -> None:
    if member is None:
        await consent_first(callback)
        return
    await callback.answer()
    await onboarding.restart(session, member)
    await ask(bot, callback.from_user.id, member, session)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("onboarding")
    router.callback_query.register(on_kind, KindCb.filter())
    router.message.register(on_town_typed, F.text, AtStep(Step.PLACE))
    router.message.register(on_location, F.location, AtStep(Step.PLACE))
    router.message.register(on_place_other, AtStep(Step.PLACE))
    router.callback_query.register(on_place_pick, PlaceCb.filter())
    router.callback_query.register(on_region, RegionCb.filter())
    router.message.register(on_button_expected, AtStep(Step.KIND, Step.REGION))
    router.callback_query.register(on_change_details, MenuCb.filter(F.action == "details"))
    return router
