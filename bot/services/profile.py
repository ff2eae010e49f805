"""A member's talents, learning wishes, availability and how they may be found.

What is still to be asked is derived from the rows themselves (an unsure match, a talent
without a level), so the conversation resumes wherever the member left it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import catalogue
from bot.services.skill_match import SkillMatch, split_input
from storage.models import Member, MemberSkill
from storage.repositories import skills as repo


class SkillKind(StrEnum):
    TALENT = "talent"
    WISH = "wish"


class Level(StrEnum):
    SOME = "some"
    EXPERIENCED = "experienced"
    TEACH = "teach"


AVAILABILITY = ("evenings", "weekends", "daytime", "online")
MAX_SKILLS = 60  # per member and kind: a profile, not a CV


class ProfileError(Exception):
    """A profile change that cannot be made; the handler explains which."""


class NotYours(ProfileError):
    """A row id (from a button) that is not this member's, or no longer exists."""


class NotAnOption(ProfileError):
    """A skill id that was not among the choices offered for this row."""


class TooMany(ProfileError):
    pass


@dataclass
class Added:
    """What became of each typed item."""

    recognised: list[MemberSkill] = field(default_factory=list)
    unsure: list[MemberSkill] = field(default_factory=list)
    unknown: list[MemberSkill] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


async def add(session: AsyncSession, member: Member, kind: SkillKind, text: str) -> Added:
    """Split free text into items and record each: recognised, to confirm, or kept as typed."""
    rows = await repo.of_member(session, member.id)
    mine = [r for r in rows if r.kind == kind]
    have = {r.skill_id for r in mine if r.skill_id} | {r.typed_text.casefold() for r in mine}
    match = await catalogue.matcher(session)
    result = Added()
    for item in split_input(text):
        if len(mine) >= MAX_SKILLS:
            raise TooMany
        found = match.match(item)
        if found and match.is_sure(found):
            key: int | str = found[0].skill_id
            row = MemberSkill(typed_text=item, kind=kind, skill_id=found[0].skill_id)
            bucket = result.recognised
        else:
            key = item.casefold()
            status = "unsure" if found else "ok"
            row = MemberSkill(typed_text=item, kind=kind, status=status)
            bucket = result.unsure if found else result.unknown
        if key in have:
            result.duplicates.append(item)
            continue
        have.add(key)
        row.member_id = member.id
        session.add(row)
        mine.append(row)
        bucket.append(row)
    await session.commit()
    for row in result.recognised:  # callers show the skill's name; load it while we can
        await session.refresh(row, ["skill"])
    return result


async def options(session: AsyncSession, row: MemberSkill) -> list[SkillMatch]:
    """The close matches offered for an unsure row (recomputed, so they need no storage)."""
    return (await catalogue.matcher(session)).match(row.typed_text, limit=3)


async def resolve(
    session: AsyncSession, member: Member, row_id: int, skill_id: int | None
) -> MemberSkill:
    """The member picked one of the offered skills, or None: keep it as typed."""
    row = await repo.member_row(session, member.id, row_id)
    if row is None or row.status != "unsure":
        raise NotYours(row_id)
    if skill_id is not None:
        if skill_id not in {m.skill_id for m in await options(session, row)}:
            raise NotAnOption(skill_id)
        duplicate = any(
            r.skill_id == skill_id and r.kind == row.kind and r.id != row.id
            for r in await repo.of_member(session, member.id)
        )
        if duplicate:
            await session.delete(row)
            await session.commit()
            return row
        row.skill_id = skill_id
    row.status = "ok"
    await session.commit()
    await session.refresh(row, ["skill"])
    return row


async def set_level(session: AsyncSession, member: Member, row_id: int, level: Level) -> None:
    row = await repo.member_row(session, member.id, row_id)
    if row is None or row.kind != SkillKind.TALENT:
        raise NotYours(row_id)
    row.level = level.value
    await session.commit()


async def remove(session: AsyncSession, member: Member, row_id: int) -> None:
    if not await repo.remove_member_row(session, member.id, row_id):
        raise NotYours(row_id)
    await session.commit()


def next_question(rows: list[MemberSkill]) -> tuple[str, MemberSkill] | None:
    """What to ask next: first pick between close matches, then a talent's level."""
    for row in rows:
        if row.status == "unsure":
            return "pick", row
    for row in rows:
        if row.kind == SkillKind.TALENT and row.level is None:
            return "level", row
    return None


async def toggle_availability(session: AsyncSession, member: Member, slot: str) -> bool:
    if slot not in AVAILABILITY:
        raise ProfileError(slot)
    attribute = f"available_{slot}"
    value = not getattr(member, attribute)
    setattr(member, attribute, value)
    await session.commit()
    return value


def availability(member: Member) -> list[str]:
    return [slot for slot in AVAILABILITY if getattr(member, f"available_{slot}")]


async def set_findable(session: AsyncSession, member: Member, findable: bool) -> None:
    member.findable = findable
    await session.commit()


async def set_contact(
    session: AsyncSession, member: Member, direct: bool, username: str | None
) -> None:
    """Keep the Telegram username only while the member allows direct contact."""
    member.contact_direct = direct and bool(username)
    member.username = username if member.contact_direct else None
    await session.commit()


async def set_contact_requests(session: AsyncSession, member: Member, allowed: bool) -> None:
    """'Never ask me again' (allowed=False), or taking contact requests again."""
    member.no_contact_requests = not allowed
    await session.commit()


async def rows(session: AsyncSession, member: Member) -> list[MemberSkill]:
    """All the member's talents and wishes, unsure ones included, oldest first."""
    return await repo.of_member(session, member.id)


async def listed(
    session: AsyncSession, member: Member, kind: SkillKind | None = None
) -> list[MemberSkill]:
    """The member's confirmed talents and wishes (or one kind of them), oldest first."""
    return [
        r
        for r in await repo.of_member(session, member.id)
        if r.status == "ok" and (kind is None or r.kind == kind)
    ]


async def own_row(session: AsyncSession, member: Member, row_id: int) -> MemberSkill | None:
    """A row id from a button, if it is this member's."""
    return await repo.member_row(session, member.id, row_id)


async def skill_names(
    session: AsyncSession, skill_ids: list[int], locale: str
) -> list[tuple[int, str]]:
    """(id, name in `locale`) of the skills that still exist, in the order asked."""
    names = []
    for skill_id in skill_ids:
        skill = await repo.get(session, skill_id)
        if skill is not None:
            names.append((skill_id, skill.name(locale)))
    return names


async def set_step(session: AsyncSession, member: Member, step: str | None) -> None:
    member.profile_step = step
    await session.commit()
