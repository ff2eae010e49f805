"""`ledenbot report --region oost --out DIR` as an operator runs it: a real process, real files."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from storage.engine import create_engine, create_session_factory
from tests import demand_data
from tests.test_cli import run_cli


async def fill(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    try:
        async with create_session_factory(engine)() as session:
            await demand_data.fill(session, datetime.now(UTC))
    finally:
        await engine.dispose()


async def test_report_writes_the_chart_and_the_csv(tmp_path: Path) -> None:
    code, out = await run_cli(tmp_path, "migrate")
    assert code == 0, out
    await fill(tmp_path)

    code, out = await run_cli(
        tmp_path, "report", "--region", "oost", "--out", "out", DEFAULT_LOCALE="en"
    )

    assert code == 0, out
    pngs = list((tmp_path / "out").glob("report-oost-*.png"))
    csvs = list((tmp_path / "out").glob("report-oost-*.csv"))
    assert len(pngs) == 1 and len(csvs) == 1
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader(io.StringIO(csvs[0].read_text("utf-8-sig")), delimiter=";"))
    assert [(r["skill_or_workshop"], r["wishes"], r["gap"]) for r in rows][:2] == [
        ("Alpha", "6", "yes"),
        ("Reading municipal budgets and asking critical questions about them", "4", "no"),
    ]
    assert "4 skills, 1 gaps: Alpha" in out


async def test_an_unknown_region_names_the_known_ones(tmp_path: Path) -> None:
    code, out = await run_cli(tmp_path, "report", "--region", "atlantis", "--out", "out")
    assert code == 2
    assert "noord, oost, west, zuid" in out
    assert not (tmp_path / "out").exists()
