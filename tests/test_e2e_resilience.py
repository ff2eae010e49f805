"""Flood control, errors and the log: one person cannot drown the bot, and nothing leaks."""

from __future__ import annotations

import logging

import pytest

from bot.i18n import create_i18n
from bot.middlewares.flood import FloodMiddleware
from tests.botrunner import running_bot, t

pytestmark = pytest.mark.e2e


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    flood = FloodMiddleware(rate=2.0, burst=3, i18n=create_i18n("nl"))
    results = [flood.allow(1, now=0.0) for _ in range(5)]
    assert results == [(True, False)] * 3 + [(False, True), (False, False)]
    assert flood.allow(2, now=0.0) == (True, False)  # another person is unaffected
    assert flood.allow(1, now=0.5) == (True, False)  # one token back after 1/rate seconds
    assert flood.allow(1, now=0.5)[0] is False


async def test_a_flooding_user_is_slowed_and_told_once_others_are_served(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, flood_rate=0.1, flood_burst=3) as bot:
        flooder = bot.sandbox.user(9101, "Max", language_code="en")
        for i in range(40):
            await flooder.send_text(f"message {i}")
        other = bot.sandbox.user(9102, "Noor", language_code="nl")
        await other.send_text("/start")
        await other.expect_text(t("nl", "Hello {name}! 👋", name="Noor"))
        await bot.sandbox.idle()
        texts = [m.text for m in flooder.bot_messages]
        warning = t("en", "You are sending messages very fast. Please wait a moment.")
        assert texts.count(warning) == 1
        assert len(texts) == 3 + 1  # the burst was answered, the rest dropped


async def test_an_error_answers_in_the_members_language_and_logs_no_content(
    sqlite_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services import places

    def broken(self: object, text: str, *args: object, **kwargs: object) -> None:
        raise RuntimeError(f"no town like {text}")  # an error that quotes the member

    async with running_bot(sqlite_url) as bot:
        user = bot.sandbox.user(9103, "Sven", language_code="sv")
        await user.send_text("/start")
        await user.next()
        await user.press("✅ " + t("sv", "Yes, I agree"))
        await user.expect_text(t("sv", "Question {number} of {total}", number=1, total=3))
        await user.press(t("sv", "Skip"))
        await user.expect_text(t("sv", "Question {number} of {total}", number=2, total=3))
        monkeypatch.setattr(places.Gazetteer, "search", broken)
        with caplog.at_level(logging.INFO):
            await user.send_text("Hemligstad")
            await user.expect_text(
                t("sv", "Sorry, something went wrong on my side. Please try again in a moment.")
            )
        assert "RuntimeError" in caplog.text and "9103" in caplog.text
        assert "Hemligstad" not in caplog.text
