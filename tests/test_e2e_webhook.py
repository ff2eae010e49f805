"""Webhook mode: the sandbox posts updates to our endpoint, with the secret token."""

from __future__ import annotations

import socket

import pytest

from bot import webhook
from bot.app import build_app
from bot.settings import SANDBOX_TOKEN
from sandbox.server import Sandbox
from tests.botrunner import sandbox_settings, t

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_webhook_worker_answers_members(sqlite_url: str) -> None:
    port = free_port()
    async with Sandbox(default_token=SANDBOX_TOKEN) as sandbox:
        settings = sandbox_settings(
            sandbox,
            sqlite_url,
            webhook_url=f"http://127.0.0.1:{port}",
            webhook_secret="a-long-s3cret-token-for-tests",
            webhook_host="127.0.0.1",
            webhook_port=port,
        )
        app = await build_app(settings)
        runner = await webhook.serve(app)
        try:
            info = await app.bot.get_webhook_info()
            assert info.url == f"http://127.0.0.1:{port}/telegram"
            assert info.max_connections == min(100, settings.concurrent_updates)  # Telegram: 1-100
            user = sandbox.user(9301, "Wim", language_code="nl")
            await user.send_text("/start")
            welcome = await user.next(timeout=10)
            assert t("nl", "Hello {name}! 👋", name="Wim") in welcome.text
            await user.press("✅ " + t("nl", "Yes, I agree"))
            await user.expect_text(t("nl", "Question {number} of {total}", number=1, total=3))
        finally:
            await runner.cleanup()
            await app.close()
