"""The first conversation: consent, then member or sympathiser, town, region.

The current step is stored on the member row, not in conversation state, so an onboarding
interrupted by the member (or by a restart of the bot) resumes where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.places import Place
from bot.settings import SUPPORTED_LOCALES
from storage.models import Member
from storage.repositories import members, regions

CONSENT_VERSION = "2026-11"


class Step(StrEnum):
    KIND = "kind"
    PLACE = "place"
    REGION = "region"
    DONE = "done"


ORDER = (Step.KIND, Step.PLACE, Step.REGION, Step.DONE)


class Kind(StrEnum):
    MEMBER = "member"
    SYMPATHISER = "sympathiser"


class StepClosed(Exception):
    """The member answered a question that is no longer open (a stale button)."""


class UnknownRegion(Exception):
    """A region code that is not configured (a forged or outdated button)."""


@dataclass(frozen=True, slots=True)
class Progress:
    number: int
    total: int


def progress(step: Step) -> Progress:
    """'Question 2 of 3', for the member's sense of how long this takes."""
    questions = ORDER[:-1]
    return Progress(questions.index(step) + 1, len(questions))


def _advance(member: Member, answered: Step) -> None:
    if member.onboarding_step != answered:
        raise StepClosed(answered)
    member.onboarding_step = ORDER[ORDER.index(answered) + 1]


async def give_consent(session: AsyncSession, telegram_id: int, locale: str) -> Member:
    """Create the member with their consent record; a second tap returns the same member."""
    existing = await members.by_telegram_id(session, telegram_id)
    if existing is not None:
        return existing
    member = members.add(session, telegram_id, locale)
    members.add_consent(session, member, CONSENT_VERSION, locale)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        existing = await members.by_telegram_id(session, telegram_id)
        if existing is None:
            raise
        return existing
    return member


async def answer_kind(session: AsyncSession, member: Member, kind: Kind | None) -> None:
    """Record member or sympathiser; None skips the question."""
    _advance(member, Step.KIND)
    if kind is not None:
        member.kind = kind.value
    await session.commit()


async def answer_place(session: AsyncSession, member: Member, place: Place | None) -> None:
    """Keep the town and its coordinates only: never the exact spot a member shared."""
    _advance(member, Step.PLACE)
    if place is not None:
        member.place_id = place.id
        member.town = place.name
        member.latitude = place.lat
        member.longitude = place.lon
    await session.commit()


async def answer_region(session: AsyncSession, member: Member, code: str | None) -> None:
    if code is not None and await regions.get(session, code) is None:
        raise UnknownRegion(code)
    _advance(member, Step.REGION)
    if code is not None:
        member.region_code = code
    await session.commit()


async def restart(session: AsyncSession, member: Member) -> None:
    """'Change my details': walk the questions again, answers kept until replaced."""
    member.onboarding_step = Step.KIND
    await session.commit()


async def set_locale(session: AsyncSession, member: Member, locale: str) -> None:
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(locale)
    member.locale = locale
    await session.commit()
