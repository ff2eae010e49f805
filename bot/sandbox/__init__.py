"""A local Telegram Bot API emulator for demos (``ledenbot chat``) and end-to-end tests."""

from bot.sandbox.faults import Faults
from bot.sandbox.limits import Limits
from bot.sandbox.server import RequestRecord, Sandbox, make_token
from bot.sandbox.state import Alert, InlineButton, ReplyButton, SandboxFile, SandboxMessage
from bot.sandbox.users import NoReply, SandboxGroup, SandboxUser

__all__ = [
    "Alert",
    "Faults",
    "InlineButton",
    "Limits",
    "NoReply",
    "ReplyButton",
    "RequestRecord",
    "Sandbox",
    "SandboxFile",
    "SandboxGroup",
    "SandboxMessage",
    "SandboxUser",
    "make_token",
]
