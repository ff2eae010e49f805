"""Queries about members and their consent records."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Consent, Member


async def by_telegram_id(session: AsyncSession, telegram_id: int) -> Member | None:
    return await session.scalar(select(Member).where(Member.telegram_id == telegram_id))


def add(session: AsyncSession, telegram_id: int, locale: str) -> Member:
    member = Member(telegram_id=telegram_id, locale=locale, onboarding_step="kind")
    session.add(member)
    return member


def add_consent(session: AsyncSession, member: Member, version: str, locale: str) -> Consent:
    consent = Consent(member=member, version=version, locale=locale)
    session.add(consent)
    return consent
