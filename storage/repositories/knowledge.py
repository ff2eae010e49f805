"""Queries on the knowledge base (`knowledge_entries`); the rules are in
bot/services/knowledge.py. Every change goes through `change`, which bumps `revision` and
`updated_at`: the cheap version (`version`) every worker's matcher cache compares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from storage.models import knowledge_entries

k = knowledge_entries.c


@dataclass(frozen=True, slots=True)
class Row:
    """One entry in one language, in any state."""

    id: int
    language: str
    entry_id: str
    topic: str
    question: str
    phrasings: str  # "|"-separated
    answer: str
    state: str  # live | proposed | retired
    origin: str  # bundled | organiser | volunteer
    proposed_by: int | None
    edited_by: int | None
    revision: int
    created_at: datetime
    updated_at: datetime


_ROWS = select(*knowledge_entries.c)


async def version(session: AsyncSession) -> tuple[int, int, datetime | None]:
    """Changes whenever any row is added, changed or removed: (count, sum of revisions,
    latest change). One aggregate over a small table."""
    row = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(k.revision), 0), func.max(k.updated_at))
        )
    ).one()
    return int(row[0]), int(row[1]), row[2]


async def rows(
    session: AsyncSession, *, language: str | None = None, state: str | None = None
) -> list[Row]:
    """Rows in the order organisers see them (as added), optionally of one language/state."""
    query = _ROWS
    if language is not None:
        query = query.where(k.language == language)
    if state is not None:
        query = query.where(k.state == state)
    result = await session.execute(query.order_by(k.language, k.id))
    return [Row(*r) for r in result]


async def count(session: AsyncSession, *, state: str, language: str | None) -> int:
    """How many rows of a language (every language when None) are in a state."""
    where = [k.state == state] + ([k.language == language] if language is not None else [])
    return await session.scalar(select(func.count()).where(*where)) or 0


async def page(
    session: AsyncSession, *, state: str, language: str | None, offset: int, limit: int
) -> list[Row]:
    """One page of a language's rows in a state (every language when None)."""
    where = [k.state == state] + ([k.language == language] if language is not None else [])
    result = await session.execute(
        _ROWS.where(*where).order_by(k.language, k.id).offset(offset).limit(limit)
    )
    return [Row(*r) for r in result]


async def counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    """(language, state) -> number of rows."""
    result = await session.execute(
        select(k.language, k.state, func.count()).group_by(k.language, k.state)
    )
    return {(language, state): int(n) for language, state, n in result}


async def get(session: AsyncSession, row_id: int) -> Row | None:
    row = (await session.execute(_ROWS.where(k.id == row_id))).one_or_none()
    return Row(*row) if row is not None else None


async def entry_ids(session: AsyncSession, language: str) -> set[str]:
    """Every entry id a language uses, in any state (a new one must differ from all)."""
    return set(await session.scalars(select(k.entry_id).where(k.language == language)))


async def add(session: AsyncSession, values: Mapping[str, Any]) -> int:
    """A new row; its id."""
    now = clock.now()
    result = await session.execute(
        insert(knowledge_entries).values(revision=1, created_at=now, updated_at=now, **dict(values))
    )
    (row_id,) = result.inserted_primary_key or (0,)
    return int(row_id)


async def add_many(session: AsyncSession, values: Iterable[Mapping[str, Any]]) -> None:
    now = clock.now()
    batch = [{"revision": 1, "created_at": now, "updated_at": now, **dict(v)} for v in values]
    if batch:
        await session.execute(insert(knowledge_entries), batch)


async def change(
    session: AsyncSession, row_id: int, states: Iterable[str], values: Mapping[str, Any]
) -> bool:
    """Change a row that is in one of `states` now; False when it is not (anymore): one
    conditional UPDATE, so two organisers acting at once cannot both win."""
    result = await session.execute(
        update(knowledge_entries)
        .where(k.id == row_id, k.state.in_(list(states)))
        .values(revision=k.revision + 1, updated_at=clock.now(), **dict(values))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def remove(session: AsyncSession, row_id: int, state: str) -> bool:
    """Delete a row in `state` (a rejected proposal); False when it is not there (anymore)."""
    result = await session.execute(
        delete(knowledge_entries).where(k.id == row_id, k.state == state)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
