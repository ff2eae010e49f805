"""A local Telegram Bot API emulator for demos (``ledenbot chat``) and end-to-end tests."""

from sandbox.faults import Faults
from sandbox.limits import Limits
from sandbox.server import RequestRecord, Sandbox, make_token
from sandbox.state import Alert, InlineButton, ReplyButton, SandboxFile, SandboxMessage
from sandbox.users import NoReply, SandboxGroup, SandboxUser

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
