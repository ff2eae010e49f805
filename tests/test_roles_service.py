"""Granting and revoking roles, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import catalogue, roles
from bot.services.profile import Level
from bot.services.roles import Grant, RoleName
from tests import factories

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


@pytest.mark.parametrize(
    ("grants", "scope"),
    [
        (frozenset(), None),
        (frozenset({Grant(RoleName.TRAINER), Grant(RoleName.VOLUNTEER)}), None),
        (ADMIN, roles.ALL_REGIONS),
        (frozenset({Grant(RoleName.ORGANISER)}), roles.ALL_REGIONS),  # national
        (frozenset({Grant(RoleName.ORGANISER, "oost")}), roles.Scope(frozenset({"oost"}))),
        (
            frozenset({Grant(RoleName.ORGANISER, "oost"), Grant(RoleName.ORGANISER, "west")}),
            roles.Scope(frozenset({"oost", "west"})),
        ),
        (
            frozenset({Grant(RoleName.ORGANISER, "oost"), Grant(RoleName.ORGANISER)}),
            roles.ALL_REGIONS,
        ),
    ],
    ids=["nobody", "trainer", "admin", "national", "oost", "oost-west", "oost-and-national"],
)
def test_organiser_scope(grants: frozenset[Grant], scope: roles.Scope | None) -> None:
    assert roles.organiser_scope(grants) == scope


def test_a_regional_scope_allows_its_regions_only() -> None:
    oost = roles.Scope(frozenset({"oost"}))
    assert oost.allows("oost") and not oost.allows("west")
    assert not oost.allows(None)  # a national (or online, regionless) workshop
    assert roles.ALL_REGIONS.allows(None) and roles.ALL_REGIONS.allows("west")


async def test_regions_in_a_scope(session: AsyncSession) -> None:
    everywhere = [r.code for r in await roles.regions_in(session, roles.ALL_REGIONS)]
    assert {"noord", "oost", "west", "zuid"} <= set(everywhere)
    oost = roles.Scope(frozenset({"oost"}))
    assert [r.code for r in await roles.regions_in(session, oost)] == ["oost"]


async def test_who_agreed_to_be_a_trainer(session: AsyncSession) -> None:
    """The trainer role, or a talent marked "can teach" while findable; nothing else."""
    await catalogue.ensure_defaults(session)
    plain = await factories.onboarded(session, 501, "Ada", "Zwolle", talents="debatteren")
    hidden = await factories.onboarded(
        session, 502, "Bo", "Zwolle", talents="debatteren", level=Level.TEACH, findable=False
    )
    teacher = await factories.onboarded(
        session, 503, "Cas", "Zwolle", talents="debatteren", level=Level.TEACH, findable=True
    )
    expert = await factories.onboarded(
        session, 504, "Dee", "Zwolle", talents="debatteren", level=Level.EXPERIENCED,
        findable=True,
    )  # fmt: skip
    named = await factories.onboarded(session, 505, "Eli", "Zwolle")
    await factories.give_role(session, 505, RoleName.TRAINER)

    agreed = {m.first_name: await roles.agreed_to_train(session, m) for m in (plain, hidden)}
    agreed |= {m.first_name: await roles.agreed_to_train(session, m) for m in (teacher, expert)}
    agreed[named.first_name] = await roles.agreed_to_train(session, named)
    assert agreed == {"Ada": False, "Bo": False, "Cas": True, "Dee": False, "Eli": True}
