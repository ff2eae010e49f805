"""The feedback question after a workshop: stars by button, then an optional comment."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import FeedbackCb
from bot.services import feedback
from handlers.common import close_question, private_router
from storage.models import Member


class Commenting(StatesGroup):
    text = State()


async def on_rating(
    callback: CallbackQuery,
    callback_data: FeedbackCb,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    if member is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    workshop_id = callback_data.workshop_id
    if callback_data.rating == 0:  # "no comment"
        await state.clear()
        await callback.answer()
        await close_question(callback, _("No comment"))
        await callback.bot.send_message(callback.from_user.id, _("Thank you!"))  # type: ignore[union-attr]
        return
    try:
        await feedback.rate(session, member, workshop_id, callback_data.rating)
    except (feedback.NotAttended, feedback.BadRating):
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    await close_question(callback, "⭐" * callback_data.rating)
    await state.set_state(Commenting.text)
    await state.update_data(feedback_workshop=workshop_id)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("No comment"), callback_data=FeedbackCb(workshop_id=workshop_id, rating=0))
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.from_user.id,
        _("Thank you! Anything you would like to add? Type it here, or tap No comment."),
        reply_markup=kb.as_markup(),
    )


async def on_comment(
    message: Message, member: Member | None, session: AsyncSession, state: FSMContext
) -> None:
    workshop_id = (await state.get_data()).get("feedback_workshop")
    await state.clear()
    if member is None or not isinstance(workshop_id, int):
        return
    try:
        await feedback.comment(session, member, workshop_id, message.text or "")
    except feedback.NotAttended:
        return
    await message.answer(_("Thank you, I have passed it on."))


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("feedback")
    router.callback_query.register(on_rating, FeedbackCb.filter())
    router.message.register(on_comment, StateFilter(Commenting.text), F.text)
    return router
