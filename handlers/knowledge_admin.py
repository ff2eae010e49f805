"""/kennisbank (/knowledge, /kunskap): organisers and admins keep the knowledge base that
members' questions are matched against (bot/services/knowledge.py).

Per language, 8 entries a page; an entry's card with its question, the other ways members
ask it and its answer; edit any of the three by sending the new text; retire and restore;
volunteers' proposals to approve, edit or reject; the live entries as a CSV file, and a file
sent back imported after a summary and a confirmation (a bad file changes nothing).

Every button and every typed text re-checks that an organiser or admin sent it, and what the
button names is read again: a stale button gets "no longer valid".
"""

from __future__ import annotations

import contextlib
import io
import logging
from html import escape
from typing import TYPE_CHECKING

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formatting import split_lines
from bot.i18n import LANGUAGE_NAMES
from bot.keyboards import pager
from bot.lazy import lazy_module
from bot.services.roles import Grant, organiser_scope
from handlers.common import private_router, shorten

if TYPE_CHECKING:
    from bot.services.knowledge import ImportPlan, KnowledgeError, Page, Problem, Row

knowledge = lazy_module("bot.services.knowledge")  # loaded at first use (bot/lazy.py)
log = logging.getLogger(__name__)

FLAGS = {"nl": "🇳🇱", "en": "🇬🇧", "sv": "🇸🇪"}
LANGUAGES = ("nl", "en", "sv")
#: Room in a message for the card around the texts shown in it.
TEXT_LIMIT = 4096
#: An import report names at most this many ids per outcome, then counts the rest.
NAMED = 10


class KbCb(CallbackData, prefix="kb"):
    # home | list | retired | proposals | view | edit | retire | restore | approve | reject |
    # add | export | import | apply | drop
    action: str
    lang: str = ""
    page: int = 0
    row: int = 0
    field: str = ""  # edit: question | answer | phrasings


class KbEdit(StatesGroup):
    text = State()  # data: row, field


class KbAdd(StatesGroup):
    question = State()  # data: lang
    answer = State()  # data: lang, question
    phrasings = State()  # data: lang, question, answer


class KbImport(StatesGroup):
    file = State()  # data: lang
    confirm = State()  # data: lang, text


def allowed(grants: frozenset[Grant]) -> bool:
    """Organisers (of any region: the knowledge base is per language) and admins."""
    return organiser_scope(grants) is not None


def refused() -> str:
    return _("This command is for organisers only.")


def stale() -> str:
    return _("That button is no longer valid.")


def language_name(lang: str) -> str:
    return f"{FLAGS.get(lang, '')} {LANGUAGE_NAMES.get(lang, lang)}".strip()


def state_label(state: str) -> str:
    return {
        "live": _("live"),
        "retired": _("retired"),
        "proposed": _("proposed by a volunteer"),
    }.get(state, state)


def number(n: int) -> str:
    """4,096 / 4.096 / 4 096: as the reader writes numbers."""
    return format_decimal(n, locale=get_i18n().current_locale)


def refusal_text(error: KnowledgeError) -> str:
    """A service's refusal in the organiser's language."""
    if isinstance(error, knowledge.TooLong):
        texts = {
            "question": _(
                "That question has {count} characters; at most {limit} fit. "
                "Please send a shorter one."
            ),
            "answer": _(
                "That answer has {count} characters; at most {limit} fit. "
                "Please send a shorter one."
            ),
            "phrasing": _(
                "One of those ways to ask has {count} characters; at most {limit} fit. "
                "Please shorten it."
            ),
            "phrasings": _("That is {count} ways to ask; at most {limit} fit. Please send fewer."),
            "topic": _("That topic has {count} characters; at most {limit} fit."),
        }
        return texts.get(error.what, texts["answer"]).format(
            count=number(error.length), limit=number(error.limit)
        )
    if isinstance(error, knowledge.Empty):
        return {
            "question": _("A question is needed: please send it as text."),
            "phrasings": _("At least one way to ask is needed: please send it as text."),
        }.get(error.what, _("An answer is needed: please send it as text."))
    return stale()


# --- views ---------------------------------------------------------------------------------


