"""Broadcasts: an organiser's announcement to an audience, sent from the outbox.

The life of one: `create` (a draft: texts per language, the audience, buttons) → `submit`
(over `approval_over` recipients it waits for a second organiser's or an admin's `approve`;
with `send_at` it waits for its time) → `start` writes one outbox row per recipient in one
transaction → the sender delivers them (bulk priority) → `done`. It can be paused, resumed
and cancelled while it goes out; a cancel stops every row not yet claimed, so nothing is sent
after it but the few already in flight.

The audience is chosen by region, member or sympathiser, language, learning wishes, talents,
a workshop's sign-ups and a track's participants; members who muted that kind of
announcement and members who blocked the bot are left out, and counted (`Reach`). A
regional organiser's audience never leaves their regions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock, outbox
from bot.budget import Priority
from bot.services.roles import Scope
from storage.models import Broadcast
from storage.repositories import broadcasts as repo
from storage.repositories import outbox as outbox_repo
from storage.repositories.broadcasts import KINDS, Filter, Reach

__all__ = ["KINDS", "Audience", "BroadcastError", "Reach"]

ACTIVE = ("sending", "paused")


class BroadcastError(Exception):
    """A step that does not fit where the broadcast stands (`status` says where)."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class OutOfScope(BroadcastError):
    """A regional organiser addressing a region that is not theirs."""


@dataclass(frozen=True)
class Audience:
    """Who a broadcast is for, as the organiser chose it: empty means anyone."""

    regions: tuple[str, ...] = ()
    member_kinds: tuple[str, ...] = ()  # member | sympathiser
    locales: tuple[str, ...] = ()
    wishes: tuple[int, ...] = ()
    talents: tuple[int, ...] = ()
    workshop_id: int | None = None
    signed_up: bool | None = None
    track_id: int | None = None
    in_track: bool | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Audience:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**values)

    def within(self, scope: Scope) -> Audience:
        """The audience a person with `scope` may address: their regions when they chose none,
        refused (`OutOfScope`) when they chose one outside them."""
        if scope.regions is None:
            return self
        if not self.regions:
            return Audience(**{**asdict(self), "regions": tuple(sorted(scope.regions))})
        if not set(self.regions) <= scope.regions:
            raise OutOfScope("region")
        return self

    def filter(self, kind: str) -> Filter:
        return Filter(
            kind=kind,
            regions=self.regions or None,
            member_kinds=self.member_kinds or None,
            locales=self.locales or None,
            wishes=self.wishes or None,
            talents=self.talents or None,
            workshop_id=self.workshop_id,
            signed_up=self.signed_up,
            track_id=self.track_id,
            in_track=self.in_track,
        )


async def reach(session: AsyncSession, audience: Audience, kind: str, scope: Scope) -> Reach:
    """How many it would reach now, and how many it leaves out (muted, unreachable)."""
    return await repo.reach(session, audience.within(scope).filter(kind))


@dataclass(frozen=True)
class Draft:
    """What the organiser composed: texts (HTML) per language, the default language for
    members whose language has no text of its own, and the buttons."""

    texts: Mapping[str, str]
    default_locale: str
    kind: str = "training"
    photo: str | None = None  # a Telegram file id
    signup_workshop_id: int | None = None
    links: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (label, https URL)


