"""Project teams of 5-8 (seed 001: "project teams of diverse backgrounds").

Members say they are available (`set_available`, the /projectteam toggle); an organiser asks
for a team of a size for a topic and the skills it needs (`propose`); the bot picks, from
the available members the organiser may reach (a regional organiser: their region), a team
that covers the skills and is diverse; the organiser swaps people out (`swap`) and invites
them with one tap (`invite`, sent by the caller through the outbox); each answers yes or no
(`answer`) and the organiser is told.

The choice (`choose`) is greedy, in plain Python, and deterministic:

1. Each next person is the one who covers the most still-uncovered skills — the greedy
   set-cover step, within a factor ln(k) of the fewest people that could cover k skills.
2. Ties, and every place once the skills are covered, go to the largest diversity gain:
   for each of region, experience (the highest talent level on the needed skills, or any
   skill, or none) and member/sympathiser, 1 / (1 + how many on the team already share the
   candidate's value). So the least represented region, level and kind come first, and no
   group fills the team while another is available.
3. Then whoever was invited to fewer teams before (every member an equal chance, seed 000:
   no "high potentials"), then the member id (the same question gives the same team).

Nobody is on a team twice: the team is a set, and `team_members` has (team, member) as its
primary key; someone swapped out stays on the team as "removed" and is never proposed again
for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.roles import Grant, organiser_scope
from storage.models import Member
from storage.repositories import members
from storage.repositories import teams as repo
from storage.repositories.teams import Person

SMALLEST, LARGEST = 5, 8
LEVEL_RANK = {"some": 1, "experienced": 2, "teach": 3}
ON_TEAM = ("proposed", "invited", "yes", "no", "undelivered")  # shown on the card
SWAPPABLE = ("proposed", "no", "undelivered")


class TeamError(Exception):
    """Something an organiser or member cannot do; the handler explains which."""


class NotAllowed(TeamError):
    pass


class BadSize(TeamError):
    pass


class TooManySkills(TeamError):
    """More skills than places: nobody could say which to leave out."""


class TooFew(TeamError):
    """Fewer available members than places."""

    def __init__(self, available: int, size: int) -> None:
        super().__init__(available, size)
        self.available = available
        self.size = size


class NotOnTeam(TeamError):
    pass


class NotPending(TeamError):
    pass


def experience(person: Person, needed: Iterable[int]) -> int:
    """0 (no talent, or no level given) to 3 (can teach): the best level on the needed
    skills, else on any."""
    on_needed = [LEVEL_RANK.get(person.levels[s] or "", 0) for s in needed if s in person.levels]
    if on_needed:
        return max(on_needed)
    return max((LEVEL_RANK.get(level or "", 0) for level in person.levels.values()), default=0)


def covers(person: Person, needed: Iterable[int]) -> set[int]:
    return {s for s in needed if s in person.levels}


def diversity_gain(team: Sequence[Person], person: Person, needed: Sequence[int]) -> float:
    regions = Counter(p.region_code for p in team)
    levels = Counter(experience(p, needed) for p in team)
    kinds = Counter(p.kind for p in team)
    gain = (
        1 / (1 + regions[person.region_code])
        + 1 / (1 + levels[experience(person, needed)])
        + 1 / (1 + kinds[person.kind])
    )
    return round(gain, 9)


def choose(
    pool: Sequence[Person],
    needed: Sequence[int],
    size: int,
    team: Sequence[Person] = (),
    exclude: Iterable[int] = (),
) -> list[Person]:
    """The team: `team` as it is, completed to `size` from `pool` (see the module's doc)."""
    chosen = list(team)
    taken = {p.member_id for p in chosen} | set(exclude)
    available = list({p.member_id: p for p in pool if p.member_id not in taken}.values())
    while len(chosen) < size and available:
        covered = set().union(*(covers(p, needed) for p in chosen))
        uncovered = set(needed) - covered

        def score(p: Person, uncovered: set[int] = uncovered) -> tuple[int, float, int, int]:
            return (
                len(covers(p, uncovered)),
                diversity_gain(chosen, p, needed),
                -p.invited_before,
                -p.member_id,
            )

        best = max(available, key=score)
        chosen.append(best)
        available.remove(best)
    return chosen


@dataclass(frozen=True, slots=True)
class Seat:
    person: Person
    status: str  # proposed | invited | yes | no | undelivered


@dataclass(frozen=True, slots=True)
class Team:
    id: int
    organiser_id: int | None
    topic: str
    size: int
    skill_ids: list[int]
    status: str  # draft | invited
    seats: list[Seat]
    missing: list[int]  # needed skills nobody on the team has

    def count(self, status: str) -> int:
        return sum(1 for seat in self.seats if seat.status == status)


async def set_available(session: AsyncSession, member: Member, on: bool, now: datetime) -> None:
    await repo.set_available(session, member.id, on, now)
    await session.commit()


async def is_available(session: AsyncSession, member: Member) -> bool:
    return await repo.is_available(session, member.id)


def _scope_regions(grants: frozenset[Grant]) -> frozenset[str] | None:
    scope = organiser_scope(grants)
    if scope is None:
        raise NotAllowed
    return scope.regions


async def propose(
    session: AsyncSession,
    *,
    actor_id: int,
    grants: frozenset[Grant],
    size: int,
    skill_ids: Sequence[int],
    topic: str,
    now: datetime,
) -> Team:
    """A new team proposal, saved as a draft the organiser can change and then invite."""
    regions = _scope_regions(grants)
    if not SMALLEST <= size <= LARGEST:
        raise BadSize(size)
    needed = list(dict.fromkeys(skill_ids))
    if len(needed) > size:
        raise TooManySkills(len(needed))
    pool = await repo.pool(session, regions)
    if len(pool) < size:
        raise TooFew(len(pool), size)
    chosen = choose(pool, needed, size)
    team_id = await repo.create(
        session, organiser_id=actor_id, topic=topic, size=size, skill_ids=needed,
        regions=regions, now=now,
    )  # fmt: skip
    await repo.add_members(session, team_id, [p.member_id for p in chosen])
    await session.commit()
    found = await get(session, team_id)
    assert found is not None
    return found


async def get(session: AsyncSession, team_id: int) -> Team | None:
    row = await repo.get(session, team_id)
    if row is None:
        return None
    on = [(m, s) for m, s in await repo.members_of(session, team_id) if s in ON_TEAM]
    people = await _people(session, row.regions, [m for m, _s in on])
    seats = [Seat(people[m], s) for m, s in on if m in people]
    covered = set().union(*(covers(seat.person, row.skill_ids) for seat in seats))
    missing = [s for s in row.skill_ids if s not in covered]
    return Team(
        row.id, row.organiser_id, row.topic, row.size, list(row.skill_ids), row.status, seats,
        missing,
    )  # fmt: skip


async def _people(
    session: AsyncSession, regions: list[str] | None, member_ids: list[int]
) -> dict[int, Person]:
    """The team's people as the choice sees them; also those no longer available (they
    stay on the card with what we know of them)."""
    by_id = {p.member_id: p for p in await repo.pool(session, regions)}
    gone = [m for m in member_ids if m not in by_id]
    for member_id, member in (await members.by_ids(session, gone)).items():
        by_id[member_id] = Person(member.id, member.first_name, member.region_code, member.kind)
    return by_id


async def _own_team(
    session: AsyncSession, actor_id: int, grants: frozenset[Grant], team_id: int
) -> Any:
    """The team, if this organiser asked for it (or acts everywhere)."""
    scope = organiser_scope(grants)
    row = await repo.get(session, team_id)
    if scope is None or row is None:
        raise NotAllowed
    if row.organiser_id != actor_id and not scope.everywhere:
        raise NotAllowed
    return row


async def swap(
    session: AsyncSession,
    *,
    actor_id: int,
    grants: frozenset[Grant],
    team_id: int,
    member_id: int,
) -> tuple[Team, Person | None]:
    """Take someone off the team (not yet invited, or who said no) and put the best next
    person in their place; None when nobody is left to take it."""
    row = await _own_team(session, actor_id, grants, team_id)
    if not await repo.move(session, team_id, [member_id], SWAPPABLE, "removed"):
        await session.rollback()
        raise NotOnTeam(member_id)
    everyone = await repo.members_of(session, team_id)
    staying = [m for m, s in everyone if s in ON_TEAM]
    pool = await repo.pool(session, row.regions)
    by_id = {p.member_id: p for p in pool}
    team = [by_id[m] for m in staying if m in by_id]
    chosen = choose(pool, row.skill_ids, len(team) + 1, team, [m for m, _s in everyone])
    added = chosen[len(team) :]
    await repo.add_members(session, team_id, [p.member_id for p in added])
    await session.commit()
    found = await get(session, team_id)
    assert found is not None
    return found, (added[0] if added else None)


async def invite(
    session: AsyncSession, *, actor_id: int, grants: frozenset[Grant], team_id: int
) -> list[int]:
    """Mark everyone proposed as invited; the caller sends them the question."""
    await _own_team(session, actor_id, grants, team_id)
    invited = await repo.move(session, team_id, None, ("proposed",), "invited")
    await repo.set_status(session, team_id, "invited")
    await session.commit()
    return invited


async def undelivered(session: AsyncSession, team_id: int, member_id: int) -> None:
    await repo.move(session, team_id, [member_id], ("invited",), "undelivered")
    await session.commit()


async def answer(
    session: AsyncSession, *, member_id: int, team_id: int, yes: bool, now: datetime
) -> Team:
    """The invitee's yes or no, once, and only to their own invitation."""
    new = "yes" if yes else "no"
    if not await repo.move(session, team_id, [member_id], ("invited",), new, now):
        await session.rollback()
        raise NotPending(team_id)
    await session.commit()
    found = await get(session, team_id)
    assert found is not None
    return found


async def locale_of(session: AsyncSession, telegram_id: int) -> str | None:
    """The organiser's language, when they are a member (an ADMIN_IDS admin may not be)."""
    found = await members.by_telegram_id(session, telegram_id)
    return found.locale if found else None
