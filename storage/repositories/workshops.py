"""Queries about workshops."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import driver
from storage.models import Skill, Workshop, workshop_topics
from storage.repositories import skills as skill_repo


async def get(session: AsyncSession, workshop_id: int) -> Workshop | None:
    return await session.get(Workshop, workshop_id)


async def by_code(session: AsyncSession, code: str) -> Workshop | None:
    """The workshop a poster's code names (codes are unique)."""
    return await session.scalar(select(Workshop).where(Workshop.code == code))


async def upcoming(session: AsyncSession, after: datetime, limit: int = 500) -> list[Workshop]:
    rows = await session.scalars(
        select(Workshop)
        .where(Workshop.status == "published", Workshop.starts_at > after)
        .order_by(Workshop.starts_at)
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Topic:
    """A workshop's topic as a list shows it: a catalogue skill's id and names."""

    id: int
    name_nl: str
    name_en: str
    name_sv: str

    def name(self, locale: str) -> str:
        return str(getattr(self, f"name_{locale}", None) or self.name_nl)


@dataclass(slots=True)
class Listed:
    """An upcoming workshop as the list of workshops reads it: plain values, no ORM entity
    (building 500 entities and loading their topics cost more than ranking them).

    `topic_ids` come with the row; `topics` (their names) are read, when shown, from `names`,
    the catalogue's mapping the caller sets on the workshops it shows.
    """

    id: int
    title: str
    starts_at: datetime
    town: str | None
    latitude: float | None
    longitude: float | None
    region_code: str | None
    online_url: str | None
    capacity: int
    language: str
    members_only: bool
    status: str
    topic_ids: frozenset[int]
    names: Mapping[int, Topic] | None = field(default=None, repr=False, compare=False)

    @property
    def topics(self) -> tuple[Topic, ...]:
        names = self.names
        if names is None:
            return ()
        return tuple(names[i] for i in sorted(self.topic_ids) if i in names)

    @property
    def online(self) -> bool:
        return bool(self.online_url) and self.latitude is None


_LISTED = (
    Workshop.id,
    Workshop.title,
    Workshop.starts_at,
    Workshop.town,
    Workshop.latitude,
    Workshop.longitude,
    Workshop.region_code,
    Workshop.online_url,
    Workshop.capacity,
    Workshop.language,
    Workshop.members_only,
    Workshop.status,
)


def _topic_ids(dialect: str) -> ColumnElement[Any]:
    """A workshop's topic ids in its own row (one query instead of a second one for topics):
    an array on PostgreSQL, "3,17" on SQLite."""
    skill_id = workshop_topics.c.skill_id
    collected = func.array_agg(skill_id) if dialect == "postgresql" else func.group_concat(skill_id)
    return (
        select(collected)
        .where(workshop_topics.c.workshop_id == Workshop.id)
        .scalar_subquery()
        .label("topic_ids")
    )


def _ids(value: str | list[int] | None) -> frozenset[int]:
    if not value:
        return frozenset()
    if isinstance(value, str):
        return frozenset(map(int, value.split(",")))
    return frozenset(value)


async def upcoming_listed(
    session: AsyncSession,
    after: datetime,
    *,
    online: bool = False,
    region: str | None = None,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
    limit: int = 500,
) -> list[Listed]:
    """Published workshops starting after `after` (and within [`starts_from`, `starts_before`)),
    soonest first: only online ones, or only those in `region`, when asked."""
    listed, _wishes = await _upcoming(
        session, after, None, online, region, starts_from, starts_before, limit
    )
    return listed


async def upcoming_with_wishes(
    session: AsyncSession,
    after: datetime,
    member_id: int,
    *,
    online: bool = False,
    region: str | None = None,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
    limit: int = 500,
) -> tuple[list[Listed], list[int]]:
    """`upcoming_listed`, and the member's `skills.wish_ids` carried in the same round trip
    (what ranking them needs; without any workshop, none are needed)."""
    listed, wishes = await _upcoming(
        session, after, member_id, online, region, starts_from, starts_before, limit
    )
    return listed, wishes


async def _upcoming(
    session: AsyncSession,
    after: datetime,
    member_id: int | None,
    online: bool,
    region: str | None,
    starts_from: datetime | None,
    starts_before: datetime | None,
    limit: int,
) -> tuple[list[Listed], list[int]]:
    conn = await session.connection()  # the driver's rows: no ORM, no result processing
    dialect = conn.dialect
    shape = (online, region is not None, starts_from is not None, starts_before is not None)
    wishes = member_id is not None
    query = driver.compiled(
        dialect, ("upcoming", *shape, wishes), lambda: _upcoming_query(dialect.name, *shape, wishes)
    )
    values = {
        "after": after,
        "region": region,
        "starts_from": starts_from,
        "starts_before": starts_before,
        "member_id": member_id,
        "limit": limit,
    }
    rows = await driver.fetch(conn, query, values)
    timestamp = driver.timestamp
    listed = [
        Listed(
            row[0], row[1], timestamp(row[2]), row[3], row[4], row[5], row[6], row[7], row[8],
            row[9], bool(row[10]), row[11], _ids(row[12]),
        )
        for row in rows
    ]  # fmt: skip
    return listed, sorted(_ids(rows[0][13])) if wishes and rows else []


def _upcoming_query(
    dialect: str, online: bool, region: bool, starts_from: bool, starts_before: bool, wishes: bool
) -> Select[Any]:
    """`_upcoming`'s query for one shape: which filters it has, and whether it carries the
    member's wishes (`skills.wish_ids_column`) in the same round trip."""
    where: list[ColumnElement[bool]] = [
        Workshop.status == "published",
        Workshop.starts_at > bindparam("after", required=False),
    ]
    if online:
        where.append(Workshop.latitude.is_(None))
    if region:
        where.append(Workshop.region_code == bindparam("region", required=False))
    if starts_from:
        where.append(Workshop.starts_at >= bindparam("starts_from", required=False))
    if starts_before:
        where.append(Workshop.starts_at < bindparam("starts_before", required=False))
    columns = [*_LISTED, _topic_ids(dialect)]
    if wishes:
        columns.append(skill_repo.wish_ids_column(dialect, bindparam("member_id", required=False)))
    return (
        select(*columns)
        .where(*where)
        .order_by(Workshop.starts_at, Workshop.id)
        .limit(bindparam("limit", required=False))
    )


async def topic_names(session: AsyncSession) -> dict[int, Topic]:
    """Every catalogue skill's names, for the topics of listed workshops."""
    conn = await session.connection()
    rows = await conn.execute(select(Skill.id, Skill.name_nl, Skill.name_en, Skill.name_sv))
    return {row[0]: Topic(*row) for row in rows.all()}


async def all_workshops(session: AsyncSession) -> list[Workshop]:
    return list(await session.scalars(select(Workshop).order_by(Workshop.starts_at, Workshop.id)))
