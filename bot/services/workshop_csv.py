"""Workshops in and out of a spreadsheet: an organiser plans a training day in Excel.

An import is all or nothing: every row is checked first and every problem reported by line
and column, so the organiser fixes the file once instead of once per error; only a file
without a single problem is saved, in one transaction.

The file
--------
UTF-8 (with or without the BOM Excel writes), delimited by ``,`` or ``;`` (Dutch and Swedish
Excel use ``;``; a first line ``sep=;`` is understood too), one workshop per row under a
header row. The column names are a stable interface; their order is free, case is ignored:

``title``            required, at most 200 characters
``description``      free text (may span lines when quoted)
``starts_at``        required; local time in TIMEZONE: ``2027-03-14 10:00``
                     (also ``14-03-2027 10:00`` and ``2027-03-14T10:00``)
``ends_at``          required, after ``starts_at``
``venue``            the building, e.g. "Buurthuis De Pijp"
``address``          street and number
``town``             a town in NL, BE or SE; a name shared by several places is written with
                     its province and country: ``Hengelo (Gelderland, NL)``
``region``           a configured region's code or name; empty: suggested from the town
``online_url``       ``https://…``; a workshop needs a town, an online_url, or both
``capacity``         required, a whole number from 0 to 10000
``language``         ``nl``, ``en`` or ``sv``; empty: ``nl``
``members_only``     yes/no, ja/nee, ja/nej, true/false, 1/0; empty: no
``signup_deadline``  local time like ``starts_at``, not after it; may be empty
``topics``           catalogue skills in any language, separated by ``;``
``trainer``          the Telegram user id of a member who agreed to teach (the trainer role,
                     or a talent marked "can teach" while findable); admins may name any
                     member. One error text for every other id: it does not tell members
                     from strangers. May be empty.

Who imports matters: a regional organiser imports workshops of their own region(s) only (a
row elsewhere refuses the file), and exports only those; admins, national organisers and the
operator's command line act on every region.

The export writes the same columns (``;``-delimited, times local, topics by their Dutch
names), so an exported file imports again unchanged. Every cell that Excel would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is exported
behind an apostrophe (bot.services.spreadsheet), which the import removes again.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import catalogue, regions, roles
from bot.services import workshops as workshop_service
from bot.services.places import Gazetteer, Place, default_gazetteer, normalise
from bot.services.roles import Grant, RoleName, Scope
from bot.services.skill_match import SkillMatcher
from bot.services.spreadsheet import SafeWriter, unguard
from bot.settings import SUPPORTED_LOCALES
from storage.models import Workshop
from storage.repositories import members as member_repo
from storage.repositories import workshops as workshop_repo
from storage.repositories.regions import Configured

__all__ = [
    "COLUMNS",
    "MAX_BYTES",
    "MAX_ROWS",
    "CellError",
    "ImportReport",
    "RowError",
    "describe",
    "export_csv",
    "find_town",
    "import_csv",
]

COLUMNS = (
    "title",
    "description",
    "starts_at",
    "ends_at",
    "venue",
    "address",
    "town",
    "region",
    "online_url",
    "capacity",
    "language",
    "members_only",
    "signup_deadline",
    "topics",
    "trainer",
)
REQUIRED = ("title", "starts_at", "ends_at", "capacity")
#: Bounds on what one upload may cost: a training day is dozens of rows, not a data dump.
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
MAX_CAPACITY = 10_000
#: Text lengths: the model's columns, and a description that still fits a Telegram message.
MAX_CHARS = {"title": 200, "venue": 200, "address": 200, "online_url": 500, "description": 3000}
EXPORT_DELIMITER = ";"
T = TypeVar("T")
TIME_FORMAT = "%Y-%m-%d %H:%M"
_TIME_FORMATS = (
    TIME_FORMAT,
    "%Y-%m-%d %H:%M:%S",  # what Excel writes back after touching the cell
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y %H:%M:%S",
)
_YES = frozenset({"yes", "ja", "true", "1", "y", "j"})
_NO = frozenset({"no", "nee", "nej", "false", "0", "n", ""})
#: A town is taken without asking only when it is this good and this far ahead of the next.
TOWN_SURE_SCORE = 90.0
TOWN_SURE_LEAD = 5.0
_LABEL = re.compile(r"^(?P<name>.+?)\s*\((?P<province>[^(),]+),\s*(?P<country>[A-Za-z]{2})\)$")

_MESSAGES: dict[str, Any] = {
    "empty_file": __("The file is empty."),
    "file_too_large": __("The file is larger than 2 MB; split it into smaller files."),
    "not_utf8": __("Line {line}: the file is not UTF-8 text. In Excel, save it as “CSV UTF-8”."),
    "bad_csv": __("Line {line} cannot be read as CSV: check the quotation marks."),
    "too_many_rows": __("The file has {value} workshops; import at most 2000 at a time."),
    "no_rows": __("The file has a header but no workshops."),
    "unknown_column": __("Line {line}: “{column}” is not a known column."),
    "duplicate_column": __("Line {line}: the column “{column}” appears twice."),
    "missing_column": __("Line {line}: the column “{column}” is missing."),
    "missing_place_column": __("Line {line}: a column “town” or “online_url” is needed."),
    "extra_fields": __("Line {line} has more values than the header has columns."),
    "required": __("Line {line}, column {column}: this cannot be empty."),
    "too_long": __("Line {line}, column {column}: the text is too long."),
    "bad_datetime": __(
        "Line {line}, column {column}: “{value}” is not a date and time like 2027-03-14 10:00."
    ),
    "nonexistent_time": __(
        "Line {line}, column {column}: “{value}” does not exist: the clocks skip that hour."
    ),
    "end_before_start": __(
        "Line {line}, column {column}: the end “{value}” is not after the start."
    ),
    "deadline_after_start": __(
        "Line {line}, column {column}: the sign-up deadline “{value}” is after the start."
    ),
    "bad_capacity": __(
        "Line {line}, column {column}: “{value}” is not a whole number from 0 to 10000."
    ),
    "bad_yes_no": __("Line {line}, column {column}: “{value}” is not yes or no."),
    "bad_language": __("Line {line}, column {column}: “{value}” is not nl, en or sv."),
    "unknown_town": __("Line {line}, column {column}: “{value}” is not a town I know."),
    "ambiguous_town": __(
        "Line {line}, column {column}: “{value}” could be more than one place; "
        "add the province and country, like “Hengelo (Gelderland, NL)”."
    ),
    "unknown_region": __("Line {line}, column {column}: “{value}” is not a configured region."),
    "no_place": __("Line {line}: give a town or an online_url."),
    "bad_url": __(
        "Line {line}, column {column}: “{value}” is not a web address starting with https://."
    ),
    "unsure_topic": __(
        "Line {line}, column {column}: the topic “{value}” is not in the skills list, "
        "or could be more than one skill."
    ),
    "bad_trainer": __(
        "Line {line}, column {column}: “{value}” is not a Telegram user id (a number)."
    ),
    "unknown_trainer": __(
        "Line {line}, column {column}: {value} cannot be named as trainer. Name someone "
        "with the trainer role, or a member who marked a talent they can teach."
    ),
    "outside_region": __(
        "Line {line}, column {column}: “{value}” is not in your region; "
        "you can import workshops of your own region only."
    ),
    "region_required": __(
        "Line {line}, column {column}: say which of your regions this workshop belongs to."
    ),
    "invalid": __("Line {line}, column {column}: “{value}” is not valid."),
}
_MAX_SHOWN = 60  # characters of a bad value quoted back; a pasted essay is not echoed


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem: where (line 1 is the header; 0 is the file as a whole), and what."""

    line: int
    column: str
    code: str
    value: str = ""


