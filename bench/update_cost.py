"""What one update costs: CPU per update through the real Dispatcher (every middleware, the
handler, the service, the database), beside the bare aiogram Dispatcher answering the same
update (bench/harness.py): the floor. Updates go one at a time, so the figure is the work
itself, not queueing; CPU is this process's (time.process_time), the database server's
(PostgreSQL) is not in it.

Kinds: a tap on *sign up* (each by another member, each confirmed), `/help`, an organiser's
talent search (`/zoek debatteren oost`: 20 findable members match, the first page shown), a
member's `/workshops` list (12 upcoming workshops), and a profile edit (the card's button that
pauses or resumes being findable by organisers, which answers with the card again).

    python bench/update_cost.py [--updates 300] [--warmup 50] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from sqlalchemy import func, insert, select

from bench.harness import NullSession, bare_dispatcher, says, tap, throwaway_postgres
from bot import clock
from bot.app import App, build_app
from bot.keyboards import ProfileCb
from bot.services.places import default_gazetteer
from bot.services.workshops import Draft, create
from bot.settings import SANDBOX_TOKEN, Settings
from handlers.workshops import SignupCb
from storage.models import Member, MemberSkill, Role, Signup, Skill

FIRST_ID = 7_000_000
ORGANISER_ID = 6_999_999
FINDABLE = 20  # members the talent search finds
WORKSHOPS = 12


@dataclass(frozen=True)
class Kind:
    name: str
    update: Callable[[int, int], Update]  # (update id, member's Telegram id) -> update
    same_member: bool = False  # always the organiser, else a new member for every update


class Recording(NullSession):
    """NullSession that keeps the last text the bot sent or answered: shown under the table,
    so that a reader sees each kind took the path it names (results found, list shown)."""

    last_text = ""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> Any:
        text = getattr(method, "text", None)
        if text:
            self.last_text = str(text)
        return await super().make_request(bot, method, timeout)


class ErrorCount(logging.Handler):
    """A handler that fails is logged and answered politely: count, so none hides here."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def kinds(workshop_id: int) -> list[Kind]:
    signup = SignupCb(workshop_id=workshop_id).pack()
    findable = ProfileCb(action="findable").pack()
    return [
        Kind("sign-up tap", lambda u, who: tap(u, who, signup)),
        Kind("/help", lambda u, who: says(u, who, "/help")),
        Kind(
            "talent search (/zoek, organiser)",
            lambda u, who: says(u, who, "/zoek debatteren oost"),
            same_member=True,
        ),
        Kind("/workshops list", lambda u, who: says(u, who, "/workshops")),
        # last: it pauses the members the search would find
        Kind("profile edit (findable on/off)", lambda u, who: tap(u, who, findable)),
    ]


async def cpu_ms(dp: Dispatcher, bot: Bot, updates: list[Update], warmup: int) -> float:
    """CPU milliseconds per update after the first `warmup` updates."""
    for update in updates[:warmup]:
        await dp.feed_update(bot, update)
    began = time.process_time()
    for update in updates[warmup:]:
        await dp.feed_update(bot, update)
    return (time.process_time() - began) * 1000 / (len(updates) - warmup)


