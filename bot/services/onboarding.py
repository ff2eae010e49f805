"""The first conversation: consent, then member or sympathiser, town, region.

The current step is stored on the member row, not in conversation state, so an onboarding
interrupted by the member (or by a restart of the bot) resumes where it stopped. Each answer
moves the step with a conditional UPDATE, so of two quick taps on the same question exactly
one wins and the other is told the question is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services import regions, roles
from bot.services.places import Place, default_gazetteer
from bot.settings import SUPPORTED_LOCALES
from storage.models import Member
from storage.repositories import members
from storage.repositories.regions import Configured

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
    """The member answered a question that is no longer open (a stale or repeated tap)."""


class UnknownRegion(Exception):
    """A region code that is not offered to this member (forged or outdated button)."""


@dataclass(frozen=True, slots=True)
class Progress:
    number: int
    total: int


def progress(step: Step) -> Progress:
    """'Question 2 of 3', for the member's sense of how long this takes."""
    questions = ORDER[:-1]
    return Progress(questions.index(step) + 1, len(questions))


async def _answer(
    session: AsyncSession, member: Member, answered: Step, following: Step, **values: Any
) -> None:
    """Record an answer only if the question is still open, and move on: atomically."""
    result = await session.execute(
        update(Member)
        .where(Member.id == member.id, Member.onboarding_step == answered)
        .values(onboarding_step=following, updated_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        await session.rollback()
        await session.refresh(member)
        raise StepClosed(answered)
    await session.commit()
    await session.refresh(member)


async def give_consent(
    session: AsyncSession, telegram_id: int, locale: str, first_name: str | None = None
) -> tuple[Member, bool]:
    """Create the member with their consent record: (member, True) for the tap that did it,
    (member, False) for a repeated tap.

    The first name is kept so organisers who search the talent base see whom they found.
    """
    existing = await members.by_telegram_id(session, telegram_id)
    if existing is not None:
        return existing, False
    member = members.add(session, telegram_id, locale, (first_name or "")[:64] or None)
    members.add_consent(session, member, CONSENT_VERSION, locale)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        existing = await members.by_telegram_id(session, telegram_id)
        if existing is None:
            raise
        return existing, False
    return member, True


async def answer_kind(session: AsyncSession, member: Member, kind: Kind | None) -> None:
    """Record member or sympathiser; None skips (an earlier answer is kept)."""
    values = {"kind": kind.value} if kind is not None else {}
    await _answer(session, member, Step.KIND, Step.PLACE, **values)


def current_place(member: Member) -> Place | None:
    return default_gazetteer().get(member.place_id) if member.place_id else None


async def member_of(session: AsyncSession, telegram_id: int) -> Member | None:
    """The member behind a Telegram id, or None before consent (or after erasure)."""
    return await members.by_telegram_id(session, telegram_id)


async def member_and_grants(
    session: AsyncSession, telegram_id: int, admin_ids: frozenset[int]
) -> tuple[Member | None, frozenset[roles.Grant]]:
    """Who is writing and what they may do: one query for a member; before consent (no
    member yet) roles may still have been granted to the Telegram account, read apart."""
    member, rows = await members.with_roles(session, telegram_id)
    if member is None:
        return None, await roles.grants_of(session, telegram_id, admin_ids)
    return member, roles.grants_from(rows, telegram_id, admin_ids)


async def region_of(session: AsyncSession, member: Member) -> Configured | None:
    """The member's region, for showing its name."""
    code = member.region_code
    return next((r for r in await regions.configured(session) if r.code == code), None)


async def regions_for(session: AsyncSession, member: Member) -> list[Configured]:
    """The regions this member can choose from, given where they live."""
    return regions.relevant(current_place(member), await regions.configured(session))


async def answer_place(session: AsyncSession, member: Member, place: Place | None) -> None:
    """Keep the town and its coordinates only: never the exact spot a member shared.

    Where the organisation has no regions for that country the region question is skipped,
    and a region that no longer fits the new town is cleared.
    """
    values: dict[str, Any] = {}
    if place is not None:
        values = {"place_id": place.id, "town": place.name}
        values |= {"latitude": place.lat, "longitude": place.lon}
    effective = place or current_place(member)
    fitting = regions.relevant(effective, await regions.configured(session))
    if member.region_code and member.region_code not in {r.code for r in fitting}:
        values["region_code"] = None
    following = Step.REGION if fitting else Step.DONE
    await _answer(session, member, Step.PLACE, following, **values)


async def answer_region(session: AsyncSession, member: Member, code: str | None) -> None:
    if code is not None and code not in {r.code for r in await regions_for(session, member)}:
        raise UnknownRegion(code)
    values = {"region_code": code} if code is not None else {}
    await _answer(session, member, Step.REGION, Step.DONE, **values)


async def restart(session: AsyncSession, member: Member) -> None:
    """'Change my details': walk the questions again, answers kept until replaced."""
    member.onboarding_step = Step.KIND
    await session.commit()


async def set_locale(session: AsyncSession, member: Member, locale: str) -> None:
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(locale)
    member.locale = locale
    await session.commit()


async def refresh_username(session: AsyncSession, member: Member, username: str | None) -> bool:
    """Follow the member's current Telegram @username; True when it was written.

    A name stored once goes stale: someone else may claim an abandoned name and receive what
    was meant for this member. It is kept only while the member allows direct contact, and
    written only when it changed, since this runs on every update.
    """
    wanted = (username or None) if member.contact_direct else None
    if member.username == wanted:
        return False
    member.username = wanted
    await session.commit()
    return True