def home_view(counts: dict[tuple[str, str], int]) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        "📚 " + _("<b>Knowledge base</b>"),
        _("Members' questions are first matched against these answers."),
        "",
    ]
    kb = InlineKeyboardBuilder()
    for lang in LANGUAGES:
        live, retired = counts.get((lang, "live"), 0), counts.get((lang, "retired"), 0)
        lines.append(
            _("{language}: {live} live, {retired} retired").format(
                language=language_name(lang), live=live, retired=retired
            )
        )
        kb.button(text=language_name(lang), callback_data=KbCb(action="list", lang=lang))
    waiting = sum(n for (_lang, state), n in counts.items() if state == "proposed")
    lines.append(
        ngettext(
            "{count} proposal from volunteers is waiting.",
            "{count} proposals from volunteers are waiting.",
            waiting,
        ).format(count=waiting)
    )
    kb.button(
        text="💡 " + _("Proposals ({count})").format(count=waiting),
        callback_data=KbCb(action="proposals"),
    )
    kb.adjust(3, 1)
    return "\n".join(lines), kb.as_markup()


def list_view(lang: str | None, state: str, page: Page) -> tuple[str, InlineKeyboardMarkup]:
    """A page of a language's live or retired entries, or of the proposals (lang None)."""
    first = page.page * knowledge.PAGE_SIZE
    if state == "proposed":
        title = "💡 " + _("<b>Proposals from volunteers</b>")
    elif state == "retired":
        title = _("{language}: <b>retired entries</b>").format(language=language_name(lang or ""))
    else:
        title = _("{language}: <b>knowledge base</b>").format(language=language_name(lang or ""))
    lines = [title]
    if page.total:
        lines.append(
            _("{first}–{last} of {total}").format(
                first=first + 1, last=first + len(page.rows), total=page.total
            )
        )
    else:
        lines.append(_("Nothing here yet."))
    rows: list[list[InlineKeyboardButton]] = []
    for n, row in enumerate(page.rows, start=first + 1):
        flag = f"{FLAGS.get(row.language, '')} " if lang is None else ""
        lines.append(f"{n}. {flag}{shorten(row.question, 80)} <i>({escape(row.topic)})</i>")
        rows.append(
            [
                InlineKeyboardButton(
                    text=f"{n}. {flag}{_cut(' '.join(row.question.split()), 40)}",
                    callback_data=KbCb(action="view", row=row.id).pack(),
                )
            ]
        )
    action = {"proposed": "proposals", "retired": "retired"}.get(state, "list")
    nav = pager(page.page, page.pages, lambda p: KbCb(action=action, lang=lang or "", page=p))
    if nav:
        rows.append(nav)
    if state == "live" and lang:
        rows.append(
            [
                InlineKeyboardButton(
                    text="➕ " + _("New entry"), callback_data=KbCb(action="add", lang=lang).pack()
                ),
                InlineKeyboardButton(
                    text="🗄 " + _("Retired"),
                    callback_data=KbCb(action="retired", lang=lang).pack(),
                ),
            ]
        )
        rows.append(
            [
                InlineKeyboardButton(
                    text="📤 " + _("Export CSV"),
                    callback_data=KbCb(action="export", lang=lang).pack(),
                ),
                InlineKeyboardButton(
                    text="📥 " + _("Import CSV"),
                    callback_data=KbCb(action="import", lang=lang).pack(),
                ),
            ]
        )
    back = KbCb(action="list", lang=lang) if state == "retired" and lang else KbCb(action="home")
    rows.append([InlineKeyboardButton(text="⬅️ " + _("Back"), callback_data=back.pack())])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def entry_text(row: Row, budget: int = 1500) -> str:
    """An entry's card; long texts (a proposal's answer, many phrasings) are cut to fit."""
    phrasings = " · ".join(p.strip() for p in row.phrasings.split("|") if p.strip())
    lines = [
        f"{FLAGS.get(row.language, '')} <b>{escape(_cut(row.question, budget // 3))}</b>",
        "<i>"
        + escape(
            _("id {id} · topic {topic} · {state}").format(
                id=row.entry_id, topic=row.topic, state=state_label(row.state)
            )
        )
        + "</i>",
        "",
        _("<b>Also found when members write:</b>"),
        escape(_cut(phrasings, budget)),
        "",
        _("<b>Answer:</b>"),
        escape(_cut(row.answer, budget)),
    ]
    if len(row.answer) > knowledge.MAX_ANSWER_CHARS:
        lines += [
            "",
            "⚠️ "
            + _(
                "This answer has {count} characters; at most {limit} fit in a member's chat. "
                "Shorten it (✏️ Answer) before approving."
            ).format(count=number(len(row.answer)), limit=number(knowledge.MAX_ANSWER_CHARS)),
        ]
    text = "\n".join(lines)
    return text if len(text) <= TEXT_LIMIT or budget < 100 else entry_text(row, budget // 2)


def entry_view(row: Row) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    edits = [
        ("✏️ " + _("Question"), "question"),
        ("✏️ " + _("Answer"), "answer"),
        ("✏️ " + _("Other ways to ask"), "phrasings"),
    ]
    sizes: list[int] = []
    if row.state == "proposed":
        kb.button(text="✅ " + _("Approve"), callback_data=KbCb(action="approve", row=row.id))
        kb.button(text="❌ " + _("Reject"), callback_data=KbCb(action="reject", row=row.id))
        sizes.append(2)
    if row.state in ("live", "proposed"):
        for label, field in edits:
            kb.button(text=label, callback_data=KbCb(action="edit", row=row.id, field=field))
        sizes.append(3)
    if row.state == "live":
        kb.button(text="🗄 " + _("Retire"), callback_data=KbCb(action="retire", row=row.id))
        sizes.append(1)
    if row.state == "retired":
        kb.button(text="♻️ " + _("Restore"), callback_data=KbCb(action="restore", row=row.id))
        sizes.append(1)
    back = {
        "proposed": KbCb(action="proposals"),
        "retired": KbCb(action="retired", lang=row.language),
    }.get(row.state, KbCb(action="list", lang=row.language))
    kb.button(text="⬅️ " + _("Back to the list"), callback_data=back)
    sizes.append(1)
    kb.adjust(*sizes)
    return entry_text(row), kb.as_markup()


def problem_text(problem: Problem) -> str:
    texts = {
        "encoding": _("the file is not UTF-8 text"),
        "size": _("the file is larger than {detail} KB"),
        "header": _("the first line must be: {detail}"),
        "format": _("the file cannot be read as CSV ({detail})"),
        "fields": _("{detail} fields; every line needs 5: id, topic, question, phrasings, answer"),
        "empty": _("every field needs a value"),
        "id": _(
            "“{detail}” is not an id: lower-case letters, digits and _, starting with a letter"
        ),
        "duplicate": _("the id “{detail}” is used twice in the file"),
        "question": _("the question is too long ({detail} characters)"),
        "answer": _("the answer is too long ({detail} characters)"),
        "phrasing": _("a way to ask is too long ({detail} characters)"),
        "phrasings": _("too many ways to ask ({detail})"),
        "topic": _("the topic is too long ({detail} characters)"),
        "proposal": _("the id “{detail}” belongs to a proposal waiting for review"),
        "nothing": _("the file holds no entries"),
    }
    text = texts.get(problem.code, problem.code).format(detail=escape(problem.detail))
    if problem.line:
        return _("Line {line}: {problem}").format(line=problem.line, problem=text)
    return text


def plan_lines(plan: ImportPlan) -> list[str]:
    """What an import adds, changes, brings back and retires, with the ids (a few)."""

    def named(ids: tuple[str, ...]) -> str:
        shown = ", ".join(escape(i) for i in ids[:NAMED])
        return shown + (" …" if len(ids) > NAMED else "")

    lines = []
    for label, ids in (
        (_("Added: {count}"), plan.added),
        (_("Changed: {count}"), plan.changed),
        (_("Brought back: {count}"), plan.restored),
        (_("Retired: {count}"), plan.retired),
    ):
        line = "• " + label.format(count=len(ids))
        lines.append(f"{line} ({named(ids)})" if ids else line)
    lines.append("• " + _("Unchanged: {count}").format(count=plan.unchanged))
    return lines


# --- handlers ------------------------------------------------------------------------------


async def on_command(
    message: Message, grants: frozenset[Grant], session: AsyncSession, state: FSMContext
) -> None:
    if not allowed(grants):
        await message.answer(refused())
        return
    await state.clear()
    text, markup = home_view(await knowledge.counts(session))
    await message.answer(text, reply_markup=markup)


async def _show(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    """The tapped message becomes the next screen."""
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):  # unchanged: a double tap
            await callback.message.edit_text(text, reply_markup=markup)
    elif callback.bot is not None:
        await callback.bot.send_message(callback.from_user.id, text, reply_markup=markup)


async def on_button(
    callback: CallbackQuery,
    callback_data: KbCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
) -> None:
    if not allowed(grants):
        await callback.answer(refused(), show_alert=True)
        return
    data, by = callback_data, callback.from_user.id
    if data.lang and data.lang not in LANGUAGES:
        await callback.answer(stale(), show_alert=True)
        return
    try:
        await _dispatch(callback, data, by, session, state, bot)
    except knowledge.KnowledgeError as exc:
        await callback.answer(refusal_text(exc), show_alert=True)


async def _dispatch(
    callback: CallbackQuery,
    data: KbCb,
    by: int,
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
) -> None:
    action = data.action
    if action == "home":
        await callback.answer()
        await _show(callback, *home_view(await knowledge.counts(session)))
    elif action in ("list", "retired", "proposals"):
        which = {"list": "live", "retired": "retired", "proposals": "proposed"}[action]
        lang = data.lang or None
        if lang is None and which != "proposed":
            await callback.answer(stale(), show_alert=True)
            return
        await callback.answer()
        page = await knowledge.listing(session, lang, which, data.page)
        await _show(callback, *list_view(lang, which, page))
    elif action == "view":
        row = await knowledge.get(session, data.row)
        if row is None:
            raise knowledge.Gone
        await callback.answer()
        await _show(callback, *entry_view(row))
    elif action in ("retire", "restore", "approve"):
        change = {
            "retire": knowledge.retire,
            "restore": knowledge.restore,
            "approve": knowledge.approve,
        }[action]
        row = await change(session, data.row, by)
        outcome = {
            "retire": _("Retired: members no longer get this answer."),
            "restore": _("Restored: members get this answer again."),
            "approve": _("Approved: members get this answer from now on."),
        }[action]
        await callback.answer(outcome)
        await _show(callback, *entry_view(row))
    elif action == "reject":
        await knowledge.reject(session, data.row)
        await callback.answer(_("Rejected: the proposal is gone."))
        page = await knowledge.listing(session, None, "proposed", 0)
        await _show(callback, *list_view(None, "proposed", page))
    elif action == "edit":
        await _start_edit(callback, data, session, state, bot)
    elif action == "add" and data.lang:
        await callback.answer()
        await state.clear()
        await state.set_state(KbAdd.question)
        await state.update_data(lang=data.lang)
        await bot.send_message(
            callback.from_user.id,
            _(
                "A new entry in {language}. Which question does it answer? "
                "(Send /stop at any time to stop.)"
            ).format(language=language_name(data.lang)),
        )
    elif action == "export" and data.lang:
        await callback.answer()
        text = await knowledge.export_csv(session, data.lang)
        document = BufferedInputFile(
            ("\ufeff" + text).encode(), filename=f"knowledge-{data.lang}.csv"
        )
        await bot.send_document(
            callback.from_user.id,
            document,
            caption=_(
                "The live entries in {language}. Change them in a spreadsheet and send the "
                "file back with 📥 Import CSV."
            ).format(language=language_name(data.lang)),
        )
    elif action == "import" and data.lang:
        await callback.answer()
        await state.clear()
        await state.set_state(KbImport.file)
        await state.update_data(lang=data.lang)
        await bot.send_message(
            callback.from_user.id,
            _(
                "Send me the CSV file for {language}, with the columns of the export: id, "
                "topic, question, phrasings (separated by |), answer. It replaces the live "
                "entries: those left out of the file are retired. I show what changes before "
                "anything is saved. (Send /stop to stop.)"
            ).format(language=language_name(data.lang)),
        )
    elif action in ("apply", "drop"):
        await _confirm_import(callback, action, by, session, state)
    else:
        await callback.answer(stale(), show_alert=True)


async def _start_edit(
    callback: CallbackQuery, data: KbCb, session: AsyncSession, state: FSMContext, bot: Bot
) -> None:
    row = await knowledge.get(session, data.row)
    if row is None or row.state not in ("live", "proposed"):
        raise knowledge.Gone
    current = {"question": row.question, "answer": row.answer, "phrasings": row.phrasings}.get(
        data.field
    )
    if current is None:
        raise knowledge.Gone
    await callback.answer()
    await state.clear()
    await state.set_state(KbEdit.text)
    await state.update_data(row=row.id, field=data.field)
    prompts = {
        "question": _("Send the new question (at most {limit} characters)."),
        "answer": _("Send the new answer (at most {limit} characters)."),
        "phrasings": _(
            "Send the other ways members ask this, one per line (at most {limit} characters "
            "each). They replace the ones now:"
        ),
    }
    limit = {
        "question": knowledge.MAX_QUESTION_CHARS,
        "answer": knowledge.MAX_ANSWER_CHARS,
        "phrasings": knowledge.MAX_PHRASING_CHARS,
    }[data.field]
    shown = (
        "\n".join(p.strip() for p in current.split("|")) if data.field == "phrasings" else current
    )
    lines = [
        "✏️ " + prompts[data.field].format(limit=limit),
        _("Now:"),
        f"<code>{escape(_cut(shown, 3000))}</code>",
        _("(Send /stop to keep it as it is.)"),
    ]
    await bot.send_message(callback.from_user.id, "\n".join(lines))


async def on_edit_text(
    message: Message, grants: frozenset[Grant], session: AsyncSession, state: FSMContext
) -> None:
    if not allowed(grants):
        await state.clear()
        await message.answer(refused())
        return
    data = await state.get_data()
    field = data.get("field")
    if field not in ("question", "answer", "phrasings") or message.from_user is None:
        await state.clear()
        return
    try:
        row = await knowledge.edit(
            session, int(data["row"]), message.from_user.id, **{field: message.text or ""}
        )
    except (knowledge.TooLong, knowledge.Empty) as exc:
        await message.answer(refusal_text(exc) + "\n" + _("(Send /stop to keep it as it is.)"))
        return
    except knowledge.Gone:
        await state.clear()
        await message.answer(_("That entry is no longer there to edit."))
        return
    await state.clear()
    await message.answer("✔️ " + _("Saved."))
    text, markup = entry_view(row)
    await message.answer(text, reply_markup=markup)


async def on_add_text(
    message: Message, grants: frozenset[Grant], session: AsyncSession, state: FSMContext
) -> None:
    """The new entry's question, then its answer, then its other phrasings."""
    if not allowed(grants) or message.from_user is None:
        await state.clear()
        await message.answer(refused())
        return
    text, step, data = message.text or "", await state.get_state(), await state.get_data()
    try:
        if step == KbAdd.question.state:
            await state.update_data(question=knowledge.clean_question(text))
            await state.set_state(KbAdd.answer)
            await message.answer(
                _("And the answer members get? (at most {limit} characters)").format(
                    limit=knowledge.MAX_ANSWER_CHARS
                )
            )
            return
        if step == KbAdd.answer.state:
            await state.update_data(answer=knowledge.clean_answer(text))
            await state.set_state(KbAdd.phrasings)
            await message.answer(
                _(
                    "Last: other ways members may ask this, one per line (“change my bank "
                    "account”, “new IBAN”). Or send - to match on the question alone."
                )
            )
            return
        phrasings = data["question"] if text.strip() == "-" else text
        row = await knowledge.add(
            session, data["lang"], data["question"], data["answer"], phrasings,
            message.from_user.id,
        )  # fmt: skip
    except (knowledge.TooLong, knowledge.Empty) as exc:
        await message.answer(refusal_text(exc))
        return
    await state.clear()
    await message.answer("✔️ " + _("Added: members get this answer from now on."))
    view, markup = entry_view(row)
    await message.answer(view, reply_markup=markup)


async def on_stop(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Stopped; nothing was saved."))


async def on_not_text(message: Message) -> None:
    await message.answer(_("Please send text (or /stop)."))


async def on_file(
    message: Message,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
) -> None:
    """A CSV file while one is asked for: every problem by line, or what it would change."""
    if not allowed(grants):
        await state.clear()
        await message.answer(refused())
        return
    document = message.document
    lang = (await state.get_data()).get("lang")
    if document is None or lang not in LANGUAGES:
        await message.answer(_("Please send the CSV file (or /stop)."))
        return
    if document.file_size is not None and document.file_size > knowledge.MAX_IMPORT_BYTES:
        problem = knowledge.Problem(0, "size", str(knowledge.MAX_IMPORT_BYTES // 1024))
        await message.answer(_("Nothing was changed:") + " " + problem_text(problem))
        return
    buffer = io.BytesIO()
    await bot.download(document, destination=buffer)
    data = buffer.getvalue()
    plan = await knowledge.check_import(session, lang, data)
    log.info("knowledge import file checked: %s problems", len(plan.problems))
    if not plan.ok:
        lines = [_("Nothing was changed. Please correct these and send the file again:"), ""]
        lines += ["• " + problem_text(p) for p in plan.problems[:50]]
        if len(plan.problems) > 50:
            lines.append(
                ngettext("…and {count} more problem.", "…and {count} more problems.",
                         len(plan.problems) - 50).format(count=len(plan.problems) - 50)
            )  # fmt: skip
        for chunk in split_lines(lines):
            await message.answer(chunk)
        return
    if not plan.changes:
        await state.clear()
        await message.answer(_("The file matches the knowledge base: nothing to change."))
        return
    await state.set_state(KbImport.confirm)
    await state.update_data(text=data.decode("utf-8-sig"))
    kb = InlineKeyboardBuilder()
    kb.button(text="✅ " + _("Apply"), callback_data=KbCb(action="apply", lang=lang))
    kb.button(text="✖️ " + _("Cancel"), callback_data=KbCb(action="drop", lang=lang))
    lines = [
        _("This file changes the knowledge base in {language}:").format(
            language=language_name(lang)
        ),
        *plan_lines(plan),
        "",
        _("Apply these changes?"),
    ]
    await message.answer("\n".join(lines), reply_markup=kb.as_markup())


async def _confirm_import(
    callback: CallbackQuery, action: str, by: int, session: AsyncSession, state: FSMContext
) -> None:
    data = await state.get_data()
    if await state.get_state() != KbImport.confirm.state or "text" not in data:
        raise knowledge.Gone
    await state.clear()
    if action == "drop":
        outcome = _("Cancelled; nothing was changed.")
        await callback.answer(outcome)
        await _show(callback, outcome, InlineKeyboardMarkup(inline_keyboard=[]))
        return
    lang = data["lang"]
    plan = await knowledge.apply_import(session, lang, data["text"].encode(), by)
    if not plan.ok:  # the knowledge base changed meanwhile (a proposal took an id)
        lines = [_("Nothing was changed. Please correct these and send the file again:"), ""]
        lines += ["• " + problem_text(p) for p in plan.problems[:50]]
        await callback.answer(_("Nothing was changed."), show_alert=True)
        await _show(callback, split_lines(lines)[0], InlineKeyboardMarkup(inline_keyboard=[]))
        return
    outcome = _("Imported into {language}:").format(language=language_name(lang))
    await callback.answer(_("Imported."))
    back = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text="⬅️ " + _("Back to the list"),
                    callback_data=KbCb(action="list", lang=lang).pack(),
                )
            ]
        ]
    )
    await _show(callback, "\n".join([outcome, *plan_lines(plan)]), back)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("knowledge_admin")
    router.message.register(on_command, Command("kennisbank", "knowledge", "kunskap"))
    every = StateFilter(KbEdit, KbAdd, KbImport)
    router.message.register(on_stop, Command("stop"), every)
    router.message.register(on_edit_text, StateFilter(KbEdit.text), F.text)
    router.message.register(on_add_text, StateFilter(KbAdd), F.text)
    router.message.register(on_file, StateFilter(KbImport.file), F.document)
    router.message.register(on_file, StateFilter(KbImport.confirm), F.document)  # another file
    router.message.register(on_not_text, StateFilter(KbEdit, KbAdd))
    router.message.register(on_file, StateFilter(KbImport.file))
    router.callback_query.register(on_button, KbCb.filter())
    return router
