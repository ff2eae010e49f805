"""A crowd at the door: 2,000 members tap "sign me up" for a 100-place workshop within one
second, through the real bot as a separate process talking HTTP to the sandbox, with
Telegram's limits on (sandbox.limits.Limits() defaults: 30 messages/s, 1/s per chat, taps
expire after 15 s) and a network round trip on every call (50 ms, as to Telegram).

Two set-ups, each on a fresh database seeded directly (members and the workshop):

- SQLite: one `ledenbot run` process, long polling;
- PostgreSQL: `ledenbot webhook --workers 2` (a throwaway database, REDIS_URL), the sandbox
  posting to both workers over up to max_connections connections.

Each member already has a bot message with the sign-up button in their chat (a sandbox
fixture, outside the flood limits); the presses are spread evenly over one second. Printed:
taps answered in time against "query is too old", press-to-answer latency (from the press to
answerCallbackQuery arriving at the sandbox), the sign-ups stored, and how long until every
tap was answered. The same crowd is first sent to a bare aiogram bot (polling, answering the
tap and nothing else): the floor of this set-up on this machine, sandbox included. Exits 1
when a target fails: every tap answered in time (none "too old"), every member signed up
exactly once (the places confirmed, the rest waiting), and with --within S every tap answered
within S seconds.

    python bench/crowd.py [--members 2000] [--places 100] [--rtt 0.05] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bench.harness import BARE_POLLING_BOT, pct, seed_crowd, throwaway_postgres
from bot.app import build_app
from bot.settings import SANDBOX_TOKEN, Settings
from handlers.workshops import SignupCb
from sandbox import InlineButton, Limits, Sandbox
from sandbox.state import CallbackRecord
from storage.engine import create_engine, create_session_factory
from storage.models import Signup

FIRST_ID = 6_000_000
SECRET = "crowd-bench-webhook-secret"
HANDLED = re.compile(r"webhook worker (\d+) \(pid \d+\) stopping; it handled (\d+) updates")


@dataclass
class Result:
    """What one set-up did with the crowd, and which targets it missed."""

    name: str
    members: int
    places: int
    spread: float
    records: list[CallbackRecord]
    first_press: float
    statuses: dict[str, int] = field(default_factory=dict)
    distinct_members: int = 0
    notes: list[str] = field(default_factory=list)
    floor: bool = False  # the bare aiogram bot: answers, stores nothing
    not_outcomes: int = 0  # taps answered with something else (an error, say)

    def answered(self) -> list[CallbackRecord]:
        return [r for r in self.records if r.answered_at is not None]

    def failures(self, within: float | None) -> list[str]:
        failed = []
        if self.spread > 1.1:  # a slower crowd is an easier one: the run would flatter the bot
            failed.append(
                f"the presses took {self.spread:.2f} s, not one: the machine was too busy, rerun"
            )
        too_old = sum(1 for r in self.records if r.too_late)
        never = sum(1 for r in self.records if r.answered_at is None and not r.too_late)
        slow = (
            sum(1 for r in self.answered() if r.answered_at - r.created > within)  # type: ignore[operator]
            if within is not None
            else 0
        )
        if too_old:
            failed.append(f'{too_old:,} taps answered "query is too old"')
        if never:
            failed.append(f"{never:,} taps never answered")
        if slow:
            failed.append(f"{slow:,} taps answered later than {within:g} s")
        if self.not_outcomes:
            failed.append(f"{self.not_outcomes:,} taps answered with something but their outcome")
        if self.floor:  # the bare bot stores nothing
            return failed
        expected = {"confirmed": self.places, "waiting": self.members - self.places}
        stored = sum(self.statuses.values())
        if (
            {k: self.statuses.get(k, 0) for k in expected} != expected
            or stored != self.members
            or self.distinct_members != self.members
        ):
            failed.append(
                f"sign-ups stored {self.statuses} for {self.distinct_members:,} members, "
                f"expected {expected} for {self.members:,}, each once"
            )
        return failed

    def print(self, within: float | None) -> None:
        answered = self.answered()
        latencies = [(r.answered_at - r.created) * 1000 for r in answered]  # type: ignore[operator]
        too_old = sum(1 for r in self.records if r.too_late)
        never = len(self.records) - len(answered) - too_old
        print(f"{self.name}:")
        print(
            f"  {self.members:,} taps in {self.spread:.2f} s for {self.places} places; "
            f'answered in time {len(answered):,}, "query is too old" {too_old:,}, '
            f"never answered {never:,}"
        )
        if len(latencies) >= 2:
            fast = sum(1 for ms in latencies if ms <= (within or 1.0) * 1000)
            print(
                f"  press to answer: p50 {pct(latencies, 50):,.0f} ms, p95 "
                f"{pct(latencies, 95):,.0f} ms, p99 {pct(latencies, 99):,.0f} ms, max "
                f"{max(latencies):,.0f} ms; within {within or 1.0:g} s: {fast:,}"
            )
        last = max((r.answered_at for r in answered), default=None)  # type: ignore[type-var]
        after = f"{last - self.first_press:.2f} s" if last is not None else "-"
        if answered and not never and not too_old:
            print(f"  every tap answered {after} after the first press")
        else:
            print(f"  not every tap was answered (the last answer came {after} after the first)")
        if not self.floor:
            print(
                f"  sign-ups stored: {self.statuses.get('confirmed', 0):,} confirmed, "
                f"{self.statuses.get('waiting', 0):,} waiting, "
                f"{self.distinct_members:,} distinct members"
            )
        for note in self.notes:
            print(f"  {note}")
        for failure in self.failures(within):
            print(f"  TARGET MISSED: {failure}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ledenbot() -> list[str]:
    """The console script beside this Python, as an operator runs it."""
    script = Path(sys.executable).parent / "ledenbot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


async def seed(url: str, members: int, places: int) -> int:
    """Migrate, add the members and the workshop; the workshop's id."""
    settings = Settings(_env_file=None, bot_token=SANDBOX_TOKEN, database_url=url, admin_ids="")  # type: ignore[call-arg]
    app = await build_app(settings)
    try:
        async with app.sessions() as session:
            return await seed_crowd(session, members, places, FIRST_ID, "Drukte")
    finally:
        await app.close()


