"""Webhook mode: Telegram (or any Bot API server) posts updates to our HTTP endpoint.

Telegram posts over up to ``max_connections`` connections at once, and each worker handles
an update before answering its post, so the webhook's ``max_connections`` is how many
updates the workers handle at once: CONCURRENT_UPDATES per worker. Several workers (see
bot/workers.py) listen on one port; with REDIS_URL and PostgreSQL they share conversation
state and data.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import App
from bot.settings import Settings

PATH = "/telegram"
MAX_CONNECTIONS = 100
"""Telegram accepts 1 to 100 for setWebhook's max_connections."""
HANDLED = web.AppKey("handled", list[int])

log = logging.getLogger(__name__)


def max_connections(settings: Settings, workers: int) -> int:
    """Updates Telegram may have in flight: what all workers together handle at once."""
    return max(1, min(MAX_CONNECTIONS, settings.concurrent_updates * workers))


@web.middleware
async def _count(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Count the updates this worker accepted: an operator sees how the load was shared."""
    response = await handler(request)
    if request.path == PATH and response.status == 200:
        request.app[HANDLED][0] += 1
    return response


async def listen(app: App, *, reuse_port: bool = False) -> web.AppRunner:
    """Accept Telegram's posts on WEBHOOK_HOST:WEBHOOK_PORT (with ``reuse_port`` beside
    other workers on the same port: the kernel shares the connections between them)."""
    settings = app.settings
    if not settings.webhook_url or not settings.webhook_secret:
        raise ValueError("WEBHOOK_URL and WEBHOOK_SECRET must both be set")
    web_app = web.Application(middlewares=[_count])
    web_app[HANDLED] = [0]
    # Handle before answering: if this worker dies mid-update, Telegram delivers it again.
    SimpleRequestHandler(
        app.dp, app.bot, secret_token=settings.webhook_secret, handle_in_background=False
    ).register(web_app, path=PATH)
    setup_application(web_app, app.dp, bot=app.bot)
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=10.0)
    await runner.setup()
    site = web.TCPSite(
        runner, settings.webhook_host, settings.webhook_port, reuse_port=reuse_port or None
    )
    await site.start()
    return runner


def handled(runner: web.AppRunner) -> int:
    """How many updates this worker has accepted so far."""
    return runner.app[HANDLED][0]


async def register(bot: Bot, settings: Settings, allowed_updates: list[str], workers: int) -> None:
    """setWebhook: WEBHOOK_URL + /telegram, the secret, and how many posts at once."""
    if not settings.webhook_url or not settings.webhook_secret:
        raise ValueError("WEBHOOK_URL and WEBHOOK_SECRET must both be set")
    connections = max_connections(settings, workers)
    await bot.set_webhook(
        settings.webhook_url.rstrip("/") + PATH,
        secret_token=settings.webhook_secret,
        allowed_updates=allowed_updates,
        max_connections=connections,
    )
    log.info("webhook registered for %d worker(s), max_connections %d", workers, connections)


async def serve(app: App) -> web.AppRunner:
    """One worker: listen, then register the webhook."""
    runner = await listen(app)
    await register(app.bot, app.settings, app.dp.resolve_used_update_types(), workers=1)
    return runner
