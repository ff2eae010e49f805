"""Demo data for the sandbox: personas with roles, and a few members who finished onboarding.

Only ever used with `ledenbot chat --demo`, on the sandbox's own database.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import onboarding, roles
from bot.services.onboarding import Kind
from bot.services.places import default_gazetteer
from bot.services.roles import RoleName
from storage.repositories import members
from storage.repositories import roles as role_repo


@dataclass(frozen=True, slots=True)
class Persona:
    key: str
    user_id: int
    first_name: str
    language: str
    role: RoleName | None
    region: str | None = None


PERSONAS = (
    Persona("member", 5001, "Anna", "nl", None),
    Persona("organiser", 5002, "Bram", "nl", RoleName.ORGANISER, "noord"),
    Persona("volunteer", 5003, "Sanna", "sv", RoleName.VOLUNTEER),
    Persona("admin", 5004, "Eva", "en", RoleName.ADMIN),
)

SAMPLE_MEMBERS = (
    (9001, "Fenna", "nl", Kind.MEMBER, "Groningen", "noord"),
    (9002, "Joost", "nl", Kind.MEMBER, "Zwolle", "oost"),
    (9003, "Yasmina", "nl", Kind.SYMPATHISER, "Utrecht", "west"),
    (9004, "Gert-Jan", "nl", Kind.MEMBER, "Eindhoven", "zuid"),
    (9005, "Sietske", "nl", Kind.MEMBER, "Leeuwarden", "noord"),
    (9006, "Priya", "en", Kind.SYMPATHISER, "Den Haag", "west"),
    (9007, "Lotte", "nl", Kind.MEMBER, "Antwerpen", None),
    (9008, "Ingrid", "sv", Kind.MEMBER, "Göteborg", None),
)


async def seed(session: AsyncSession) -> None:
    """Idempotent: running it twice adds nothing."""
    admin = frozenset({roles.Grant(RoleName.ADMIN)})
    for p in PERSONAS:
        if p.role is None or await role_repo.for_user(session, p.user_id):
            continue
        await roles.assign(
            session, actor=admin, actor_id=0, target_id=p.user_id, role=p.role, region=p.region
        )
    gazetteer = default_gazetteer()
    for telegram_id, name, locale, kind, town, region in SAMPLE_MEMBERS:
        if await members.by_telegram_id(session, telegram_id) is not None:
            continue
        member, _ = await onboarding.give_consent(session, telegram_id, locale, name)
        await onboarding.answer_kind(session, member, kind)
        await onboarding.answer_place(session, member, gazetteer.search(town)[0].place)
        if member.onboarding_step == onboarding.Step.REGION:
            await onboarding.answer_region(session, member, region)
