"""The knowledge base as the rest of the bot uses it: the matcher over the live entries, one
entry, a language's entries (volunteers' canned answers).

For now the bundled entries (`bot/data/knowledge/`); organisers' edits and the database
follow (issue 11), behind these same functions.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.knowledge_match import KnowledgeEntry, KnowledgeMatcher, load_default_entries


@cache
def _bundled() -> KnowledgeMatcher:
    return KnowledgeMatcher(load_default_entries())


async def matcher(session: AsyncSession) -> KnowledgeMatcher:
    """The matcher over the live entries of every language."""
    return _bundled()


async def entries(session: AsyncSession, language: str) -> list[KnowledgeEntry]:
    """A language's live entries, in the order organisers see them."""
    return (await matcher(session)).entries(language)


async def entry(session: AsyncSession, language: str, entry_id: str) -> KnowledgeEntry | None:
    """One live entry, or None (retired, or never there)."""
    return next((e for e in await entries(session, language) if e.entry_id == entry_id), None)
