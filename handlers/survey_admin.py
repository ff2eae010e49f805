"""/enquete (/survey, /enkat; the command is registered in handlers/survey.py) for admins:
publish the social-safety survey, close it and read its results. Nobody else sees results:
organisers, volunteers and counsellors get, like members, only the surveys they may answer.

Every button re-checks that an admin pressed it and where the survey stands now.
"""

from __future__ import annotations

import contextlib
import io
import logging
from html import escape
from typing import TYPE_CHECKING

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import survey_views
from bot.formatting import split_lines
from bot.lazy import lazy_module
from bot.services import regions, roles
from bot.services.roles import Grant, RoleName
from bot.settings import SUPPORTED_LOCALES, Settings
from handlers.common import close_question, private_router
from storage.models import Survey, SurveyQuestion

if TYPE_CHECKING:
    from bot.services.survey_file import Problem

# Loaded at first use (bot/lazy.py): a rare path, and off without CONFIDENTIAL_KEY.
survey = lazy_module("bot.services.survey")

log = logging.getLogger(__name__)
LISTED = 10  # surveys with buttons in the overview (4 buttons each at most: under 100)


class AdminCb(CallbackData, prefix="svadm"):
    action: str  # new | publish | discard | close | results | csv
    survey_id: int = 0
    preview: bool = False  # pressed under a draft's preview (else under the overview)


def unavailable() -> str:
    return _(
        "The survey needs CONFIDENTIAL_KEY: with it I can make sure everyone answers once "
        "without storing who gave which answers. Make one with "
        "<code>ledenbot confidential-key</code>, set CONFIDENTIAL_KEY in the environment and "
        "restart the bot."
    )


def status_label(status: str) -> str:
    return {"draft": _("draft"), "open": _("open"), "closed": _("closed")}.get(status, status)


def overview(listed: list[tuple[Survey, int]], locale: str) -> tuple[str, InlineKeyboardMarkup]:
    lines = ["📋 " + _("<b>Surveys</b>")]
    if not listed:
        lines.append(_("No surveys yet."))
    kb = InlineKeyboardBuilder()
    for s, answered in listed[:LISTED]:
        title = escape(survey.in_locale(s.titles, locale))
        lines.append(
            _("#{id} {title}: {status}, {count} answered").format(
                id=s.id, title=title, status=status_label(s.status), count=answered
            )
        )
        buttons = {
            "draft": [
                ("📨 " + _("Publish #{id}"), "publish"),
                ("🗑 " + _("Discard #{id}"), "discard"),
            ],
            "open": [("⏹ " + _("Close #{id}"), "close")],
            "closed": [("📊 " + _("Results #{id}"), "results"), ("📄 " + _("CSV #{id}"), "csv")],
        }.get(s.status, [])
        for label, action in buttons:
            kb.button(
                text=label.format(id=s.id), callback_data=AdminCb(action=action, survey_id=s.id)
            )
    kb.button(text="➕ " + _("New: the social-safety survey"), callback_data=AdminCb(action="new"))
    kb.button(text="📥 " + _("New: from a CSV file"), callback_data=AdminCb(action="upload"))
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup()


def preview_lines(s: Survey, questions: list[SurveyQuestion], locale: str) -> list[str]:
    lines = [
        _("Draft #{id}: {title}").format(id=s.id, title=escape(survey.in_locale(s.titles, locale))),
        "",
    ]
    for q in questions:
        lines.append(f"{q.position + 1}. {escape(survey.in_locale(q.texts, locale))}")
        if q.kind == "choice":
            lines.append(
                "    " + " · ".join(escape(o) for o in survey.in_locale(q.options, locale))
            )
        elif q.kind == "scale":
            lines.append("    1–5")
    lines += [
        "",
        _(
            "Publishing invites every member who has not turned general news off, each in "
            "their own language."
        ),
    ]
    return lines


class SurveyUpload(StatesGroup):
    file = State()


def upload_help() -> str:
    return _(
        "Edit this file (one row per line of the survey, a column per language; option rows "
        "belong to the choice question above them) and send it back to me: 5 to 10 "
        "questions, at most one free text, 2 to 6 options per choice."
    )


def problem_text(problem: Problem) -> str:
    reason = problem.code.removeprefix("rules:")
    texts = {
        "header": _("the first row must be: kind, then language codes (nl, en, sv)"),
        "kind": _("“{detail}” is not one of title, intro, scale, choice, option, text"),
        "empty": _("a text is missing for: {detail}"),
        "orphan": _("an option row must follow a choice question"),
        "size": _("the file is larger than 64 KB"),
        "encoding": _("the file is not UTF-8 text"),
        "count": _("a survey has 5 to 10 questions"),
        "texts": _("a survey has at most one free-text question"),
        "title": _("a title row is needed, of at most 100 characters"),
        "text": _("a question has at most 500 characters"),
        "options": _("a choice has 2 to 6 options of at most 60 characters, in every language"),
    }
    text = texts.get(reason, reason).format(detail=escape(problem.detail))
    if problem.line:
        return _("Line {line}: {problem}").format(line=problem.line, problem=text)
    return text


async def send_preview(
    bot: Bot, chat: int, session: AsyncSession, created: Survey, locale: str
) -> None:
    """A new draft's questions in the admin's language, with Publish and Discard."""
    questions = await survey.questions_of(session, created.id)
    kb = InlineKeyboardBuilder()
    for label, action in (
        ("📨 " + _("Publish #{id}"), "publish"),
        ("🗑 " + _("Discard #{id}"), "discard"),
    ):
        kb.button(
            text=label.format(id=created.id),
            callback_data=AdminCb(action=action, survey_id=created.id, preview=True),
        )
    kb.adjust(1)
    chunks = split_lines(preview_lines(created, questions, locale))
    for chunk in chunks[:-1]:
        await bot.send_message(chat, chunk)
    await bot.send_message(chat, chunks[-1], reply_markup=kb.as_markup())


