"""The knowledge base: questions members ask and their answers, per language, kept by
organisers. The rest of the bot reads it through `matcher`, `entries` and `entry`; volunteers
add to it with `propose` (an organiser approves); organisers add, edit, retire and restore
entries in chat (handlers/knowledge_admin.py) or by CSV export and import.

Rows live in `knowledge_entries`, one per entry and language, in a state: live (answers
members), proposed (a volunteer's answer waiting for an organiser) or retired (kept, so that
its id is never reused and a newer release never brings it back). Nothing is deleted but a
rejected proposal.

Seeding. The bundled CSVs (bot/data/knowledge/<language>.csv) are the starting point.
Migration 0017 writes them into a new database, so a fresh database (every test database
too) has them without any step by hand. A later release may bundle more entries or better
wording: `sync_bundled` runs once per process and database, at the first use of the
knowledge base, in its own session. It adds each bundled (language, id) that the table does
not hold in any state, and refreshes the text of rows still exactly as shipped (origin
"bundled", live). What organisers made is never undone: an edited entry is theirs (origin
"organiser"), a retired one stays retired. It is idempotent and safe with two workers at
once: (language, id) is unique, and the loser of a race rolls back and finds nothing to do.
An entry a release no longer bundles stays as it is (organisers may retire it).

The matcher is built from the live rows and cached per database (per engine). A change made
through this module drops the cache at once; a change by another worker is seen at the next
version check (count, sum of revisions, latest change: one small aggregate), made at most
every VERSION_CHECK_SECONDS.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import math
import re
import time
import unicodedata
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services.knowledge_match import (
    CSV_HEADER,
    LANGUAGES,
    MAX_ANSWER_CHARS,
    PHRASING_SEPARATOR,
    KnowledgeEntry,
    KnowledgeMatcher,
    load_default_entries,
    parse_csv,
)
from storage.repositories import knowledge as repo
from storage.repositories.knowledge import Row

__all__ = [
    "LANGUAGES",
    "MAX_ANSWER_CHARS",
    "MAX_QUESTION_CHARS",
    "PAGE_SIZE",
    "Empty",
    "Gone",
    "ImportPlan",
    "KnowledgeError",
    "Page",
    "Problem",
    "Row",
    "TooLong",
    "add",
    "apply_import",
    "approve",
    "check_import",
    "counts",
    "edit",
    "entries",
    "entry",
    "export_csv",
    "get",
    "listing",
    "matcher",
    "propose",
    "reject",
    "restore",
    "retire",
    "sync_bundled",
]

log = logging.getLogger(__name__)

LIVE, PROPOSED, RETIRED = "live", "proposed", "retired"
BUNDLED, ORGANISER, VOLUNTEER = "bundled", "organiser", "volunteer"
#: A question is one line a member might type; phrasings are shorter still.
MAX_QUESTION_CHARS = 200
MAX_PHRASING_CHARS = 100
MAX_PHRASINGS = 30
MAX_TOPIC_CHARS = 32
#: What a proposal keeps of a volunteer's answer (a Telegram message); shortened to
#: MAX_ANSWER_CHARS by an organiser before it can go live.
MAX_PROPOSED_CHARS = 4096
#: An imported file: some 37 entries take 30 KB; this is room for a few hundred.
MAX_IMPORT_BYTES = 512 * 1024
PAGE_SIZE = 8
#: How stale another worker's change may be seen here, at most.
VERSION_CHECK_SECONDS = 3.0
DEFAULT_TOPIC = "general"
_ID_CHARS = re.compile(r"[^a-z0-9]+")
_VALID_ID = re.compile(r"^[a-z][a-z0-9_]{1,47}$")  # as parse_csv checks


class KnowledgeError(Exception):
    """Base of the refusals; the handler explains each."""


class Gone(KnowledgeError):
    """The entry is not there (anymore), or no longer in a state for this: a stale button."""


@dataclass
class TooLong(KnowledgeError):
    what: str  # question | answer | phrasing | phrasings | topic
    length: int
    limit: int


@dataclass
class Empty(KnowledgeError):
    what: str  # question | answer | phrasings


# --- the matcher, cached per database ------------------------------------------------------


@dataclass
class _Cache:
    matcher: KnowledgeMatcher | None = None
    version: tuple[Any, ...] | None = None
    checked: float = -math.inf
    synced: bool = False
    generation: int = 0  # +1 at every change made here (forget)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_caches: weakref.WeakKeyDictionary[Any, _Cache] = weakref.WeakKeyDictionary()


def _cache(session: AsyncSession) -> _Cache:
    bind = session.bind
    key = getattr(bind, "sync_engine", bind)
    found = _caches.get(key)
    if found is None:
        found = _caches[key] = _Cache()
    return found


def forget(session: AsyncSession) -> None:
    """Drop this database's matcher: the next use rebuilds it (after a change here)."""
    cache = _cache(session)
    cache.matcher, cache.version, cache.checked = None, None, -math.inf
    cache.generation += 1


