"""Project teams: the choice (coverage, diversity, nobody twice, an equal chance) as plain
Python, and the service on both databases (availability, scope, swap, invite, answers)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import create_i18n
from bot.services import teams
from bot.services.roles import Grant, RoleName
from handlers.teams import render
from storage.models import Member, Skill
from storage.repositories.teams import Person
from tests import factories

NOW = factories.NOW
DEBATE, BUDGET, MEDIA, SPEAK = 1, 2, 3, 4
REGIONS = ("noord", "oost", "west", "zuid")
LEVELS = (None, "some", "experienced", "teach")


def person(mid: int, region: str = "oost", kind: str = "member", **levels: str | None) -> Person:
    names = {"debate": DEBATE, "budget": BUDGET, "media": MEDIA, "speak": SPEAK}
    return Person(mid, f"P{mid}", region, kind, {names[k]: v for k, v in levels.items()})


def random_pool(seed: int, n: int = 60) -> list[Person]:
    rnd = random.Random(seed)
    pool = []
    for mid in range(1, n + 1):
        skills = rnd.sample([DEBATE, BUDGET, MEDIA, SPEAK], rnd.randint(0, 2))
        levels = {s: rnd.choice(LEVELS) for s in skills}
        region = rnd.choices(REGIONS, weights=(1, 6, 2, 1))[0]  # oost dominates
        kind = rnd.choices(("member", "sympathiser"), weights=(5, 1))[0]
        pool.append(Person(mid, f"P{mid}", region, kind, levels, rnd.randint(0, 3)))
    return pool


def test_covers_every_needed_skill_someone_has() -> None:
    pool = [person(i) for i in range(1, 20)] + [
        person(20, budget="teach"),
        person(21, media="some"),
        person(22, speak="experienced", media="some"),
    ]
    team = teams.choose(pool, [BUDGET, MEDIA, SPEAK], 5)
    covered = set().union(*(teams.covers(p, [BUDGET, MEDIA, SPEAK]) for p in team))
    assert covered == {BUDGET, MEDIA, SPEAK}
    assert {20, 22} <= {p.member_id for p in team}  # 22 covers two: no need for 21


@pytest.mark.parametrize("seed", range(30))
def test_random_pools_coverage_diversity_nobody_twice(seed: int) -> None:
    pool = random_pool(seed)
    pool += pool[:5]  # the same person twice in the pool: still once on the team
    needed = [DEBATE, MEDIA]
    size = 5 + seed % 4
    team = teams.choose(pool, needed, size)
    ids = [p.member_id for p in team]
    assert len(ids) == len(set(ids)) == size
    coverable = set().union(*(teams.covers(p, needed) for p in pool))
    assert set().union(*(teams.covers(p, needed) for p in team)) == coverable
    # Diversity: every region and both kinds the pool has are on the team (the team has room
    # for them), and no region takes more than its share while another region is missing.
    regions = Counter(p.region_code for p in team)
    assert set(regions) == {p.region_code for p in pool}
    assert max(regions.values()) <= -(-size // len(regions)) + 1
    assert {p.kind for p in team} == {p.kind for p in pool}
    assert len({teams.experience(p, needed) for p in team}) >= 3


def test_one_region_does_not_fill_the_team() -> None:
    pool = [person(i, "oost") for i in range(1, 30)] + [person(40, "west"), person(41, "zuid")]
    team = teams.choose(pool, [], 6)
    assert {40, 41} <= {p.member_id for p in team}


def test_sympathisers_and_levels_get_a_place() -> None:
    pool = [person(i, debate="teach") for i in range(1, 30)]
    pool += [person(50, kind="sympathiser", debate="teach"), person(51, debate="some")]
    team = teams.choose(pool, [DEBATE], 5)
    assert {50, 51} <= {p.member_id for p in team}


def test_fewer_invitations_first_then_stable() -> None:
    pool = [Person(i, None, "oost", "member", {}, invited_before=1) for i in range(1, 10)]
    pool.append(Person(99, None, "oost", "member", {}, invited_before=0))
    team = teams.choose(pool, [], 5)
    assert team[0].member_id == 99
    assert [p.member_id for p in team] == [p.member_id for p in teams.choose(pool, [], 5)]


def test_completing_a_team_never_takes_the_excluded() -> None:
    pool = [person(i) for i in range(1, 10)]
    team = teams.choose(pool, [], 5, team=pool[:4], exclude=[5, 6])
    assert [p.member_id for p in team] == [1, 2, 3, 4, 7]


# --- the service, on both databases -------------------------------------------------------

OOST = frozenset({Grant(RoleName.ORGANISER, "oost")})
ADMIN = factories.ADMIN_GRANTS
ORG = 900


async def available(session: AsyncSession, n: int, region: str, start: int) -> list[int]:
    """`n` members of the region who said they are available; their ids."""
    people = await factories.bare_members(session, n, start, region_code=region, first_name="X")
    ids = [member.id for member in people]
    for member in people:
        await teams.set_available(session, member, True, NOW)
    return ids


async def test_too_few_and_scope(session: AsyncSession) -> None:
    await available(session, 4, "oost", 1000)
    await available(session, 3, "west", 2000)
    await factories.bare_members(session, 10, 3000, region_code="oost")  # not available
    with pytest.raises(teams.TooFew) as too_few:
        await teams.propose(session, actor_id=ORG, grants=OOST, size=5, skill_ids=[],
                            topic="Campagne", now=NOW)  # fmt: skip
    assert (too_few.value.available, too_few.value.size) == (4, 5)
    with pytest.raises(teams.NotAllowed):
        await teams.propose(session, actor_id=ORG, grants=frozenset(), size=5, skill_ids=[],
                            topic="Campagne", now=NOW)  # fmt: skip
    with pytest.raises(teams.BadSize):
        await teams.propose(session, actor_id=ORG, grants=ADMIN, size=9, skill_ids=[],
                            topic="Campagne", now=NOW)  # fmt: skip
    team = await teams.propose(session, actor_id=ORG, grants=ADMIN, size=7, skill_ids=[],
                               topic="Campagne", now=NOW)  # fmt: skip
    assert len(team.seats) == 7


async def test_swap_invite_answer(session: AsyncSession) -> None:
    people = await available(session, 9, "oost", 1000)
    blocked = await available(session, 1, "oost", 5000)
    await session.execute(
        update(Member).where(Member.id == blocked[0]).values(no_contact_requests=True)
    )
    await session.commit()
    team = await teams.propose(session, actor_id=ORG, grants=OOST, size=5, skill_ids=[],
                               topic="Campagne", now=NOW)  # fmt: skip
    on = [s.person.member_id for s in team.seats]
    assert blocked[0] not in on
    out = on[0]
    team, added = await teams.swap(session, actor_id=ORG, grants=OOST, team_id=team.id,
                                   member_id=out)  # fmt: skip
    assert added is not None and added.member_id not in on
    now_on = [s.person.member_id for s in team.seats]
    assert out not in now_on and len(now_on) == len(set(now_on)) == 5
    with pytest.raises(teams.NotAllowed):  # another regional organiser
        await teams.swap(session, actor_id=901, grants=OOST, team_id=team.id,
                         member_id=now_on[0])  # fmt: skip
    invited = await teams.invite(session, actor_id=ORG, grants=OOST, team_id=team.id)
    assert sorted(invited) == sorted(now_on)
    team = await teams.answer(session, member_id=now_on[0], team_id=team.id, yes=True, now=NOW)
    team = await teams.answer(session, member_id=now_on[1], team_id=team.id, yes=False, now=NOW)
    assert (team.count("yes"), team.count("no"), team.count("invited")) == (1, 1, 3)
    with pytest.raises(teams.NotPending):
        await teams.answer(session, member_id=now_on[0], team_id=team.id, yes=False, now=NOW)
    with pytest.raises(teams.NotPending):  # never invited
        await teams.answer(session, member_id=out, team_id=team.id, yes=True, now=NOW)
    # The one who said no is swapped for someone new: never the one swapped out before.
    team, added = await teams.swap(session, actor_id=ORG, grants=OOST, team_id=team.id,
                                   member_id=now_on[1])  # fmt: skip
    assert added is not None and added.member_id not in (out, *now_on)
    assert set(people) >= {s.person.member_id for s in team.seats}
    left = [p for p in people if p not in {s.person.member_id for s in team.seats}]
    assert {out, now_on[1]} <= set(left) and len(left) == 4  # swapped out, and 2 never chosen


async def test_availability_toggle(session: AsyncSession) -> None:
    [member] = await factories.bare_members(session, 1)
    assert not await teams.is_available(session, member)
    await teams.set_available(session, member, True, NOW)
    await teams.set_available(session, member, True, NOW)  # twice: still one row
    assert await teams.is_available(session, member)
    await teams.set_available(session, member, False, NOW)
    assert not await teams.is_available(session, member)


async def test_the_largest_team_card_fits_a_message(session: AsyncSession) -> None:
    """Eight people, eight skills of the longest names, long first names and topic: the
    card stays within Telegram's 4,096 characters and its buttons within 64 bytes."""
    skills = [
        Skill(key=f"long{i}", name_nl="<b>&" + "x" * 96, name_en="y" * 100, name_sv="z" * 100)
        for i in range(8)
    ]
    session.add_all(skills)
    await session.commit()
    ids = [skill.id for skill in skills]
    seats = [
        teams.Seat(
            Person(10_000_000 + i, "N" * 64, "oost", "member", dict.fromkeys(ids, "teach")),
            "proposed",
        )
        for i in range(8)
    ]
    team = teams.Team(2**31 - 1, ORG, "T<&>" * 50, 8, ids, "draft", seats, [])
    i18n = create_i18n("nl")
    with i18n.context(), i18n.use_locale("nl"):
        text, markup = await render(session, team, "nl")
    assert len(text) <= 4096
    buttons = [b for row in markup.inline_keyboard for b in row]
    assert len(buttons) == 9
    assert all(len((b.callback_data or "").encode()) <= 64 for b in buttons)
