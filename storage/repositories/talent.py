"""The talent base query: findable members with a given talent, ranked."""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Join

from storage.models import Member, MemberSkill

KM_PER_DEGREE = 111.2
UNPLACED = 1e18  # km²: members without a place rank after every placed one
BOX_ATTEMPTS = 3  # boxes tried before reading the page without one
SIZES_FOR = 60.0  # seconds a region's or a skill's size is remembered for choosing a plan
BOX_MARGIN = 1.001  # the box in degrees, a little wider than the radius: rounding
CELL = 0.1  # degrees: the squares in which a region's members are counted, to size a box
# Near a place in a region, SQLite ranks a skill with up to this many talent rows (in all
# regions) in one pass; past it, counting stops at the cap and only the page's level is ranked.
RANK_ALL = 6000
# PostgreSQL does so when it expects this many times more matches than it counts.
MATCHES_PAST = 2.0
# PostgreSQL, for the rest of a level-first search's transaction: each statement planned for
# its values (a prepared statement run often gets one plan for every value: for a box, a slow
# one), and an index page costed as read from memory, as these small hot indexes are (at the
# default 4, it hashed a skill's 18,000 teachers rather than look up a box's 200 members).
_PLANNED = select(
    func.set_config("plan_cache_mode", "force_custom_plan", True),
    func.set_config("random_page_cost", "1.1", True),
)


@dataclass(frozen=True, slots=True)
class Plan:
    """How a page is read; every plan reads the same page (tests/test_talent_plans.py)."""

    level_first: bool = False  # count to the cap, then rank only the page's level
    boxed: bool = False  # that level from a box around the place
    from_members: bool = False  # SQLite: walk the region's members, not the skill's rows


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


def _in_levels(ranks: Collection[int]) -> ColumnElement[bool]:
    """`_rank()` in `ranks`, said so that an index on the level can seek to the first two."""
    named = {0: "teach", 1: "experienced"}
    said = [MemberSkill.level == named[r] for r in ranks if r in named]
    if 2 in ranks:
        said.append(or_(MemberSkill.level.is_(None), MemberSkill.level.not_in(named.values())))
    return or_(*said)


def _far(near: tuple[float, float]) -> ColumnElement[float]:
    """Squared km on a flat projection around `near`; members without a place: UNPLACED."""
    lat, lon = near
    shrink = math.cos(math.radians(lat))
    dy = (Member.latitude - lat) * KM_PER_DEGREE
    dx = (Member.longitude - lon) * (KM_PER_DEGREE * shrink)
    return func.coalesce(dy * dy + dx * dx, UNPLACED)


async def _plan(
    session: AsyncSession,
    skill_id: int,
    regions: Collection[str] | None,
    near: tuple[float, float] | None,
    count_to: int,
) -> Plan:
    """The cheaper plan, judged from sizes remembered a minute: they never change the page."""
    if near is None or regions is None:
        return Plan(from_members=await _from_members(session, skill_id, regions))
    talents = await _talents(session, skill_id)
    if _sqlite(session):
        from_members = await _from_members(session, skill_id, regions)
        level_first = talents > RANK_ALL
        return Plan(level_first, boxed=level_first and from_members, from_members=from_members)
    # PostgreSQL ranks every match in one pass (merging 0014's indexes) about as fast as it
    # counts them: level first pays only when the count stops well short of the matches.
    expected = talents * await _in_region(session, regions) / await _everyone(session)
    level_first = expected > MATCHES_PAST * count_to
    return Plan(level_first, boxed=level_first)


async def _from_members(
    session: AsyncSession, skill_id: int, regions: Collection[str] | None
) -> bool:
    """Whether SQLite should walk the region's findable members rather than the skill's talent
    rows: when there are fewer of them. PostgreSQL's planner weighs this from its statistics.

    The two sizes are remembered for a minute: they only choose the plan, never the result.
    """
    if regions is None or not _sqlite(session):
        return False
    return await _talents(session, skill_id) > await _in_region(session, regions)