async def seed(app: App, members: int) -> int:
    """Onboarded members in Zwolle (region oost), the first FINDABLE of them with the talent
    *Debatteren*, an organiser, and upcoming workshops; the id of one with room for all."""
    zwolle = default_gazetteer().search("Zwolle")[0].place
    async with app.sessions() as session:
        where = {"place_id": zwolle.id, "town": zwolle.name, "latitude": zwolle.lat,
                 "longitude": zwolle.lon, "region_code": "oost"}  # fmt: skip
        await session.execute(
            insert(Member),
            [
                {"telegram_id": telegram_id, "locale": "nl", "kind": "member",
                 "onboarding_step": "done", "first_name": "Lid", "findable": True, **where}
                for telegram_id in [ORGANISER_ID, *range(FIRST_ID, FIRST_ID + members)]
            ],
        )  # fmt: skip
        session.add(Role(telegram_id=ORGANISER_ID, role="organiser", region_code=None))
        skill_id = await session.scalar(select(Skill.id).where(Skill.key == "debating"))
        assert skill_id is not None, "the catalogue has no skill 'debating'"
        first = await session.scalar(select(Member.id).where(Member.telegram_id == FIRST_ID))
        assert first is not None
        await session.execute(
            insert(MemberSkill),
            [
                {"member_id": member_id, "skill_id": skill_id, "typed_text": "debatteren",
                 "kind": "talent", "level": "teach", "status": "ok"}
                for member_id in range(first, first + FINDABLE)
            ],
        )  # fmt: skip
        await session.commit()
        workshop_ids = []
        for days in range(WORKSHOPS):
            start = clock.now() + timedelta(days=7 + days)
            workshop = await create(
                session,
                Draft(
                    title=f"Debatteren {days + 1}", starts_at=start,
                    ends_at=start + timedelta(hours=2), capacity=members, place=zwolle,
                ),
            )  # fmt: skip
            workshop_ids.append(workshop.id)
    return workshop_ids[0]


async def table(name: str, url: str, updates: int, warmup: int) -> None:
    per_kind = updates + warmup
    settings = Settings(
        _env_file=None, bot_token=SANDBOX_TOKEN, database_url=url, admin_ids="",
        flood_rate=1e6, flood_burst=1_000_000,
    )  # type: ignore[call-arg]  # fmt: skip
    app = await build_app(settings)
    workshop_id = await seed(app, per_kind)
    recording = Recording()
    bot = Bot(SANDBOX_TOKEN, session=recording)
    bare = bare_dispatcher()
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    rows = []
    replies = []
    next_update = 1
    try:
        for kind in kinds(workshop_id):
            ids = [ORGANISER_ID if kind.same_member else FIRST_ID + i for i in range(per_kind)]
            ours = [kind.update(next_update + i, who) for i, who in enumerate(ids)]
            next_update += per_kind
            ours_ms = await cpu_ms(app.dp, bot, ours, warmup)
            replies.append(" ".join(recording.last_text.split())[:90])
            floor = [kind.update(next_update + i, who) for i, who in enumerate(ids)]
            next_update += per_kind
            rows.append((kind.name, ours_ms, await cpu_ms(bare, bot, floor, warmup)))
        async with app.sessions() as session:
            confirmed = await session.scalar(
                select(func.count()).select_from(Signup).where(Signup.status == "confirmed")
            )
    finally:
        logging.getLogger().removeHandler(errors)
        await app.close()
    assert confirmed == per_kind, f"{confirmed} of {per_kind} sign-ups confirmed"
    assert errors.count == 0, f"{errors.count} updates failed"
    print(f"{name}: {updates} updates of each kind, after {warmup} to warm up, one at a time")
    print("| update kind | ledenbot ms CPU | bare ms CPU | ratio |")
    print("|---|---|---|---|")
    for kind_name, ours_ms, bare_ms in rows:
        print(f"| {kind_name} | {ours_ms:.2f} | {bare_ms:.3f} | {ours_ms / bare_ms:.0f}x |")
    print("ledenbot's last reply of each kind:")
    for (kind_name, _, _), reply in zip(rows, replies, strict=True):
        print(f"  {kind_name}: {reply}")


async def main(updates: int, warmup: int, skip_postgres: bool) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as folder:
        await table("SQLite", f"sqlite+aiosqlite:///{folder}/cost.db", updates, warmup)
    if skip_postgres:
        return
    async with throwaway_postgres() as url:
        await table("PostgreSQL", url, updates, warmup)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=300, help="measured updates per kind")
    parser.add_argument("--warmup", type=int, default=50, help="updates per kind not measured")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.updates, args.warmup, args.skip_postgres))