async def stored(url: str) -> tuple[dict[str, int], int]:
    """Sign-ups by status, and how many distinct members they belong to."""
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            by_status = select(Signup.status, func.count()).group_by(Signup.status)
            statuses = {str(s): int(n) for s, n in (await session.execute(by_status)).all()}
            distinct = await session.scalar(select(func.count(func.distinct(Signup.member_id))))
            return statuses, int(distinct or 0)
    finally:
        await engine.dispose()


def bot_env(sandbox: Sandbox, url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "ADMIN_IDS")}
    env.update(
        BOT_TOKEN=SANDBOX_TOKEN,
        BOT_API_URL=sandbox.base_url,
        DATABASE_URL=url,
        ADMIN_IDS="",
        **extra,
    )
    return env


@contextlib.asynccontextmanager
async def process(
    args: list[str], env: dict[str, str], folder: Path, name: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Path]]:
    """A bot process (`ledenbot ARGS`, or ARGS as given when they start with this Python)
    with its log in a file; SIGTERM (then kill) at the end."""
    log_path = folder / f"{name}.log"
    command = args if args[:1] == [sys.executable] else [*ledenbot(), *args]
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=folder, stdout=log_file, stderr=log_file
        )
        try:
            yield proc, log_path
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:g} s")
        await asyncio.sleep(0.05)


