"""`ledenbot chat --demo`: the personas can try every path, the confidential one included."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat import sandbox_key
from bot.demo import DEMO_COUNSELLOR, PERSONAS, seed
from bot.sealing import parse_key
from bot.services import confidential
from storage.repositories import roles as role_repo


async def test_the_demo_seeds_every_persona_and_a_reachable_counsellor_once(
    session: AsyncSession,
) -> None:
    await seed(session)
    await seed(session)  # idempotent
    for persona in PERSONAS:
        granted = await role_repo.for_user(session, persona.user_id)
        assert [r.role for r in granted] == ([persona.role.value] if persona.role else [])
    reachable = await confidential.reachable(session)
    assert [(c.telegram_id, c.display_name) for c in reachable] == [DEMO_COUNSELLOR[:2]]


def test_the_sandbox_keeps_one_key_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "ledenbot-sandbox.key"
    key = sandbox_key(path)
    assert len(parse_key(key)) == 32
    assert sandbox_key(path) == key  # the same key next time: its cases open again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
