"""`ledenbot` command line: run, webhook, migrate, chat."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.settings import SANDBOX_TOKEN, Settings, load_settings

log = logging.getLogger("ledenbot")
# Updates handled at once: below the database pool (10 + 20), so a burst queues, not fails.
CONCURRENT_UPDATES = 25


def _configure_logging(level: str, filename: str | None = None) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        filename=filename,
    )
    # aiogram logs every handled update at INFO; keep only ids (it logs no contents).
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)


def _require_token(settings: Settings) -> None:
    if not settings.bot_token or ":" not in settings.bot_token:
        print(
            "ledenbot: BOT_TOKEN is not set (or not a token like 123456:ABC…).\n"
            "  Get one from @BotFather, or try the bot without Telegram: ledenbot chat --demo",
            file=sys.stderr,
        )
        raise SystemExit(2)


async def _run(settings: Settings) -> None:
    from bot.app import build_app

    app = await build_app(settings)
    log.info("polling %s", settings.bot_api_url)
    try:
        await app.dp.start_polling(
            app.bot,
            allowed_updates=app.dp.resolve_used_update_types(),
            handle_signals=True,
            tasks_concurrency_limit=CONCURRENT_UPDATES,
        )
    finally:
        await app.close()


async def _webhook(settings: Settings) -> None:
    from bot import webhook
    from bot.app import build_app

    if not settings.webhook_url or not settings.webhook_secret:
        print(
            "ledenbot: webhook mode needs WEBHOOK_URL (the public https URL Telegram posts to)\n"
            "  and WEBHOOK_SECRET (so that nobody else can post updates to it).",
            file=sys.stderr,
        )
        raise SystemExit(2)
    app = await build_app(settings, migrate=False)  # run `ledenbot migrate` once, first
    runner = await webhook.serve(app)
    log.info("webhook listening on %s:%s", settings.webhook_host, settings.webhook_port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await app.close()


async def _migrate(settings: Settings) -> None:
    from storage.engine import create_engine
    from storage.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print("ledenbot: the database is up to date.")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ledenbot", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot by long polling (applies migrations first)")
    sub.add_parser("webhook", help="run the bot behind a webhook (WEBHOOK_URL)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    chat = sub.add_parser("chat", help="chat with the bot in this terminal, no Telegram needed")
    chat.add_argument("--demo", action="store_true", help="seed sample members and roles")
    chat.add_argument(
        "--database-url",
        default="sqlite+aiosqlite:///ledenbot-sandbox.db",
        help="where the sandbox keeps its data (default: ledenbot-sandbox.db)",
    )
    chat.add_argument("--as", dest="persona", default="member", help="persona to start as")
    chat.add_argument("--lang", default=None, help="the member's Telegram language (nl, en, sv)")
    args = parser.parse_args(argv)

    if args.command == "chat":
        from bot.chat import run_chat

        settings = load_settings(
            bot_token=SANDBOX_TOKEN, database_url=args.database_url, redis_url=None
        )
        _configure_logging(args.log_level, filename="ledenbot-sandbox.log")
        asyncio.run(run_chat(settings, demo=args.demo, persona=args.persona, lang=args.lang))
        return

    settings = load_settings()
    _configure_logging(args.log_level)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "run":
        _require_token(settings)
        asyncio.run(_run(settings))
    elif args.command == "webhook":
        _require_token(settings)
        asyncio.run(_webhook(settings))


if __name__ == "__main__":
    main()
