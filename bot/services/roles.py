"""Who may do what. Admins come from ADMIN_IDS (always) and from grants by other admins."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Role
from storage.repositories import regions
from storage.repositories import roles as repo


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


class RoleError(Exception):
    """Base of the reasons a role change is refused; the handler explains each."""


class NotAdmin(RoleError):
    pass


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
    found = {
        Grant(RoleName(r.role), r.region_code) for r in await repo.for_user(session, telegram_id)
    }
    if telegram_id in admin_ids:
        found.add(Grant(RoleName.ADMIN))
    return frozenset(found)


def has_role(grants: frozenset[Grant], role: RoleName) -> bool:
    return any(g.role == role for g in grants)


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
        if await regions.get(session, region) is None:
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
