"""Start-up and idle memory of `ledenbot run` beside a bare aiogram bot, in the same run.

Each is spawned as its own process against the same sandbox; start-up is the time from spawn
until the sandbox receives its first getUpdates (and the CPU the process used by then, which a
busy machine disturbs less than wall time), idle memory its VmRSS a few seconds later, while it
waits for updates, and again once a member's /start and /help were answered. The bare bot is
aiogram alone (Bot, Dispatcher, one handler, start_polling): the floor any aiogram bot stands
on. Runs alternate between the two so that a busy machine slows both alike.

    python bench/startup.py [--runs 5] [--idle 3] [--baseline DIR ...]

--baseline (repeatable) also times `ledenbot run` from another checkout, e.g. the commit
before a change (`git worktree add /tmp/before HEAD~1`), in the same runs: before and after
compared back to back, on a machine whose speed drifts.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
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
MEMBER_IDS = itertools.count(9_000_001)

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
    cpu: float  # the process's CPU seconds by then
    rss_mib: float  # VmRSS while idle after that
    used_mib: float  # VmRSS after a member's first messages (/start, /help) were answered


def cpu_seconds(pid: int) -> float:
    """User plus system time of a live process, from /proc (in clock ticks)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def one_start(
    sandbox: Sandbox, argv: Sequence[str], database: Path, idle: float, tree: Path | None = None
) -> Start:
    seen = len(sandbox.requests)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "BOT_TOKEN": SANDBOX_TOKEN,
        "BOT_API_URL": sandbox.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    if tree is not None:  # import the bot from that checkout, not from this one
        env["PYTHONPATH"] = str(tree)
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
        cpu = cpu_seconds(proc.pid)
        await asyncio.sleep(idle)
        idle_rss = rss_mib(proc.pid)
        # What the first updates add (Telegram types are built at first use: bot/frozen_heap.py).
        member = sandbox.user(next(MEMBER_IDS), "Eerste")
        for text in ("/start", "/help"):
            before = len(sandbox.requests)
            await member.send_text(text)
            for _ in range(1000):  # until the bot answered (10 s at most)
                if any(r.method == "sendMessage" for r in sandbox.requests[before:]):
                    break
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        return Start(seconds, cpu, idle_rss, rss_mib(proc.pid))
    finally:
        proc.terminate()
        await proc.wait()


def summary(name: str, values: list[float], unit: str) -> str:
    return (
        f"{name}: median {statistics.median(values):.2f} {unit} "
        f"(min {min(values):.2f}, max {max(values):.2f}; {len(values)} runs)"
    )


def ratios(name: str, ours: list[Start], bare: list[Start]) -> str:
    def med(starts: list[Start], field: str) -> float:
        return statistics.median(getattr(s, field) for s in starts)

    pairs = list(zip(ours, bare, strict=True))
    paired = statistics.median(o.seconds / b.seconds for o, b in pairs)
    paired_cpu = statistics.median(o.cpu / b.cpu for o, b in pairs)
    return (
        f"{name} / bare: start-up {med(ours, 'seconds') / med(bare, 'seconds'):.2f}x "
        f"(paired runs: median {paired:.2f}x), CPU {med(ours, 'cpu') / med(bare, 'cpu'):.2f}x "
        f"(paired: {paired_cpu:.2f}x), idle RSS {med(ours, 'rss_mib') / med(bare, 'rss_mib'):.2f}x"
        f", RSS after use {med(ours, 'used_mib') / med(bare, 'used_mib'):.2f}x"
    )


async def main(runs: int, idle: float, baselines: list[Path]) -> None:
    bare: list[Start] = []
    warm: list[Start] = []
    cold: list[Start] = []
    others: dict[Path, list[Start]] = {tree: [] for tree in baselines}
    series = {
        "bare aiogram bot": bare,
        "ledenbot run, migrated database": warm,
        "ledenbot run, fresh database (migrations run)": cold,
    }
    for tree, starts in others.items():
        series[f"ledenbot run from {tree}, migrated database"] = starts
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
                for tree, starts in others.items():
                    argv = [sys.executable, "-m", "bot.cli", "run"]
                    starts.append(await one_start(sandbox, argv, database, idle, tree))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    for name, starts in series.items():
        print(f"{name}:")
        print("  " + summary("start → first getUpdates", [s.seconds for s in starts], "s"))
        print("  " + summary("CPU by then", [s.cpu for s in starts], "s"))
        print("  " + summary(f"idle RSS after {idle:g} s", [s.rss_mib for s in starts], "MiB"))
        print("  " + summary("RSS after /start and /help", [s.used_mib for s in starts], "MiB"))
    print(ratios("migrated", warm, bare))
    print(ratios("fresh", cold, bare))
    for tree, starts in others.items():
        print(ratios(f"{tree.name}, migrated", starts, bare))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds idle before reading RSS")
    parser.add_argument(
        "--baseline",
        type=Path,
        action="append",
        default=[],
        help="a checkout of another commit: its `ledenbot run` is timed in the same runs",
    )
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.idle, [tree.resolve() for tree in args.baseline]))
