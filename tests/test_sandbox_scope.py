"""The sandbox stays small: its own package, importing nothing of the bot, and only the Bot
API methods the bot calls or a test exercises (each one is code to keep true to Telegram)."""

from __future__ import annotations

import ast
from pathlib import Path

from sandbox.methods import METHODS

SANDBOX = Path(__file__).resolve().parent.parent / "sandbox"
# What the bot calls (aiogram's polling and webhook calls included), plus copyMessage and
# forwardMessage, which tests/test_sandbox.py exercises.
NEEDED = {
    "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
    "sendMessage", "sendDocument", "sendPhoto", "sendLocation", "copyMessage", "forwardMessage",
    "editMessageText", "editMessageReplyMarkup", "deleteMessage", "answerCallbackQuery",
    "setMyCommands", "getMyCommands", "deleteMyCommands", "getChat", "getFile",
}  # fmt: skip


def test_the_sandbox_implements_only_the_methods_that_are_needed() -> None:
    assert set(METHODS) == {name.lower() for name in NEEDED}


def test_the_sandbox_imports_nothing_of_the_bot() -> None:
    for path in SANDBOX.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in ("bot", "handlers", "storage"), (path, name)
