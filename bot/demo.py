"""Demo data for the sandbox: personas with roles, and a few members who finished onboarding.

Only ever used with `ledenbot chat --demo`, on the sandbox's own database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services import catalogue, confidential, onboarding, profile, roles
from bot.services.onboarding import Kind
from bot.services.places import default_gazetteer
from bot.services.profile import Level, SkillKind
from bot.services.roles import RoleName
from bot.services.workshops import Draft, create_many
from storage.repositories import members
from storage.repositories import roles as role_repo
from storage.repositories import workshops as workshop_repo


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
    Persona("organiser", 5002, "Bram", "nl", RoleName.ORGANISER),
    Persona("volunteer", 5003, "Sanna", "sv", RoleName.VOLUNTEER),
    Persona("admin", 5004, "Eva", "en", RoleName.ADMIN),
    Persona("counsellor", 5005, "Ineke", "nl", RoleName.COUNSELLOR),
)

#: The counsellor persona's profile, as an admin sets it with /vertrouwenspersonen.
DEMO_COUNSELLOR = (5005, "Ineke Jansen", "Bereikbaar op werkdagen, ook 's avonds.")

SAMPLE_MEMBERS = (
    # id, first name, language, kind, town, region, talents (level), learning wishes
    (9001, "Fenna", "nl", Kind.MEMBER, "Groningen", "noord",
     "debatteren, moties schrijven", Level.TEACH, "begroting lezen"),
    (9002, "Joost", "nl", Kind.MEMBER, "Zwolle", "oost",
     "begrotingen lezen, gemeenteraad", Level.EXPERIENCED, "sociale media"),
    (9003, "Yasmina", "nl", Kind.SYMPATHISER, "Utrecht", "west",
     "sociale media, fotografie, moestuinieren", Level.EXPERIENCED, "debatteren"),
    (9004, "Gert-Jan", "nl", Kind.MEMBER, "Eindhoven", "zuid",
     "spreken in het openbaar", Level.TEACH, "moties schrijven"),
    (9005, "Sietske", "nl", Kind.MEMBER, "Leeuwarden", "noord",
     "vergaderen, vrijwilligers coördineren", Level.SOME, "debatteren"),
    (9006, "Priya", "en", Kind.SYMPATHISER, "Den Haag", "west",
     "public speaking, fundraising", Level.EXPERIENCED, "reading budgets"),
    (9007, "Lotte", "nl", Kind.MEMBER, "Antwerpen", None,
     "debatteren, campagne voeren", Level.SOME, "begroting lezen"),
    (9008, "Ingrid", "sv", Kind.MEMBER, "Göteborg", None,
     "cirkelledare, debatt", Level.TEACH, "sociala medier"),
)  # fmt: skip


DEMO_WORKSHOPS = (
    # title, town (None: online), region, days from now, hour, capacity, topics, members only
    ("Debattraining voor beginners", "Zwolle", "oost", 9, 10, 12, ("debatteren",), False),
    ("De begroting lezen", "Groningen", "noord", 16, 19, 2, ("begroting lezen",), True),
    ("Moties schrijven", "Utrecht", "west", 23, 19, 20, ("moties schrijven",), False),
    ("Sociale media voor je afdeling", None, None, 5, 20, 40, ("sociale media",), False),
    ("Spreken in het openbaar", "Eindhoven", "zuid", 33, 10, 15, ("speechen",), False),
    ("Cirkelledare steg 1", "Göteborg", None, 12, 18, 10, ("cirkelledare",), False),
)  # fmt: skip


async def seed_workshops(session: AsyncSession) -> None:
    """A few upcoming workshops across the regions, online and members-only ones among them."""
    if await workshop_repo.upcoming(session, clock.now(), limit=1):
        return
    matcher = await catalogue.matcher(session)
    gazetteer = default_gazetteer()
    today = clock.now().replace(minute=0, second=0, microsecond=0)
    drafts = []
    for title, town, region, days, hour, capacity, topics, members_only in DEMO_WORKSHOPS:
        start = (today + timedelta(days=days)).replace(hour=hour - 1)  # UTC, about local hour
        drafts.append(
            Draft(
                title=title, starts_at=start, ends_at=start + timedelta(hours=2),
                capacity=capacity, members_only=members_only, region_code=region,
                place=gazetteer.search(town)[0].place if town else None,
                online_url=None if town else "https://meet.example.org/ledenbot",
                venue="Partijhuis" if town else None,
                description="Een workshop voor en door leden.",
                skill_ids=[m[0].skill_id for t in topics if (m := matcher.match(t))],
            )
        )  # fmt: skip
    await create_many(session, drafts)


async def seed(session: AsyncSession) -> None:
    """Idempotent: running it twice adds nothing."""
    admin = frozenset({roles.Grant(RoleName.ADMIN)})
    for p in PERSONAS:
        if p.role is None or await role_repo.for_user(session, p.user_id):
            continue
        await roles.assign(
            session, actor=admin, actor_id=0, target_id=p.user_id, role=p.role, region=p.region
        )
    counsellor_id, name, about = DEMO_COUNSELLOR
    if await confidential.counsellor_of(session, counsellor_id) is None:
        await confidential.configure(
            session, admin, counsellor_id, name=name, about=about, kind="internal", reachable=True
        )
    gazetteer = default_gazetteer()
    await catalogue.ensure_defaults(session)
    for telegram_id, name, locale, kind, town, region, talents, level, wishes in SAMPLE_MEMBERS:
        if await members.by_telegram_id(session, telegram_id) is not None:
            continue
        member, _ = await onboarding.give_consent(session, telegram_id, locale, name)
        await onboarding.answer_kind(session, member, kind)
        await onboarding.answer_place(session, member, gazetteer.search(town)[0].place)
        if member.onboarding_step == onboarding.Step.REGION:
            await onboarding.answer_region(session, member, region)
        added = await profile.add(session, member, SkillKind.TALENT, talents)
        for row in [*added.recognised, *added.unknown]:
            await profile.set_level(session, member, row.id, level)
        for row in added.unsure:
            await profile.resolve(session, member, row.id, None)
            await profile.set_level(session, member, row.id, level)
        await profile.add(session, member, SkillKind.WISH, wishes)
        await profile.set_findable(session, member, True)
        member.available_evenings = member.available_online = True
        await session.commit()
    await seed_workshops(session)
