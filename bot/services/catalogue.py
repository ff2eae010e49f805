"""The skills catalogue: the defaults, the matcher built from it, and its curation."""

from __future__ import annotations

import re
import time
import unicodedata
import weakref
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.skill_match import SkillEntry, SkillMatcher, load_default_catalogue
from bot.settings import SUPPORTED_LOCALES
from storage.models import Skill as Skill
from storage.repositories import skills as repo
from storage.repositories import workshops as workshop_repo
from storage.repositories.workshops import Topic

MATCHER_TTL = 30.0  # seconds: another worker's curation shows up here within this time


class CatalogueError(Exception):
    """A curation step that cannot be done; the handler explains which."""


class SkillNameTaken(CatalogueError):
    pass


class UnknownSkill(CatalogueError):
    pass


class EmptyName(CatalogueError):
    pass


@dataclass
class _Cached:
    matcher: SkillMatcher
    loaded_at: float


# One matcher per engine (a weak key, so a disposed test engine takes its matcher along).
_cache: weakref.WeakKeyDictionary[object, _Cached] = weakref.WeakKeyDictionary()


@dataclass
class _Names:
    topics: dict[int, Topic]
    loaded_at: float


_names: weakref.WeakKeyDictionary[object, _Names] = weakref.WeakKeyDictionary()


def invalidate() -> None:
    _cache.clear()
    _names.clear()


async def topics(session: AsyncSession, skill_ids: Collection[int]) -> Mapping[int, Topic]:
    """The names of catalogue skills, for lists of workshops: kept like the matcher (curation
    here clears them at once, another worker's shows within MATCHER_TTL), and read afresh
    when a skill is asked for that they lack (added since)."""
    cached = _names.get(session.bind)
    if (
        cached is None
        or time.monotonic() - cached.loaded_at > MATCHER_TTL
        or not cached.topics.keys() >= skill_ids
    ):
        loaded = await workshop_repo.topic_names(session)
        cached = _names[session.bind] = _Names(loaded, time.monotonic())
    return cached.topics


def entry(skill: Skill) -> SkillEntry:
    names = {loc: skill.name(loc) for loc in SUPPORTED_LOCALES}
    return SkillEntry(skill.id, skill.key, names, dict(skill.synonyms or {}))


async def matcher(session: AsyncSession) -> SkillMatcher:
    """A matcher over the current catalogue, rebuilt after curation or every MATCHER_TTL."""
    cache_key = session.bind
    cached = _cache.get(cache_key)
    if cached is None or time.monotonic() - cached.loaded_at > MATCHER_TTL:
        built = SkillMatcher(entry(s) for s in await repo.all_skills(session))
        cached = _cache[cache_key] = _Cached(built, time.monotonic())
    return cached.matcher


async def ensure_defaults(session: AsyncSession) -> int:
    """Add the default skills this database lacks (by key); renamed ones stay renamed."""
    present = await repo.keys(session)
    new = [
        Skill(
            key=item["key"],
            category=item.get("category", "skills"),
            name_nl=item["names"]["nl"],
            name_en=item["names"]["en"],
            name_sv=item["names"]["sv"],
            synonyms=item.get("synonyms", {}),
        )
        for item in load_default_catalogue()
        if item["key"] not in present
    ]
    if new:
        repo.add_many(session, new)
        await session.commit()
        invalidate()
    return len(new)


async def candidates(session: AsyncSession, limit: int = 20) -> list[tuple[str, int]]:
    """Words members typed that the catalogue lacks, with how many typed each, most first."""
    return await repo.candidates(session, limit=limit)


async def find_skill(session: AsyncSession, name: str) -> Skill:
    """The catalogue skill an organiser named; only a close match counts, as curation
    changes members' profiles and a near miss would change the wrong ones."""
    found = (await matcher(session)).match(name, limit=1)
    if not found or found[0].score < 90:
        raise UnknownSkill(name)
    skill = await repo.get(session, found[0].skill_id)
    if skill is None:
        raise UnknownSkill(name)
    return skill


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "skill"


async def add_skill(session: AsyncSession, name: str, locale: str) -> Skill:
    """A new catalogue skill, named as given in every language until someone renames it."""
    name = " ".join(name.split())[:100]
    if not name:
        raise EmptyName
    found = (await matcher(session)).match(name, limit=1)
    if found and found[0].score >= 100:
        raise SkillNameTaken(found[0].key)
    key, taken, n = slug(name), await repo.keys(session), 2
    base = key
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    skill = Skill(key=key, category="custom", name_nl=name, name_en=name, name_sv=name)
    skill.synonyms = {locale: []}
    repo.add_many(session, [skill])
    await session.flush()
    await repo.attach_candidate(session, name, skill.id)
    await session.commit()
    invalidate()
    return skill


async def rename(session: AsyncSession, skill_id: int, locale: str, name: str) -> Skill:
    skill = await repo.get(session, skill_id)
    if skill is None:
        raise UnknownSkill(skill_id)
    name = " ".join(name.split())[:100]
    if not name or locale not in SUPPORTED_LOCALES:
        raise EmptyName
    setattr(skill, f"name_{locale}", name)
    await session.commit()
    invalidate()
    return skill


async def merge_candidate(session: AsyncSession, typed: str, skill_id: int, locale: str) -> int:
    """Fold a word members typed into a catalogue skill: their rows move, the word becomes a
    synonym so the next member who types it is matched at once."""
    skill = await repo.get(session, skill_id)
    if skill is None:
        raise UnknownSkill(skill_id)
    moved = await repo.attach_candidate(session, typed, skill_id)
    synonyms = {k: list(v) for k, v in (skill.synonyms or {}).items()}
    if typed not in synonyms.setdefault(locale, []):
        synonyms[locale].append(typed)
    skill.synonyms = synonyms
    await session.commit()
    invalidate()
    return moved
