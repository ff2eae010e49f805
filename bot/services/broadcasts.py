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

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock, outbox
from bot.budget import Priority
from bot.services import catalogue, regions
from bot.services.roles import Scope
from storage.models import Broadcast, Member, Track, Workshop
from storage.repositories import broadcasts as repo
from storage.repositories import members as member_repo
from storage.repositories import outbox as outbox_repo
from storage.repositories import workshops as workshop_repo
from storage.repositories.broadcasts import KINDS, Filter, Reach

__all__ = ["KINDS", "Audience", "BroadcastError", "Reach"]

ACTIVE = ("sending", "paused")
STARTABLE = ("draft", "approval", "scheduled")


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
    if not await _move(session, broadcast, STARTABLE, "sending"):
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


async def _move(session: AsyncSession, broadcast: Broadcast, frm: Sequence[str], to: str) -> bool:
    """One step of its life, taken once however many ask at the same time (`repo.move`);
    refused (rolled back, the broadcast read afresh) when it no longer stands in `frm`."""
    if broadcast.status in frm and await repo.move(session, broadcast.id, frm, to):
        broadcast.status = to
        return True
    await session.rollback()
    await session.refresh(broadcast)
    return False


async def cancel(session: AsyncSession, broadcast: Broadcast) -> int:
    """Stop it: every row not yet claimed is cancelled. How many will not be sent."""
    if not await _move(session, broadcast, (*ACTIVE, "approval", "scheduled"), "cancelled"):
        raise BroadcastError(broadcast.status)
    stopped = await outbox_repo.cancel(session, broadcast.id, clock.now())
    broadcast.finished_at = clock.now()
    await session.commit()
    return stopped


async def pause(session: AsyncSession, broadcast: Broadcast) -> None:
    """Hold its rows not yet claimed (the few in flight still arrive)."""
    if not await _move(session, broadcast, ("sending",), "paused"):
        raise BroadcastError(broadcast.status)
    await outbox_repo.hold(session, broadcast.id, True)
    await session.commit()


async def resume(session: AsyncSession, broadcast: Broadcast) -> None:
    if not await _move(session, broadcast, ("paused",), "sending"):
        raise BroadcastError(broadcast.status)
    await outbox_repo.hold(session, broadcast.id, False)
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


# -- the organiser's dialog: a draft kept in the database, so the conversation stays small --


class NotYours(BroadcastError):
    """A button or command about a broadcast this person may not touch (another's draft, a
    region outside their scope, their own broadcast to approve)."""


async def new_draft(
    session: AsyncSession, author_id: int, kind: str, locale: str, scope: Scope
) -> Broadcast:
    """An empty draft of the author's: its audience starts as everyone they may address."""
    broadcast = await create(session, author_id, Draft({}, locale, kind), Audience(), scope)
    await session.commit()
    return broadcast


async def draft_of(session: AsyncSession, broadcast_id: int, author_id: int) -> Broadcast:
    """The author's own draft, still a draft; refused otherwise (stale or forged)."""
    broadcast = await repo.get(session, broadcast_id)
    if broadcast is None or broadcast.author_id != author_id:
        raise NotYours("gone")
    if broadcast.status != "draft":
        raise BroadcastError(broadcast.status)
    return broadcast


async def set_text(session: AsyncSession, broadcast: Broadcast, locale: str, html: str) -> None:
    broadcast.texts = {**broadcast.texts, locale: html}
    await session.commit()


async def set_photo(
    session: AsyncSession, broadcast: Broadcast, file_id: str | None, kind: str = "photo"
) -> None:
    """The photo (or, with `kind` "document", the file) that goes with it; None: none."""
    broadcast.media = {"type": kind, "file_id": file_id} if file_id else None
    await session.commit()


def signup_workshop(broadcast: Broadcast) -> int | None:
    """The workshop its Sign up button is for, if it has one."""
    for button in broadcast.buttons or ():
        if "signup" in button:
            return int(button["signup"])  # type: ignore[call-overload]
    return None


def links(broadcast: Broadcast) -> list[tuple[str, str]]:
    return [(str(b["label"]), str(b["url"])) for b in broadcast.buttons or () if "url" in b]


MAX_LINKS = 3


async def set_buttons(
    session: AsyncSession,
    broadcast: Broadcast,
    signup: int | None,
    link_buttons: Sequence[tuple[str, str]],
) -> None:
    buttons: list[dict[str, object]] = [{"signup": signup}] if signup else []
    buttons += [{"label": label, "url": url} for label, url in link_buttons[:MAX_LINKS]]
    broadcast.buttons = buttons or None
    await session.commit()


