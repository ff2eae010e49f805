"""The demand report as a picture: per skill, members who wish to learn it beside members who
can teach it, as horizontal bars that read on a phone held upright.

matplotlib costs about half a second and tens of MiB to import, and only organisers asking
for a report need it: it is imported inside `render`, never at start (tests/test_report_chart
checks that `import bot.app` leaves it out). No pyplot: a bare `Figure` keeps no global state,
so two reports drawn at once in threads cannot mix.
"""

from __future__ import annotations

import io
import textwrap
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.numbers import format_decimal

from bot.formatting import long_date

if TYPE_CHECKING:
    from bot.services.demand import Report, SkillDemand

WIDTH_IN = 5.0  # inches at DPI: 1,000 px, shown about 400 px wide on a phone
DPI = 200
LABEL_CHARS = 24  # a skill name wraps at this width, on at most two lines
WISH_COLOUR = "#d62828"
TEACH_COLOUR = "#1d6fa5"
# matplotlib does not promise thread safety (its font cache and text layout are shared):
# handlers draw in a worker thread, one chart at a time.
_drawing = threading.Lock()
GAP_COLOUR = "#b35900"  # dark orange: apart from both bars


@dataclass(frozen=True, slots=True)
class Labels:
    """The words on the chart, already in the reader's language."""

    title: str
    subtitle: str
    wishes: str
    teachers: str
    gap_note: str  # what the ● before a skill name means (in the legend)
    empty: str


def region_label(report: Report) -> str:
    return report.region_name or report.region_code or _("all regions")


def title(report: Report) -> str:
    return _("Learning wishes and trainers — {region}").format(region=region_label(report))


def subtitle(report: Report, locale: str, tz: ZoneInfo) -> str:
    members = ngettext("{count} member", "{count} members", report.members).format(
        count=format_decimal(report.members, locale=locale)
    )
    return f"{long_date(report.made_at, locale, tz)} · {members}"


def labels_for(report: Report, locale: str, tz: ZoneInfo) -> Labels:
    """The chart's words in the current (gettext) language."""
    return Labels(
        title=title(report),
        subtitle=subtitle(report, locale, tz),
        wishes=_("Want to learn it"),
        teachers=_("Can teach it"),
        gap_note=_("no workshop planned in the coming 3 months"),
        empty=_("No learning wishes in this region yet."),
    )


def file_stem(report: Report, tz: ZoneInfo) -> str:
    """'report-oost-2026-11-30': the PNG's and the CSV's name."""
    day = report.made_at.astimezone(tz).strftime("%Y-%m-%d")
    return f"report-{report.region_code or 'all'}-{day}"


def label(name: str) -> str:
    """A skill name on at most two lines of LABEL_CHARS, shortened with … past that."""
    lines = textwrap.wrap(name, LABEL_CHARS, break_long_words=True) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), LABEL_CHARS, placeholder="…")]
    return "\n".join(lines)


def render(skills: list[SkillDemand], locale: str, labels: Labels) -> bytes:
    """A PNG: the skills most wished for first, from the top down; a gap's name in orange,
    bold, after a ●."""
    with _drawing:
        return _render(skills, locale, labels)


def _render(skills: list[SkillDemand], locale: str, labels: Labels) -> bytes:
    from matplotlib.figure import Figure  # here, not at import: see the module docstring

    rows = max(len(skills), 1)
    fig = Figure(figsize=(WIDTH_IN, 1.9 + 0.62 * rows), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    fig.suptitle(labels.title, fontsize=13, fontweight="bold")
    ax.set_title(labels.subtitle, fontsize=9, color="#444444")
    if not skills:
        ax.text(0.5, 0.5, labels.empty, ha="center", va="center", fontsize=11, wrap=True)
        ax.set_axis_off()
        return _png(fig)
    positions = list(range(len(skills)))
    wishes = [s.wishers for s in skills]
    teachers = [s.teachers for s in skills]
    height = 0.4
    bars_w = ax.barh(
        [p - height / 2 for p in positions], wishes, height, color=WISH_COLOUR, label=labels.wishes
    )
    bars_t = ax.barh(
        [p + height / 2 for p in positions],
        teachers,
        height,
        color=TEACH_COLOUR,
        label=labels.teachers,
    )
    ax.bar_label(bars_w, padding=2, fontsize=9)
    ax.bar_label(bars_t, padding=2, fontsize=9)
    ax.set_yticks(positions, [("● " if s.gap else "") + label(s.name(locale)) for s in skills])
    for tick, skill in zip(ax.get_yticklabels(), skills, strict=True):
        tick.set_fontsize(10)
        if skill.gap:
            tick.set_color(GAP_COLOUR)
            tick.set_fontweight("bold")
    ax.margins(y=0.01)
    ax.invert_yaxis()  # the most wished at the top
    ax.set_xlim(0, max(max(wishes), max(teachers), 1) * 1.15)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    handles, names = ax.get_legend_handles_labels()
    if any(s.gap for s in skills):
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], ls="", marker="o", color=GAP_COLOUR))
        names.append(labels.gap_note)
    fig.legend(handles, names, loc="outside lower left", fontsize=9, frameon=False)
    return _png(fig)


def _png(fig: object) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png")  # type: ignore[attr-defined]
    return out.getvalue()
