"""The survey as people see it: the invitation (members), and a closed survey's results as
admins read them (lines to split into messages, and a CSV).

Only what `survey_results.results` let through is shown: groups of at least five, the hidden ones
together as "others" (never fewer than five), and the free-text answers all together, in
alphabetical order and never beside a region or role group: a remark's wording plus its
group could point at one person even in a group of five.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING

from aiogram.filters.callback_data import CallbackData
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_decimal

from bot import outbox
from bot.lazy import lazy_module
from bot.services.spreadsheet import guard
from storage.models import Survey, SurveyQuestion

if TYPE_CHECKING:
    from bot.services.survey_results import Breakdown, Group, Results

# Loaded at first use (bot/lazy.py): a rare path, and off without CONFIDENTIAL_KEY.
survey = lazy_module("bot.services.survey")

TEXT_ROOM = 3500  # characters of markup one free-text answer may take in a message


class SurveyCb(CallbackData, prefix="svy"):
    action: str  # go | stop
    survey_id: int


def promise() -> str:
    return _(
        "Your answers are stored without your name or Telegram id. I only note that you took "
        "part, so that everyone answers once; that note does not point to your answers. "
        "Afterwards nobody, you included, can see or change which answers were yours. Admins "
        "see results only for groups of at least 5 people."
    )


def renderer(i18n: I18n) -> survey.Render:
    """The invitation in one language: the title, the intro, the promise, the start button."""

    def render(s: Survey, locale: str) -> outbox.Letter:
        with i18n.context(), i18n.use_locale(locale):
            kb = InlineKeyboardBuilder()
            kb.button(
                text="📝 " + _("Answer the survey"),
                callback_data=SurveyCb(action="go", survey_id=s.id),
            )
            parts = [f"<b>{escape(survey.in_locale(s.titles, locale))}</b>"]
            if s.intros:
                parts.append(escape(survey.in_locale(s.intros, locale)))
            later = _("Lost this message? /enquete brings it back until you have answered.")
            text = "\n\n".join([*parts, promise(), later])
            return outbox.Letter(chat_id=0, text=text, reply_markup=kb.as_markup())

    return render


def role_group_label(group: str) -> str:
    return {
        "member": _("members"),
        "sympathiser": _("sympathisers"),
        "active": _("people with a role (organisers, trainers, volunteers, admins)"),
    }.get(group, group)


def _answer_labels(q: SurveyQuestion, locale: str) -> list[str]:
    if q.kind == "scale":
        return [str(v) for v in survey.SCALE]
    if q.kind == "choice":
        return [str(o) for o in survey.in_locale(q.options, locale)]
    return []


def _stats_lines(
    questions: Sequence[SurveyQuestion], group: Group, locale: str, *, full: bool
) -> list[str]:
    lines: list[str] = []
    for q, stats in zip(questions, group.stats, strict=True):
        head = f"{q.position + 1}. "
        if full:
            head += f"<b>{escape(survey.in_locale(q.texts, locale))}</b>"
        if q.kind == "text":  # per group, not even a count: it would tie a remark to a group
            if full:
                wrote = ngettext(
                    "{count} wrote something", "{count} wrote something", stats.answered
                )
                lines.append(head + " " + wrote.format(count=stats.answered))
            continue
        if q.kind == "scale" and stats.average is not None:
            avg = format_decimal(round(stats.average, 1), format="0.0", locale=locale)
            head += " " + _("average {average}").format(average=avg)
        lines.append(head)
        for label, count in zip(_answer_labels(q, locale), stats.counts, strict=True):
            lines.append(f"    {escape(label)}: {count}")
    return lines


def _breakdown_lines(
    title: str,
    questions: Sequence[SurveyQuestion],
    breakdown: Breakdown,
    name: Mapping[str | None, str],
    locale: str,
) -> list[str]:
    lines = ["", f"<b>{title}</b>"]
    for group in breakdown.shown:
        label = escape(name.get(group.key, str(group.key)))
        lines += ["", f"<u>{label} ({group.respondents})</u>"]
        lines += _stats_lines(questions, group, locale, full=False)
    if breakdown.others is not None:
        lines += [
            "",
            "<u>"
            + _("The other groups together ({count})").format(count=breakdown.others.respondents)
            + "</u>",
        ]
        lines += _stats_lines(questions, breakdown.others, locale, full=False)
    if breakdown.hidden:
        hidden = ngettext(
            "Not shown on its own: {count} group (fewer than 5, or needed to keep others hidden).",
            "Not shown on their own: {count} groups (fewer than 5, or needed to keep those "
            "hidden).",
            breakdown.hidden,
        )
        lines.append(hidden.format(count=breakdown.hidden))
    return lines


def _pieces(text: str) -> list[str]:
    """A free-text answer escaped, in pieces that each fit a message (a text of '&' escapes
    to five times its length): the first after a bullet, the rest on their own lines."""
    pieces, current, size = [], [], 0
    for char in text:
        escaped = escape(char, quote=False)
        if size + len(escaped) > TEXT_ROOM:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(escaped)
        size += len(escaped)
    pieces.append("".join(current))
    return ["• " + pieces[0], *pieces[1:]]


def result_lines(results: Results, locale: str, region_names: Mapping[str, str]) -> list[str]:
    """The results, as lines short enough to be split between messages."""
    s = results.survey
    lines = [
        "📊 "
        + _("<b>Results of survey #{id}: {title}</b>").format(
            id=s.id, title=escape(survey.in_locale(s.titles, locale))
        ),
        _("{count} answered. Figures only for groups of at least 5 people.").format(
            count=results.respondents
        ),
    ]
    if results.overall is None:
        lines.append(_("Fewer than 5 people answered, so I show no figures at all."))
        return lines
    lines += ["", "<b>" + _("Everyone ({count})").format(count=results.respondents) + "</b>"]
    lines += _stats_lines(results.questions, results.overall, locale, full=True)
    regions: dict[str | None, str] = {**region_names, None: _("no region")}
    if results.by_region is not None:
        lines += _breakdown_lines(
            _("Per region"), results.questions, results.by_region, regions, locale
        )
    if results.by_role is not None:
        roles = {g: role_group_label(g) for g in survey.ROLE_GROUPS}
        lines += _breakdown_lines(
            _("Per role group"), results.questions, results.by_role, roles, locale
        )
    if results.texts:
        lines += [
            "",
            "<b>"
            + _("Free-text answers ({count}), in alphabetical order, without group:").format(
                count=len(results.texts)
            )
            + "</b>",
        ]
        lines += [piece for text in results.texts for piece in _pieces(text)]
    return lines


def results_csv(results: Results, locale: str, region_names: Mapping[str, str]) -> bytes:
    """The same suppressed figures, one row per group, question and answer."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["breakdown", "group", "respondents", "question", "text", "answer", "count", "average"]
    )
    groups: list[tuple[str, str, Group]] = []
    if results.overall is not None:
        groups.append(("all", "all", results.overall))
    for kind, breakdown, names in (
        ("region", results.by_region, {**region_names, None: "-"}),
        ("role_group", results.by_role, {}),
    ):
        if breakdown is None:
            continue
        groups += [(kind, str(names.get(g.key, g.key)), g) for g in breakdown.shown]
        if breakdown.others is not None:
            groups.append((kind, "others", breakdown.others))
    for kind, name, group in groups:
        for q, stats in zip(results.questions, group.stats, strict=True):
            if q.kind == "text" and kind != "all":
                continue
            text = survey.in_locale(q.texts, locale)
            avg = "" if stats.average is None else f"{stats.average:.2f}"
            labels = _answer_labels(q, locale) or [""]
            counts = stats.counts or (stats.answered,)
            for label, count in zip(labels, counts, strict=True):
                row = [kind, name, group.respondents, q.position + 1, text, label, count, avg]
                writer.writerow([guard(v) for v in row])
    return out.getvalue().encode("utf-8")
