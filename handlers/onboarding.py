"""The questions after consent: member or sympathiser, town, region; then the menu."""

from __future__ import annotations

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
from handlers.common import close_question, shorten
from storage.models import Member
from storage.repositories import regions as region_repo


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

    `heading` opens the summary when onboarding is already done (a greeting, say).
    """
    step = Step(member.onboarding_step)
    if step is Step.KIND:
        text = _question(
            step,
            _(
                "Are you a <b>member</b>, or a <b>sympathiser</b> (not, or not yet, a member)? "
                "Most workshops are open to everyone; some are for members only."
            ),
        )
        await bot.send_message(chat_id, text, reply_markup=keyboards.kinds())
    elif step is Step.PLACE:
        text = _question(
            step,
            _(
                "Where do you live? Type the name of your town or village, or share your "
                "location with the button below. I keep only the nearest town, never your "
                "exact location, to suggest workshops close to you."
            ),
        )
        await bot.send_message(chat_id, text, reply_markup=keyboards.share_location())
    elif step is Step.REGION:
        await _ask_region(bot, chat_id, member, session)
    else:
        await show_summary(bot, chat_id, member, session, heading)


async def _ask_region(bot: Bot, chat_id: int, member: Member, session: AsyncSession) -> None:
    configured = await region_repo.all_regions(session)
    place = default_gazetteer().get(member.place_id) if member.place_id else None
    choices = regions.relevant(place, configured)
    if not choices:
        await onboarding.answer_region(session, member, None)
        await show_summary(bot, chat_id, member, session, _("Thank you, that is all for now! 🎉"))
        return
    suggested = regions.suggest(place, configured)
    text = _("Which region do you belong to? Training days are organised per region.")
    if suggested is not None and place is not None:
        text += "\n" + _("For {town}, I suggest ⭐ {region}.").format(
            town=place.name, region=suggested.name
        )
    markup = keyboards.region_choices(choices, suggested)
    await bot.send_message(chat_id, _question(Step.REGION, text), reply_markup=markup)


async def show_summary(
    bot: Bot, chat_id: int, member: Member, session: AsyncSession, heading: str | None = None
) -> None:
    """What we know about the member, and what they can do next."""
    not_given = _("not given")
    kinds = {Kind.MEMBER: _("member"), Kind.SYMPATHISER: _("sympathiser")}
    region = await region_repo.get(session, member.region_code) if member.region_code else None
    lines = [heading, ""] if heading else []
    lines += [
        _("What I know about you:"),
        "• "
        + _("Member or sympathiser: {value}").format(
            value=kinds.get(Kind(member.kind), not_given) if member.kind else not_given
        ),
        "• " + _("Town: {value}").format(value=member.town or not_given),
        "• " + _("Region: {value}").format(value=region.name if region else not_given),
        "",
        _("You can change this at any time. What would you like to do next?"),
    ]
    await bot.send_message(chat_id, "\n".join(lines), reply_markup=keyboards.main_menu())


async def _stale(callback: CallbackQuery, member: Member | None, step: Step) -> bool:
    """True (after telling the member) when a button belongs to a question no longer open."""
    if member is None:
        await callback.answer(_("Please give your consent first: send /start."), show_alert=True)
        return True
    if member.onboarding_step != step:
        await callback.answer(_("This question has already been answered."), show_alert=True)
        return True
    return False


async def on_kind(
    callback: CallbackQuery,
    callback_data: KindCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
) -> None:
    if await _stale(callback, member, Step.KIND):
        return
    assert member is not None
    labels = {"member": _("I am a member"), "sympathiser": _("I am a sympathiser")}
    if callback_data.kind not in (*labels, "skip"):
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    kind = None if callback_data.kind == "skip" else Kind(callback_data.kind)
    try:
        await onboarding.answer_kind(session, member, kind)
    except StepClosed:
        await callback.answer(_("This question has already been answered."), show_alert=True)
        return
    await callback.answer()
    await close_question(callback, labels.get(callback_data.kind, _("Skipped")))
    await ask(bot, callback.from_user.id, member, session)


async def _accept_place(
    message: Message, member: Member, session: AsyncSession, bot: Bot, place: Place | None
) -> None:
    await onboarding.answer_place(session, member, place)
    if place is None:
        note = _("Fine, we will skip that.")
    else:
        note = "📍 " + _("{town} — noted.").format(town=place.label())
    await message.answer(note, reply_markup=ReplyKeyboardRemove())
    await ask(bot, message.chat.id, member, session)


def _is_skip(text: str) -> bool:
    return text.strip().casefold() in {
        keyboards.skip_label().casefold(),
        _("Skip").casefold(),
        "/skip",
    }


async def on_town_typed(message: Message, member: Member, session: AsyncSession, bot: Bot) -> None:
    text = message.text or ""
    if _is_skip(text):
        await _accept_place(message, member, session, bot, None)
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
        await _accept_place(message, member, session, bot, best.place)
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
    await _accept_place(message, member, session, bot, place)


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
    if await _stale(callback, member, Step.PLACE):
        return
    assert member is not None
    if callback_data.place_id == 0:
        await callback.answer()
        await close_question(callback, _("None of these"))
        await bot.send_message(
            callback.from_user.id,
            _("Then please type your town again, or share your location."),
            reply_markup=keyboards.share_location(),
        )
        return
    place = default_gazetteer().get(callback_data.place_id)
    if place is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    await close_question(callback, place.label())
    await onboarding.answer_place(session, member, place)
    await bot.send_message(
        callback.from_user.id,
        "📍 " + _("{town} — noted.").format(town=place.label()),
        reply_markup=ReplyKeyboardRemove(),
    )
    await ask(bot, callback.from_user.id, member, session)


async def on_region(
    callback: CallbackQuery,
    callback_data: RegionCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
) -> None:
    if await _stale(callback, member, Step.REGION):
        return
    assert member is not None
    code = callback_data.code or None
    try:
        await onboarding.answer_region(session, member, code)
    except onboarding.UnknownRegion:
        await callback.answer(_("That region no longer exists."), show_alert=True)
        return
    region = await region_repo.get(session, code) if code else None
    await callback.answer()
    await close_question(callback, region.name if region else _("Skipped"))
    await ask(bot, callback.from_user.id, member, session, _("Thank you, that is all for now! 🎉"))


async def on_button_expected(
    message: Message, member: Member, session: AsyncSession, bot: Bot
) -> None:
    await message.answer(_("Please answer with one of the buttons, or tap Skip."))
    await ask(bot, message.chat.id, member, session)


async def on_change_details(
    callback: CallbackQuery, member: Member | None, session: AsyncSession, bot: Bot
) -> None:
    if member is None:
        await callback.answer(_("Please give your consent first: send /start."), show_alert=True)
        return
    await callback.answer()
    await onboarding.restart(session, member)
    await ask(bot, callback.from_user.id, member, session)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = Router(name="onboarding")
    router.callback_query.register(on_kind, KindCb.filter())
    router.message.register(on_town_typed, F.text, AtStep(Step.PLACE))
    router.message.register(on_location, F.location, AtStep(Step.PLACE))
    router.message.register(on_place_other, AtStep(Step.PLACE))
    router.callback_query.register(on_place_pick, PlaceCb.filter())
    router.callback_query.register(on_region, RegionCb.filter())
    router.message.register(on_button_expected, AtStep(Step.KIND, Step.REGION))
    router.callback_query.register(on_change_details, MenuCb.filter(F.action == "details"))
    return router