async def press_all(sandbox: Sandbox, members: int, workshop_id: int) -> tuple[list[str], float]:
    """Give every member the button, then press all of them, evenly within one second."""
    data = SignupCb(workshop_id=workshop_id).pack()
    people = []
    for i in range(members):
        user = sandbox.user(FIRST_ID + i, "Lid", language_code="nl")
        placed = user.place_bot_message("Drukte", [[InlineButton("✅ Aanmelden", data)]])
        people.append((user, placed))
    began = time.monotonic()
    ids: list[str] = []
    while len(ids) < members:
        # everyone whose moment has come presses now, so a busy event loop delays no one
        while len(ids) < members and began + len(ids) / members <= time.monotonic():
            user, placed = people[len(ids)]
            ids.append(await user.press(data, message=placed))
        await asyncio.sleep(max(0.0, began + len(ids) / members - time.monotonic()))
    return ids, time.monotonic() - began


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid: (parent, cpu)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])))
    mine, total, frontier = {pid}, 0.0, [pid]
    while frontier:
        current = frontier.pop()
        total += stats.get(current, (0, 0.0))[1]
        children = [p for p, (parent, _cpu) in stats.items() if parent == current]
        mine.update(children)
        frontier += children
    return total / ticks


async def run_crowd(
    sandbox: Sandbox,
    pid: int,
    alive: Callable[[], bool],
    members: int,
    workshop_id: int,
    wait: float,
) -> tuple[list[CallbackRecord], float, float, str, int]:
    """Press, then wait until every tap is answered or refused (or ``wait`` s pass); also
    what the crowd cost in CPU: the bot's processes, and this one (the sandbox, the presses)."""
    bot = sandbox.bot()
    first = sandbox.clock()
    bot_cpu, own_cpu = tree_cpu(pid), time.process_time()
    ids, spread = await press_all(sandbox, members, workshop_id)
    records = [bot.callback_queries[i] for i in ids]
    with contextlib.suppress(TimeoutError):
        await wait_for(
            lambda: not alive() or all(r.answered or r.too_late for r in records),
            wait,
            "every tap answered or refused",
        )
    outcomes = ("✅", "⏳")  # signed up (or already), or a place on the waiting list
    not_outcomes = sum(
        1
        for r in records
        if r.answered
        and not [a for a in bot.alerts.get(r.user_id, []) if a.text.startswith(outcomes)]
    )
    bot_cpu = tree_cpu(pid) - bot_cpu
    cpu = (
        f"CPU for the crowd: the bot {bot_cpu:.1f} s ({bot_cpu * 1000 / members:.2f} ms a tap), "
        f"the sandbox {time.process_time() - own_cpu:.1f} s, on {os.cpu_count()} cores"
    )
    return records, first, spread, cpu, not_outcomes


async def bare_polling(args: argparse.Namespace, folder: Path) -> Result:
    """The floor: aiogram alone answering the same taps (answerCallbackQuery, nothing else),
    polling the same sandbox with the same limits, round trip and concurrency."""
    async with Sandbox(default_token=SANDBOX_TOKEN, limits=Limits(), rtt=args.rtt) as sandbox:
        env = bot_env(sandbox, "", CONCURRENT=str(Settings(_env_file=None).concurrent_updates))  # type: ignore[call-arg]
        async with process([sys.executable, "-c", BARE_POLLING_BOT], env, folder, "bare") as (
            proc,
            _,
        ):
            await sandbox.wait_polling(timeout=120)
            records, first, spread, cpu, wrong = await run_crowd(
                sandbox, proc.pid, lambda: proc.returncode is None, args.members, 0, args.wait
            )
    name = f"bare aiogram bot (polling, answers the tap only), RTT {args.rtt * 1000:.0f} ms"
    return Result(
        name, args.members, args.places, spread, records, first, notes=[cpu], floor=True,
        not_outcomes=wrong,
    )  # fmt: skip