async def matcher(session: AsyncSession) -> KnowledgeMatcher:
    """The matcher over the live entries of every language."""
    cache = _cache(session)
    if cache.matcher is not None and time.monotonic() - cache.checked < VERSION_CHECK_SECONDS:
        return cache.matcher
    async with cache.lock:
        if not cache.synced:
            cache.synced = await sync_bundled(session)
        if cache.matcher is not None and time.monotonic() - cache.checked < VERSION_CHECK_SECONDS:
            return cache.matcher
        generation = cache.generation
        version = await repo.version(session)
        found = cache.matcher
        if found is None or version != cache.version:
            live = await repo.rows(session, state=LIVE)
            found = KnowledgeMatcher(_entry(row) for row in live)
            log.info("knowledge matcher built from %s live entries", len(live))
        if cache.generation == generation:  # else a change here came meanwhile: check again
            cache.matcher, cache.version, cache.checked = found, version, time.monotonic()
        return found


async def entries(session: AsyncSession, language: str) -> list[KnowledgeEntry]:
    """A language's live entries, in the order organisers see them."""
    return (await matcher(session)).entries(language)


async def entry(session: AsyncSession, language: str, entry_id: str) -> KnowledgeEntry | None:
    """One live entry, or None (retired, or never there)."""
    return next((e for e in await entries(session, language) if e.entry_id == entry_id), None)


def _entry(row: Row) -> KnowledgeEntry:
    return KnowledgeEntry(
        row.entry_id, row.language, row.topic, row.question, _split(row.phrasings), row.answer
    )


def _split(phrasings: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in phrasings.split(PHRASING_SEPARATOR) if p.strip())


# --- seeding -------------------------------------------------------------------------------


def bundled_rows() -> list[dict[str, Any]]:
    """The bundled entries as new rows (migration 0017 and `sync_bundled`)."""
    now = clock.now()
    return [
        {
            **_texts(e),
            "language": e.language,
            "entry_id": e.entry_id,
            "state": LIVE,
            "origin": BUNDLED,
            "revision": 1,
            "created_at": now,
            "updated_at": now,
        }
        for e in load_default_entries()
    ]


def _texts(e: KnowledgeEntry) -> dict[str, str]:
    return {
        "topic": e.topic,
        "question": e.question,
        "phrasings": PHRASING_SEPARATOR.join(e.phrasings),
        "answer": e.answer,
    }


async def sync_bundled(session: AsyncSession) -> bool:
    """Add bundled entries the database lacks, refresh rows still as shipped (see the module
    docstring); in a session of its own. True when done (False: try again at next use)."""
    bind = session.bind
    for _attempt in range(2):
        async with AsyncSession(bind=bind, expire_on_commit=False) as own:
            try:
                await _sync(own)
                await own.commit()
                return True
            except IntegrityError:  # another worker added the same rows first
                await own.rollback()
            except DBAPIError as exc:  # e.g. SQLite busy: not now
                await own.rollback()
                log.warning("knowledge sync postponed: %s", type(exc).__name__)
                return False
    return False


async def _sync(session: AsyncSession) -> None:
    have = {(r.language, r.entry_id): r for r in await repo.rows(session)}
    added = refreshed = 0
    new: list[dict[str, Any]] = []
    for e in load_default_entries():
        row = have.get((e.language, e.entry_id))
        if row is None:
            new.append({**_texts(e), "language": e.language, "entry_id": e.entry_id,
                        "state": LIVE, "origin": BUNDLED})  # fmt: skip
            added += 1
        elif row.origin == BUNDLED and row.state == LIVE and _differs(row, e):
            await repo.change(session, row.id, (LIVE,), _texts(e))
            refreshed += 1
    await repo.add_many(session, new)
    if added or refreshed:
        forget(session)
        log.info("knowledge sync: %s bundled entries added, %s refreshed", added, refreshed)


def _differs(row: Row, e: KnowledgeEntry) -> bool:
    return (row.topic, row.question, _split(row.phrasings), row.answer) != (
        e.topic,
        e.question,
        e.phrasings,
        e.answer,
    )


# --- organisers' and volunteers' changes ---------------------------------------------------


