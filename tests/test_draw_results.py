"""Lottery results reach every applicant the bot can reach, whatever fails for one of them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot import clock, outbox
from bot.services import tracks
from tests import factories
from tests.botrunner import running_bot
from tests.chat_faults import block_unnoticed, fail_chat

pytestmark = pytest.mark.e2e
PEOPLE = ((8401, "Anna"), (8402, "Bo"), (8403, "Cilla"), (8404, "Dirk"), (8405, "Emma"))


async def test_a_blocked_and_a_failing_chat_do_not_stop_the_lottery_results(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "BACKOFF", 0.01)
    async with running_bot(sqlite_url, reminder_interval=0.2) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            track = await tracks.create(
                session, title="Leiderschap", places=2, lottery_at=clock.now() + timedelta(days=1)
            )
            for tid, name in PEOPLE:
                member = await factories.onboarded(session, tid, name, "Utrecht")
                await tracks.apply(session, member, track.id)
        users = {tid: bot.sandbox.user(tid, name, language_code="nl") for tid, name in PEOPLE}
        await block_unnoticed(bot, 8402, "Bo")  # blocked, and the bot never heard of it
        # the draw decides the order: the first one told gets a 5xx on every try
        failing = fail_chat(bot, None, times=outbox.ATTEMPTS)
        with clock.travel_to(clock.now() + timedelta(days=2)):
            for _turn in range(100):  # until the draw is done and its first result goes out
                if failing.chat_id is not None:
                    break
                await asyncio.sleep(0.1)
            told = [tid for tid in users if tid not in (8402, failing.chat_id)]
            assert len(told) >= 3
            results = [
                (await users[tid].expect_text("Leiderschap", timeout=10)).text for tid in told
            ]
            for _turn in range(100):  # its retries run beside the others' sends, then end
                if failing.left == 0:
                    break
                await asyncio.sleep(0.05)
        assert sum("🎉" in r for r in results) + sum("🎲" in r for r in results) == len(told)
        assert track.seed is not None and track.seed_commitment is not None
        verify = f"ledenbot lottery verify {track.id} {track.seed}"
        for result in results:  # placed and waiting alike can check the draw
            assert track.seed in result and track.seed_commitment in result and verify in result
        assert failing.chat_id is not None and failing.left == 0
        assert not any("Leiderschap" in m.text for m in users[failing.chat_id].bot_messages)