async def set_audience(
    session: AsyncSession, broadcast: Broadcast, audience: Audience, scope: Scope
) -> Audience:
    """Keep the audience as chosen, held to the scope (`OutOfScope` for a region outside)."""
    audience = audience.within(scope)
    broadcast.audience = audience.as_json()
    broadcast.region_code = audience.regions[0] if len(audience.regions) == 1 else None
    await session.commit()
    return audience


def audience_of(broadcast: Broadcast) -> Audience:
    return Audience.from_json(broadcast.audience)


def may_handle(broadcast: Broadcast, scope: Scope | None) -> bool:
    """Whether an organiser with `scope` may approve, pause or cancel it: every region it
    addresses must be theirs (a national broadcast only for those who act everywhere)."""
    if scope is None:
        return False
    if scope.regions is None:
        return True
    regions = audience_of(broadcast).regions
    return bool(regions) and set(regions) <= scope.regions


async def submit(
    session: AsyncSession,
    broadcast: Broadcast,
    render: Render,
    locales: Sequence[str],
    approval_over: int,
    send_at: datetime | None = None,
) -> str:
    """The author confirms: over `approval_over` recipients it waits for approval, with
    `send_at` for its time, else it starts now. The status it is in afterwards."""
    if broadcast.status != "draft" or not broadcast.texts:
        raise BroadcastError(broadcast.status)
    broadcast.send_at = send_at
    counted = await repo.reach(session, audience_of(broadcast).filter(broadcast.kind))
    broadcast.recipients = counted.recipients
    if counted.recipients > approval_over:
        waits = "approval"
    elif send_at is not None and send_at > clock.now():
        waits = "scheduled"
    else:
        await start(session, broadcast, render, locales)
        return broadcast.status
    if not await _move(session, broadcast, ("draft",), waits):
        raise BroadcastError(broadcast.status)
    await session.commit()
    return broadcast.status


async def approve(
    session: AsyncSession,
    broadcast_id: int,
    approver_id: int,
    scope: Scope | None,
    render: Render,
    locales: Sequence[str],
) -> Broadcast:
    """A second organiser of its regions (or an admin) says yes: it starts, or waits for its
    time. The author cannot approve their own."""
    broadcast = await repo.get(session, broadcast_id)
    if broadcast is None or not may_handle(broadcast, scope):
        raise NotYours("scope")
    if broadcast.status != "approval":
        raise BroadcastError(broadcast.status)
    if broadcast.author_id == approver_id:
        raise NotYours("author")
    broadcast.approved_by = approver_id
    if broadcast.send_at is not None and broadcast.send_at > clock.now():
        if not await _move(session, broadcast, ("approval",), "scheduled"):
            raise BroadcastError(broadcast.status)
        await session.commit()
    else:
        await start(session, broadcast, render, locales)
    return broadcast


async def handled(session: AsyncSession, broadcast_id: int, scope: Scope | None) -> Broadcast:
    """A broadcast a control button refers to, re-checked against who pressed it."""
    broadcast = await repo.get(session, broadcast_id)
    if broadcast is None or not may_handle(broadcast, scope):
        raise NotYours("scope")
    return broadcast


async def set_progress_message(
    session: AsyncSession, broadcast: Broadcast, chat_id: int, message_id: int
) -> None:
    broadcast.progress_chat_id, broadcast.progress_message_id = chat_id, message_id
    await session.commit()


async def start_due(session: AsyncSession, render: Render, locales: Sequence[str]) -> list[int]:
    """Start every scheduled broadcast whose time has come (the scheduler's pass)."""
    started = []
    for broadcast_id in await repo.due(session, clock.now()):
        broadcast = await repo.get(session, broadcast_id)
        if broadcast is None or broadcast.status != "scheduled":
            continue
        try:
            await start(session, broadcast, render, locales)
        except BroadcastError:
            continue  # another worker started it first
        started.append(broadcast_id)
    return started


SETTLING = timedelta(minutes=2)


async def live(session: AsyncSession) -> list[Broadcast]:
    """Broadcasts going out or paused, and those cancelled in the last two minutes (the few
    in flight at the cancel still land): the progress messages to keep up to date."""
    return await repo.live(session, ACTIVE, clock.now() - SETTLING)


