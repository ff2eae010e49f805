"""Answering the anonymous survey: one question at a time, by button (a free text typed).

The answers so far live only in the conversation state (`survey_answers`), never in the
database or a log, until the last one: then `survey.submit` stores them anonymously and the
state is cleared. Stop, /vergeetmij and a day without a word (the state's TTL) clear it too.
Every button is re-checked: the survey still open, not yet answered, the question the one
being asked.
"""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import sealing
from bot.lazy import lazy_module
from bot.sealing import Keyring
from bot.services import roles
from bot.services.roles import Grant, RoleName
from bot.settings import Settings
from bot.survey_views import SurveyCb, renderer
from handlers import survey_admin
from handlers.common import close_question, private_router
from storage.models import Member, SurveyQuestion

# Loaded at first use (bot/lazy.py): a rare path, and off without CONFIDENTIAL_KEY.
survey = lazy_module("bot.services.survey")

SKIP = -1  # the value of "Skip" under the free-text question


class AnswerCb(CallbackData, prefix="sva"):
    survey_id: int
    q: int  # the question's position
    v: int  # scale 1-5, a choice's index, SKIP


class Answering(StatesGroup):
    button = State()
    text = State()


def keys_of(settings: Settings) -> Keyring | None:
    secret = settings.confidential_key
    return sealing.keyring(secret.get_secret_value() if secret is not None else None)


