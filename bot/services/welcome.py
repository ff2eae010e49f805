"""Welcome follow-up: every new member personally contacted by a volunteer of their region
(seed 003: "every new member personally contacted").

The invariant: a member has at most one welcome (a unique row), and it is given out under
one lock (`storage/repositories/welcome.py` `hold`), so two workers running the pass at once
never assign a member twice and count every volunteer's load as it really is. The rotation is
fair: the volunteer with the fewest open welcomes first; on a tie the one who was given one
least recently (never before counts as longest ago). A member who said "please do not contact
me" has a declined welcome: no pass assigns them, and an open assignment is withdrawn.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.roles import Scope
from storage.models import Member, MemberSkill
from storage.repositories import members as member_repo
from storage.repositories import skills as skill_repo
from storage.repositories import welcome as repo
from storage.repositories.welcome import (  # the states, for the views
    CONTACTED,
    DECLINED,
    OPEN,
    UNREACHED,
    WAITING,
    Volunteer,
    Welcome,
)

__all__ = ["CONTACTED", "DECLINED", "OPEN", "UNREACHED", "WAITING", "Welcome"]

OVERDUE_AFTER = timedelta(days=14)  # organisers see who is not contacted after this
PAGE_SIZE = 8
_NEVER = datetime.min.replace(tzinfo=UTC)


class WelcomeError(Exception):
    """Base of the reasons a welcome action is refused; the handler explains each."""


class NotYours(WelcomeError):
    """A card of another volunteer's (or of a welcome that is gone)."""


class AlreadyDone(WelcomeError):
    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


class NotAllowed(WelcomeError):
    """An organiser outside the welcome's region."""


class NoVolunteer(WelcomeError):
    """Nobody else in the region to give it to."""


@dataclass(frozen=True, slots=True)
class Assigned:
    """A welcome given to a volunteer: whose card to send to whom."""

    welcome_id: int
    member_id: int
    volunteer_member_id: int
    volunteer_id: int  # Telegram id


@dataclass(frozen=True, slots=True)
class Wish:
    """A learning wish as plain values: the catalogue's names per language, or as typed."""

    typed: str
    names: dict[str, str] | None

    def label(self, locale: str) -> str:
        return (self.names or {}).get(locale) or self.typed


@dataclass(frozen=True, slots=True)
class Card:
    """What a volunteer may see of a new member: only what the member agreed to share."""

    welcome_id: int
    first_name: str
    region_code: str | None
    wishes: tuple[Wish, ...]  # empty unless the member lets organisers find them
    username: str | None  # only when the member chose direct contact


@dataclass(frozen=True, slots=True)
class Overview:
    total: int
    page: int
    pages: int
    rows: list[Welcome]
    volunteer_names: dict[int, str]  # Telegram id -> first name


def pick(pool: Iterable[Volunteer], exclude: Iterable[int] = ()) -> Volunteer | None:
    """The next volunteer in the rotation, or None when there is nobody."""
    skip = set(exclude)
    choices = [v for v in pool if v.telegram_id not in skip]
    if not choices:
        return None
    return min(choices, key=lambda v: (v.open, v.last_assigned or _NEVER, v.telegram_id))


async def assign_due(
    session: AsyncSession,
    now: datetime,
    days: int,
    before_commit: Callable[[list[Assigned]], Awaitable[None]] | None = None,
) -> list[Assigned]:
    """The scheduler's pass: give every new member (consented in the last `days` days) and
    every one still waiting to a volunteer of their region; without one in the region the
    welcome waits (organisers see it). One transaction under the lock; committed.
    `before_commit` writes the volunteers' cards in the same transaction (into the outbox), so
    a crash loses neither an assignment nor its card."""
    since = now - timedelta(days=days)
    if not await repo.newcomers(session, since):  # the usual minute: no lock taken
        await session.commit()
        return []
    try:
        await repo.hold(session)
        newcomers = await repo.newcomers(session, since)  # again, now that it is ours
        pool: dict[str, list[Volunteer]] = defaultdict(list)
        for volunteer in await repo.volunteers(session, {n.region_code for n in newcomers}):
            pool[volunteer.region_code].append(volunteer)
        done: list[Assigned] = []
        for n in newcomers:
            chosen = pick(pool[n.region_code], exclude=(n.telegram_id,))
            if chosen is None:
                if n.welcome_id is None:
                    await repo.add(session, n.member_id, n.region_code, repo.WAITING, n.joined_at)
                continue
            if n.welcome_id is None:
                welcome_id = await repo.add(
                    session, n.member_id, n.region_code, repo.OPEN, n.joined_at,
                    volunteer_id=chosen.telegram_id, at=now,
                )  # fmt: skip
            else:
                welcome_id = n.welcome_id
                await repo.assign(session, welcome_id, chosen.telegram_id, now, n.region_code)
            chosen.open += 1
            chosen.last_assigned = now
            done.append(Assigned(welcome_id, n.member_id, chosen.member_id, chosen.telegram_id))
        if before_commit is not None and done:
            await before_commit(done)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return done


