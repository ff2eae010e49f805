"""Queries about broadcasts: who an audience reaches, and the broadcasts themselves."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Broadcast, Member, MemberSkill, OutboxRow, Role, Signup, TrackPlace

KINDS = ("training", "news")  # of announcement: a member may mute each


@dataclass(frozen=True, slots=True)
class Filter:
    """Who an announcement is for, as SQL sees it: every field narrows (None: anyone)."""

    kind: str  # training | news: whose members muted it are left out
    regions: Collection[str] | None = None
    member_kinds: Collection[str] | None = None  # member | sympathiser
    locales: Collection[str] | None = None
    wishes: Collection[int] | None = None  # wished for any of these skills
    talents: Collection[int] | None = None  # has any of these skills as a talent
    workshop_id: int | None = None
    signed_up: bool | None = None  # for `workshop_id`: with a place (or waiting), or without
    track_id: int | None = None
    in_track: bool | None = None  # for `track_id`: took part (placed), or not


def _skill(kind: str, skill_ids: Collection[int]) -> ColumnElement[bool]:
    return exists().where(
        MemberSkill.member_id == Member.id,
        MemberSkill.kind == kind,
        MemberSkill.status == "ok",
        MemberSkill.skill_id.in_(list(skill_ids)),
    )


def _chosen(f: Filter) -> list[ColumnElement[bool]]:
    """The audience as chosen, before opt-outs and unreachable members are left out."""
    where: list[ColumnElement[bool]] = []
    if f.regions is not None:
        where.append(Member.region_code.in_(list(f.regions)))
    if f.member_kinds:
        where.append(Member.kind.in_(list(f.member_kinds)))
    if f.locales:
        where.append(Member.locale.in_(list(f.locales)))
    if f.wishes:
        where.append(_skill("wish", f.wishes))
    if f.talents:
        where.append(_skill("talent", f.talents))
    if f.workshop_id is not None and f.signed_up is not None:
        placed = exists().where(
            Signup.member_id == Member.id,
            Signup.workshop_id == f.workshop_id,
            Signup.status.in_(("confirmed", "waiting")),
        )
        where.append(placed if f.signed_up else ~placed)
    if f.track_id is not None and f.in_track is not None:
        took_part = exists().where(
            TrackPlace.member_id == Member.id,
            TrackPlace.track_id == f.track_id,
            TrackPlace.status == "placed",
        )
        where.append(took_part if f.in_track else ~took_part)
    return where


def _muted(kind: str) -> ColumnElement[bool]:
    return Member.mute_news if kind == "news" else Member.mute_training  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Reach:
    """How many an audience reaches, and how many of those chosen it leaves out and why."""

    recipients: int
    muted: int
    unreachable: int


async def reach(session: AsyncSession, f: Filter) -> Reach:
    """One pass over the chosen members, counting who gets it and who is left out."""
    muted = _muted(f.kind)
    unreachable = Member.unreachable_since.is_not(None)
    query = select(
        func.count(),
        func.coalesce(func.sum(case((and_(muted, ~unreachable), 1), else_=0)), 0),
        func.coalesce(func.sum(case((unreachable, 1), else_=0)), 0),
    ).where(*_chosen(f))
    total, muted_count, unreachable_count = (await session.execute(query)).one()
    return Reach(int(total) - int(muted_count) - int(unreachable_count), int(muted_count),
                 int(unreachable_count))  # fmt: skip


async def recipients(session: AsyncSession, f: Filter) -> list[tuple[int, int, str]]:
    """(member id, Telegram id, locale) of everyone it reaches, in member order."""
    query = (
        select(Member.id, Member.telegram_id, Member.locale)
        .where(*_chosen(f), ~_muted(f.kind), Member.unreachable_since.is_(None))
        .order_by(Member.id)
    )
    return [(row[0], row[1], row[2]) for row in (await session.execute(query)).all()]


async def count_muted(session: AsyncSession, broadcast_id: int, kind: str) -> None:
    await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.kind == kind)
        .values(muted=Broadcast.muted + 1)
    )


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


async def history(
    session: AsyncSession, regions: Collection[str] | None, offset: int, limit: int | None
) -> list[Broadcast]:
    """Past and current broadcasts, newest first; with `regions`, those of one of them and
    those of several regions (no single region_code: the caller checks their audience)."""
    query = select(Broadcast).where(Broadcast.status != "draft")
    if regions is not None:
        query = query.where(
            or_(Broadcast.region_code.in_(list(regions)), Broadcast.region_code.is_(None))
        )
    query = query.order_by(Broadcast.id.desc()).offset(offset).limit(limit)
    return list(await session.scalars(query))


async def live(
    session: AsyncSession, active: Collection[str], cancelled_since: datetime
) -> list[Broadcast]:
    """Broadcasts in the `active` states, and those cancelled since `cancelled_since`."""
    recently_cancelled = and_(
        Broadcast.status == "cancelled", Broadcast.finished_at > cancelled_since
    )
    query = select(Broadcast).where(or_(Broadcast.status.in_(list(active)), recently_cancelled))
    return list(await session.scalars(query.order_by(Broadcast.id)))


async def due(session: AsyncSession, now: datetime) -> list[int]:
    """Scheduled broadcasts whose time has come."""
    query = select(Broadcast.id).where(Broadcast.status == "scheduled", Broadcast.send_at <= now)
    return list(await session.scalars(query.order_by(Broadcast.id)))


async def signups_after(session: AsyncSession, broadcast: Broadcast, workshop_id: int) -> int:
    """Recipients who took a place (or a waiting place) for `workshop_id` after it started."""
    if broadcast.started_at is None:
        return 0
    received = select(OutboxRow.member_id).where(
        OutboxRow.broadcast_id == broadcast.id, OutboxRow.state == "sent"
    )
    query = select(func.count()).where(
        Signup.workshop_id == workshop_id,
        Signup.status.in_(("confirmed", "waiting")),
        Signup.created_at >= broadcast.started_at,
        Signup.member_id.in_(received),
    )
    return int(await session.scalar(query) or 0)


async def approvers(session: AsyncSession, regions: Collection[str] | None) -> list[int]:
    """Telegram ids of those granted a role that may approve a broadcast to `regions` (None:
    national): admins, national organisers, and organisers of every one of the regions."""
    rows = (await session.execute(select(Role.telegram_id, Role.role, Role.region_code))).all()
    held: dict[int, set[str | None]] = {}
    found: set[int] = set()
    for telegram_id, role, region in rows:
        if role == "admin":
            found.add(telegram_id)
        elif role == "organiser":
            held.setdefault(telegram_id, set()).add(region)
    for telegram_id, own in held.items():
        if None in own or (regions and set(regions) <= own):
            found.add(telegram_id)
    return sorted(found)


async def author_names(session: AsyncSession, telegram_ids: Collection[int]) -> dict[int, str]:
    query = select(Member.telegram_id, Member.first_name).where(
        Member.telegram_id.in_(list(telegram_ids))
    )
    return {row[0]: row[1] or f"#{row[0]}" for row in (await session.execute(query)).all()}


async def move(session: AsyncSession, broadcast_id: int, frm: Collection[str], to: str) -> bool:
    """Change its status from one of `frm` to `to`, if it still is in one: the transaction's
    first write, so of two workers (or two taps) doing the same step only one goes on."""
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status.in_(list(frm)))
        .values(status=to)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
