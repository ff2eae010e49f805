"""From a gap to a workshop, the service: who is proposed (and who never is), the ask's
pestering rules, the trainer's answer, the date and place, the workshop, the wishers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import catalogue
from bot.services import workshop_proposal as wp
from bot.services.profile import Level
from bot.services.roles import Grant, RoleName
from storage.models import Member, Workshop
from tests import factories

NOW = factories.NOW
TZ = ZoneInfo("Europe/Amsterdam")
ADMIN = factories.ADMIN_GRANTS
OOST = frozenset({Grant(RoleName.ORGANISER, "oost")})
ORG = 900


REGION_OF = {"Groningen": "noord", "Utrecht": "west"}


async def teacher(session: AsyncSession, tid: int, town: str, **kw: object) -> int:
    member = await factories.onboarded(
        session, tid, f"T{tid}", town, region=REGION_OF.get(town, "oost"), talents="debatteren",
        level=Level.TEACH,
        findable=kw.pop("findable", True), **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    return member.id


async def world(session: AsyncSession) -> dict[str, int]:
    """Wishers around Zwolle (oost); teachers near and far, and some who may not be asked."""
    await catalogue.ensure_defaults(session)
    catalogue.invalidate()
    for tid in (1, 2, 3):
        await factories.onboarded(
            session, tid, f"W{tid}", "Zwolle", region="oost", wishes="debatteren"
        )
    await factories.onboarded(session, 4, "W4", "Utrecht", region="west", wishes="debatteren")
    ids = {
        "deventer": await teacher(session, 11, "Deventer"),
        "enschede": await teacher(session, 12, "Enschede"),
        "groningen": await teacher(session, 13, "Groningen"),
        "hidden": await teacher(session, 14, "Kampen", findable=False),
        "never": await teacher(session, 15, "Kampen"),
        "role": await teacher(session, 16, "Hengelo", findable=False),
    }
    never = await session.get(Member, ids["never"])
    assert never is not None
    never.no_contact_requests = True
    await session.commit()
    await factories.give_role(session, 16, RoleName.TRAINER)
    ids["skill"] = (await factories.skill_ids(session, "debatteren"))[0]
    return ids


async def test_ranking_and_consent(session: AsyncSession) -> None:
    ids = await world(session)
    proposal = await wp.proposal_for(session, ids["skill"], "oost", NOW)
    order = [c.member_id for c in proposal.candidates]
    assert proposal.wishers == 3  # Utrecht's wisher is west's
    # Nearest to the wishers (Zwolle) first; nobody who did not agree to be asked.
    assert order == [ids["deventer"], ids["role"], ids["enschede"], ids["groningen"]]
    assert ids["hidden"] not in order and ids["never"] not in order
    assert proposal.candidates[0].distance_km is not None
    assert proposal.candidates[0].distance_km < 40
    # A regional organiser sees candidates of their own region only.
    own = await wp.proposal_for(session, ids["skill"], "oost", NOW, grants=OOST)
    assert ids["groningen"] not in [c.member_id for c in own.candidates]
    with pytest.raises(wp.OutOfScope):
        await wp.proposal_for(session, ids["skill"], "west", NOW, grants=OOST)
    with pytest.raises(wp.NotAllowed):
        await wp.proposal_for(session, ids["skill"], "oost", NOW, grants=frozenset())


async def test_planned_workshops_are_counted(session: AsyncSession) -> None:
    ids = await world(session)
    await factories.workshop(session, "Debat", "Zwolle", skills=("debatteren",), now=NOW,
                             region_code="oost")  # fmt: skip
    proposal = await wp.proposal_for(session, ids["skill"], "oost", NOW)
    assert proposal.planned == 1


async def test_ask_refusals(session: AsyncSession) -> None:
    ids = await world(session)

    async def ask(trainer: int, grants: frozenset[Grant] = ADMIN, per_day: int = 20) -> int:
        return await wp.ask(
            session, actor_id=ORG, grants=grants, skill_id=ids["skill"], region_code="oost",
            trainer_id=trainer, now=NOW, per_day=per_day,
        )  # fmt: skip

    with pytest.raises(wp.NoRequests):
        await ask(ids["never"])
    with pytest.raises(wp.NotCandidate):
        await ask(ids["hidden"])
    with pytest.raises(wp.OutOfScope):
        await ask(ids["groningen"], OOST)
    with pytest.raises(wp.NotAllowed):
        await ask(ids["deventer"], frozenset())
    first = await ask(ids["deventer"])
    with pytest.raises(wp.AlreadyAsked):
        await ask(ids["deventer"])
    await wp.answer(session, member_id=ids["deventer"], proposal_id=first, yes=False, now=NOW)
    with pytest.raises(wp.DeclinedRecently):
        await ask(ids["deventer"])
    await ask(ids["enschede"])
    with pytest.raises(wp.DailyLimit):
        await ask(ids["role"], per_day=2)


async def test_yes_date_place_workshop(session: AsyncSession) -> None:
    ids = await world(session)
    proposal_id = await wp.ask(
        session, actor_id=ORG, grants=OOST, skill_id=ids["skill"], region_code="oost",
        trainer_id=ids["deventer"], now=NOW, per_day=20,
    )  # fmt: skip
    with pytest.raises(wp.NotPending):  # only the trainer answers
        await wp.answer(session, member_id=ids["enschede"], proposal_id=proposal_id, yes=True,
                        now=NOW)  # fmt: skip
    asked = await wp.answer(
        session, member_id=ids["deventer"], proposal_id=proposal_id, yes=True, now=NOW
    )
    assert asked.status == "accepted" and asked.wishers == 3
    with pytest.raises(wp.NotPending):  # a second tap
        await wp.answer(session, member_id=ids["deventer"], proposal_id=proposal_id, yes=False,
                        now=NOW)  # fmt: skip
    start, end = wp.parse_when("14-03-2027 19:30", TZ, NOW)
    assert start == datetime(2027, 3, 14, 18, 30, tzinfo=UTC)
    assert end - start == timedelta(hours=3)
    where = wp.parse_where("Zwolle, Partijhuis")
    with pytest.raises(wp.NotAllowed):  # an organiser of another region
        await wp.plan(
            session, actor_id=901, grants=frozenset({Grant(RoleName.ORGANISER, "west")}),
            proposal_id=proposal_id, starts_at=start, ends_at=end, where=where,
            title="Debatteren", language="nl",
        )  # fmt: skip
    planned = await wp.plan(
        session, actor_id=ORG, grants=OOST, proposal_id=proposal_id, starts_at=start,
        ends_at=end, where=where, title="Debatteren", language="nl",
    )  # fmt: skip
    assert len(planned.wisher_ids) == 3
    workshop = await session.scalar(select(Workshop))
    assert workshop is not None
    assert (workshop.town, workshop.venue, workshop.region_code) == ("Zwolle", "Partijhuis", "oost")
    assert workshop.trainer_id == ids["deventer"]
    assert [s.id for s in workshop.topics] == [ids["skill"]]
    with pytest.raises(wp.NotPending):  # planned once
        await wp.plan(
            session, actor_id=ORG, grants=OOST, proposal_id=proposal_id, starts_at=start,
            ends_at=end, where=where, title="Debatteren", language="nl",
        )  # fmt: skip


@pytest.mark.parametrize(
    "text",
    ["", "morgen", "32-01-2027 19:00", "14-03-2027 25:00", "01-01-2020 10:00",
     "14-03-2029 19:30", "14-03-2027 19:30-18:00"],
)  # fmt: skip
def test_bad_dates(text: str) -> None:
    with pytest.raises(wp.BadWhen):
        wp.parse_when(text, TZ, NOW)


def test_dates_and_places() -> None:
    start, end = wp.parse_when("2027-03-14 19:30-22:00", TZ, NOW)
    assert (start.hour, end.hour) == (18, 21)
    assert wp.parse_where("online https://meet.example.org/a").online_url is not None
    for bad in ("online", "online no-link", "Xqzvwk"):
        with pytest.raises(wp.BadWhere):
            wp.parse_where(bad)


async def test_two_quick_plans_make_one_workshop(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Two taps (or two organisers) planning the same yes at once: one workshop, one refusal."""
    ids = await world(session)
    proposal_id = await wp.ask(
        session, actor_id=ORG, grants=OOST, skill_id=ids["skill"], region_code="oost",
        trainer_id=ids["deventer"], now=NOW, per_day=20,
    )  # fmt: skip
    await wp.answer(session, member_id=ids["deventer"], proposal_id=proposal_id, yes=True, now=NOW)
    start, end = wp.parse_when("14-03-2027 19:30", TZ, NOW)
    where = wp.parse_where("Zwolle")

    async def plan() -> str:
        async with sessions() as own:
            try:
                await wp.plan(
                    own, actor_id=ORG, grants=OOST, proposal_id=proposal_id, starts_at=start,
                    ends_at=end, where=where, title="Debatteren", language="nl",
                )  # fmt: skip
            except wp.NotPending:
                return "refused"
            return "planned"

    outcomes = await asyncio.gather(plan(), plan(), plan())
    assert sorted(outcomes) == ["planned", "refused", "refused"]
    assert await session.scalar(select(func.count()).select_from(Workshop)) == 1