async def card(session: AsyncSession, welcome_id: int) -> Card | None:
    """The volunteer's card of a welcome, or None when it is gone."""
    found = await repo.get(session, welcome_id)
    if found is None:
        return None
    member = await member_repo.by_id(session, found.member_id)
    if member is None:
        return None
    wishes: tuple[MemberSkill, ...] = ()
    if member.findable:  # the member agreed that organisers see their profile
        rows = await skill_repo.of_member(session, member.id)
        wishes = tuple(_wish(r) for r in rows if r.kind == "wish" and r.status == "ok")
    username = member.username if member.contact_direct and member.username else None
    return Card(welcome_id, member.first_name or "", found.region_code, wishes, username)


def _wish(row: MemberSkill) -> Wish:
    skill = row.skill
    if skill is None:
        return Wish(row.typed_text, None)
    return Wish(row.typed_text, {"nl": skill.name_nl, "en": skill.name_en, "sv": skill.name_sv})


async def mark(
    session: AsyncSession, welcome_id: int, volunteer_id: int, contacted: bool, now: datetime
) -> Welcome:
    """The volunteer's "contacted" or "could not reach", once, and only on their own card."""
    state = repo.CONTACTED if contacted else repo.UNREACHED
    if not await repo.finish(session, welcome_id, volunteer_id, state, now):
        found = await repo.get(session, welcome_id)
        if found is None or found.volunteer_id != volunteer_id:
            raise NotYours(welcome_id)
        raise AlreadyDone(found.state)
    await session.commit()
    found = await repo.get(session, welcome_id)
    assert found is not None
    return found


async def of_member(session: AsyncSession, member: Member) -> Welcome | None:
    return await repo.of_member(session, member.id)


async def decline(session: AsyncSession, member: Member, now: datetime) -> int | None:
    """The member's "please do not contact me": no welcome is assigned, an open one is
    withdrawn from its volunteer (whose tap then says so). A welcome already done stays as
    it was. Returns the member id of the volunteer whose open welcome was withdrawn, to tell
    them."""
    before = await repo.of_member(session, member.id)
    withdrawn = None
    if before is not None and before.state == repo.OPEN and before.volunteer_id is not None:
        withdrawn = await repo.member_id_of(session, before.volunteer_id)
    if before is None:
        await repo.add(
            session, member.id, member.region_code, repo.DECLINED, member.created_at, at=now
        )
    elif before.state in (repo.WAITING, repo.OPEN, repo.UNREACHED):
        await repo.decline(session, before.id, now)
    await session.commit()
    return withdrawn


async def allow(session: AsyncSession, member: Member) -> None:
    """Changed their mind: a declined welcome is forgotten, so the next pass assigns them
    (while they are still new)."""
    found = await repo.of_member(session, member.id)
    if found is not None and found.state == repo.DECLINED:
        await repo.remove(session, found.id)
    await session.commit()


async def reassign(session: AsyncSession, welcome_id: int, scope: Scope, now: datetime) -> Assigned:
    """An organiser gives a welcome not yet contacted to the next volunteer in the rotation
    (not the one who has it)."""
    try:
        await repo.hold(session)
        found = await repo.get(session, welcome_id)
        if found is None or found.state not in repo.NOT_CONTACTED:
            raise AlreadyDone(found.state if found else "gone")
        if not scope.allows(found.region_code):
            raise NotAllowed(welcome_id)
        member = await member_repo.by_id(session, found.member_id)
        assert member is not None  # the row goes with the member (ON DELETE CASCADE)
        region = member.region_code or found.region_code
        pool = await repo.volunteers(session, {region} if region else set())
        exclude = (member.telegram_id, found.volunteer_id or 0)
        chosen = pick(pool, exclude=exclude)
        if chosen is None:
            raise NoVolunteer(welcome_id)
        await repo.assign(session, welcome_id, chosen.telegram_id, now, region)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return Assigned(welcome_id, found.member_id, chosen.member_id, chosen.telegram_id)


async def overview(session: AsyncSession, scope: Scope, now: datetime, page: int) -> Overview:
    """The organisers' list: welcomes not contacted 14 days after joining (and those with
    no volunteer at all), in the organiser's regions, oldest first, a page at a time."""
    before = now - OVERDUE_AFTER
    total = await repo.count_overdue(session, scope.regions, before)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)  # a stale page number: the nearest one there is
    rows = await repo.overdue(session, scope.regions, before, page * PAGE_SIZE, PAGE_SIZE)
    ids = {r.volunteer_id for r in rows if r.volunteer_id is not None}
    names = await repo.first_names(session, ids)
    return Overview(total, page, pages, rows, names)


async def mine(session: AsyncSession, welcome_id: int, volunteer_id: int) -> Welcome:
    """A welcome the volunteer may act on (introduce themselves): theirs, and still open."""
    found = await repo.get(session, welcome_id)
    if found is None or found.volunteer_id != volunteer_id:
        raise NotYours(welcome_id)
    if found.state != repo.OPEN:
        raise AlreadyDone(found.state)
    return found


async def volunteers_by_id(session: AsyncSession, member_ids: Iterable[int]) -> dict[int, Member]:
    """The volunteers' member rows: where their cards go, in which language."""
    return await member_repo.by_ids(session, member_ids)


async def open_of(session: AsyncSession, volunteer_id: int) -> list[Welcome]:
    """A volunteer's welcomes still to do."""
    return await repo.open_of(session, volunteer_id)