async def _in_region(session: AsyncSession, regions: Collection[str]) -> int:
    (in_region,) = await _remembered(
        session,
        ("region", *sorted(regions)),
        select(func.count()).select_from(Member).where(*_findable_in(regions)),
    )
    return int(in_region or 0)


async def _talents(session: AsyncSession, skill_id: int) -> int:
    (talents,) = await _remembered(
        session,
        ("skill", skill_id),
        select(func.count()).where(
            MemberSkill.skill_id == skill_id,
            MemberSkill.kind == "talent",
            MemberSkill.status == "ok",
        ),
    )
    return int(talents or 0)


async def _share(session: AsyncSession, skill_id: int) -> float:
    """About what share of any members list this talent at one level: sizes a first box."""
    return await _talents(session, skill_id) / await _everyone(session) / 3


async def _everyone(session: AsyncSession) -> int:
    (everyone,) = await _remembered(session, ("members",), select(func.count(Member.id)))
    return max(int(everyone or 0), 1)


def _sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _findable_in(regions: Collection[str]) -> list[ColumnElement[bool]]:
    return [
        Member.region_code.in_(regions),
        Member.findable.is_(True),
        Member.unreachable_since.is_(None),
    ]


_remembering: dict[tuple[Any, ...], tuple[float, Any]] = {}


async def _remembered(
    session: AsyncSession, key: tuple[Any, ...], query: Select[Any], one: bool = True
) -> Any:
    """The query's one row (or its rows), read at most once a minute: for sizes that only
    choose a plan or where to start looking, never what is found."""
    key = (str(session.get_bind().url), *key)
    now = time.monotonic()
    known = _remembering.get(key)
    if known is not None and now - known[0] < SIZES_FOR:
        return known[1]
    if len(_remembering) > 10_000:
        _remembering.clear()
    result = await session.execute(query)
    row = result.one() if one else list(result.all())
    _remembering[key] = (now, row)
    return row


async def _counts(session: AsyncSession, queries: list[tuple[Select[Any], int]]) -> list[int]:
    """Each query's rows, counted no further than its most: each stops reading there."""
    capped = [
        select(func.count())
        .select_from(query.with_only_columns(literal(1)).limit(most).subquery())
        .scalar_subquery()
        for query, most in queries
    ]
    return [int(n or 0) for n in (await session.execute(select(*capped))).one()]


