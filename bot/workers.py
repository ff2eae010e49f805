"""Several webhook workers on one port: `ledenbot webhook --workers N`.

Polling cannot be shared (a second getUpdates ends the first), a webhook can: N processes
listen on WEBHOOK_PORT with SO_REUSEPORT and the kernel shares Telegram's connections
between them. The parent prepares the database once (the skills catalogue: two workers
doing it at once would collide), starts the workers, registers the webhook once they all
listen, and supervises: SIGTERM or SIGINT stops them all (exit 0); a worker that dies stops
the rest (exit 1), so the service manager restarts the whole set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

from bot.settings import Settings

READY = b"ready"
STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0

log = logging.getLogger("ledenbot.workers")


def refusal(settings: Settings, workers: int) -> str | None:
    """Why N workers cannot share this configuration (an operator's message), or None."""
    if workers <= 1:
        return None
    if settings.is_sqlite:
        return (
            f"ledenbot: --workers {workers} needs PostgreSQL; SQLite means one process.\n"
            "  Set DATABASE_URL=postgresql+asyncpg://user@host/db, or run one worker."
        )
    if not settings.redis_url:
        return (
            f"ledenbot: --workers {workers} needs REDIS_URL: every worker must see the same "
            "conversations.\n  Set REDIS_URL=redis://host:6379/0, or run one worker."
        )
    return None


async def until_signal() -> None:
    """Return at SIGTERM or SIGINT (a service manager's stop, or Ctrl-C)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def run_worker(settings: Settings, number: int) -> None:
    """One worker: listen beside the others, say so on stdout, serve until told to stop."""
    from bot import webhook
    from bot.app import build_app

    app = await build_app(settings, migrate=False)
    app.settle()
    runner = await webhook.listen(app, reuse_port=True)
    try:
        log.info(
            "webhook worker %d (pid %d) listening on %s:%s",
            number,
            os.getpid(),
            settings.webhook_host,
            settings.webhook_port,
        )
        sys.stdout.buffer.write(READY + b"\n")
        sys.stdout.flush()
        await until_signal()
    finally:
        await runner.cleanup()  # lets the updates in hand finish
        log.info(
            "webhook worker %d (pid %d) stopping; it handled %d updates",
            number,
            os.getpid(),
            webhook.handled(runner),
        )
        await app.close()


async def supervise(settings: Settings, workers: int, log_level: str) -> int:
    """Start ``workers`` worker processes, register the webhook, and watch them; exit code."""
    from aiogram.exceptions import TelegramAPIError

    from bot import webhook
    from bot.app import build_app

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    children: list[asyncio.subprocess.Process] = []
    drains: list[asyncio.Task[None]] = []
    try:
        app = await build_app(settings, migrate=False)  # the catalogue, once, before the workers
        try:
            for number in range(1, workers + 1):
                children.append(await _spawn(number, workers, log_level))
            if not await _all_ready(children, stop):
                return 0 if stop.is_set() else 1
            # nothing more is expected on the workers' stdout; never let a pipe fill up
            drains = [asyncio.create_task(_drain(c)) for c in children]
            await webhook.register(app.bot, settings, app.dp.resolve_used_update_types(), workers)
        except TelegramAPIError as exc:
            log.error("could not register the webhook: %s", exc)
            return 1
        finally:
            await app.close()
        pids = " ".join(str(c.pid) for c in children)
        log.info("%d webhook workers running (pids %s)", workers, pids)
        return await _watch(children, stop)
    finally:
        await _stop_all(children)
        for task in drains:
            task.cancel()


async def _spawn(number: int, workers: int, log_level: str) -> asyncio.subprocess.Process:
    """Worker `number` of `workers`: it knows how many there are (WEBHOOK_WORKERS), so that
    it keeps its share of the bot's sending rate (`bot.app.send_rate`)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "--log-level",
        log_level,
        "webhook",
        "--worker",
        str(number),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "WEBHOOK_WORKERS": str(workers)},
    )


async def _all_ready(children: list[asyncio.subprocess.Process], stop: asyncio.Event) -> bool:
    """True once every worker listens; False when one dies first, or at a stop signal."""

    async def ready(child: asyncio.subprocess.Process) -> bool:
        assert child.stdout is not None
        return (await child.stdout.readline()).strip() == READY

    waiting = {asyncio.create_task(ready(c)): c for c in children}
    stopping = asyncio.create_task(stop.wait())
    deadline = loop_time() + STARTUP_TIMEOUT
    try:
        while waiting:
            done, _ = await asyncio.wait(
                {*waiting, stopping},
                timeout=max(0.0, deadline - loop_time()),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if stopping in done:
                return False
            if not done:
                log.error("webhook workers not listening after %.0f s", STARTUP_TIMEOUT)
                return False
            for task in done:
                child = waiting.pop(task)
                if not task.result():
                    log.error("webhook worker (pid %d) exited while starting", child.pid)
                    return False
        return True
    finally:
        for task in [*waiting, stopping]:
            task.cancel()


def loop_time() -> float:
    return asyncio.get_running_loop().time()


async def _drain(child: asyncio.subprocess.Process) -> None:
    assert child.stdout is not None
    with contextlib.suppress(Exception):
        while await child.stdout.read(65536):
            pass


async def _watch(children: list[asyncio.subprocess.Process], stop: asyncio.Event) -> int:
    """0 when told to stop, 1 when a worker exits on its own."""
    exits = {asyncio.create_task(c.wait()): c for c in children}
    stopping = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({*exits, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in [*exits, stopping]:
            task.cancel()
    if stopping in done:
        log.info("stopping %d webhook workers", len(children))
        return 0
    dead = next(exits[task] for task in done if task in exits)
    log.error(
        "webhook worker (pid %d) exited with code %s; stopping the others",
        dead.pid,
        dead.returncode,
    )
    return 1


async def _stop_all(children: list[asyncio.subprocess.Process]) -> None:
    """SIGTERM every worker still running; kill those that do not stop in time."""
    for child in children:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            await asyncio.wait_for(child.wait(), STOP_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
