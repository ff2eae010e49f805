"""`ledenbot chat`: the real bot, a local Bot API sandbox and a terminal, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

from pydantic import SecretStr

from bot.app import build_app
from bot.demo import PERSONAS, seed
from bot.sealing import new_key
from bot.settings import Settings
from sandbox.server import Sandbox
from sandbox.terminal import run_terminal

SANDBOX_KEY_FILE = Path("ledenbot-sandbox.key")


def sandbox_key(path: Path = SANDBOX_KEY_FILE) -> str:
    """The sandbox's own CONFIDENTIAL_KEY, made once and kept beside its database, so that
    the confidential path can be tried (and its cases reopened) without configuring one."""
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    key = new_key()
    path.write_text(key + "\n", encoding="ascii")
    path.chmod(0o600)
    return key


async def run_chat(settings: Settings, *, demo: bool, persona: str, lang: str | None) -> None:
    keys = [p.key for p in PERSONAS]
    if persona not in keys:
        print(
            f"ledenbot: unknown persona {persona!r}; choose one of {', '.join(keys)}",
            file=sys.stderr,
        )
        raise SystemExit(2)
    async with Sandbox(default_token=settings.bot_token) as sandbox:
        update: dict[str, object] = {"bot_api_url": sandbox.base_url}
        if settings.confidential_key is None:
            update["confidential_key"] = SecretStr(sandbox_key())
        settings = settings.model_copy(update=update)
        app = await build_app(settings)
        if demo:
            async with app.sessions() as session:
                await seed(session)
        polling = asyncio.create_task(
            app.dp.start_polling(
                app.bot,
                handle_signals=False,
                allowed_updates=app.dp.resolve_used_update_types(),
            )
        )
        users = {
            p.key: sandbox.user(
                p.user_id,
                p.first_name,
                language_code=(lang if p.key == "member" and lang else p.language),
            )
            for p in PERSONAS
        }
        print(
            "ledenbot sandbox — a local Telegram; nothing leaves this machine.\n"
            f"Personas: {', '.join(keys)}. Type :help for the controls; send /start to begin.\n"
        )
        try:
            await run_terminal(users, start=persona)
        finally:
            with contextlib.suppress(RuntimeError):
                await app.dp.stop_polling()
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
            await app.close()
