"""The talent base: organisers find members who can do something, and ask to contact them.

Only members who chose to be findable appear; a regional organiser sees only their region;
every search and contact request is written to the audit log (who, when, what was asked —
never whom it found). Contact goes through the bot unless the member allowed direct contact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services import regions as region_list
from bot.services.places import Gazetteer, Place, default_gazetteer, haversine_km
from bot.services.roles import Grant, Scope, organiser_scope
from bot.services.skill_match import SkillMatch, SkillMatcher
from storage.models import ContactRequest, Member, Skill
from storage.repositories import contacts, members, skills, talent
from storage.repositories.regions import Configured
from storage.repositories.talent import Row

PAGE_SIZE = 5
# Matches are counted exactly up to this many ("more than 1,000 found" past it): an organiser
# needs the nearest first page, and an exact count of a common skill reads every match.
COUNT_CAP = 1000
# After a "no", the same organiser waits this long before asking that member again.
DECLINE_PAUSE = timedelta(days=90)
DEFAULT_PER_DAY = 20  # the CONTACT_REQUESTS_PER_DAY setting's default
NEAR_WORDS = ("bij", "nabij", "rond", "near", "around", "nära", "vid", "runt")


class TalentError(Exception):
    """A search or request that cannot be done; the handler explains which."""


class NotAllowed(TalentError):
    pass


class OutOfScope(TalentError):
    """A region (or a member) outside the organiser's own region."""


class NotFindable(TalentError):
    """The member is gone, paused being findable, or blocked the bot."""


class AlreadyAsked(TalentError):
    pass


class NotPending(TalentError):
    pass


class NotListed(TalentError):
    """The skill (from a button) is not one the member listed as a talent."""


class NoRequests(TalentError):
    """The member asked never to be asked again."""


class DeclinedRecently(TalentError):
    """The member said no to this organiser less than DECLINE_PAUSE ago."""

    def __init__(self, declined_at: datetime) -> None:
        super().__init__(declined_at)
        self.declined_at = declined_at
        self.again_from = declined_at + DECLINE_PAUSE


