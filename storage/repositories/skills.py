"""Queries about the skills catalogue and members' talents and wishes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import MemberSkill, Skill


async def all_skills(session: AsyncSession) -> list[Skill]:
    return list(await session.scalars(select(Skill).order_by(Skill.id)))


async def keys(session: AsyncSession) -> set[str]:
    return set(await session.scalars(select(Skill.key)))


async def get(session: AsyncSession, skill_id: int) -> Skill | None:
    return await session.get(Skill, skill_id)


async def of_member(session: AsyncSession, member_id: int) -> list[MemberSkill]:
    rows = await session.scalars(
        select(MemberSkill).where(MemberSkill.member_id == member_id).order_by(MemberSkill.id)
    )
    return list(rows)


async def member_row(session: AsyncSession, member_id: int, row_id: int) -> MemberSkill | None:
    """A member's own row, or None: ids from buttons are checked against the owner here."""
    return await session.scalar(
        select(MemberSkill).where(MemberSkill.id == row_id, MemberSkill.member_id == member_id)
    )


async def remove_member_row(session: AsyncSession, member_id: int, row_id: int) -> bool:
    result = await session.execute(
        delete(MemberSkill).where(MemberSkill.id == row_id, MemberSkill.member_id == member_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def candidates(session: AsyncSession, limit: int = 50) -> list[tuple[str, int]]:
    """Words members typed that the catalogue lacks, most used first."""
    word = func.lower(MemberSkill.typed_text)
    rows = await session.execute(
        select(word, func.count())
        .where(MemberSkill.skill_id.is_(None), MemberSkill.status == "ok")
        .group_by(word)
        .order_by(func.count().desc(), word)
        .limit(limit)
    )
    return [(str(w), int(n)) for w, n in rows.all()]


async def attach_candidate(session: AsyncSession, typed: str, skill_id: int) -> int:
    """Point every row typed as `typed` (any case) at a catalogue skill."""
    result = await session.execute(
        update(MemberSkill)
        .where(MemberSkill.skill_id.is_(None), func.lower(MemberSkill.typed_text) == typed.lower())
        .values(skill_id=skill_id, status="ok")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def add_many(session: AsyncSession, skills: Sequence[Skill]) -> None:
    session.add_all(skills)


def _wished(member_id: int | BindParameter[int]) -> tuple[ColumnElement[bool], ...]:
    return (
        MemberSkill.member_id == member_id,
        MemberSkill.kind == "wish",
        MemberSkill.status == "ok",
        MemberSkill.skill_id.is_not(None),
    )


async def wish_ids(session: AsyncSession, member_id: int) -> list[int]:
    rows = await session.scalars(select(MemberSkill.skill_id).where(*_wished(member_id)))
    return [int(r) for r in rows if r is not None]


def wish_ids_column(dialect: str, member_id: int | BindParameter[int]) -> ColumnElement[Any]:
    """`wish_ids` as one value another query can carry (saving a round trip): an array on
    PostgreSQL, "3,17" on SQLite, NULL without wishes."""
    skill_id = MemberSkill.skill_id
    collected = func.array_agg(skill_id) if dialect == "postgresql" else func.group_concat(skill_id)
    return select(collected).where(*_wished(member_id)).scalar_subquery().label("wish_ids")
