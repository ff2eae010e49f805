"""The talent base query: findable members with a given talent, ranked."""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Join

from storage.models import Member, MemberSkill

KM_PER_DEGREE = 111.2
UNPLACED = 1e18  # km²: members without a place rank after every placed one
BOX_STEP_KM = 10.0  # the first box near a place: this far past the level's nearest match
BOX_ATTEMPTS = 3  # boxes tried before reading the page without one
SIZES_FOR = 60.0  # seconds a region's or a skill's size is remembered for choosing a plan
BOX_MARGIN = 1.001  # the box in degrees, a little wider than the radius: rounding


@dataclass(frozen=True, slots=True)
class Row:
    member_id: int
    first_name: str | None
    level: str | None
    region_code: str | None
    latitude: float | None
    longitude: float | None
    availability: tuple[bool, bool, bool, bool]
    contact_direct: bool
    username: str | None
    no_requests: bool = False


class _MembersFirst(Join):
    """members JOIN member_skills that SQLite must read members first: a CROSS JOIN, which
    its planner never reorders. Other databases get a plain JOIN."""

    inherit_cache = True


@compiles(_MembersFirst, "sqlite")
def _cross_join(join: _MembersFirst, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.visit_join(join, **kw).replace(" JOIN ", " CROSS JOIN ", 1)


@compiles(_MembersFirst)
def _join(join: _MembersFirst, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.visit_join(join, **kw)


def _base(
    skill_id: int, regions: Collection[str] | None, from_members: bool = False
) -> Select[tuple[int]]:
    query = select(MemberSkill.member_id)
    if from_members:  # on SQLite, which would otherwise always start from the skill's rows
        query = query.select_from(
            _MembersFirst(
                Member.__table__, MemberSkill.__table__, Member.id == MemberSkill.member_id
            )
        )
    else:
        query = query.join(Member, Member.id == MemberSkill.member_id)
    query = query.where(
        MemberSkill.skill_id == skill_id,
        MemberSkill.kind == "talent",
        MemberSkill.status == "ok",
        Member.findable.is_(True),
        Member.unreachable_since.is_(None),
    )
    return query.where(Member.region_code.in_(regions)) if regions is not None else query


def _rank() -> ColumnElement[int]:
    return case((MemberSkill.level == "teach", 0), (MemberSkill.level == "experienced", 1), else_=2)


def _far(near: tuple[float, float]) -> ColumnElement[float]:
    """Squared km on a flat projection around `near`; members without a place: UNPLACED."""
    lat, lon = near
    shrink = math.cos(math.radians(lat))
    dy = (Member.latitude - lat) * KM_PER_DEGREE
    dx = (Member.longitude - lon) * (KM_PER_DEGREE * shrink)
    return func.coalesce(dy * dy + dx * dx, UNPLACED)


async def _from_members(
    session: AsyncSession, skill_id: int, regions: Collection[str] | None
) -> bool:
    """Whether SQLite should walk the region's findable members rather than the skill's talent
    rows: when there are fewer of them. PostgreSQL's planner weighs this from its statistics.

    The two sizes are remembered for a minute: they only choose the plan, never the result.
    """
    if regions is None or session.get_bind().dialect.name != "sqlite":
        return False
    in_region = await _size(
        session,
        ("region", *sorted(regions)),
        select(func.count())
        .select_from(Member)
        .where(
            Member.region_code.in_(regions),
            Member.findable.is_(True),
            Member.unreachable_since.is_(None),
        ),
    )
    talents = await _size(
        session,
        ("skill", skill_id),
        select(func.count()).where(
            MemberSkill.skill_id == skill_id,
            MemberSkill.kind == "talent",
            MemberSkill.status == "ok",
        ),
    )
    return talents > in_region


_sizes: dict[tuple[Any, ...], tuple[float, int]] = {}


async def _size(session: AsyncSession, key: tuple[Any, ...], count: Select[Any]) -> int:
    key = (str(session.get_bind().url), *key)
    now = time.monotonic()
    known = _sizes.get(key)
    if known is not None and now - known[0] < SIZES_FOR:
        return known[1]
    if len(_sizes) > 10_000:
        _sizes.clear()
    size = int(await session.scalar(count) or 0)
    _sizes[key] = (now, size)
    return size


async def page(
    session: AsyncSession,
    skill_id: int,
    regions: Collection[str] | None,
    near: tuple[float, float] | None,
    offset: int,
    limit: int,
) -> tuple[list[Row], int]:
    """Teachers first, then the experienced, then the rest; nearest first within a level.

    Distance is ranked on a flat projection around `near` (plain arithmetic, so SQLite and
    PostgreSQL rank alike); the handler shows the exact haversine distance. Ranking reads
    only what the indexes hold (0009, 0010); the page's few members are then read in full.

    Near a place, one pass counts the matches per level, and the page is read from a box
    around the place (widened until it surely holds the page). Otherwise the total comes
    from a window count in the same pass as the page.
    """
    from_members = await _from_members(session, skill_id, regions)
    if near is not None and from_members and regions is not None:
        return await _page_near(session, skill_id, regions, near, offset, limit)
    keys = [_rank().label("rank")]
    if near is not None:
        keys.append(_far(near).label("far"))  # once; unplaced last
    ranked = (
        _base(skill_id, regions, from_members)
        .add_columns(MemberSkill.level, *keys, func.count().over().label("total"))
        .order_by(*keys, MemberSkill.member_id)
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    rows = await _read(session, ranked)
    total = int(rows[0][13]) if rows else 0
    return _hits(rows), total


async def _page_near(
    session: AsyncSession,
    skill_id: int,
    regions: Collection[str] | None,
    near: tuple[float, float],
    offset: int,
    limit: int,
) -> tuple[list[Row], int]:
    """A common skill in a region, on SQLite: walking the region's members (in member id
    order, index only) to count the matches, then reading the page from a box around the
    place, costs less than ranking every match."""
    rank, far = _rank(), _far(near)
    from_members = True
    # One row of sums rather than a GROUP BY (no sort of the matches), and the nearest match
    # of each level (the distance reckoned once a row, in its own level's branch).
    counted = _base(skill_id, regions, from_members).with_only_columns(
        func.count(),
        func.sum(case((MemberSkill.level == "teach", 1), else_=0)),
        func.sum(case((MemberSkill.level == "experienced", 1), else_=0)),
        func.min(case((rank == 0, far))),
        func.min(case((rank == 1, far))),
        func.min(case((rank == 2, far))),
    )
    everyone, teach, experienced, *nearest = (await session.execute(counted)).one()
    teach, experienced = int(teach or 0), int(experienced or 0)
    levels = [(0, teach), (1, experienced), (2, int(everyone) - teach - experienced)]
    total = sum(count for _level, count in levels)
    if offset >= total:
        return [], 0
    wanted: list[int] = []  # the levels the page reaches into
    before = 0  # the matches in the levels before the first of them
    start = 0
    for level, count in levels:
        if start + count > offset and start < offset + limit:
            before = start if not wanted else before
            wanted.append(level)
        start += count
    query = _base(skill_id, regions, from_members).where(rank.in_(wanted))
    if len(wanted) == 1:
        # Within one level: the page read from a box around the place is the true page when
        # its last member lies within the box's radius, for every member outside that radius
        # ranks after them. The first box reaches a little past the level's nearest match; a
        # full page beyond the radius gives the radius that surely holds it; a short page, a
        # wider box; at last no box.
        need = min(limit, total - offset)
        radius = math.sqrt(nearest[wanted[0]]) + BOX_STEP_KM
        for _attempt in range(BOX_ATTEMPTS if nearest[wanted[0]] < UNPLACED else 0):
            rows = await _read(
                session, _ranked(_boxed(query, near, radius), rank, far, offset - before, limit)
            )
            if len(rows) == need and rows[-1][14] <= radius * radius:
                return _hits(rows), total
            if len(rows) == need:
                radius = math.sqrt(rows[-1][14]) * BOX_MARGIN
            else:
                radius *= 4
    rows = await _read(session, _ranked(query, rank, far, offset - before, limit))
    return _hits(rows), total if rows else 0


def _boxed(query: Select[Any], near: tuple[float, float], radius: float) -> Select[Any]:
    lat, lon = near
    box = radius * BOX_MARGIN / KM_PER_DEGREE
    wide = box / max(math.cos(math.radians(lat)), 1e-9)
    return query.where(
        Member.latitude.between(lat - box, lat + box),
        Member.longitude.between(lon - wide, lon + wide),
    )


def _ranked(
    query: Select[Any], rank: ColumnElement[int], far: ColumnElement[float], offset: int, limit: int
) -> Subquery:
    return (
        query.add_columns(MemberSkill.level, rank.label("rank"), far.label("far"))
        .order_by(rank, far, MemberSkill.member_id)
        .offset(offset)
        .limit(limit)
        .subquery()
    )


async def _read(session: AsyncSession, ranked: Subquery) -> list[Any]:
    """The page's members in full, in the ranked order."""
    total = ranked.c.total if "total" in ranked.c else literal(0)
    far = ranked.c.far if "far" in ranked.c else literal(0.0)
    query = (
        select(
            ranked.c.member_id,
            Member.first_name,
            ranked.c.level,
            Member.region_code,
            Member.latitude,
            Member.longitude,
            Member.available_evenings,
            Member.available_weekends,
            Member.available_daytime,
            Member.available_online,
            Member.contact_direct,
            Member.username,
            Member.no_contact_requests,
            total,
            far,
        )
        .join(Member, Member.id == ranked.c.member_id)
        .order_by(ranked.c.rank, *([far] if "far" in ranked.c else []), ranked.c.member_id)
    )
    return list((await session.execute(query)).all())


def _hits(rows: list[Any]) -> list[Row]:
    return [
        Row(r[0], r[1], r[2], r[3], r[4], r[5], (r[6], r[7], r[8], r[9]), r[10], r[11], bool(r[12]))
        for r in rows
    ]


async def lists_talent(session: AsyncSession, member_id: int, skill_id: int) -> bool:
    """Whether the member listed this skill as a talent (confirmed, not a pending guess)."""
    found = await session.scalar(
        select(MemberSkill.id)
        .where(
            MemberSkill.member_id == member_id,
            MemberSkill.skill_id == skill_id,
            MemberSkill.kind == "talent",
            MemberSkill.status == "ok",
        )
        .limit(1)
    )
    return found is not None