async def create(
    session: AsyncSession,
    author_id: int,
    draft: Draft,
    audience: Audience,
    scope: Scope,
) -> Broadcast:
    """A draft broadcast, its audience held to the author's regions."""
    if draft.kind not in KINDS:
        raise BroadcastError("kind")
    audience = audience.within(scope)
    region = audience.regions[0] if len(audience.regions) == 1 else None
    broadcast = Broadcast(
        author_id=author_id,
        kind=draft.kind,
        status="draft",
        texts=dict(draft.texts),
        default_locale=draft.default_locale,
        media={"type": "photo", "file_id": draft.photo} if draft.photo else None,
        buttons=[
            *([{"signup": draft.signup_workshop_id}] if draft.signup_workshop_id else []),
            *({"label": label, "url": url} for label, url in draft.links),
        ]
        or None,
        audience=audience.as_json(),
        region_code=region,
        letters={},
        created_at=clock.now(),
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


Render = Callable[[Broadcast, str], outbox.Letter]
"""How a broadcast looks in one language: a letter without its chat (buttons translated)."""


async def start(
    session: AsyncSession, broadcast: Broadcast, render: Render, locales: Sequence[str]
) -> int:
    """Write one outbox row per recipient, in one transaction; the number of recipients.

    Each row names only its language: the letters themselves are kept once per language on
    the broadcast (`render` makes them), not once per member.
    """
    if broadcast.status not in ("draft", "approval", "scheduled"):
        raise BroadcastError(broadcast.status)
    audience = Audience.from_json(broadcast.audience)
    people = await repo.recipients(session, audience.filter(broadcast.kind))
    broadcast.letters = {locale: outbox.parts_of(render(broadcast, locale)) for locale in locales}
    default = broadcast.default_locale
    rows = [
        {
            "chat_id": telegram_id,
            "member_id": member_id,
            "payload": {"letter": locale if locale in broadcast.letters else default},
        }
        for member_id, telegram_id, locale in people
    ]
    await outbox.post_rows(session, rows, Priority.BULK, broadcast_id=broadcast.id)
    broadcast.status = "sending"
    broadcast.recipients = len(rows)
    broadcast.started_at = clock.now()
    await session.commit()
    return len(rows)


async def cancel(session: AsyncSession, broadcast: Broadcast) -> int:
    """Stop it: every row not yet claimed is cancelled. How many will not be sent."""
    if broadcast.status not in (*ACTIVE, "approval", "scheduled"):
        raise BroadcastError(broadcast.status)
    stopped = await outbox_repo.cancel(session, broadcast.id, clock.now())
    broadcast.status = "cancelled"
    broadcast.finished_at = clock.now()
    await session.commit()
    return stopped


async def pause(session: AsyncSession, broadcast: Broadcast) -> None:
    """Hold its rows not yet claimed (the few in flight still arrive)."""
    if broadcast.status != "sending":
        raise BroadcastError(broadcast.status)
    await outbox_repo.hold(session, broadcast.id, True)
    broadcast.status = "paused"
    await session.commit()


async def resume(session: AsyncSession, broadcast: Broadcast) -> None:
    if broadcast.status != "paused":
        raise BroadcastError(broadcast.status)
    await outbox_repo.hold(session, broadcast.id, False)
    broadcast.status = "sending"
    await session.commit()


@dataclass(frozen=True)
class Progress:
    """Where a broadcast stands, as the organiser's live message shows it."""

    sent: int
    unreachable: int
    failed: int
    cancelled: int
    remaining: int
    per_second: float | None  # since it started
    seconds_left: float | None

    @property
    def finished(self) -> bool:
        return self.remaining == 0


async def progress(session: AsyncSession, broadcast: Broadcast, now: datetime) -> Progress:
    counts = await outbox_repo.counts(session, broadcast.id)
    sent = counts.get(outbox_repo.SENT, 0)
    remaining = sum(counts.get(s, 0) for s in (outbox_repo.QUEUED, outbox_repo.SENDING,
                                                outbox_repo.HELD))  # fmt: skip
    rate = None
    if broadcast.started_at is not None and sent:
        elapsed = (now - broadcast.started_at).total_seconds()
        rate = sent / elapsed if elapsed > 0 else None
    return Progress(
        sent=sent,
        unreachable=counts.get(outbox_repo.UNREACHABLE, 0),
        failed=counts.get(outbox_repo.FAILED, 0),
        cancelled=counts.get(outbox_repo.CANCELLED, 0),
        remaining=remaining,
        per_second=rate,
        seconds_left=remaining / rate if rate else None,
    )


async def finish_if_done(session: AsyncSession, broadcast: Broadcast, now: datetime) -> bool:
    """Mark a sending broadcast done once nothing of it is left to send."""
    if broadcast.status != "sending" or not (await progress(session, broadcast, now)).finished:
        return False
    broadcast.status = "done"
    broadcast.finished_at = now
    await session.commit()
    return True
