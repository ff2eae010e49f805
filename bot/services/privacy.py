"""/mijngegevens and /vergeetmij: everything stored about a person, out or gone.

Every table is listed here as personal (with the columns that point at a person) or not.
Exports take every column of the matching rows, so a column added later is exported without
anyone remembering to; tests/test_privacy.py fails on a table that is not listed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base, Member
from storage.repositories import members

# table -> (column holding the member's row id, column holding the Telegram id)
PERSONAL: dict[str, tuple[str | None, str | None]] = {
    "members": ("id", "telegram_id"),
    "consents": ("member_id", None),
    "member_skills": ("member_id", None),
    "contact_requests": ("member_id", "requester_id"),
    "roles": (None, "telegram_id"),
    "audit_log": (None, "actor_id"),
}
# Rows that stay after erasure, with the person's id blanked: counts for statistics only.
ANONYMISE = {"audit_log": "actor_id", "contact_requests": "requester_id"}
NOT_PERSONAL = frozenset({"regions", "skills"})


@dataclass(frozen=True, slots=True)
class Erased:
    rows_deleted: int
    rows_anonymised: int


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _who(table: Table, member_id: int | None, telegram_id: int) -> Any:
    by_member, by_telegram = PERSONAL[table.name]
    clauses = []
    if by_member and member_id is not None:
        clauses.append(table.c[by_member] == member_id)
    if by_telegram:
        clauses.append(table.c[by_telegram] == telegram_id)
    return or_(*clauses) if clauses else None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def export(session: AsyncSession, telegram_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row about this person, every column, per table."""
    member = await members.by_telegram_id(session, telegram_id)
    member_id = member.id if member else None
    out: dict[str, list[dict[str, Any]]] = {}
    for name in PERSONAL:
        table = _table(name)
        where = _who(table, member_id, telegram_id)
        rows = (await session.execute(select(table).where(where))).mappings().all()
        out[name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return out


def export_json(data: dict[str, list[dict[str, Any]]]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode()


async def erase(session: AsyncSession, telegram_id: int) -> Erased:
    """Delete every row that names the person; blank their id where a count must remain."""
    member: Member | None = await members.by_telegram_id(session, telegram_id)
    member_id = member.id if member else None
    deleted = anonymised = 0
    for name, column in ANONYMISE.items():
        table = _table(name)
        result = await session.execute(
            update(table).where(table.c[column] == telegram_id).values({column: None})
        )
        anonymised += int(result.rowcount or 0)  # type: ignore[attr-defined]
    for name in reversed(list(PERSONAL)):  # children before members
        table = _table(name)
        where = _who(table, member_id, telegram_id)
        if where is None:
            continue
        result = await session.execute(delete(table).where(where))
        deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
    await session.commit()
    return Erased(deleted, anonymised)
