"""`ledenbot workshops import|export` as an operator runs them: a real process, a real file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from storage.engine import create_engine
from storage.models import Workshop
from tests.test_cli import run_cli

HEADER = "title;starts_at;ends_at;capacity;town;online_url;topics\n"
GOOD = (
    HEADER
    + "Debatteren;2027-03-14 10:00;2027-03-14 12:00;20;Utrecht;;Debatteren\n"
    + "Begroting lezen;2027-03-21 19:30;2027-03-21 21:00;0;;https://meet.example.org/b;\n"
)
BAD = (
    HEADER
    + "Debatteren;2027-03-14 10:00;2027-03-14 12:00;20;Utrecht;;Debatteren\n"
    + "Speechen;zondag;2027-03-14 12:00;-1;Xyzzyville;;\n"
)


async def count_workshops(tmp_path: Path) -> int:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(Workshop)) or 0)
    finally:
        await engine.dispose()


async def test_a_bad_file_names_every_error_and_imports_nothing(tmp_path: Path) -> None:
    (tmp_path / "plan.csv").write_text(BAD, encoding="utf-8")

    code, out = await run_cli(tmp_path, "workshops", "import", "plan.csv", DEFAULT_LOCALE="en")

    assert code == 1, out
    assert "Line 3, column starts_at: “zondag” is not a date and time" in out
    assert "Line 3, column capacity: “-1” is not a whole number" in out
    assert "Line 3, column town: “Xyzzyville” is not a town I know." in out
    assert "Nothing was imported" in out
    assert "Line 2" not in out
    assert await count_workshops(tmp_path) == 0


async def test_errors_come_in_the_default_locale(tmp_path: Path) -> None:
    (tmp_path / "plan.csv").write_text(BAD, encoding="utf-8")

    code, out = await run_cli(tmp_path, "workshops", "import", "plan.csv")  # DEFAULT_LOCALE nl

    assert code == 1, out
    assert "Regel 3, kolom starts_at" in out


async def test_a_good_file_is_imported_and_exported(tmp_path: Path) -> None:
    (tmp_path / "plan.csv").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())

    code, out = await run_cli(tmp_path, "workshops", "import", "plan.csv", DEFAULT_LOCALE="en")
    assert code == 0, out
    assert "2 workshops imported." in out
    assert await count_workshops(tmp_path) == 2

    code, out = await run_cli(tmp_path, "workshops", "export", "out.csv", DEFAULT_LOCALE="en")
    assert code == 0, out
    assert "2 workshops exported to out.csv." in out
    exported = (tmp_path / "out.csv").read_bytes()
    assert exported.startswith(b"\xef\xbb\xbftitle;description;starts_at;")
    lines = exported.decode("utf-8-sig").splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("Debatteren;;2027-03-14 10:00;2027-03-14 12:00;")
    assert ";Utrecht;west;" in lines[1] and lines[1].endswith(";Debatteren;")
    assert ";https://meet.example.org/b;0;nl;no;" in lines[2]

    # What was exported imports again: the file is the interface, both ways.
    code, out = await run_cli(tmp_path, "workshops", "import", "out.csv", DEFAULT_LOCALE="en")
    assert code == 0, out
    assert await count_workshops(tmp_path) == 4


async def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    code, out = await run_cli(tmp_path, "workshops", "import", "nowhere.csv")
    assert code == 1
    assert "cannot read nowhere.csv" in out
