"""Goals followed up (seed 003): an admin sets per region and year how many members should
have a profile, attend a workshop, become trainers, and be contacted within 14 days of
joining; organisers see the progress, counted from the data at the moment they ask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import regions
from bot.services.roles import Grant, RoleName, Scope, has_role
from bot.services.welcome import OVERDUE_AFTER
from storage.repositories import goals as repo

MAX_TARGET = 1_000_000
YEARS = range(2000, 2101)


class Metric(StrEnum):
    PROFILES = "profiles"
    ATTENDED = "attended"
    TRAINERS = "trainers"
    WELCOMED = "welcomed"


ALIASES: dict[str, Metric] = {
    **{m.value: m for m in Metric},
    "profielen": Metric.PROFILES,
    "profiel": Metric.PROFILES,
    "profile": Metric.PROFILES,
    "profiler": Metric.PROFILES,
    "workshops": Metric.ATTENDED,
    "workshop": Metric.ATTENDED,
    "bezocht": Metric.ATTENDED,
    "deelnemers": Metric.ATTENDED,
    "deltagare": Metric.ATTENDED,
    "trainer": Metric.TRAINERS,
    "utbildare": Metric.TRAINERS,
    "welkom": Metric.WELCOMED,
    "contact": Metric.WELCOMED,
    "contacted": Metric.WELCOMED,
    "welcome": Metric.WELCOMED,
    "välkomnade": Metric.WELCOMED,
    "kontakt": Metric.WELCOMED,
}


class GoalError(Exception):
    """Base of the reasons a goal is refused; the handler explains each."""


class NotAdmin(GoalError):
    pass


class UnknownMetric(GoalError):
    pass


class UnknownRegion(GoalError):
    pass


class BadNumber(GoalError):
    pass


@dataclass(frozen=True, slots=True)
class Line:
    metric: Metric
    count: int
    target: int


@dataclass(frozen=True, slots=True)
class RegionProgress:
    code: str
    name: str
    lines: tuple[Line, ...]


def parse_metric(word: str) -> Metric:
    try:
        return ALIASES[word.strip().casefold()]
    except KeyError:
        raise UnknownMetric(word) from None


def year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


async def set_goal(
    session: AsyncSession,
    grants: frozenset[Grant],
    year: int,
    region: str,
    metric: Metric,
    target: int,
    now: datetime,
) -> None:
    """Set (or with 0, remove) one region's goal for a year. Admins only."""
    if not has_role(grants, RoleName.ADMIN):
        raise NotAdmin
    if year not in YEARS or not 0 <= target <= MAX_TARGET:
        raise BadNumber
    if not await regions.known(session, region):
        raise UnknownRegion(region)
    await repo.put(session, year, region, metric.value, target, now)
    await session.commit()


async def counts(session: AsyncSession, year: int) -> dict[Metric, dict[str, int]]:
    """Every figure for every region, as the data says now."""
    start, end = year_bounds(year)
    return {
        Metric.PROFILES: await repo.with_profile(session),
        Metric.ATTENDED: await repo.attended(session, start, end),
        Metric.TRAINERS: await repo.new_trainers(session, start, end),
        Metric.WELCOMED: await repo.welcomed_in_time(session, start, end, OVERDUE_AFTER),
    }


async def progress(session: AsyncSession, scope: Scope, year: int) -> list[RegionProgress]:
    """The regions in scope that have goals for the year, each goal with its count."""
    targets = await repo.targets(session, year)
    if not targets:
        return []
    figures = await counts(session, year)
    found = []
    for region in await regions.configured(session):
        if not scope.allows(region.code):
            continue
        lines = tuple(
            Line(m, figures[m].get(region.code, 0), targets[(region.code, m.value)])
            for m in Metric
            if (region.code, m.value) in targets
        )
        if lines:
            found.append(RegionProgress(region.code, region.name, lines))
    return found
