"""/mijngegevens and /vergeetmij: everything stored about a person, out or gone.

Every table is listed here: each column that points at a person (LINKS), or not personal.
Exports take every column of the matching rows, so a column added later is exported without
anyone remembering to; tests/test_privacy.py fails on a table that is not listed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.lazy import lazy_module
from bot.sealing import Keyring
from bot.services import signups, tracks
from storage.models import Base, Consent, Member, question_messages, questions
from storage.repositories import members

# Loaded at first use (bot/lazy.py): a rare path, and off without CONFIDENTIAL_KEY.
survey = lazy_module("bot.services.survey")


@dataclass(frozen=True, slots=True)
class Link:
    """A column that points at a person, and what erasure does with the row."""

    table: str
    column: str
    by: str  # "member" (members.id) or "telegram" (the Telegram id)
    erase: str  # "delete" the row, or "blank" the column and keep the row for counts


LINKS = (
    Link("members", "telegram_id", "telegram", "delete"),
    Link("consents", "member_id", "member", "delete"),
    Link("member_skills", "member_id", "member", "delete"),
    Link("contact_requests", "member_id", "member", "delete"),
    Link("contact_requests", "requester_id", "telegram", "blank"),
    Link("roles", "telegram_id", "telegram", "delete"),
    Link("roles", "granted_by", "telegram", "blank"),
    Link("audit_log", "actor_id", "telegram", "blank"),
    Link("signups", "member_id", "member", "delete"),
    Link("workshops", "trainer_id", "member", "blank"),
    Link("feedback", "member_id", "member", "delete"),
    Link("track_places", "member_id", "member", "delete"),
    Link("outbox", "chat_id", "telegram", "delete"),
    Link("outbox", "member_id", "member", "delete"),
    Link("broadcasts", "author_id", "telegram", "blank"),
    Link("broadcasts", "approved_by", "telegram", "blank"),
    Link("broadcasts", "progress_chat_id", "telegram", "blank"),
    Link("confidential_counsellors", "telegram_id", "telegram", "delete"),
    # A question is the member's: deleted with its messages and routes (ON DELETE CASCADE).
    Link("questions", "member_id", "member", "delete"),
    Link("questions", "volunteer_id", "telegram", "blank"),
    Link("question_messages", "author_id", "telegram", "blank"),
    Link("question_routes", "chat_id", "telegram", "delete"),
    Link("linked_chats", "chat_id", "telegram", "delete"),  # a group's id: never a person's
    Link("linked_chats", "linked_by", "telegram", "blank"),
    # Who proposed or last changed a knowledge entry: the entry is the organisation's, it stays.
    Link("knowledge_entries", "proposed_by", "telegram", "blank"),
    Link("knowledge_entries", "edited_by", "telegram", "blank"),
    # A new member's welcome is theirs; the volunteer's id is blanked, the count stays.
    Link("welcomes", "member_id", "member", "delete"),
    Link("welcomes", "volunteer_id", "telegram", "blank"),
    # Issue 12: project teams and asking a trainer for a wished-for workshop.
    Link("team_available", "member_id", "member", "delete"),
    Link("workshop_proposals", "trainer_id", "member", "delete"),
    Link("workshop_proposals", "organiser_id", "telegram", "blank"),
    Link("teams", "organiser_id", "telegram", "blank"),
    Link("team_members", "member_id", "member", "delete"),
)
PERSONAL = tuple(dict.fromkeys(link.table for link in LINKS))


def _their_questions_messages(member_id: int) -> Any:
    """The thread of each of their questions, as they saw it: their messages and the
    volunteers' answers, not the volunteers' private notes (the member never sees those)."""
    theirs = select(questions.c.id).where(questions.c.member_id == member_id)
    return and_(question_messages.c.question_id.in_(theirs), question_messages.c.author != "note")


# Rows about a person through a row of theirs, exported with it, erased with it (ON DELETE
# CASCADE): the table -> its rows, given the member's id.
THROUGH: dict[str, Callable[[int], Any]] = {"question_messages": _their_questions_messages}
NOT_PERSONAL = frozenset(
    {
        "regions", "skills", "workshop_topics", "tracks", "confidential_months", "surveys",
        "survey_questions",
        # Anonymous: no column names a person (a random id, a region, a role group, answers),
        # and nothing links a response to its participation row (bot/services/survey.py).
        "survey_responses", "survey_answers",
        "track_skills",  # a track's skills: no person
        "goals",  # targets per region and year: numbers only
    }
)  # fmt: skip
# Personal, but nothing in them names the person readably: a case is linked to its member by
# a keyed tag and a sealed link (bot/services/confidential.py), code tries by a keyed tag of
# the account. Only the key finds them: /vergeetmij deletes the person's cases through
# `confidential.forget_member`, retention deletes the rest. They are left out of the data
# file on purpose: it would show whoever sees the member's phone that they used the path.
SEALED = frozenset({"confidential_cases", "confidential_relays", "confidential_tries"})
# Rows found only with CONFIDENTIAL_KEY: a keyed tag (HMAC) of the person's Telegram id.
# Exported as the surveys they took part in, deleted on erasure (`survey.forget`).
KEYED = frozenset({"survey_participation"})


@dataclass(frozen=True, slots=True)
class Erased:
    rows_deleted: int
    rows_anonymised: int
    promoted: tuple[signups.Withdrawn, ...] = ()  # who moved up into the freed places
    track_promoted: tuple[tuple[int, tuple[int, ...]], ...] = ()  # (track id, who moved up)


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _matches(link: Link, member_id: int | None, telegram_id: int) -> Any:
    column = _table(link.table).c[link.column]
    if link.by == "member":
        return column == member_id if member_id is not None else None
    return column == telegram_id


def _who(name: str, member_id: int | None, telegram_id: int) -> Any:
    clauses = [
        clause
        for link in LINKS
        if link.table == name and (clause := _matches(link, member_id, telegram_id)) is not None
    ]
    if name in THROUGH and member_id is not None:
        clauses.append(THROUGH[name](member_id))
    return or_(*clauses) if clauses else None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):  # a file a message carried (a calendar file)
        return base64.b64encode(value).decode()
    return value


async def export(
    session: AsyncSession, telegram_id: int, keys: Keyring | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every row about this person, every column, per table; with the key, also the
    surveys they took part in (their answers cannot be found: they are anonymous)."""
    member = await members.by_telegram_id(session, telegram_id)
    member_id = member.id if member else None
    out: dict[str, list[dict[str, Any]]] = {}
    for name in PERSONAL:
        table = _table(name)
        where = _who(name, member_id, telegram_id)
        if where is None:
            out[name] = []
            continue
        query = select(table).where(where).order_by(*table.primary_key.columns)
        rows = (await session.execute(query)).mappings().all()
        out[name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    answered = await survey.answered_by(session, keys, telegram_id)
    out["survey_participation"] = [{"survey_id": survey_id} for survey_id in answered]
    return out


def export_json(data: dict[str, list[dict[str, Any]]]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode()


async def erase(session: AsyncSession, telegram_id: int, keys: Keyring | None = None) -> Erased:
    """Delete every row that names the person; blank their id where a count must remain;
    with the key, their survey participation tags too (the anonymous answers stay).

    Their places go first, each to the first on that workshop's or track's waiting list (the
    caller tells them), as when they cancel or withdraw."""
    member: Member | None = await members.by_telegram_id(session, telegram_id)
    member_id = member.id if member else None
    withdrawn = await signups.withdraw_everywhere(session, member_id) if member_id else []
    left = await tracks.withdraw_everywhere(session, member_id) if member_id else []
    deleted, anonymised = len(withdrawn) + len(left), 0
    deleted += await survey.forget(session, keys, telegram_id)
    for link in (link for link in LINKS if link.erase == "blank"):
        where = _matches(link, member_id, telegram_id)
        if where is None:
            continue
        table = _table(link.table)
        result = await session.execute(update(table).where(where).values({link.column: None}))
        anonymised += int(result.rowcount or 0)  # type: ignore[attr-defined]
    deleting = [link for link in LINKS if link.erase == "delete"]
    for link in sorted(deleting, key=lambda link: link.table == "members"):  # members last
        where = _matches(link, member_id, telegram_id)
        if where is None:
            continue
        result = await session.execute(delete(_table(link.table)).where(where))
        deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
    await session.commit()
    return Erased(deleted, anonymised, tuple(withdrawn), tuple(left))


async def consent_of(session: AsyncSession, member_id: int) -> Consent | None:
    """The member's consent, for the summary beside their data file."""
    return await members.consent_of(session, member_id)
