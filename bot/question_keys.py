"""The buttons of the questions feature, shared by the member's side (handlers/questions.py)
and the volunteers' side (handlers/volunteers.py): one callback prefix, an action, the question.

Buttons are never trusted: every handler re-reads the question and checks who may do what.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder


class QuestionCb(CallbackData, prefix="q"):
    """`action`, member's side: helped | ask (not helped: queue it; qid 0: the question held
    in conversation state, after the pointer to the counsellor) | as_name | as_anonymous |
    as_contact (how volunteers see them) | rate_yes | rate_no | close | more (add a message) |
    done | confidential (the pointer's "talk to the counsellor").
    Volunteers' side: claim | release | resolve | answer (make it my active thread) | note |
    canned | kb (propose the answer for the knowledge base).
    Organisers: report_csv (the questions report as a file; qid 0)."""

    action: str
    qid: int


def answered_markup(qid: int) -> InlineKeyboardMarkup:
    """Under a volunteer's answer in the member's chat: one-tap rating, and closing."""
    kb = InlineKeyboardBuilder()
    kb.button(text="👍 " + _("This helped"), callback_data=QuestionCb(action="rate_yes", qid=qid))
    kb.button(text="👎 " + _("Not really"), callback_data=QuestionCb(action="rate_no", qid=qid))
    kb.button(text=_("Close my question"), callback_data=QuestionCb(action="close", qid=qid))
    kb.adjust(2, 1)
    return kb.as_markup()
