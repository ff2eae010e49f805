"""Queries about welcomes: new members without one, the volunteers of a region with their
load, one welcome with what its volunteer may see, the organisers' overview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import locking
from storage.models import Member, Role, welcomes

w = welcomes.c
OPEN, WAITING, CONTACTED, UNREACHED, DECLINED = (
    "open",
    "waiting",
    "contacted",
    "unreached",
    "declined",
)
NOT_CONTACTED = (WAITING, OPEN, UNREACHED)
_LOCK_KEY = 0x77656C63  # "welc": PostgreSQL's advisory lock for assignments


@dataclass(frozen=True, slots=True)
class Newcomer:
    """A member to welcome: new, or still waiting for a volunteer (`welcome_id` set)."""

    member_id: int
    telegram_id: int
    region_code: str
    joined_at: datetime
    welcome_id: int | None = None


@dataclass(slots=True)
class Volunteer:
    """A volunteer of a region with their load: open welcomes, and when last given one."""

    telegram_id: int
    member_id: int
    region_code: str
    open: int
    last_assigned: datetime | None


@dataclass(frozen=True, slots=True)
class Welcome:
    id: int
    member_id: int
    region_code: str | None
    volunteer_id: int | None
    state: str
    joined_at: datetime
    assigned_at: datetime | None
    done_at: datetime | None
    first_name: str | None


async def hold(session: AsyncSession) -> None:
    """Take the assignment lock until this transaction ends: two workers (or a pass and an
    organiser's reassignment) never count loads and assign at the same time."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        return
    await locking._queue(session)  # this process's writers, one at a time (SQLite)
    # A write first: SQLite's write lock is then held until the transaction ends.
    await session.execute(update(welcomes).where(w.id == -1).values(state=w.state))


async def newcomers(session: AsyncSession, since: datetime) -> list[Newcomer]:
    """Members who consented since `since`, have a region and can be reached, without a
    welcome yet; and every welcome still waiting for a volunteer (or whose volunteer was
    erased). Oldest first."""
    fresh = (
        select(Member.id, Member.telegram_id, Member.region_code, Member.created_at)
        .outerjoin(welcomes, w.member_id == Member.id)
        .where(
            w.id.is_(None),
            Member.created_at >= since,
            Member.region_code.is_not(None),
            Member.unreachable_since.is_(None),
        )
    )
    waiting = (
        select(Member.id, Member.telegram_id, Member.region_code, w.joined_at, w.id)
        .join(welcomes, w.member_id == Member.id)
        .where(
            # waiting, or open with its volunteer erased (/vergeetmij blanks the id)
            or_(w.state == WAITING, and_(w.state == OPEN, w.volunteer_id.is_(None))),
            Member.region_code.is_not(None),
        )
    )
    found = [Newcomer(*row) for row in (await session.execute(fresh)).all()]
    found += [Newcomer(*row) for row in (await session.execute(waiting)).all()]
    return sorted(found, key=lambda n: (n.joined_at, n.member_id))


async def volunteers(session: AsyncSession, region_codes: set[str]) -> list[Volunteer]:
    """The reachable volunteers living in these regions, with their open welcomes and
    their latest assignment (any state)."""
    if not region_codes:
        return []
    load = (
        select(
            w.volunteer_id,
            func.count().filter(w.state == OPEN).label("open"),
            func.max(w.assigned_at).label("last"),
        )
        .where(w.volunteer_id.is_not(None))
        .group_by(w.volunteer_id)
        .subquery()
    )
    query = (
        select(
            Member.telegram_id,
            Member.id,
            Member.region_code,
            func.coalesce(load.c.open, 0),
            load.c.last,
        )
        .join(Role, and_(Role.telegram_id == Member.telegram_id, Role.role == "volunteer"))
        .outerjoin(load, load.c.volunteer_id == Member.telegram_id)
        .where(Member.region_code.in_(region_codes), Member.unreachable_since.is_(None))
        .distinct()
    )
    return [Volunteer(*row) for row in (await session.execute(query)).all()]


async def add(
    session: AsyncSession,
    member_id: int,
    region_code: str | None,
    state: str,
    joined_at: datetime,
    *,
    volunteer_id: int | None = None,
    at: datetime | None = None,
) -> int:
    result = await session.execute(
        insert(welcomes).values(
            member_id=member_id, region_code=region_code, volunteer_id=volunteer_id,
            state=state, joined_at=joined_at, assigned_at=at if volunteer_id else None,
            done_at=at if state == DECLINED else None,
        )
    )  # fmt: skip
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def assign(
    session: AsyncSession, welcome_id: int, volunteer_id: int, at: datetime, region: str | None
) -> None:
    await session.execute(
        update(welcomes)
        .where(w.id == welcome_id)
        .values(volunteer_id=volunteer_id, state=OPEN, assigned_at=at, region_code=region)
    )


_WELCOME = select(*welcomes.c, Member.first_name).join(Member, Member.id == w.member_id)


async def get(session: AsyncSession, welcome_id: int) -> Welcome | None:
    row = (await session.execute(_WELCOME.where(w.id == welcome_id))).one_or_none()
    return Welcome(*row) if row is not None else None


async def of_member(session: AsyncSession, member_id: int) -> Welcome | None:
    row = (await session.execute(_WELCOME.where(w.member_id == member_id))).one_or_none()
    return Welcome(*row) if row is not None else None


async def finish(
    session: AsyncSession, welcome_id: int, volunteer_id: int, state: str, at: datetime
) -> bool:
    """Mark an open welcome of this volunteer done; False when it is not (any more)."""
    result = await session.execute(
        update(welcomes)
        .where(w.id == welcome_id, w.volunteer_id == volunteer_id, w.state == OPEN)
        .values(state=state, done_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def decline(session: AsyncSession, welcome_id: int, at: datetime) -> None:
    """The member does not want to be contacted: withdrawn from their volunteer (who stays
    named, so that their tap on the card is told why)."""
    await session.execute(
        update(welcomes).where(w.id == welcome_id).values(state=DECLINED, done_at=at)
    )


async def remove(session: AsyncSession, welcome_id: int) -> None:
    await session.execute(welcomes.delete().where(w.id == welcome_id))


def _overdue(regions: frozenset[str] | None, before: datetime):  # type: ignore[no-untyped-def]
    """Not contacted: waiting for a volunteer (at once), or open or unreached too long."""
    where = or_(
        w.state == WAITING,
        and_(w.state.in_((OPEN, UNREACHED)), w.joined_at <= before),
    )
    if regions is not None:
        where = and_(where, w.region_code.in_(regions))
    return where


async def count_overdue(
    session: AsyncSession, regions: frozenset[str] | None, before: datetime
) -> int:
    where = _overdue(regions, before)
    return int(await session.scalar(select(func.count()).select_from(welcomes).where(where)) or 0)


async def overdue(
    session: AsyncSession,
    regions: frozenset[str] | None,
    before: datetime,
    offset: int,
    limit: int,
) -> list[Welcome]:
    """One page of the welcomes not contacted in time, oldest first."""
    where = _overdue(regions, before)
    query = _WELCOME.where(where).order_by(w.joined_at, w.id).offset(offset).limit(limit)
    return [Welcome(*row) for row in (await session.execute(query)).all()]


async def open_of(session: AsyncSession, volunteer_id: int) -> list[Welcome]:
    query = _WELCOME.where(w.volunteer_id == volunteer_id, w.state == OPEN)
    return [Welcome(*row) for row in (await session.execute(query.order_by(w.id))).all()]


async def first_names(session: AsyncSession, telegram_ids: set[int]) -> dict[int, str]:
    """Volunteers' first names, for the organisers' overview."""
    if not telegram_ids:
        return {}
    query = select(Member.telegram_id, Member.first_name).where(
        Member.telegram_id.in_(telegram_ids)
    )
    return {tid: name or "" for tid, name in (await session.execute(query)).all()}


async def member_id_of(session: AsyncSession, telegram_id: int) -> int | None:
    return await session.scalar(select(Member.id).where(Member.telegram_id == telegram_id))