def clean_question(text: str) -> str:
    question = " ".join(text.split())
    if not question:
        raise Empty("question")
    if len(question) > MAX_QUESTION_CHARS:
        raise TooLong("question", len(question), MAX_QUESTION_CHARS)
    return question


def clean_answer(text: str) -> str:
    answer = text.strip()
    if not answer:
        raise Empty("answer")
    if len(answer) > MAX_ANSWER_CHARS:
        raise TooLong("answer", len(answer), MAX_ANSWER_CHARS)
    return answer


def clean_phrasings(text: str) -> str:
    """Phrasings typed one per line or separated by "|", deduplicated, "|"-joined."""
    parts = [" ".join(p.split()) for p in re.split(r"[|\n]", text)]
    kept = list(dict.fromkeys(p for p in parts if p))
    if not kept:
        raise Empty("phrasings")
    if len(kept) > MAX_PHRASINGS:
        raise TooLong("phrasings", len(kept), MAX_PHRASINGS)
    longest = max(kept, key=len)
    if len(longest) > MAX_PHRASING_CHARS:
        raise TooLong("phrasing", len(longest), MAX_PHRASING_CHARS)
    return PHRASING_SEPARATOR.join(kept)


def clean_topic(text: str) -> str:
    topic = " ".join(text.split()) or DEFAULT_TOPIC
    if len(topic) > MAX_TOPIC_CHARS:
        raise TooLong("topic", len(topic), MAX_TOPIC_CHARS)
    return topic


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def new_entry_id(question: str, taken: set[str]) -> str:
    """A readable id from the question ("hoe_verander_ik_mijn_iban"), not in *taken*."""
    folded = unicodedata.normalize("NFKD", question.casefold())
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c))
    base = ""
    for word in _ID_CHARS.sub(" ", ascii_only).split():  # whole words, 40 characters at most
        joined = f"{base}_{word}" if base else word[:40]
        if len(joined) > 40:
            break
        base = joined
    if not base or not base[0].isalpha():
        base = f"q_{base}".strip("_") if base else "entry"
    candidate, n = base, 1
    while candidate in taken or not _VALID_ID.match(candidate):
        n += 1
        candidate = f"{base}_{n}"
    return candidate


async def _changed(session: AsyncSession, row_id: int) -> Row:
    await session.commit()
    forget(session)
    row = await repo.get(session, row_id)
    if row is None:
        raise Gone
    return row


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    return language


async def add(
    session: AsyncSession,
    language: str,
    question: str,
    answer: str,
    phrasings: str,
    by: int,
    topic: str = DEFAULT_TOPIC,
) -> Row:
    """A new live entry, made by an organiser in chat."""
    values = {
        "language": _language(language),
        "topic": clean_topic(topic),
        "question": clean_question(question),
        "answer": clean_answer(answer),
        "phrasings": clean_phrasings(phrasings),
    }
    values["entry_id"] = new_entry_id(values["question"], await repo.entry_ids(session, language))
    row_id = await repo.add(
        session, {**values, "state": LIVE, "origin": ORGANISER, "edited_by": by}
    )
    log.info("knowledge entry %s added by an organiser", row_id)
    return await _changed(session, row_id)


async def propose(
    session: AsyncSession, language: str, question: str, answer: str, proposed_by: int
) -> int:
    """A volunteer's answer to a member's question, for an organiser to approve; its row id.

    Kept as given (cut to MAX_QUESTION_CHARS and MAX_PROPOSED_CHARS): the organiser shortens
    and rewords it before approving; the question is also its first phrasing."""
    question = _cut(" ".join(question.split()), MAX_QUESTION_CHARS)
    answer = _cut(answer.strip(), MAX_PROPOSED_CHARS)
    if not question:
        raise Empty("question")
    if not answer:
        raise Empty("answer")
    entry_id = new_entry_id(question, await repo.entry_ids(session, _language(language)))
    row_id = await repo.add(
        session,
        {
            "language": language,
            "entry_id": entry_id,
            "topic": DEFAULT_TOPIC,
            "question": question,
            "phrasings": _cut(question, MAX_PHRASING_CHARS).replace(PHRASING_SEPARATOR, " "),
            "answer": answer,
            "state": PROPOSED,
            "origin": VOLUNTEER,
            "proposed_by": proposed_by,
        },
    )
    await session.commit()
    log.info("knowledge entry %s proposed", row_id)
    return row_id


async def get(session: AsyncSession, row_id: int) -> Row | None:
    """One row in any state (organisers' views)."""
    return await repo.get(session, row_id)


