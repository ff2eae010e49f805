"""The demand report's figures on a generated organisation with known answers (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import demand
from bot.services.roles import Grant, RoleName
from tests import demand_data
from tests.factories import NOW

ADMIN = frozenset({Grant(RoleName.ADMIN)})
OOST_ORGANISER = frozenset({Grant(RoleName.ORGANISER, "oost")})


def _rows(found: list[demand.SkillDemand], ids: dict[str, int]) -> list[tuple[str, int, int, int]]:
    key = {v: k for k, v in ids.items()}
    return [(key[s.skill_id], s.wishers, s.teachers, s.planned) for s in found]


async def test_oost_top_wishes_teachers_and_gaps(session: AsyncSession) -> None:
    ids = await demand_data.fill(session, NOW)
    report = await demand.report(session, grants=ADMIN, region_code="oost", now=NOW)
    assert report.region_name == "Oost"
    assert report.members == 10
    # wishers, teachers (level teach only), planned in three months (region or national)
    assert _rows(report.skills, ids) == [
        ("alpha", 6, 1, 0),
        ("beta", 4, 3, 1),
        ("gamma", 2, 0, 1),
        ("delta", 0, 2, 0),
    ]
    assert [s.skill_id for s in report.top] == [ids["alpha"], ids["beta"], ids["gamma"]]
    assert [(g.skill_id, g.wishers, g.teachers) for g in report.gaps] == [(ids["alpha"], 6, 1)]
    assert report.gaps[0].name("en") == "Alpha" and report.gaps[0].name("sv") == "Alfa sv"


async def test_gaps_for_helper_h(session: AsyncSession) -> None:
    ids = await demand_data.fill(session, NOW)
    assert [g.skill_id for g in await demand.gaps(session, "oost", NOW)] == [ids["alpha"]]
    assert [g.skill_id for g in await demand.gaps(session, "west", NOW)] == [ids["epsilon"]]
    assert [g.skill_id for g in await demand.gaps(session, None, NOW)] == [ids["epsilon"]]
    # the planned oost workshop on Beta leaves the horizon: 95 days on, Beta is a gap too
    later = await demand.gaps(session, "oost", NOW + demand.HORIZON)
    assert {g.skill_id for g in later} >= {ids["beta"]}


async def test_past_workshops_signups_attendance_feedback(session: AsyncSession) -> None:
    ids = await demand_data.fill(session, NOW)
    report = await demand.report(session, grants=ADMIN, region_code="oost", now=NOW)
    assert [(p.workshop_id, p.signed_up, p.attended, p.ratings) for p in report.past] == [
        (ids["past"], 4, 3, 2)
    ]
    assert report.past[0].average == pytest.approx(4.5)
    assert (report.signed_up, report.attended, report.average) == (4, 3, pytest.approx(4.5))
    west = await demand.report(session, grants=ADMIN, region_code="west", now=NOW)
    assert [p.title for p in west.past] == ["Gamma west before"]
    assert west.average is None


async def test_whole_organisation(session: AsyncSession) -> None:
    ids = await demand_data.fill(session, NOW)
    report = await demand.report(session, grants=ADMIN, region_code=None, now=NOW)
    assert report.members == 16
    assert _rows(report.skills, ids)[:3] == [
        ("gamma", 7, 0, 1),
        ("alpha", 6, 3, 1),
        ("beta", 4, 3, 1),
    ]
    assert len(report.past) == 2


async def test_regional_organiser_sees_only_their_region(session: AsyncSession) -> None:
    await demand_data.fill(session, NOW)
    mine = await demand.report(session, grants=OOST_ORGANISER, region_code="oost", now=NOW)
    assert mine.members == 10
    for other in ("west", None):
        with pytest.raises(demand.OutOfScope):
            await demand.report(session, grants=OOST_ORGANISER, region_code=other, now=NOW)
    with pytest.raises(demand.NotAllowed):
        await demand.report(session, grants=frozenset(), region_code="oost", now=NOW)
    with pytest.raises(demand.UnknownRegion):
        await demand.report(session, grants=ADMIN, region_code="atlantis", now=NOW)
    codes = ["noord", "oost", "west", "zuid"]
    assert demand.regions_for(OOST_ORGANISER, codes) == ["oost"]
    assert demand.regions_for(ADMIN, codes) == codes
    assert demand.regions_for(frozenset(), codes) is None


async def test_empty_region(session: AsyncSession) -> None:
    report = await demand.report(session, grants=ADMIN, region_code="zuid", now=NOW)
    assert (report.members, report.skills, report.gaps, report.past) == (0, [], [], [])
    assert report.average is None
