"""Start-up and idle memory of `ledenbot run` beside a bare aiogram bot, in the same run.

Each is spawned as its own process against the same sandbox; start-up is the time from spawn
until the sandbox receives its first getUpdates, idle memory its VmRSS a few seconds later,
while it waits for updates. The bare bot is aiogram alone (Bot, Dispatcher, one handler,
start_polling): the floor any aiogram bot stands on. Runs alternate between the two so that
a busy machine slows both alike.

    python bench/startup.py [--runs 5] [--idle 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.settings import SANDBOX_TOKEN
from sandbox.server import Sandbox

LEDENBOT = str(Path(sys.executable).parent / "ledenbot")

BARE_BOT = """
import asyncio, os
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dp = Dispatcher()

@dp.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "...")

async def main() -> None:
    api = TelegramAPIServer.from_base(os.environ["BOT_API_URL"])
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    await dp.start_polling(bot)

asyncio.run(main())
"""


@dataclass(frozen=True)
class Start:
    seconds: float  # spawn to first getUpdates
    rss_mib: float  # VmRSS while idle after that


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def one_start(sandbox: Sandbox, argv: Sequence[str], database: Path, idle: float) -> Start:
    seen = len(sandbox.requests)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "BOT_TOKEN": SANDBOX_TOKEN,
        "BOT_API_URL": sandbox.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        cwd=database.parent,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        while not any(r.method == "getUpdates" for r in sandbox.requests[seen:]):
            if proc.returncode is not None:
                raise RuntimeError(f"{argv} exited before polling")
            await asyncio.sleep(0.002)
        seconds = time.perf_counter() - started
        await asyncio.sleep(idle)
        return Start(seconds, rss_mib(proc.pid))
    finally:
        proc.terminate()
        await proc.wait()


def summary(name: str, values: list[float], unit: str) -> str:
    return (
        f"{name}: median {statistics.median(values):.2f} {unit} "
        f"(min {min(values):.2f}, max {max(values):.2f}; {len(values)} runs)"
    )


async def main(runs: int, idle: float) -> None:
    cold: list[Start] = []
    warm: list[Start] = []
    bare: list[Start] = []
    async with Sandbox(default_token=SANDBOX_TOKEN) as sandbox:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as folder:
                database = Path(folder) / "bench.db"
                ours = [LEDENBOT, "run"]
                cold.append(await one_start(sandbox, ours, database, idle))  # creates the schema
                bare.append(
                    await one_start(sandbox, [sys.executable, "-c", BARE_BOT], database, idle)
                )
                warm.append(await one_start(sandbox, ours, database, idle))  # schema current
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    for name, starts in (
        ("bare aiogram bot", bare),
        ("ledenbot run, migrated database", warm),
        ("ledenbot run, fresh database (migrations run)", cold),
    ):
        print(f"{name}:")
        print("  " + summary("start → first getUpdates", [s.seconds for s in starts], "s"))
        print("  " + summary(f"idle RSS after {idle:g} s", [s.rss_mib for s in starts], "MiB"))
    for name, ours in (("migrated", warm), ("fresh", cold)):
        time_ratio = statistics.median(s.seconds for s in ours) / statistics.median(
            s.seconds for s in bare
        )
        paired = statistics.median(o.seconds / b.seconds for o, b in zip(ours, bare, strict=True))
        rss_ratio = statistics.median(s.rss_mib for s in ours) / statistics.median(
            s.rss_mib for s in bare
        )
        print(
            f"ratio to the bare bot, {name} database: start-up {time_ratio:.2f}x "
            f"(paired runs: median {paired:.2f}x), idle RSS {rss_ratio:.2f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds idle before reading RSS")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.idle))
