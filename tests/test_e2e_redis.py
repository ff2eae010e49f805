"""With REDIS_URL, conversation state lives in Redis and survives a restart of the bot."""

from __future__ import annotations

import random

import pytest

from tests.botrunner import running_bot, t
from tests.conftest import REDIS_URL, unavailable

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


@pytest.fixture
async def redis_url() -> str:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        unavailable("Redis", f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


async def test_language_chosen_before_consent_survives_a_restart(
    sqlite_url: str, redis_url: str
) -> None:
    user_id = random.randint(10**9, 2 * 10**9)  # runs sharing the server never collide
    async with running_bot(sqlite_url, redis_url=redis_url) as bot:
        user = bot.sandbox.user(user_id, "Olle", language_code="nl")
        await user.send_text("/taal")
        await user.next()
        await user.press("Svenska")
        await user.expect_text(t("sv", "I will speak English with you from now on."))
        await bot.restart()
        user.drain()
        await user.send_text("/start")
        await user.expect_text(t("sv", "Hello {name}! 👋", name="Olle"))