async def approve(session: AsyncSession, row_id: int, by: int) -> Row:
    """A proposal goes live; refused (TooLong) while its texts are over the limits."""
    row = await repo.get(session, row_id)
    if row is None or row.state != PROPOSED:
        raise Gone
    clean_question(row.question)
    clean_answer(row.answer)
    if not await repo.change(session, row_id, (PROPOSED,), {"state": LIVE, "edited_by": by}):
        raise Gone
    log.info("knowledge proposal %s approved", row_id)
    return await _changed(session, row_id)


async def reject(session: AsyncSession, row_id: int) -> None:
    """A proposal is dropped (the only row ever deleted)."""
    if not await repo.remove(session, row_id, PROPOSED):
        raise Gone
    await session.commit()
    forget(session)
    log.info("knowledge proposal %s rejected", row_id)


async def edit(
    session: AsyncSession,
    row_id: int,
    by: int,
    *,
    question: str | None = None,
    answer: str | None = None,
    phrasings: str | None = None,
    topic: str | None = None,
) -> Row:
    """Change a live entry's or a proposal's texts; an edited bundled entry becomes the
    organisers' (a newer release no longer refreshes it)."""
    values: dict[str, Any] = {"edited_by": by}
    if question is not None:
        values["question"] = clean_question(question)
    if answer is not None:
        values["answer"] = clean_answer(answer)
    if phrasings is not None:
        values["phrasings"] = clean_phrasings(phrasings)
    if topic is not None:
        values["topic"] = clean_topic(topic)
    row = await repo.get(session, row_id)
    if row is None or row.state not in (LIVE, PROPOSED):
        raise Gone
    if row.origin == BUNDLED:
        values["origin"] = ORGANISER
    if not await repo.change(session, row_id, (row.state,), values):
        raise Gone
    log.info("knowledge entry %s edited", row_id)
    return await _changed(session, row_id)


async def retire(session: AsyncSession, row_id: int, by: int) -> Row:
    """A live entry stops answering members; kept, so it can be restored."""
    if not await repo.change(session, row_id, (LIVE,), {"state": RETIRED, "edited_by": by}):
        raise Gone
    log.info("knowledge entry %s retired", row_id)
    return await _changed(session, row_id)


async def restore(session: AsyncSession, row_id: int, by: int) -> Row:
    if not await repo.change(session, row_id, (RETIRED,), {"state": LIVE, "edited_by": by}):
        raise Gone
    log.info("knowledge entry %s restored", row_id)
    return await _changed(session, row_id)


# --- organisers' views ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Row]
    page: int  # 0-based, within range
    pages: int  # at least 1
    total: int


