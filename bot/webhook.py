"""Webhook mode: Telegram (or any Bot API server) posts updates to our HTTP endpoint.

Several of these workers can run behind one load balancer; with REDIS_URL and PostgreSQL they
share conversation state and data.
"""

from __future__ import annotations

from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import App

PATH = "/telegram"


async def serve(app: App) -> web.AppRunner:
    """Listen on WEBHOOK_HOST:WEBHOOK_PORT and register WEBHOOK_URL + /telegram."""
    settings = app.settings
    if not settings.webhook_url or not settings.webhook_secret:
        raise ValueError("WEBHOOK_URL and WEBHOOK_SECRET must both be set")
    web_app = web.Application()
    # Handle before answering: if this worker dies mid-update, Telegram delivers it again.
    SimpleRequestHandler(
        app.dp, app.bot, secret_token=settings.webhook_secret, handle_in_background=False
    ).register(web_app, path=PATH)
    setup_application(web_app, app.dp, bot=app.bot)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
    await app.bot.set_webhook(
        settings.webhook_url.rstrip("/") + PATH,
        secret_token=settings.webhook_secret,
        allowed_updates=app.dp.resolve_used_update_types(),
    )
    return runner
