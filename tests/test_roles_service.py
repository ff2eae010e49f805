"""Granting and revoking roles, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import roles
from bot.services.roles import Grant, RoleName

ADMIN = frozenset({Grant(RoleName.ADMIN)})


async def test_bootstrap_admin_comes_from_settings(session: AsyncSession) -> None:
    assert await roles.grants_of(session, 10, frozenset({10})) == ADMIN
    assert await roles.grants_of(session, 11, frozenset({10})) == frozenset()


async def test_assign_regional_organiser_and_revoke(session: AsyncSession) -> None:
    await roles.assign(
        session, actor=ADMIN, actor_id=10, target_id=20, role=RoleName.ORGANISER, region="oost"
    )
    assert await roles.grants_of(session, 20, frozenset()) == {Grant(RoleName.ORGANISER, "oost")}
    await roles.revoke(session, actor=ADMIN, target_id=20, role=RoleName.ORGANISER)
    assert await roles.grants_of(session, 20, frozenset()) == frozenset()


@pytest.mark.parametrize(
    ("actor", "role", "region", "error"),
    [
        (frozenset(), RoleName.VOLUNTEER, None, roles.NotAdmin),
        (frozenset({Grant(RoleName.ORGANISER)}), RoleName.VOLUNTEER, None, roles.NotAdmin),
        (ADMIN, RoleName.ORGANISER, "atlantis", roles.UnknownRegion),
        (ADMIN, RoleName.VOLUNTEER, "oost", roles.NotRegional),
    ],
)
async def test_refusals_change_nothing(
    session: AsyncSession,
    actor: frozenset[Grant],
    role: RoleName,
    region: str | None,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        await roles.assign(session, actor=actor, actor_id=1, target_id=30, role=role, region=region)
    assert await roles.grants_of(session, 30, frozenset()) == frozenset()


async def test_double_grant_and_missing_revoke_are_refused(session: AsyncSession) -> None:
    await roles.assign(
        session, actor=ADMIN, actor_id=1, target_id=40, role=RoleName.TRAINER, region=None
    )
    with pytest.raises(roles.AlreadyGranted):
        await roles.assign(
            session, actor=ADMIN, actor_id=1, target_id=40, role=RoleName.TRAINER, region=None
        )
    with pytest.raises(roles.NotGranted):
        await roles.revoke(session, actor=ADMIN, target_id=40, role=RoleName.COUNSELLOR)


@pytest.mark.parametrize(
    ("word", "role"),
    [
        ("organisator", RoleName.ORGANISER),
        ("Vrijwilliger", RoleName.VOLUNTEER),
        ("förtroendeperson", RoleName.COUNSELLOR),
        ("admin", RoleName.ADMIN),
    ],
)
def test_role_words_in_three_languages(word: str, role: RoleName) -> None:
    assert roles.parse_role(word) is role


def test_unknown_role_word() -> None:
    with pytest.raises(roles.UnknownRole):
        roles.parse_role("koning")
