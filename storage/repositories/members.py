"""Queries about members and their consent records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Consent, Member, Role


@dataclass(frozen=True, slots=True)
class Brief:
    """What a sign-up decision needs of a member: no ORM object on the hot path."""

    id: int
    kind: str | None
    locale: str


async def with_roles(
    session: AsyncSession, telegram_id: int
) -> tuple[Member | None, list[tuple[str, str | None]]]:
    """The member and their granted roles (role, region) in one query: every update needs
    both, and a second round trip per update showed in the per-update cost."""
    rows = (
        await session.execute(
            select(Member, Role.role, Role.region_code)
            .outerjoin(Role, Role.telegram_id == Member.telegram_id)
            .where(Member.telegram_id == telegram_id)
        )
    ).all()
    if not rows:
        return None, []
    return rows[0][0], [(role, region) for _m, role, region in rows if role is not None]


async def by_telegram_id(session: AsyncSession, telegram_id: int) -> Member | None:
    return await session.scalar(select(Member).where(Member.telegram_id == telegram_id))


def add(
    session: AsyncSession, telegram_id: int, locale: str, first_name: str | None = None
) -> Member:
    member = Member(
        telegram_id=telegram_id, locale=locale, first_name=first_name, onboarding_step="kind"
    )
    session.add(member)
    return member


def add_consent(session: AsyncSession, member: Member, version: str, locale: str) -> Consent:
    consent = Consent(member=member, version=version, locale=locale)
    session.add(consent)
    return consent


async def consent_of(session: AsyncSession, member_id: int) -> Consent | None:
    """The member's consent record (the first, should there ever be more)."""
    return await session.scalar(
        select(Consent).where(Consent.member_id == member_id).order_by(Consent.id).limit(1)
    )


async def by_id(session: AsyncSession, member_id: int) -> Member | None:
    return await session.get(Member, member_id)


async def by_ids(session: AsyncSession, member_ids: Iterable[int]) -> dict[int, Member]:
    """Several members in one query, by id (ids of erased members are simply absent)."""
    ids = set(member_ids)
    if not ids:
        return {}
    found = await session.scalars(select(Member).where(Member.id.in_(ids)))
    return {member.id: member for member in found}