class DailyLimit(TalentError):
    """The organiser asked as many members today (UTC) as one may."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Parsed:
    """What an organiser typed, understood: skill candidates, a region, a town."""

    skills: list[SkillMatch]
    sure: bool
    region: str | None
    near: Place | None


def parse(
    text: str,
    matcher: SkillMatcher,
    regions: Sequence[Configured],
    gazetteer: Gazetteer | None = None,
) -> Parsed:
    """'begroting oost', 'debatteren bij Zwolle', 'public speaking west near Utrecht'."""
    gazetteer = gazetteer or default_gazetteer()
    words = text.split()
    near: Place | None = None
    for i, word in enumerate(words):
        if word.casefold() in NEAR_WORDS and i + 1 < len(words):
            found = gazetteer.search(" ".join(words[i + 1 :]), limit=1)
            near = found[0].place if found else None
            words = words[:i]
            break
    region: str | None = None
    by_name = {r.code.casefold(): r.code for r in regions} | {
        r.name.casefold(): r.code for r in regions
    }
    if words and words[-1].casefold() in by_name:
        region = by_name[words.pop().casefold()]
    skill_text = re.sub(r"\s+", " ", " ".join(words)).strip()
    found_skills = matcher.match(skill_text, limit=3) if skill_text else []
    return Parsed(found_skills, matcher.is_sure(found_skills), region, near)


@dataclass(frozen=True, slots=True)
class Hit:
    row: Row
    distance_km: float | None


@dataclass(frozen=True, slots=True)
class Results:
    skill_id: int
    region: str | None
    near: Place | None
    total: int  # exact, or with `more` the count it stopped at
    offset: int
    hits: list[Hit]
    more: bool = False  # more than `total` found


def counted_to(offset: int) -> int:
    """How far a page's matches are counted: COUNT_CAP, or the next multiple of it that lies
    past the page, so that "more" always means there is a next page to go to."""
    return max(COUNT_CAP * (offset // COUNT_CAP + 1), offset + PAGE_SIZE)


def _allowed_regions(scope: Scope, region: str | None) -> frozenset[str] | None:
    if region is not None:
        if not scope.allows(region):
            raise OutOfScope(region)
        return frozenset({region})
    return scope.regions


async def search(
    session: AsyncSession,
    *,
    actor_id: int,
    grants: frozenset[Grant],
    skill_id: int,
    region: str | None,
    near: Place | None,
    offset: int = 0,
    query_text: str | None = None,
    new_search: bool | None = None,
) -> Results:
    """One page of members with this talent. A new search (by default: a first page) is
    audited; paging back to the first page is not a new search."""
    scope = organiser_scope(grants)
    if scope is None:
        raise NotAllowed
    if region is not None and not await region_list.known(session, region):
        raise OutOfScope(region)
    allowed = _allowed_regions(scope, region)
    offset = max(0, offset)
    point = (near.lat, near.lon) if near else None
    count_to = counted_to(offset)
    rows, total = await talent.page(session, skill_id, allowed, point, offset, PAGE_SIZE, count_to)
    if not rows and offset > 0:  # paged past the end (the list shrank): count it afresh
        _none, total = await talent.page(session, skill_id, allowed, point, 0, 1, count_to)
    more = total > count_to
    total = min(total, count_to)
    hits = [
        Hit(
            r,
            haversine_km(near.lat, near.lon, r.latitude, r.longitude)
            if near and r.latitude is not None and r.longitude is not None
            else None,
        )
        for r in rows
    ]
    if (offset == 0) if new_search is None else new_search:
        counted = total + 1 if more else total  # 1,001: "more than 1,000"
        contacts.audit(
            session, actor_id, "search", query_text or f"skill:{skill_id}", region, counted
        )
        await session.commit()
    return Results(skill_id, region, near, total, offset, hits, more)


async def request_contact(
    session: AsyncSession,
    *,
    actor_id: int,
    grants: frozenset[Grant],
    member_id: int,
    skill_id: int | None,
    per_day: int = DEFAULT_PER_DAY,
) -> ContactRequest:
    """Ask a findable member, through the bot, whether this organiser may contact them.

    Refused (a typed TalentError) unless the member listed the skill, takes requests, did
    not say no to this organiser in the last 90 days, and the organiser is under the daily
    limit: a request button must not become a way to pester someone.
    """
    scope = organiser_scope(grants)
    if scope is None:
        raise NotAllowed
    member = await members.by_id(session, member_id)
    if member is None or not member.findable or member.unreachable_since is not None:
        raise NotFindable(member_id)
    if not scope.allows(member.region_code):
        raise OutOfScope(member.region_code)
    if skill_id is None or not await talent.lists_talent(session, member_id, skill_id):
        raise NotListed(skill_id)
    now = clock.now()
    await _check_not_pestering(session, actor_id, member, now, per_day)
    request = ContactRequest(
        requester_id=actor_id, member_id=member_id, skill_id=skill_id, created_at=now
    )
    session.add(request)
    contacts.audit(session, actor_id, "contact_request", f"skill:{skill_id}", member.region_code)
    await session.commit()
    return request


async def _check_not_pestering(
    session: AsyncSession, actor_id: int, member: Member, now: datetime, per_day: int
) -> None:
    if member.no_contact_requests:
        raise NoRequests(member.id)
    if await contacts.pending(session, actor_id, member.id) is not None:
        raise AlreadyAsked(member.id)
    declined = await contacts.last_declined(session, actor_id, member.id)
    if declined is not None and now < declined + DECLINE_PAUSE:
        raise DeclinedRecently(declined)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if await contacts.count_since(session, actor_id, midnight) >= per_day:
        raise DailyLimit(per_day)


async def answer_contact(
    session: AsyncSession,
    *,
    member_id: int,
    request_id: int,
    accept: bool,
    never: bool = False,
) -> ContactRequest:
    """The member says yes, no, or no and never again; only to a request addressed to them,
    and only once (a conditional update, so two quick taps cannot both answer)."""
    status = "accepted" if accept and not never else "declined"
    if not await contacts.answer(session, request_id, member_id, status, clock.now()):
        await session.rollback()
        raise NotPending(request_id)
    if never:
        member = await members.by_id(session, member_id)
        assert member is not None  # the request addressed to them exists
        member.no_contact_requests = True
    await session.commit()
    request = await contacts.get(session, request_id)
    assert request is not None
    await session.refresh(request)
    return request


async def undelivered(session: AsyncSession, request_id: int) -> None:
    """The question never reached the member: the request is closed as undelivered, so it
    neither waits for an answer nor stops the organiser from asking again later."""
    await contacts.close_undelivered(session, request_id, clock.now())
    await session.commit()


async def regions(session: AsyncSession) -> list[Configured]:
    """Every region, for reading a search and naming regions in the results."""
    return await region_list.configured(session)


async def skill(session: AsyncSession, skill_id: int | None) -> Skill | None:
    return await skills.get(session, skill_id) if skill_id else None


@dataclass(frozen=True, slots=True)
class Parties:
    """Who a contact request is between, and about what."""

    member: Member
    organiser: Member | None  # None: the organiser has no member row (an ADMIN_IDS admin)
    skill: Skill | None


async def parties(session: AsyncSession, request: ContactRequest) -> Parties:
    member = await members.by_id(session, request.member_id)
    assert member is not None  # requests are deleted with their member
    organiser = (
        await members.by_telegram_id(session, request.requester_id)
        if request.requester_id is not None
        else None
    )
    return Parties(member, organiser, await skill(session, request.skill_id))
