"""Demand vs supply: what a region's members want to learn, who among them can teach it, and
which wishes have no workshop coming (the gaps) — the input for the next training day.

Only counts leave this module, never a member: the report may go to any organiser of the
region. A regional organiser gets only their own region(s) (`report` checks the scope).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import regions as region_list
from bot.services.roles import Grant, organiser_scope
from storage.repositories import demand as repo
from storage.repositories.demand import PastRow

HORIZON = timedelta(days=91)  # "the coming three months": a gap has no workshop in it
LOOKBACK = timedelta(days=365)  # past workshops shown: the last twelve months
TOP = 15  # skills on the chart and in the summary; the CSV has every skill


class DemandError(Exception):
    """A report that cannot be made; the handler explains which."""


class NotAllowed(DemandError):
    pass


class OutOfScope(DemandError):
    """A region the organiser does not act in (or a national report for a regional one)."""


class UnknownRegion(DemandError):
    pass


@dataclass(frozen=True, slots=True)
class SkillDemand:
    """One catalogue skill in one region."""

    skill_id: int
    names: tuple[str, str, str]  # nl, en, sv
    wishers: int  # members who wish to learn it
    teachers: int  # members who can teach it (level "teach")
    planned: int  # workshops on it they can attend in the coming three months

    @property
    def gap(self) -> bool:
        return self.wishers > 0 and self.planned == 0

    def name(self, locale: str) -> str:
        return _name(self.names, locale)


@dataclass(frozen=True, slots=True)
class Gap:
    """A wish with no workshop planned on it in the region in the coming three months."""

    skill_id: int
    names: tuple[str, str, str]  # nl, en, sv
    wishers: int
    teachers: int

    def name(self, locale: str) -> str:
        return _name(self.names, locale)


@dataclass(frozen=True, slots=True)
class Report:
    region_code: str | None  # None: the whole organisation
    region_name: str | None
    made_at: datetime
    members: int
    skills: list[SkillDemand]  # most wished first; every skill wished for or taught
    past: list[PastRow]  # the last twelve months, newest first
    gaps: list[Gap] = field(default_factory=list)

    @property
    def top(self) -> list[SkillDemand]:
        return [s for s in self.skills if s.wishers > 0][:TOP]

    @property
    def signed_up(self) -> int:
        return sum(p.signed_up for p in self.past)

    @property
    def attended(self) -> int:
        return sum(p.attended for p in self.past)

    @property
    def average(self) -> float | None:
        """The mean of every rating (not of the workshops' averages)."""
        ratings = sum(p.ratings for p in self.past)
        if not ratings:
            return None
        return sum(p.average * p.ratings for p in self.past if p.average is not None) / ratings


def _name(names: tuple[str, str, str], locale: str) -> str:
    nl, en, sv = names
    return {"en": en, "sv": sv}.get(locale, nl) or nl


async def skills(
    session: AsyncSession, region_code: str | None, now: datetime
) -> list[SkillDemand]:
    """Every skill wished for or taught in the region: most wished first, then the fewest
    teachers (the harder gap), then by id, so the order is stable."""
    counts = await repo.wishes_and_teachers(session, region_code)
    planned = await repo.planned(session, region_code, now, now + HORIZON)
    names = await repo.skill_names(session, list(counts))
    found = [
        SkillDemand(skill_id, names[skill_id], wishers, teachers, planned.get(skill_id, 0))
        for skill_id, (wishers, teachers) in counts.items()
        if skill_id in names
    ]
    found.sort(key=lambda s: (-s.wishers, s.teachers, s.skill_id))
    return found


def gaps_of(found: list[SkillDemand]) -> list[Gap]:
    return [Gap(s.skill_id, s.names, s.wishers, s.teachers) for s in found if s.gap]


async def gaps(session: AsyncSession, region_code: str | None, now: datetime) -> list[Gap]:
    """The region's wishes with no workshop planned on them in the coming three months, most
    wished first. No scope check: the caller (an organiser's handler) has done it."""
    return gaps_of(await skills(session, region_code, now))


async def report(
    session: AsyncSession, *, grants: frozenset[Grant], region_code: str | None, now: datetime
) -> Report:
    """The report for one region (or, for those who act everywhere, the whole organisation),
    refused with a typed DemandError to anyone else."""
    scope = organiser_scope(grants)
    if scope is None:
        raise NotAllowed
    configured = {r.code: r.name for r in await region_list.configured(session)}
    if region_code is not None and region_code not in configured:
        raise UnknownRegion(region_code)
    if not (scope.everywhere if region_code is None else scope.allows(region_code)):
        raise OutOfScope(region_code)
    return await build(session, region_code, now, configured.get(region_code or ""))


async def build(
    session: AsyncSession, region_code: str | None, now: datetime, region_name: str | None
) -> Report:
    """The figures, unchecked: for `report` and for the operator's command line."""
    found = await skills(session, region_code, now)
    return Report(
        region_code=region_code,
        region_name=region_name,
        made_at=now,
        members=await repo.members_in(session, region_code),
        skills=found,
        past=await repo.past(session, region_code, now - LOOKBACK, now),
        gaps=gaps_of(found),
    )


def regions_for(grants: frozenset[Grant], codes: list[str]) -> list[str] | None:
    """The regions this person may ask a report for, in the configured order; None when
    they may not ask at all."""
    scope = organiser_scope(grants)
    if scope is None:
        return None
    return [c for c in codes if scope.allows(c)]