@dataclass
class ImportReport:
    """Either how many workshops were saved, or every reason why none were."""

    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def describe(error: RowError) -> str:
    """The error as one sentence in the current gettext locale."""
    template = _MESSAGES.get(error.code, _MESSAGES["invalid"])
    value = " ".join(error.value.split())
    if len(value) > _MAX_SHOWN:
        value = value[: _MAX_SHOWN - 1] + "…"
    return str(template).format(line=error.line, column=error.column, value=value)


# --- reading the file -----------------------------------------------------------------------


class _FileRejected(Exception):
    def __init__(self, *errors: RowError) -> None:
        self.errors = list(errors)


@dataclass
class _Table:
    header_line: int
    columns: list[str | None]  # per position: our column name, None for an unnamed one
    rows: list[tuple[int, list[str]]]  # (first line of the row, its cells)


def _decode(data: bytes) -> str:
    """The text, or why not: size first, so a huge upload costs no decoding."""
    if len(data) > MAX_BYTES:
        raise _FileRejected(RowError(0, "", "file_too_large", str(len(data))))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _FileRejected(RowError(line, "", "not_utf8")) from None
    if not text.strip():
        raise _FileRejected(RowError(0, "", "empty_file"))
    if "\0" in text:  # not text at all, and PostgreSQL refuses NUL in a text column
        raise _FileRejected(RowError(text[: text.index("\0")].count("\n") + 1, "", "bad_csv"))
    return text


