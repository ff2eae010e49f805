"""Start-up of `ledenbot run` to its first poll: spawn the real process against the sandbox
and time until the sandbox receives the first getUpdates.

    python bench/startup.py [--runs 5]
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
from pathlib import Path

from bot.settings import SANDBOX_TOKEN
from sandbox.server import Sandbox

LEDENBOT = str(Path(sys.executable).parent / "ledenbot")


async def one_start(sandbox: Sandbox, database: Path) -> float:
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
        LEDENBOT,
        "run",
        env=env,
        cwd=database.parent,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        while not any(r.method == "getUpdates" for r in sandbox.requests[seen:]):
            if proc.returncode is not None:
                raise RuntimeError("ledenbot run exited before polling")
            await asyncio.sleep(0.002)
        return time.perf_counter() - started
    finally:
        proc.terminate()
        await proc.wait()


async def import_aiogram() -> float:
    """The floor under any aiogram bot: importing it builds ~600 pydantic models."""
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "import aiogram")
    await proc.wait()
    return time.perf_counter() - started


async def main(runs: int) -> None:
    cold: list[float] = []
    warm: list[float] = []
    async with Sandbox(default_token=SANDBOX_TOKEN) as sandbox:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as folder:
                database = Path(folder) / "bench.db"
                cold.append(await one_start(sandbox, database))  # creates the schema
                warm.append(await one_start(sandbox, database))  # schema already current
    floor = [await import_aiogram() for _ in range(runs)]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"python -c 'import aiogram' alone: median {statistics.median(floor):.2f} s")
    for name, values in (("fresh database (migrations run)", cold), ("migrated database", warm)):
        print(
            f"ledenbot run → first getUpdates, {name}: median {statistics.median(values):.2f} s, "
            f"min {min(values):.2f} s, max {max(values):.2f} s ({len(values)} runs)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