def question_view(q: SurveyQuestion, count: int, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    """A question as the member sees it: its number, its text, its buttons."""
    lines = [
        _("Question {number} of {count}").format(number=q.position + 1, count=count),
        "",
        f"<b>{escape(survey.in_locale(q.texts, locale))}</b>",
    ]
    kb = InlineKeyboardBuilder()
    widths: list[int] = []
    if q.kind == "scale":
        lines.append(_("1 = not at all, 5 = completely"))
        for value in survey.SCALE:
            kb.button(
                text=str(value),
                callback_data=AnswerCb(survey_id=q.survey_id, q=q.position, v=value),
            )
        widths.append(5)
    elif q.kind == "choice":
        for index, label in enumerate(survey.in_locale(q.options, locale)):
            kb.button(
                text=label, callback_data=AnswerCb(survey_id=q.survey_id, q=q.position, v=index)
            )
            widths.append(1)
    else:
        lines.append(_("Type your answer (at most 1,000 characters), or tap Skip."))
        kb.button(
            text="⏭ " + _("Skip"),
            callback_data=AnswerCb(survey_id=q.survey_id, q=q.position, v=SKIP),
        )
        widths.append(1)
    kb.button(text="✖️ " + _("Stop"), callback_data=SurveyCb(action="stop", survey_id=q.survey_id))
    kb.adjust(*widths, 1)
    return "\n".join(lines), kb.as_markup()


def label_of(q: SurveyQuestion, value: int | str | None, locale: str) -> str:
    if value is None:
        return _("Skip")
    if q.kind == "choice" and isinstance(value, int):
        return str(survey.in_locale(q.options, locale)[value])
    return str(value)


async def _open_questions(
    callback: CallbackQuery, session: AsyncSession, settings: Settings, survey_id: int
) -> list[SurveyQuestion] | None:
    """The survey's questions if this person may still answer it; else the tap is answered
    with the reason (None)."""
    try:
        _s, questions = await survey.may_answer(
            session, keys_of(settings), survey_id, callback.from_user.id
        )
    except survey.Unavailable:
        await callback.answer(_("The survey is not available right now."), show_alert=True)
        return None
    except survey.NotOpen:
        await callback.answer(_("This survey is closed. Thank you all the same!"), show_alert=True)
        return None
    except survey.AlreadyAnswered:
        await callback.answer(
            _("You have already answered this survey: thank you! Everyone answers once."),
            show_alert=True,
        )
        return None
    return questions


async def ask(
    message_of: CallbackQuery | Message, q: SurveyQuestion, count: int, locale: str
) -> None:
    text, markup = question_view(q, count, locale)
    bot = message_of.bot
    assert bot is not None
    await bot.send_message(message_of.from_user.id, text, reply_markup=markup)  # type: ignore[union-attr]


async def on_start(
    callback: CallbackQuery,
    callback_data: SurveyCb,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    if member is None:
        await callback.answer(_("Please give your consent first: send /start."), show_alert=True)
        return
    questions = await _open_questions(callback, session, settings, callback_data.survey_id)
    if questions is None:
        return
    await callback.answer()
    await state.set_state(Answering.button)
    await state.set_data({"survey_id": callback_data.survey_id, "survey_answers": []})
    await proceed(callback, [], questions, state, i18n.current_locale)


async def proceed(
    event: CallbackQuery | Message,
    answers: list[Any],
    questions: list[SurveyQuestion],
    state: FSMContext,
    locale: str,
) -> bool:
    """Ask the next question; False when none is left."""
    if len(answers) >= len(questions):
        return False
    q = questions[len(answers)]
    await state.set_state(Answering.text if q.kind == "text" else Answering.button)
    await ask(event, q, len(questions), locale)
    return True


async def on_stop(callback: CallbackQuery, callback_data: SurveyCb, state: FSMContext) -> None:
    await state.clear()
    await callback.answer(_("Stopped: I kept none of your answers."), show_alert=True)
    await close_question(callback, _("Stop"))


async def _current(state: FSMContext, survey_id: int) -> list[Any] | None:
    data = await state.get_data()
    answers = data.get("survey_answers")
    if data.get("survey_id") != survey_id or not isinstance(answers, list):
        return None
    return answers


async def on_answer(
    callback: CallbackQuery,
    callback_data: AnswerCb,
    member: Member | None,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    answers = await _current(state, callback_data.survey_id)
    if member is None or answers is None or callback_data.q != len(answers):
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    questions = await _open_questions(callback, session, settings, callback_data.survey_id)
    if questions is None:
        await state.clear()
        return
    q = questions[callback_data.q]
    value = None if callback_data.v == SKIP and q.kind == "text" else callback_data.v
    try:
        value = survey.check_answer(q, value)
    except survey.BadAnswers:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    await close_question(callback, label_of(q, value, i18n.current_locale))
    await record(
        callback, member, grants, session, state, settings, i18n, [*answers, value], questions
    )


async def on_text(
    message: Message,
    member: Member | None,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    survey_id, answers = data.get("survey_id"), data.get("survey_answers")
    if member is None or not isinstance(survey_id, int) or not isinstance(answers, list):
        await state.clear()
        return
    text = (message.text or "").strip()
    if not text:
        await message.answer(_("Type your answer (at most 1,000 characters), or tap Skip."))
        return
    if len(text) > survey.TEXT_LIMIT:
        await message.answer(
            _("That is {length} characters; at most 1,000 fit. Please shorten it.").format(
                length=len(text)
            )
        )
        return
    try:
        _s, questions = await survey.may_answer(
            session, keys_of(settings), survey_id, message.chat.id
        )
    except survey.SurveyError:
        await state.clear()
        await message.answer(_("This survey is closed. Thank you all the same!"))
        return
    await record(
        message, member, grants, session, state, settings, i18n, [*answers, text], questions
    )


async def on_not_text(message: Message) -> None:
    await message.answer(_("Type your answer (at most 1,000 characters), or tap Skip."))


async def record(
    event: CallbackQuery | Message,
    member: Member,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    answers: list[Any],
    questions: list[SurveyQuestion],
) -> None:
    """Keep the answer in the conversation and ask the next; after the last, submit."""
    survey_id = questions[0].survey_id
    await state.update_data(survey_answers=answers)
    if await proceed(event, answers, questions, state, i18n.current_locale):
        return
    await state.clear()
    bot = event.bot
    assert bot is not None
    chat_id = event.from_user.id  # type: ignore[union-attr]
    try:
        await survey.submit(
            session,
            keys_of(settings),
            survey_id,
            chat_id,
            region_code=member.region_code,
            group=survey.role_group(member, grants),
            answers=answers,
        )
    except survey.AlreadyAnswered:
        await bot.send_message(
            chat_id, _("You have already answered this survey: thank you! Everyone answers once.")
        )
        return
    except survey.SurveyError:
        await bot.send_message(chat_id, _("This survey is closed. Thank you all the same!"))
        return
    # No log line here: even a time of submitting is more than the response itself holds.
    await bot.send_message(
        chat_id,
        _(
            "Thank you! Your answers are stored anonymously. Nobody can see which answers "
            "were yours."
        ),
    )


async def on_command(
    message: Message,
    member: Member | None,
    grants: frozenset[Grant],
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    """/enquete: admins manage surveys; anyone else gets the open surveys they have not
    answered yet, as their invitation (one lost or never received: joined later)."""
    if roles.has_role(grants, RoleName.ADMIN):
        await survey_admin.on_survey(message, grants, session, settings, i18n)
        return
    if member is None:
        await message.answer(_("Please give your consent first: send /start."))
        return
    try:
        waiting = await survey.waiting_for(session, keys_of(settings), message.chat.id)
    except survey.Unavailable:
        await message.answer(_("The survey is not available right now."))
        return
    if not waiting:
        await message.answer(_("No survey is waiting for you."))
        return
    render = renderer(i18n)
    for s in waiting[:3]:
        letter = render(s, i18n.current_locale)
        await message.answer(letter.text or "", reply_markup=letter.reply_markup)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("survey")
    router.include_router(survey_admin.build_router())
    router.message.register(on_command, Command("enquete", "survey", "enkat"))
    router.callback_query.register(on_start, SurveyCb.filter(F.action == "go"))
    router.callback_query.register(on_stop, SurveyCb.filter(F.action == "stop"))
    router.callback_query.register(on_answer, AnswerCb.filter())
    # Commands pass: /help or /vergeetmij in the middle of the survey still work.
    router.message.register(on_text, StateFilter(Answering.text), F.text, ~F.text.startswith("/"))
    router.message.register(on_not_text, StateFilter(Answering.text), ~F.text)
    return router
