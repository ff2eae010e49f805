"""The check-in window: from an hour before the start until the end, whatever the local date,
and a new code when the workshop moves."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services import checkin, signups, workshops
from storage.models import Workshop
from tests import factories

AMS = ZoneInfo("Europe/Amsterdam")
LATE = datetime(2027, 3, 13, 23, 30, tzinfo=AMS)  # a Saturday night, till 01:30 Sunday


async def late_workshop(session: AsyncSession) -> tuple[Workshop, object, str]:
    (member,) = await factories.bare_members(session, 1)
    item = await factories.workshop(
        session, "Nachtdebat", now=LATE, starts_in=timedelta(0), hours=2
    )
    with clock.travel_to(LATE - timedelta(days=7)):
        await signups.sign_up(session, member, item)
    workshop = await session.get(Workshop, item)
    assert workshop is not None
    return workshop, member, await checkin.token_for(session, workshop)


@pytest.mark.parametrize(
    ("minutes", "accepted"),
    [(-61, False), (-60, True), (-15, True), (75, True), (119, True), (121, False)],
)
async def test_window_from_an_hour_before_until_the_end_across_midnight(
    session: AsyncSession, minutes: int, accepted: bool
) -> None:
    workshop, member, token = await late_workshop(session)
    with clock.travel_to(LATE + timedelta(minutes=minutes)):
        if accepted:
            result = await checkin.check_in(session, member, token)  # type: ignore[arg-type]
            assert result.workshop.id == workshop.id and not result.already
        else:
            with pytest.raises(checkin.OutsideWindow) as refused:
                await checkin.check_in(session, member, token)  # type: ignore[arg-type]
            assert refused.value.opens == LATE - timedelta(hours=1)
            assert refused.value.closes == LATE + timedelta(hours=2)


async def test_a_forwarded_link_used_from_home_the_next_day_is_refused(
    session: AsyncSession,
) -> None:
    _workshop, member, token = await late_workshop(session)
    with clock.travel_to(LATE + timedelta(hours=12)), pytest.raises(checkin.OutsideWindow):
        await checkin.check_in(session, member, token)  # type: ignore[arg-type]


async def test_moving_a_workshop_gives_it_a_new_code(session: AsyncSession) -> None:
    workshop, member, old = await late_workshop(session)
    later = LATE + timedelta(days=7)
    await workshops.reschedule(session, workshop.id, later, later + timedelta(hours=2))
    workshop = await session.get(Workshop, workshop.id)
    assert workshop is not None
    new = await checkin.token_for(session, workshop)
    assert new != old
    with clock.travel_to(later):
        with pytest.raises(checkin.UnknownCode):
            await checkin.check_in(session, member, old)  # type: ignore[arg-type]
        assert (await checkin.check_in(session, member, new)).workshop.id == workshop.id  # type: ignore[arg-type]
