"""Who may do what. Admins come from ADMIN_IDS (always) and from grants by other admins.

`organiser_scope` is the one place that says in which regions an organiser may act: a
regional organiser creates, imports and exports workshops of their own region(s) only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import regions
from storage.models import Member, Role, Workshop
from storage.repositories import roles as repo
from storage.repositories import skills as skill_repo
from storage.repositories.regions import Configured


class RoleName(StrEnum):
    ORGANISER = "organiser"
    TRAINER = "trainer"
    VOLUNTEER = "volunteer"
    COUNSELLOR = "counsellor"
    ADMIN = "admin"


ALIASES: dict[str, RoleName] = {
    **{r.value: r for r in RoleName},
    "organisator": RoleName.ORGANISER,
    "organizer": RoleName.ORGANISER,
    "organisatör": RoleName.ORGANISER,
    "arrangör": RoleName.ORGANISER,
    "utbildare": RoleName.TRAINER,
    "vrijwilliger": RoleName.VOLUNTEER,
    "volontär": RoleName.VOLUNTEER,
    "vertrouwenspersoon": RoleName.COUNSELLOR,
    "counselor": RoleName.COUNSELLOR,
    "förtroendeperson": RoleName.COUNSELLOR,
    "beheerder": RoleName.ADMIN,
    "administratör": RoleName.ADMIN,
}

REGIONAL_ROLES = frozenset({RoleName.ORGANISER})


@dataclass(frozen=True, slots=True)
class Grant:
    role: RoleName
    region: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """The regions an organiser may act in; `regions` None means every region."""

    regions: frozenset[str] | None = None

    @property
    def everywhere(self) -> bool:
        return self.regions is None

    def allows(self, region_code: str | None) -> bool:
        """A workshop without a region is national: only for those who act everywhere."""
        return self.regions is None or region_code in self.regions


ALL_REGIONS = Scope(None)
#: The operator at the command line (`ledenbot workshops import|export`): like an admin.
OPERATOR: frozenset[Grant] = frozenset({Grant(RoleName.ADMIN)})


class RoleError(Exception):
    """Base of the reasons a role change is refused; the handler explains each."""


class NotAdmin(RoleError):
    pass


class NotOrganiser(RoleError):
    """Workshops are created, imported and exported by organisers (and admins) only."""


class UnknownRole(RoleError):
    pass


class UnknownRegion(RoleError):
    pass


class NotRegional(RoleError):
    pass


class AlreadyGranted(RoleError):
    pass


class NotGranted(RoleError):
    pass


def parse_role(word: str) -> RoleName:
    try:
        return ALIASES[word.strip().casefold()]
    except KeyError:
        raise UnknownRole(word) from None


async def grants_of(
    session: AsyncSession, telegram_id: int, admin_ids: frozenset[int]
) -> frozenset[Grant]:
    rows = await repo.for_user(session, telegram_id)
    return grants_from([(r.role, r.region_code) for r in rows], telegram_id, admin_ids)


def grants_from(
    rows: list[tuple[str, str | None]], telegram_id: int, admin_ids: frozenset[int]
) -> frozenset[Grant]:
    """Grants from (role, region) rows, plus admin for the configured ADMIN_IDS."""
    found = {Grant(RoleName(role), region) for role, region in rows}
    if telegram_id in admin_ids:
        found.add(Grant(RoleName.ADMIN))
    return frozenset(found)


def has_role(grants: frozenset[Grant], role: RoleName) -> bool:
    return any(g.role == role for g in grants)


def organiser_scope(grants: frozenset[Grant]) -> Scope | None:
    """Where this person may act as organiser: every region for admins and national
    organisers, their own region(s) for regional ones, None for everyone else."""
    if has_role(grants, RoleName.ADMIN):
        return ALL_REGIONS
    organiser = [g for g in grants if g.role == RoleName.ORGANISER]
    if not organiser:
        return None
    if any(g.region is None for g in organiser):
        return ALL_REGIONS
    return Scope(frozenset(g.region for g in organiser if g.region))


def may_change_workshop(grants: frozenset[Grant], workshop: Workshop) -> bool:
    """Moving, cancelling or resizing a workshop: organisers of its region (or everywhere)."""
    scope = organiser_scope(grants)
    return scope is not None and scope.allows(workshop.region_code)


def may_manage_workshop(
    grants: frozenset[Grant], member: Member | None, workshop: Workshop
) -> bool:
    """Seeing a workshop's sign-ups and attendance: those who may change it, and its own
    trainer (who runs the day but may not move or cancel it)."""
    if member is not None and workshop.trainer_id == member.id:
        return True
    return may_change_workshop(grants, workshop)


async def regions_in(session: AsyncSession, scope: Scope) -> list[Configured]:
    """The configured regions this scope may act in, in their configured order."""
    return [r for r in await regions.configured(session) if scope.allows(r.code)]


async def agreed_to_train(session: AsyncSession, member: Member) -> bool:
    """Whether the member said yes to teaching: the trainer role from an admin, or a talent
    marked "can teach" while findable. Only such members may be named trainer by an
    organiser (a trainer sees the names of the people signed up)."""
    if any(r.role == RoleName.TRAINER for r in await repo.for_user(session, member.telegram_id)):
        return True
    if not member.findable:
        return False
    return any(
        row.kind == "talent" and row.level == "teach" and row.status == "ok"
        for row in await skill_repo.of_member(session, member.id)
    )


async def assign(
    session: AsyncSession,
    *,
    actor: frozenset[Grant],
    actor_id: int,
    target_id: int,
    role: RoleName,
    region: str | None,
) -> Grant:
    """Give a role; only organisers can be tied to one region."""
    if not has_role(actor, RoleName.ADMIN):
        raise NotAdmin
    if region is not None:
        if role not in REGIONAL_ROLES:
            raise NotRegional(role)
        if not await regions.known(session, region):
            raise UnknownRegion(region)
    existing = await repo.for_user(session, target_id)
    if any(r.role == role and r.region_code == region for r in existing):
        raise AlreadyGranted(role)
    repo.add(session, target_id, role.value, region, actor_id)
    await session.commit()
    return Grant(role, region)


async def revoke(
    session: AsyncSession,
    *,
    actor: frozenset[Grant],
    target_id: int,
    role: RoleName,
    region: str | None = None,
) -> None:
    """Take a role away: for one region when one is named, else every grant of that role."""
    if not has_role(actor, RoleName.ADMIN):
        raise NotAdmin
    if await repo.remove(session, target_id, role.value, region) == 0:
        raise NotGranted(role)
    await session.commit()


async def all_grants(session: AsyncSession) -> list[Role]:
    """Every role given, by role and then person: the admins' overview."""
    return await repo.all_grants(session)
