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
        assert "RuntimeError" in caplog.text and "from member 1 failed" in caplog.text
        assert "9103" not in caplog.text  # internal ids only, never Telegram's
        assert "Hemligstad" not in caplog.text


MEMBER_TG, ADMIN_TG = 731_902_468, 642_918_357


def bot_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the bot wrote to its log (the sandbox plays Telegram: its own log is not ours)."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if not r.name.startswith(("sandbox", "aiohttp.access"))
    ]


async def test_the_log_never_names_a_telegram_id_and_nothing_after_erasure(
    sqlite_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services import places

    def broken(self: object, text: str, *args: object, **kwargs: object) -> None:
        raise RuntimeError(f"no town like {text} for {MEMBER_TG}")

    caplog.set_level(logging.INFO)  # what `ledenbot run` logs
    for ours in ("bot", "handlers", "storage"):
        caplog.set_level(logging.DEBUG, logger=ours)
    async with running_bot(sqlite_url, admin_ids=str(ADMIN_TG)) as bot:
        user = bot.sandbox.user(MEMBER_TG, "Quirijn", language_code="nl", username="quirijn_q")
        await user.send_text("/start")
        await user.next()
        await user.press("✅ " + t("nl", "Yes, I agree"))
        await user.expect_text(t("nl", "Question {number} of {total}", number=1, total=3))
        await user.press(t("nl", "I am a member"))
        await user.expect_text(t("nl", "Question {number} of {total}", number=2, total=3))
        with monkeypatch.context() as patched:  # a handler fails
            patched.setattr(places.Gazetteer, "search", broken)
            await user.send_text("Hemligstad")
            await user.expect_text(
                t("nl", "Sorry, something went wrong on my side. Please try again in a moment.")
            )
        user.block()
        await bot.sandbox.idle()
        user.unblock()
        await bot.sandbox.idle()
        admin = bot.sandbox.user(ADMIN_TG, "Eva", language_code="en")
        bot.sandbox.faults.fail_next("setMyCommands", 400)  # the member's menu cannot be set
        await admin.send_text(f"/rol {MEMBER_TG} organiser")
        await admin.expect_text(
            t("en", "{user} now has the role {role}.", user=MEMBER_TG, role="organiser")
        )
        await user.send_text("/vergeetmij")
        await user.next()
        await user.press(t("nl", "Yes, erase everything"))
        await user.expect_text(t("nl", "You are welcome back any time: send /start."))
        await user.send_text("/start")  # a stranger again
        await user.next()
        await bot.sandbox.idle()
    lines = bot_log(caplog)
    text = "\n".join(lines)
    # the lines are there, with internal ids
    assert "from member 1 failed: RuntimeError" in text
    assert "member 1 blocked the bot" in text and "member 1 unblocked the bot" in text
    assert "role granted organiser for member 1 by member -" in text
    assert "could not set a command menu: TelegramBadRequest" in text
    for secret in (str(MEMBER_TG), str(ADMIN_TG), "Quirijn", "quirijn_q", "Hemligstad"):
        assert secret not in text, secret
    erased = next(n for n, line in enumerate(lines) if "erased a person" in line)
    assert not [line for line in lines[erased:] if "member 1" in line]


async def test_personal_commands_in_a_group_get_no_answer_there(sqlite_url: str) -> None:
    """Routers for personal conversations see private chats only (an async filter, checked on
    every update): /start, /profiel or /workshops typed in a group stay unanswered there."""
    async with running_bot(sqlite_url) as bot:
        group = bot.sandbox.group(-100777, "Afdeling Zwolle")
        wim = bot.sandbox.user(9201, "Wim", language_code="nl")
        group.add_member(wim)
        for command in ("/start", "/profiel", "/workshops", "/vergeetmij"):
            await wim.send_text_in(group, command)
        await group.expect_silence(quiet=0.3)
        assert group.bot_messages == []
        await wim.send_text("/start")  # the same person in a private chat is answered
        await wim.expect_text(t("nl", "Hello {name}! 👋", name="Wim"))