async def listing(session: AsyncSession, language: str | None, state: str, page: int) -> Page:
    """One page of PAGE_SIZE rows of a language in a state (proposals: every language when
    language is None); a page past the end shows the last."""
    await _ensure_synced(session)
    total = await repo.count(session, state=state, language=language)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    rows = await repo.page(
        session, state=state, language=language, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    return Page(rows, page, pages, total)


async def counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    """(language, state) -> how many rows."""
    await _ensure_synced(session)
    return await repo.counts(session)


async def _ensure_synced(session: AsyncSession) -> None:
    cache = _cache(session)
    if not cache.synced:
        async with cache.lock:
            if not cache.synced:
                cache.synced = await sync_bundled(session)


# --- CSV export and import -----------------------------------------------------------------


def to_csv(rows: Iterable[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(
            [r.entry_id, r.topic, r.question, " | ".join(_split(r.phrasings)), r.answer]
        )
    return out.getvalue()


async def export_csv(session: AsyncSession, language: str) -> str:
    """A language's live entries in the bundled files' format (import it back to apply
    edits: entries left out of the file are retired)."""
    await _ensure_synced(session)
    return to_csv(await repo.rows(session, language=_language(language), state=LIVE))


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with an imported file, and where (line 0: the whole file)."""

    line: int
    code: str  # encoding | size | header | format | fields | empty | id | duplicate |
    # question | answer | phrasing | phrasings | topic | proposal | nothing
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What an import would do (or did): entry ids per outcome, or the problems."""

    language: str
    problems: tuple[Problem, ...] = ()
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.changed) + len(self.restored) + len(self.retired)


def _check_rows(text: str) -> list[Problem]:
    """Every problem, line by line (parse_csv stops at the first, in English)."""
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != CSV_HEADER:
            return [Problem(1, "header", ",".join(CSV_HEADER))]
        seen: set[str] = set()
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            problems += _check_row(line, row, seen)
    except csv.Error as exc:
        problems.append(Problem(reader.line_num, "format", str(exc)))
    return problems


def _check_row(line: int, row: list[str], seen: set[str]) -> list[Problem]:
    if len(row) != len(CSV_HEADER):
        return [Problem(line, "fields", str(len(row)))]
    entry_id, topic, question, phrasings, answer = (cell.strip() for cell in row)
    if not (entry_id and topic and question and _split(phrasings) and answer):
        return [Problem(line, "empty")]
    found: list[Problem] = []
    if not _VALID_ID.match(entry_id):
        found.append(Problem(line, "id", entry_id))
    elif entry_id in seen:
        found.append(Problem(line, "duplicate", entry_id))
    seen.add(entry_id)
    for cleaner, value in (
        (clean_topic, topic),
        (clean_question, question),
        (clean_phrasings, phrasings),
        (clean_answer, answer),
    ):
        try:
            cleaner(value)
        except TooLong as exc:
            found.append(Problem(line, exc.what, f"{exc.length}/{exc.limit}"))
    return found


def _decode(data: bytes) -> tuple[str | None, list[Problem]]:
    if len(data) > MAX_IMPORT_BYTES:
        return None, [Problem(0, "size", str(MAX_IMPORT_BYTES // 1024))]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return None, [Problem(0, "encoding")]


async def check_import(session: AsyncSession, language: str, data: bytes) -> ImportPlan:
    """What importing this file would change in a language, or every problem in it. The
    file is the language's whole live knowledge base: live entries it leaves out retire."""
    await _ensure_synced(session)
    _language(language)
    text, problems = _decode(data)
    if text is not None:
        problems = _check_rows(text)
    if text is None or problems:
        return ImportPlan(language, tuple(problems))
    try:
        parsed = parse_csv(text, language)
    except ValueError as exc:  # a rule parse_csv has and _check_rows missed
        return ImportPlan(language, (Problem(0, "format", str(exc)),))
    if not parsed:
        return ImportPlan(language, (Problem(0, "nothing"),))
    have = {r.entry_id: r for r in await repo.rows(session, language=language)}
    added, changed, restored, proposals = [], [], [], []
    unchanged = 0
    for e in parsed:
        row = have.get(e.entry_id)
        if row is None:
            added.append(e.entry_id)
        elif row.state == PROPOSED:
            proposals.append(e.entry_id)
        elif row.state == RETIRED:
            restored.append(e.entry_id)
        elif _differs(row, e):
            changed.append(e.entry_id)
        else:
            unchanged += 1
    if proposals:
        lines = _lines_of(text)
        problems = [Problem(lines.get(i, 0), "proposal", i) for i in proposals]
        return ImportPlan(language, tuple(problems))
    in_file = {e.entry_id for e in parsed}
    retired = [r.entry_id for r in have.values() if r.state == LIVE and r.entry_id not in in_file]
    return ImportPlan(
        language,
        added=tuple(added),
        changed=tuple(changed),
        restored=tuple(restored),
        retired=tuple(retired),
        unchanged=unchanged,
    )


def _lines_of(text: str) -> dict[str, int]:
    reader = csv.reader(io.StringIO(text))
    lines: dict[str, int] = {}
    start = 1
    for row in reader:
        if row and start > 1:
            lines.setdefault(row[0].strip(), start)
        start = reader.line_num + 1
    return lines


async def apply_import(session: AsyncSession, language: str, data: bytes, by: int) -> ImportPlan:
    """Check the file again against the database as it is now and, if all is well, apply it
    in one transaction; the plan says what was done (nothing, when it has problems)."""
    plan = await check_import(session, language, data)
    if not plan.ok or not plan.changes:
        return plan
    text, _problems = _decode(data)
    assert text is not None
    have = {r.entry_id: r for r in await repo.rows(session, language=language)}
    new: list[dict[str, Any]] = []
    for e in parse_csv(text, language):
        row = have.get(e.entry_id)
        if row is None:
            new.append({**_texts(e), "language": language, "entry_id": e.entry_id,
                        "state": LIVE, "origin": ORGANISER, "edited_by": by})  # fmt: skip
        elif e.entry_id in plan.changed or e.entry_id in plan.restored:
            values = {**_texts(e), "state": LIVE, "edited_by": by}
            if e.entry_id in plan.changed or _differs(row, e):
                values["origin"] = ORGANISER
            await repo.change(session, row.id, (row.state,), values)
    for entry_id in plan.retired:
        await repo.change(session, have[entry_id].id, (LIVE,), {"state": RETIRED, "edited_by": by})
    await repo.add_many(session, new)
    await session.commit()
    forget(session)
    log.info(
        "knowledge import (%s): %s added, %s changed, %s restored, %s retired",
        language,
        len(plan.added),
        len(plan.changed),
        len(plan.restored),
        len(plan.retired),
    )
    return plan
