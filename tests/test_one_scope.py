"""One organiser scope (roles.organiser_scope) for every caller, the workshop permission
decided in bot/services/roles, and the attendance list read through bot/services/roster."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import checkin, roles, roster, talent
from bot.services.roles import Grant, RoleName
from storage.models import Member, Workshop
from storage.repositories import signups as signup_repo
from tests import factories

OOST = frozenset({Grant(RoleName.ORGANISER, "oost")})
NATIONAL = frozenset({Grant(RoleName.ORGANISER)})
TRAINER_ID = 7


def test_talent_has_no_scope_of_its_own() -> None:
    """The talent search used its own copy of the scope rules; one copy cannot drift."""
    assert not hasattr(talent, "scope_of")
    assert talent.Scope is roles.Scope


@pytest.mark.parametrize(
    ("grants", "member_id", "region", "manage", "change"),
    [
        (OOST, None, "oost", True, True),
        (OOST, None, "west", False, False),
        (OOST, None, None, False, False),  # a national workshop is not a region's
        (NATIONAL, None, None, True, True),
        (factories.ADMIN_GRANTS, None, "west", True, True),
        (frozenset(), TRAINER_ID, "west", True, False),  # its trainer sees, never changes
        (frozenset(), 8, "west", False, False),
        (frozenset({Grant(RoleName.TRAINER)}), None, "oost", False, False),
    ],
)
def test_may_manage_and_change_workshop(
    grants: frozenset[Grant], member_id: int | None, region: str | None, manage: bool, change: bool
) -> None:
    workshop = Workshop(region_code=region, trainer_id=TRAINER_ID)
    member = Member(id=member_id) if member_id is not None else None
    assert roles.may_manage_workshop(grants, member, workshop) is manage
    assert roles.may_change_workshop(grants, workshop) is change


async def test_attendance_list_and_ticks_through_the_service(session: AsyncSession) -> None:
    people = await factories.bare_members(session, 3, first_name="Anna")
    workshop_id = await factories.workshop(session, capacity=2)
    await factories.signed_up(session, workshop_id, people)
    listed = await roster.attendance(session, workshop_id)
    assert [(a.name, a.present) for a in listed] == [("Anna", False), ("Anna", False)]
    first = listed[0].signup_id
    assert await roster.toggle_attendance(session, workshop_id, first) is True
    assert [a.present for a in await roster.attendance(session, workshop_id)] == [True, False]
    assert await roster.toggle_attendance(session, workshop_id, first) is False
    waiting = [
        s for s in await signup_repo.of_workshop(session, workshop_id) if s.status == "waiting"
    ]
    with pytest.raises(checkin.NotOnList):
        await roster.toggle_attendance(session, workshop_id, waiting[0].id)
    with pytest.raises(checkin.NotOnList):
        await roster.toggle_attendance(session, workshop_id + 1, first)  # another workshop's