async def on_file(
    message: Message,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    settings: Settings,
    i18n: I18n,
) -> None:
    """A survey file, while an admin is asked for one: a draft, or every problem by line."""
    if not _is_admin(grants) or settings.confidential_key is None:
        await state.clear()
        await message.answer(_("This command is for administrators only."))
        return
    document = message.document
    assert document is not None
    from bot.services import survey_file  # loaded when a file comes, not at start

    if document.file_size is not None and document.file_size > survey_file.MAX_BYTES:
        await message.answer(problem_text(survey_file.Problem(0, "size")))
        return
    buffer = io.BytesIO()
    await bot.download(document, destination=buffer)
    try:
        definition = survey_file.parse(buffer.getvalue())
    except survey_file.BadFile as exc:
        lines = [_("No survey made. Please correct these and send the file again:"), ""]
        lines += ["• " + problem_text(p) for p in exc.problems[:50]]
        for chunk in split_lines(lines):
            await message.answer(chunk)
        return
    await state.clear()
    created = await survey.create(session, definition)
    await send_preview(bot, message.chat.id, session, created, i18n.current_locale)


def _is_admin(grants: frozenset[Grant]) -> bool:
    return roles.has_role(grants, RoleName.ADMIN)


async def on_survey(
    message: Message,
    grants: frozenset[Grant],
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    if not _is_admin(grants):
        await message.answer(_("This command is for administrators only."))
        return
    if settings.confidential_key is None:
        await message.answer(unavailable())
        return
    text, markup = overview(await survey.listing(session), i18n.current_locale)
    await message.answer(text, reply_markup=markup)


async def on_button(
    callback: CallbackQuery,
    callback_data: AdminCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    if not _is_admin(grants):
        await callback.answer(_("This command is for administrators only."), show_alert=True)
        return
    if settings.confidential_key is None:
        await callback.answer(_("The survey is not available right now."), show_alert=True)
        return
    action, survey_id, locale = callback_data.action, callback_data.survey_id, i18n.current_locale
    bot, chat = callback.bot, callback.from_user.id
    assert bot is not None
    try:
        if action == "new":
            created = await survey.create(session, survey.template())
            await callback.answer(_("Draft #{id} made.").format(id=created.id))
            await send_preview(bot, chat, session, created, locale)
        elif action == "upload":
            await callback.answer()
            await state.set_state(SurveyUpload.file)
            from bot.services import survey_file

            example = BufferedInputFile(
                survey_file.to_csv(survey.template()), filename="survey-social-safety.csv"
            )
            await bot.send_document(chat, example, caption=upload_help())
        elif action == "publish":
            locales = [
                settings.default_locale,
                *(c for c in SUPPORTED_LOCALES if c != settings.default_locale),
            ]
            render = survey_views.renderer(i18n)
            invited = await survey.publish(session, survey_id, render, locales)
            log.info("survey %s published to %s members", survey_id, invited)
            outcome = ngettext(
                "Survey #{id} is open: {count} member invited.",
                "Survey #{id} is open: {count} members invited.",
                invited,
            ).format(id=survey_id, count=invited)
            await callback.answer(outcome, show_alert=True)
            await _done(callback, callback_data, session, locale, outcome)
        elif action == "discard":
            await survey.discard(session, survey_id)
            await callback.answer(_("Draft #{id} discarded.").format(id=survey_id))
            await _done(
                callback,
                callback_data,
                session,
                locale,
                _("Draft #{id} discarded.").format(id=survey_id),
            )
        elif action == "close":
            await survey.close(session, survey_id)
            outcome = _("Survey #{id} is closed: the results are ready.").format(id=survey_id)
            await callback.answer(outcome, show_alert=True)
            await _done(callback, callback_data, session, locale, outcome)
        elif action in ("results", "csv"):
            configured = await regions.configured(session)
            from bot.services import survey_results  # loaded when first asked for

            order = [r.code for r in configured]
            results = await survey_results.results(session, survey_id, order)
            names = {r.code: r.name for r in configured}
            await callback.answer()
            if action == "csv":
                data = survey_views.results_csv(results, locale, names)
                name = f"survey-{survey_id}-results.csv"
                await bot.send_document(chat, BufferedInputFile(data, filename=name))
            else:
                for chunk in split_lines(survey_views.result_lines(results, locale, names)):
                    await bot.send_message(chat, chunk)
        else:
            await callback.answer(_("That button is no longer valid."), show_alert=True)
    except survey.SurveyError:
        await callback.answer(_("That button is no longer valid."), show_alert=True)


async def _done(
    callback: CallbackQuery, pressed: AdminCb, session: AsyncSession, locale: str, outcome: str
) -> None:
    """The tapped message after a step: a preview closes with the outcome; the overview shows
    where every survey stands now, with the buttons that fit."""
    if pressed.preview or not isinstance(callback.message, Message):
        await close_question(callback, outcome)
        return
    text, markup = overview(await survey.listing(session), locale)
    with contextlib.suppress(TelegramBadRequest):  # unchanged: a double tap
        await callback.message.edit_text(text, reply_markup=markup)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("survey_admin")
    router.callback_query.register(on_button, AdminCb.filter())
    router.message.register(on_file, StateFilter(SurveyUpload.file), F.document)
    return router
