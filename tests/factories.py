"""Test data builders shared by every test: members (bare rows, or onboarded through the
services as the bot would), workshops and roles. One place, so a schema change is one edit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services import catalogue, onboarding, profile, regions, roles, signups
from bot.services.onboarding import Kind
from bot.services.places import default_gazetteer
from bot.services.profile import Level, SkillKind
from bot.services.roles import Grant, RoleName
from bot.services.workshops import Draft, create
from storage.models import Feedback, Member, Region

# A fixed moment for service tests that pass `now` themselves.
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
ADMIN_GRANTS = frozenset({Grant(RoleName.ADMIN)})


async def bare_members(
    session: AsyncSession, n: int, start: int = 1_000_000, **fields: Any
) -> list[Member]:
    """`n` consented members (Telegram ids from `start`), inserted in one statement."""
    ids = list(range(start, start + n))
    values = {"locale": "nl", "kind": "member", "onboarding_step": "done", **fields}
    await session.execute(insert(Member), [{"telegram_id": i, **values} for i in ids])
    await session.commit()
    query = select(Member).where(Member.telegram_id.in_(ids)).order_by(Member.id)
    return list(await session.scalars(query))


async def onboarded(
    session: AsyncSession,
    telegram_id: int,
    name: str,
    town: str,
    *,
    locale: str = "nl",
    kind: Kind = Kind.MEMBER,
    region: str | None = None,
    wishes: str = "",
    talents: str = "",
    level: Level | None = None,
    findable: bool | None = None,
    username: str | None = None,
) -> Member:
    """A member who went through consent and onboarding, as the bot would store them;
    with `username`, one who lets organisers see that Telegram name."""
    member, _ = await onboarding.give_consent(session, telegram_id, locale, name)
    await onboarding.answer_kind(session, member, kind)
    await onboarding.answer_place(session, member, default_gazetteer().search(town)[0].place)
    if member.onboarding_step == onboarding.Step.REGION:
        await onboarding.answer_region(session, member, region)
    if wishes:
        await profile.add(session, member, SkillKind.WISH, wishes)
    if talents:
        added = await profile.add(session, member, SkillKind.TALENT, talents)
        if level is not None:
            for row in added.recognised:
                await profile.set_level(session, member, row.id, level)
    if findable is not None:
        await profile.set_findable(session, member, findable)
    if username is not None:
        await profile.set_contact(session, member, True, username)
    return member


async def skill_ids(session: AsyncSession, *typed: str) -> list[int]:
    """Catalogue ids for words as a member would type them."""
    matcher = await catalogue.matcher(session)
    return [matcher.match(word)[0].skill_id for word in typed]  # type: ignore[union-attr]


async def workshop(
    session: AsyncSession,
    title: str = "Debattraining",
    town: str | None = "Zwolle",
    *,
    starts_in: timedelta = timedelta(days=14),
    hours: float = 3,
    capacity: int = 10,
    skills: tuple[str, ...] = (),
    now: datetime | None = None,
    **changes: Any,
) -> int:
    """A published workshop `starts_in` from now (the clock's, unless `now` is given);
    in `town`, or online when `town` is None."""
    start = (now or clock.now()) + starts_in
    draft = Draft(
        title=title,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        capacity=capacity,
        place=default_gazetteer().search(town)[0].place if town else None,
        online_url=None if town else "https://meet.example.org/x",
    )
    for key, value in changes.items():
        setattr(draft, key, value)
    if skills:
        draft.skill_ids = await skill_ids(session, *skills)
    return (await create(session, draft)).id


async def give_role(
    session: AsyncSession, telegram_id: int, role: RoleName, region: str | None = None
) -> None:
    await roles.assign(
        session,
        actor=ADMIN_GRANTS,
        actor_id=1,
        target_id=telegram_id,
        role=role,
        region=region,
    )


async def region(session: AsyncSession, code: str, name: str, country: str = "NL") -> None:
    """A configured region besides the four the first migration brings."""
    session.add(Region(code=code, name=name, country=country, position=10))
    await session.commit()
    regions.invalidate()  # as a restart after the migration that adds one would


def longest_items(tag: str, n: int = 60, length: int = 60) -> list[str]:
    """`n` distinct made-up skills of `length` characters (the most a member may type), no
    catalogue word among them, with characters HTML must escape."""
    items = []
    for i in range(n):
        head = f"{tag}{i:02d} x<b>R&D"
        items.append(head + "x" * (length - len(head)))
    return items


async def full_profile(
    session: AsyncSession, member: Member, n: int = 60, length: int = 60
) -> tuple[list[str], list[str]]:
    """The largest profile allowed: `n` talents (each with a level) and `n` wishes of the
    longest allowed names. Returns (talents, wishes) as typed."""
    talents, wishes = longest_items("t", n, length), longest_items("w", n, length)
    for kind, items in ((SkillKind.TALENT, talents), (SkillKind.WISH, wishes)):
        for start in range(0, n, 20):  # split_input takes 20 items per message
            added = await profile.add(session, member, kind, ", ".join(items[start : start + 20]))
            assert len(added.unknown) == len(items[start : start + 20]), added
            if kind == SkillKind.TALENT:
                for row in added.unknown:
                    await profile.set_level(session, member, row.id, Level.TEACH)
    return talents, wishes


async def signed_up(session: AsyncSession, workshop_id: int, people: list[Member]) -> None:
    """Everyone signs up in turn, as through the button: places first, then the waiting list."""
    for person in people:
        await signups.sign_up(session, person, workshop_id)


async def feedback_given(
    session: AsyncSession, workshop_id: int, people: list[Member], comment: str, rating: int = 4
) -> None:
    """Each of `people` rated the workshop and left `comment` (stored as the bot stores it)."""
    session.add_all(
        Feedback(workshop_id=workshop_id, member_id=p.id, rating=rating, comment=comment)
        for p in people
    )
    await session.commit()