def _delimiter(text: str) -> tuple[str, str]:
    """The delimiter, and the text without Excel's optional "sep=;" line.

    Decided on the header line, which has no commas or semicolons of its own, so unlike
    csv.Sniffer it cannot be fooled by punctuation in the descriptions below."""
    first, _, rest = text.partition("\n")
    first = first.rstrip("\r")
    if first.lower().startswith("sep=") and len(first) == 5:
        return first[4], "\n" + rest  # keep the line count
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return (best if counts[best] else ","), text


def _read_table(text: str) -> _Table:
    """Records with the line each starts on: a quoted description may span several lines."""
    delimiter, text = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    last = 0
    try:
        for record in reader:
            start, last = last + 1, reader.line_num
            if any(cell.strip() for cell in record):
                records.append((start, record))
    except csv.Error:
        raise _FileRejected(RowError(last + 1, "", "bad_csv")) from None
    if not records:
        raise _FileRejected(RowError(0, "", "empty_file"))
    (header_line, header), rows = records[0], records[1:]
    if not rows:
        raise _FileRejected(RowError(0, "", "no_rows"))
    if len(rows) > MAX_ROWS:
        raise _FileRejected(RowError(0, "", "too_many_rows", str(len(rows))))
    return _Table(header_line, _header(header_line, header), rows)


def _header(line: int, cells: list[str]) -> list[str | None]:
    """Our column per position; a typo in a name is an error, not a silently lost column."""
    columns: list[str | None] = []
    errors: list[RowError] = []
    for cell in cells:
        name = re.sub(r"[\s-]+", "_", cell.strip().lower()) or None
        if name is not None and name not in COLUMNS:
            errors.append(RowError(line, cell.strip(), "unknown_column", cell.strip()))
        elif name is not None and name in columns:
            errors.append(RowError(line, name, "duplicate_column", name))
        columns.append(name)
    errors += [RowError(line, c, "missing_column") for c in REQUIRED if c not in columns]
    if "town" not in columns and "online_url" not in columns:
        errors.append(RowError(line, "town", "missing_place_column"))
    if errors:
        raise _FileRejected(*errors)
    return columns


# --- checking one row -----------------------------------------------------------------------