async def polling_sqlite(args: argparse.Namespace, folder: Path) -> Result:
    url = f"sqlite+aiosqlite:///{folder / 'crowd.db'}"
    workshop_id = await seed(url, args.members, args.places)
    async with Sandbox(default_token=SANDBOX_TOKEN, limits=Limits(), rtt=args.rtt) as sandbox:
        env = bot_env(sandbox, url)
        async with process(["run"], env, folder, "run") as (proc, _):
            await sandbox.wait_polling(timeout=120)
            records, first, spread, cpu, wrong = await run_crowd(
                sandbox,
                proc.pid,
                lambda: proc.returncode is None,
                args.members,
                workshop_id,
                args.wait,
            )
    statuses, distinct = await stored(url)
    name = f"SQLite, `ledenbot run` (polling, one process), RTT {args.rtt * 1000:.0f} ms"
    return Result(
        name,
        args.members,
        args.places,
        spread,
        records,
        first,
        statuses,
        distinct,
        [cpu],
        not_outcomes=wrong,
    )


async def webhook_postgres(args: argparse.Namespace, folder: Path) -> Result:
    async with throwaway_postgres() as url:
        workshop_id = await seed(url, args.members, args.places)
        async with Sandbox(default_token=SANDBOX_TOKEN, limits=Limits(), rtt=args.rtt) as sandbox:
            port = free_port()
            env = bot_env(
                sandbox,
                url,
                REDIS_URL=args.redis_url,
                WEBHOOK_URL=f"http://127.0.0.1:{port}",
                WEBHOOK_SECRET=SECRET,
                WEBHOOK_HOST="127.0.0.1",
                WEBHOOK_PORT=str(port),
            )
            command = ["webhook", "--workers", str(args.workers)]
            async with process(command, env, folder, "webhook") as (proc, log_path):
                bot = sandbox.bot()
                await wait_for(
                    lambda: bot.webhook is not None or proc.returncode is not None,
                    120,
                    "the workers registered no webhook",
                )
                if bot.webhook is None:
                    raise SystemExit(f"the workers exited; see {log_path}")
                connections = bot.webhook.max_connections
                records, first, spread, cpu, wrong = await run_crowd(
                    sandbox,
                    proc.pid,
                    lambda: proc.returncode is None,
                    args.members,
                    workshop_id,
                    args.wait,
                )
            shares = HANDLED.findall(log_path.read_text(errors="replace"))
        statuses, distinct = await stored(url)
    name = (
        f"PostgreSQL, `ledenbot webhook --workers {args.workers}` (Redis), "
        f"RTT {args.rtt * 1000:.0f} ms"
    )
    result = Result(name, args.members, args.places, spread, records, first, statuses, distinct)
    result.not_outcomes = wrong
    split = ", ".join(f"worker {n}: {int(c):,}" for n, c in shares) or "not logged"
    result.notes.append(f"max_connections {connections}; updates handled per worker: {split}")
    result.notes.append(cpu)
    return result


async def main(args: argparse.Namespace) -> int:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    results = []
    with tempfile.TemporaryDirectory() as folder:
        if not args.skip_bare:
            results.append(await bare_polling(args, Path(folder)))
            results[-1].print(args.within)
        if not args.skip_sqlite:
            results.append(await polling_sqlite(args, Path(folder)))
            results[-1].print(args.within)
        if not args.skip_postgres:
            results.append(await webhook_postgres(args, Path(folder)))
            results[-1].print(args.within)
    missed = [r.name for r in results if r.failures(args.within)]
    if missed:
        print(f"targets missed by: {'; '.join(missed)}")
        return 1
    print("every target met")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--places", type=int, default=100)
    parser.add_argument("--rtt", type=float, default=0.05, help="network round trip, seconds")
    parser.add_argument(
        "--within", type=float, default=None, help="also a target: every tap answered within (s)"
    )
    parser.add_argument("--wait", type=float, default=180.0, help="give up after (s)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    raise SystemExit(asyncio.run(main(parser.parse_args())))
