"""A closed survey's results: only what groups of at least `survey.MIN_GROUP` allow.

Fewer respondents than that: nothing. Otherwise everyone together, then per region and per
role group (never region × role), each group only with `MIN_GROUP` or more; and while the
hidden groups together are fewer than `MIN_GROUP`, the next smallest shown group is hidden
too (`hidden_groups`), so subtracting the shown groups from the total never gives a small
group away. The hidden groups are then reported together (never fewer than `MIN_GROUP`).
Free-text answers come all together, in alphabetical order, never per group.

Loaded when an admin asks for results, not at start (idle memory is a measured target).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.survey import MIN_GROUP, ROLE_GROUPS, SCALE, WrongStatus
from storage.models import Survey, SurveyQuestion
from storage.repositories import survey as repo
from storage.repositories.survey import Row


@dataclass(frozen=True, slots=True)
class Stats:
    """One question in one group: how many answered, and the count per answer (scale: for
    1-5; choice: per option; free text: none)."""

    kind: str
    answered: int
    counts: tuple[int, ...]

    @property
    def average(self) -> float | None:
        if self.kind != "scale" or not self.answered:
            return None
        return sum(v * n for v, n in zip(SCALE, self.counts, strict=True)) / self.answered


@dataclass(frozen=True, slots=True)
class Group:
    key: str | None  # a region code or role group; None: no region
    respondents: int
    stats: tuple[Stats, ...]


@dataclass(frozen=True, slots=True)
class Breakdown:
    shown: tuple[Group, ...]
    others: Group | None  # the hidden groups together (never fewer than MIN_GROUP)
    hidden: int  # how many groups are hidden


@dataclass(frozen=True, slots=True)
class Results:
    survey: Survey
    questions: tuple[SurveyQuestion, ...]
    respondents: int
    overall: Group | None  # None: fewer than MIN_GROUP answered
    by_region: Breakdown | None
    by_role: Breakdown | None
    texts: tuple[str, ...]  # every free-text answer, in no meaningful order, without group


def hidden_groups(sizes: Mapping[Any, int], least: int = MIN_GROUP) -> set[Any]:
    """Groups to hide: each smaller than `least`, then the next smallest shown ones while
    those hidden together are fewer than `least` (so subtraction recovers nothing small)."""
    hidden = {key for key, n in sizes.items() if n < least}
    while hidden and sum(sizes[k] for k in hidden) < least:
        shown = sorted((k for k in sizes if k not in hidden), key=lambda k: (sizes[k], str(k)))
        if not shown:
            break
        hidden.add(shown[0])
    return hidden


def _stats(questions: Sequence[SurveyQuestion], rows: Sequence[Row]) -> tuple[Stats, ...]:
    out = []
    for q in questions:
        given = [r.answers.get(q.id) for r in rows]
        given = [a for a in given if a is not None]
        if q.kind == "scale":
            counts = tuple(sum(a == v for a in given) for v in SCALE)
        elif q.kind == "choice":
            width = max((len(v) for v in q.options.values()), default=0)
            counts = tuple(sum(a == i for a in given) for i in range(width))
        else:
            counts = ()
        out.append(Stats(q.kind, len(given), counts))
    return tuple(out)


def _breakdown(
    questions: Sequence[SurveyQuestion], rows: Sequence[Row], key: Callable[[Row], str | None],
    order: Sequence[str | None],
) -> Breakdown:  # fmt: skip
    by: dict[str | None, list[Row]] = {}
    for row in rows:
        by.setdefault(key(row), []).append(row)
    hidden = hidden_groups({k: len(v) for k, v in by.items()})
    ranked = sorted(by, key=lambda k: (order.index(k) if k in order else len(order), str(k)))
    shown = tuple(Group(k, len(by[k]), _stats(questions, by[k])) for k in ranked if k not in hidden)
    rest = [r for k in hidden for r in by[k]]
    others = Group(None, len(rest), _stats(questions, rest)) if hidden and shown else None
    return Breakdown(shown, others, len(hidden))


async def results(
    session: AsyncSession, survey_id: int, region_order: Sequence[str | None] = ()
) -> Results:
    """The figures an admin may see: only for a closed survey (WrongStatus otherwise)."""
    survey = await repo.get(session, survey_id)
    if survey is None or survey.status != "closed":
        raise WrongStatus
    questions = tuple(await repo.questions(session, survey_id))
    rows = await repo.responses(session, survey_id)
    if len(rows) < MIN_GROUP:
        return Results(survey, questions, len(rows), None, None, None, ())
    overall = Group(None, len(rows), _stats(questions, rows))
    text_ids = {q.id for q in questions if q.kind == "text"}
    texts = sorted(
        str(a) for r in rows for qid, a in r.answers.items() if qid in text_ids and a is not None
    )
    return Results(
        survey, questions, len(rows), overall,
        _breakdown(questions, rows, lambda r: r.region_code, [*region_order, None]),
        _breakdown(questions, rows, lambda r: r.role_group, ROLE_GROUPS),
        tuple(texts),
    )  # fmt: skip