async def approvers(
    session: AsyncSession, broadcast: Broadcast, admin_ids: Collection[int]
) -> list[int]:
    """Whom to ask for approval: everyone who may give it, the author left out."""
    regions = audience_of(broadcast).regions or None
    found = set(await repo.approvers(session, regions)) | set(admin_ids)
    found.discard(broadcast.author_id or 0)
    return sorted(found)


@dataclass(frozen=True)
class Past:
    """One line of `/berichten`: a broadcast and what came of it."""

    broadcast: Broadcast
    author: str
    counts: Mapping[str, int]
    signed_up: int | None  # for its Sign up button's workshop, after it went out
    workshop: str | None  # that workshop's title


async def history(session: AsyncSession, scope: Scope, offset: int, limit: int) -> list[Past]:
    """Past and current broadcasts, newest first; a regional organiser's own regions only."""
    if scope.regions is None:
        found = await repo.history(session, None, offset, limit)
    else:  # theirs: every region it addresses is one of theirs
        found = await repo.history(session, scope.regions, 0, None)
        found = [b for b in found if may_handle(b, scope)][offset : offset + limit]
    names = await repo.author_names(session, {b.author_id for b in found if b.author_id})
    pasts = []
    for broadcast in found:
        workshop_id = signup_workshop(broadcast)
        signed = workshop = None
        if workshop_id is not None:
            signed = await repo.signups_after(session, broadcast, workshop_id)
            workshop = await session.get(Workshop, workshop_id)
        pasts.append(
            Past(
                broadcast,
                names.get(broadcast.author_id or 0, f"#{broadcast.author_id}"),
                await outbox_repo.counts(session, broadcast.id),
                signed,
                workshop.title if workshop is not None else None,
            )
        )
    return pasts


async def set_muted(
    session: AsyncSession, member: Member, kind: str, muted: bool, *, from_broadcast: int = 0
) -> None:
    """A member's choice: no more announcements of this kind (training days, general news).
    Muting from a broadcast's button counts on that broadcast (once per member: only a
    change counts, and only on a broadcast of that kind)."""
    if kind not in KINDS:
        raise BroadcastError("kind")
    before = member.mute_news if kind == "news" else member.mute_training
    if kind == "news":
        member.mute_news = muted
    else:
        member.mute_training = muted
    if muted and not before and from_broadcast:
        await repo.count_muted(session, from_broadcast, kind)
    await session.commit()


@dataclass(frozen=True)
class Named:
    """An audience's parts by name, for people to read (`/bericht`, `/berichten`)."""

    regions: list[str]
    wishes: list[str]
    talents: list[str]
    workshop: str | None
    track: str | None


async def names(session: AsyncSession, audience: Audience, locale: str) -> Named:
    region_names = {r.code: r.name for r in await regions.configured(session)}
    skills = await catalogue.topics(session, {*audience.wishes, *audience.talents})
    workshop = await session.get(Workshop, audience.workshop_id) if audience.workshop_id else None
    track = await session.get(Track, audience.track_id) if audience.track_id else None
    return Named(
        [region_names.get(code, code) for code in audience.regions],
        [skills[i].name(locale) if i in skills else "?" for i in audience.wishes],
        [skills[i].name(locale) if i in skills else "?" for i in audience.talents],
        workshop.title if workshop else None,
        track.title if track else None,
    )


async def upcoming_in_scope(session: AsyncSession, scope: Scope) -> list[Workshop]:
    """Upcoming workshops a Sign up button may point to: within the organiser's regions."""
    found = await workshop_repo.upcoming(session, clock.now())
    return [w for w in found if scope.allows(w.region_code)]


async def workshop_in_scope(
    session: AsyncSession, workshop_id: int, scope: Scope, *, upcoming: bool = True
) -> Workshop | None:
    """A workshop the organiser may point members to (a Sign up button: upcoming and
    published; an audience condition: any of their regions' workshops)."""
    workshop = await session.get(Workshop, workshop_id)
    if workshop is None or not scope.allows(workshop.region_code):
        return None
    if upcoming and (workshop.status != "published" or workshop.starts_at <= clock.now()):
        return None
    return workshop


async def track_exists(session: AsyncSession, track_id: int) -> bool:
    return await session.get(Track, track_id) is not None


async def author_name(session: AsyncSession, telegram_id: int) -> str:
    return (await repo.author_names(session, [telegram_id])).get(telegram_id, f"#{telegram_id}")


async def locale_of(session: AsyncSession, telegram_id: int, default: str) -> str:
    """The language to write to a staff member in: their own, else the default."""
    member = await member_repo.by_telegram_id(session, telegram_id)
    return member.locale if member is not None else default