class CellError(ValueError):
    """A cell that cannot be used, as an error code; `value` overrides what is quoted back."""

    def __init__(self, code: str, value: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.value = value


@dataclass
class _Lookups:
    """What every row is checked against, loaded once per import."""

    session: AsyncSession
    tz: ZoneInfo
    matcher: SkillMatcher
    gazetteer: Gazetteer
    regions: list[Configured]
    scope: Scope
    any_trainer: bool  # admins may name any member; organisers only those who agreed
    trainers: dict[int, int | None] = field(default_factory=dict)

    @classmethod
    async def load(cls, session: AsyncSession, tz: ZoneInfo, grants: frozenset[Grant]) -> _Lookups:
        scope = roles.organiser_scope(grants)
        if scope is None:
            raise roles.NotOrganiser
        return cls(
            session,
            tz,
            await catalogue.matcher(session),
            default_gazetteer(),
            await regions.configured(session),
            scope,
            roles.has_role(grants, RoleName.ADMIN),
        )

    async def trainer(self, telegram_id: int) -> int | None:
        """members.id of a member who may be named trainer; cached, trainers recur."""
        if telegram_id not in self.trainers:
            self.trainers[telegram_id] = await self._trainer(telegram_id)
        return self.trainers[telegram_id]

    async def _trainer(self, telegram_id: int) -> int | None:
        member = await member_repo.by_telegram_id(self.session, telegram_id)
        if member is None or await member_repo.consent_of(self.session, member.id) is None:
            return None
        if self.any_trainer or await roles.agreed_to_train(self.session, member):
            return member.id
        return None


class _Row:
    """One data row's cells and the problems found in them so far."""

    def __init__(self, line: int, columns: list[str | None], cells: list[str]) -> None:
        self.line = line
        self.errors: list[RowError] = []
        self.cells: dict[str, str] = {}
        for position, cell in enumerate(cells):
            name = columns[position] if position < len(columns) else None
            if name is not None:
                self.cells[name] = unguard(cell.strip())  # our export's formula guard
            elif cell.strip() and not any(e.code == "extra_fields" for e in self.errors):
                self.errors.append(RowError(line, "", "extra_fields"))

    def fail(self, column: str, code: str, value: str | None = None) -> None:
        shown = self.cells.get(column, "") if value is None else value
        self.errors.append(RowError(self.line, column, code, shown))

    def take(self, column: str, parse: Callable[[str], T]) -> T | None:
        try:
            return parse(self.cells.get(column, ""))
        except CellError as bad:
            self.fail(column, bad.code, bad.value)
            return None


def _text(column: str, required: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if required and not raw:
            raise CellError("required")
        if len(raw) > MAX_CHARS.get(column, 200):
            raise CellError("too_long")
        return raw

    return parse


def _local_time(tz: ZoneInfo, required: bool) -> Callable[[str], datetime | None]:
    def parse(raw: str) -> datetime | None:
        if not raw:
            if required:
                raise CellError("required")
            return None
        for fmt in _TIME_FORMATS:
            try:
                naive = datetime.strptime(raw, fmt)
            except ValueError:
                continue
            moment = naive.replace(tzinfo=tz).astimezone(UTC)
            if moment.astimezone(tz).replace(tzinfo=None) != naive:
                raise CellError("nonexistent_time")
            return moment
        raise CellError("bad_datetime")

    return parse


def _capacity(raw: str) -> int:
    """Places; bounded so that a typo (200000) is caught rather than saved."""
    if not raw:
        raise CellError("required")
    if not re.fullmatch(r"\d{1,6}", raw) or int(raw) > MAX_CAPACITY:
        raise CellError("bad_capacity")
    return int(raw)


def _yes_no(raw: str) -> bool:
    word = raw.lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise CellError("bad_yes_no")


def _language(raw: str) -> str:
    code = raw.lower() or "nl"
    if code not in SUPPORTED_LOCALES:
        raise CellError("bad_language")
    return code


def _url(raw: str) -> str | None:
    """A link members can tap: scheme and host required, no spaces."""
    if not raw:
        return None
    if len(raw) > MAX_CHARS["online_url"]:
        raise CellError("too_long")
    if not re.fullmatch(r"https?://[^\s/]+\.[^\s]+", raw, flags=re.IGNORECASE):
        raise CellError("bad_url")
    return raw


def find_town(text: str, gazetteer: Gazetteer | None = None) -> Place:
    """The one place a typed town means, or CellError: a file cannot be asked back.

    Several exact hits ("Gent": Gent and Gendt's alias) are settled by the place whose own
    name it is; "Hengelo (Gelderland, NL)" picks one of two places with the same name.
    """
    gazetteer = gazetteer or default_gazetteer()
    label = _LABEL.match(text)
    name = label["name"] if label else text
    matches = gazetteer.search(name, limit=10)
    if label:
        province, country = normalise(label["province"]), label["country"].upper()
        matches = [
            m
            for m in matches
            if normalise(m.place.province) == province and m.place.country == country
        ]
    if not matches or matches[0].score < TOWN_SURE_SCORE:
        raise CellError("unknown_town")
    top = [m for m in matches if m.score == matches[0].score]
    if len(top) > 1:
        own = [m for m in top if normalise(m.place.name) == normalise(name)]
        if len(own) != 1:
            raise CellError("ambiguous_town")
        return own[0].place
    if len(matches) > 1 and matches[0].score - matches[1].score < TOWN_SURE_LEAD:
        raise CellError("ambiguous_town")
    return matches[0].place


def _region(raw: str, place: Place | None, configured: list[Configured]) -> str | None:
    """The region given (by code or name), else the one the town lies in, if configured."""
    if not raw:
        suggested = regions.suggest(place, configured)
        return suggested.code if suggested else None
    wanted = raw.casefold()
    for region in configured:
        if wanted in (region.code.casefold(), region.name.casefold()):
            return region.code
    raise CellError("unknown_region")


class _UnsureTopics(Exception):
    def __init__(self, topics: list[str]) -> None:
        self.topics = topics


def _topics(raw: str, matcher: SkillMatcher) -> list[int]:
    """Skill ids for "Debatteren; Public speaking"; every unsure topic is named back."""
    found: list[int] = []
    unsure: list[str] = []
    for topic in (t.strip() for t in raw.split(";")):
        if not topic:
            continue
        matches = matcher.match(topic, limit=3)
        if not matcher.is_sure(matches):
            unsure.append(topic)
        elif matches[0].skill_id not in found:
            found.append(matches[0].skill_id)
    if unsure:
        raise _UnsureTopics(unsure)
    return found


async def _trainer(row: _Row, lookups: _Lookups) -> int | None:
    raw = row.cells.get("trainer", "")
    if not raw:
        return None
    if not re.fullmatch(r"\d{1,15}", raw):
        row.fail("trainer", "bad_trainer")
        return None
    member_id = await lookups.trainer(int(raw))
    if member_id is None:
        row.fail("trainer", "unknown_trainer")
    return member_id


def _scoped(
    row: _Row, region_code: str | None, place: Place | None, lookups: _Lookups
) -> str | None:
    """The row's region if the importer may act there: both the region and the region the
    town lies in. An online row of a one-region organiser without a region is theirs."""
    scope = lookups.scope
    if scope.everywhere or any(e.column in ("town", "region") for e in row.errors):
        return region_code
    town_region = regions.suggest(place, lookups.regions)
    if region_code is None and place is None and not row.cells.get("region"):
        if not row.cells.get("online_url"):
            return None  # reported as no_place
        if scope.regions is not None and len(scope.regions) == 1:
            return next(iter(scope.regions))
        row.fail("region", "region_required")
    elif town_region is not None and not scope.allows(town_region.code):
        row.fail("town", "outside_region")
    elif not scope.allows(region_code):
        row.fail("region" if row.cells.get("region") else "town", "outside_region")
    return region_code


async def _draft(row: _Row, lookups: _Lookups) -> workshop_service.Draft | None:
    """The row as a Draft, or None with every problem recorded on the row."""
    tz = lookups.tz
    title = row.take("title", _text("title", required=True))
    description = row.take("description", _text("description"))
    starts_at = row.take("starts_at", _local_time(tz, required=True))
    ends_at = row.take("ends_at", _local_time(tz, required=True))
    deadline = row.take("signup_deadline", _local_time(tz, required=False))
    venue = row.take("venue", _text("venue"))
    address = row.take("address", _text("address"))
    place = row.take("town", lambda raw: find_town(raw, lookups.gazetteer) if raw else None)
    online_url = row.take("online_url", _url)
    region_code = row.take("region", lambda raw: _region(raw, place, lookups.regions))
    capacity = row.take("capacity", _capacity)
    language = row.take("language", _language)
    members_only = row.take("members_only", _yes_no)
    try:
        skill_ids = _topics(row.cells.get("topics", ""), lookups.matcher)
    except _UnsureTopics as unsure:
        skill_ids = []
        for topic in unsure.topics:
            row.fail("topics", "unsure_topic", topic)
    trainer_id = await _trainer(row, lookups)
    region_code = _scoped(row, region_code, place, lookups)

    if not row.cells.get("town") and not row.cells.get("online_url"):
        row.fail("town", "no_place", "")
    if starts_at and ends_at and ends_at <= starts_at:
        row.fail("ends_at", "end_before_start")
    if starts_at and deadline and deadline > starts_at:
        row.fail("signup_deadline", "deadline_after_start")
    if row.errors:
        return None
    draft = workshop_service.Draft(
        title=title or "",
        description=description or "",
        starts_at=starts_at,  # type: ignore[arg-type]  # checked: no errors means set
        ends_at=ends_at,  # type: ignore[arg-type]
        capacity=capacity or 0,
        venue=venue or None,
        address=address or None,
        place=place,
        region_code=region_code,
        online_url=online_url,
        language=language or "nl",
        members_only=bool(members_only),
        signup_deadline=deadline,
        trainer_id=trainer_id,
        skill_ids=tuple(skill_ids),
    )
    try:  # the service's own rules, should they ever grow beyond the checks above
        workshop_service.validate(draft)
    except workshop_service.WorkshopError as exc:
        column = str(exc.args[0]) if exc.args else ""
        row.fail(column, "invalid")
        return None
    return draft


async def import_csv(
    session: AsyncSession, data: bytes, tz: ZoneInfo, grants: frozenset[Grant]
) -> ImportReport:
    """Check every row; save all of them in one transaction, or none and say why.

    `grants` are the importer's: they decide the regions and the trainers allowed (the
    command line passes roles.OPERATOR). Raises roles.NotOrganiser for anyone else."""
    lookups = await _Lookups.load(session, tz, grants)
    try:
        table = _read_table(_decode(data))
    except _FileRejected as rejected:
        return ImportReport(errors=rejected.errors)
    drafts: list[workshop_service.Draft] = []
    errors: list[RowError] = []
    for line, cells in table.rows:
        row = _Row(line, table.columns, cells)
        draft = await _draft(row, lookups)
        errors += row.errors
        if draft is not None:
            drafts.append(draft)
    if errors:
        return ImportReport(errors=errors)
    try:
        created = await workshop_service.create_many(session, drafts)
    except Exception:
        await session.rollback()
        raise
    return ImportReport(created=len(created))


# --- writing --------------------------------------------------------------------------------


def _town_cell(workshop: Workshop, gazetteer: Gazetteer) -> str:
    """The town as the import will find it again: its name, or its label when ambiguous."""
    place = gazetteer.get(workshop.place_id) if workshop.place_id is not None else None
    if place is None:
        return workshop.town or ""
    try:
        if find_town(place.name, gazetteer).id == place.id:
            return place.name
    except CellError:
        pass
    return place.label()


def _local(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime(TIME_FORMAT) if moment else ""


async def _trainer_telegram_ids(session: AsyncSession, workshops: list[Workshop]) -> dict[int, int]:
    """members.id -> Telegram id of the trainers named, for the trainer column."""
    trainers = await member_repo.by_ids(session, (w.trainer_id for w in workshops if w.trainer_id))
    return {member_id: member.telegram_id for member_id, member in trainers.items()}


async def export_csv(session: AsyncSession, tz: ZoneInfo, scope: Scope) -> str:
    """Every workshop in `scope`, whatever its status, in the columns import_csv reads."""
    workshops = [
        w for w in await workshop_repo.all_workshops(session) if scope.allows(w.region_code)
    ]
    telegram_ids = await _trainer_telegram_ids(session, workshops)
    gazetteer = default_gazetteer()
    out = io.StringIO()
    writer = SafeWriter(out, delimiter=EXPORT_DELIMITER)
    writer.writerow(COLUMNS)
    for w in workshops:
        trainer = telegram_ids.get(w.trainer_id) if w.trainer_id is not None else None
        writer.writerow(
            [
                w.title,
                w.description,
                _local(w.starts_at, tz),
                _local(w.ends_at, tz),
                w.venue,
                w.address,
                _town_cell(w, gazetteer),
                w.region_code or "",
                w.online_url or "",
                str(w.capacity),
                w.language,
                "yes" if w.members_only else "no",
                _local(w.signup_deadline, tz),
                "; ".join(sorted(s.name_nl for s in w.topics)),
                "" if trainer is None else str(trainer),
            ]
        )
    return out.getvalue()


def count_rows(text: str) -> int:
    """Workshops in an exported text (records, not lines: descriptions may span lines)."""
    records = csv.reader(io.StringIO(text, newline=""), delimiter=EXPORT_DELIMITER)
    return max(sum(1 for _record in records) - 1, 0)