async def page(
    session: AsyncSession,
    skill_id: int,
    regions: Collection[str] | None,
    near: tuple[float, float] | None,
    offset: int,
    limit: int,
    count_to: int,
) -> tuple[list[Row], int]:
    """Teachers first, then the experienced, then the rest; nearest first within a level.

    Distance is ranked on a flat projection around `near` (plain arithmetic, so SQLite and
    PostgreSQL rank alike); the handler shows the exact haversine distance. Ranking reads
    only what the indexes hold (0009, 0010, 0014); the page's few members are then read in
    full.

    The total is exact up to `count_to` (at least the page's end); past it, it is
    `count_to + 1` ("more than"): an exact count of a common skill reads every match, and
    the page needs only the nearest. Near a place, in a region, for a common skill (see
    _plan), only the page's level is ranked (see _page_near). Otherwise every match is
    ranked, and counted by a window in the same pass.
    """
    count_to = max(count_to, offset + limit)
    plan = await _plan(session, skill_id, regions, near, count_to)
    if plan.level_first and near is not None and regions is not None:
        return await _page_near(session, skill_id, regions, plan, near, (offset, limit), count_to)
    keys = [_rank().label("rank")]
    if near is not None:
        keys.append(_far(near).label("far"))  # once; unplaced last
    ranked = (
        _base(skill_id, regions, plan.from_members)
        .add_columns(MemberSkill.level, *keys, func.count().over().label("total"))
        .order_by(*keys, MemberSkill.member_id)
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    rows = await _read(session, ranked)
    total = int(rows[0][13]) if rows else 0
    return _hits(rows), min(total, count_to + 1)


async def _page_near(
    session: AsyncSession,
    skill_id: int,
    regions: Collection[str],
    plan: Plan,
    near: tuple[float, float],
    window: tuple[int, int],
    count_to: int,
) -> tuple[list[Row], int]:
    """Many matches in a region: counting only as far as the page's levels need, then ranking
    only the page's level (for a common skill: only its members in a box around the place,
    index only) costs less than ranking every match."""
    if not _sqlite(session):
        await session.execute(_PLANNED)
    rank, far = _rank(), _far(near)
    offset, limit = window
    query = _base(skill_id, regions, plan.from_members)
    # The matches counted to just past count_to, and the teachers to the page's end, in one
    # statement; a page that reaches past the teachers counts the next level as far as it needs.
    end = offset + limit
    total, teachers = await _counts(
        session, [(query, count_to + 1), (query.where(_in_levels([0])), end)]
    )
    if offset >= total:
        return [], 0
    end = min(end, total)
    wanted: list[int] = []  # the levels the page reaches into
    before = 0  # the matches in the levels before the first of them
    start = 0
    for level in (0, 1, 2):
        if start >= end:
            break
        # Counted no further than the page's end: a level that reaches past it ends the walk.
        count = (
            teachers
            if level == 0
            else (await _counts(session, [(query.where(_in_levels([level])), end - start)]))[0]
        )
        if start + count > offset:
            before = start if not wanted else before
            wanted.append(level)
        start += count
    query = query.where(_in_levels(wanted))
    cells = await _cells(session, regions) if len(wanted) == 1 and plan.boxed else []
    if cells:
        # A common skill (on SQLite: more common than the region's members), within one
        # level: the page read from a box around the place is the true page when its last
        # member lies within the box's radius, for every member outside that radius ranks
        # after them. The first box is sized from where the region's members live; a full
        # page beyond the radius gives the radius that surely holds it; a short page, a wider
        # box; at last no box. (A rarer skill ranks just the page's level, found through the
        # index.)
        need = end - offset
        radius = _first_radius(near, cells, await _share(session, skill_id), need)
        for _attempt in range(BOX_ATTEMPTS):
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


async def _cells(session: AsyncSession, regions: Collection[str]) -> list[tuple[int, int, int]]:
    """How many of the region's findable members live in each CELL° square (remembered a
    minute: it only says how wide the first box is)."""
    # round(x - 0.5): floor on both databases (SQLite may lack floor); at a cell's very edge
    # it may pick the neighbour, which only nudges a guess.
    lat_cell = func.round(Member.latitude / CELL - 0.5)
    lon_cell = func.round(Member.longitude / CELL - 0.5)
    rows = await _remembered(
        session,
        ("cells", *sorted(regions)),
        select(lat_cell, lon_cell, func.count())
        .where(*_findable_in(regions), Member.latitude.is_not(None))
        .group_by(lat_cell, lon_cell),
        one=False,
    )
    return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]


def _first_radius(
    near: tuple[float, float], cells: list[tuple[int, int, int]], share: float, need: int
) -> float:
    """A radius whose box likely holds the page: the nearest cells whose members, at the
    share of them expected to match, make twice the page. Only a first guess: the box's
    page is checked, and a wrong guess costs a second box."""
    lat, lon = near
    shrink = math.cos(math.radians(lat))
    reach: list[tuple[float, int]] = []
    for lat_i, lon_i, count in cells:
        # The cell's farthest corner: every member of the cell lies within this distance.
        dy = max(abs(lat_i * CELL - lat), abs((lat_i + 1) * CELL - lat)) * KM_PER_DEGREE
        dx = max(abs(lon_i * CELL - lon), abs((lon_i + 1) * CELL - lon)) * KM_PER_DEGREE * shrink
        reach.append((math.hypot(dx, dy), count))
    reach.sort()
    expected = 0.0
    for distance, count in reach:
        expected += count * share
        if expected >= 2 * need:
            return distance
    return reach[-1][0]


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
