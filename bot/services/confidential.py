"""The confidential path: cases that route a member's messages to a counsellor and back.

The invariant: the database holds what routing needs and nothing readable about who wrote
or what was said. Contents are relayed (copied chat to chat), never stored. A case is found
by a keyed tag of its code (`Purpose.CASE_LOOKUP`), its member by a sealed link
(`Purpose.CASE_LINK`, bound to the case id) and, for "my conversations" and erasure, by a
keyed tag of their Telegram id. Without `CONFIDENTIAL_KEY` the path is off (`Unavailable`).

Plain async Python: the handlers (handlers/confidential.py) do the Telegram calls.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.sealing import Keyring, Purpose, SealBroken, keyring
from bot.services.roles import Grant, NotAdmin, RoleName, has_role
from storage.models import ConfidentialCase, Counsellor
from storage.repositories import confidential as repo
from storage.repositories.confidential import CLOSED, OPEN

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
CODE_LENGTH = 8
TRIES_PER_HOUR = 5
WRONG_CODE_DELAY = 1.0  # seconds before a wrong code is refused (tests shorten it)
WIPE_WINDOW = timedelta(hours=48)  # Telegram lets a bot delete messages this young
KINDS = ("internal", "external", "committee")
PAGE = 8


class ConfidentialError(Exception):
    """Base of the reasons the confidential path refuses something."""


class Unavailable(ConfidentialError):
    """No CONFIDENTIAL_KEY: the path is off."""


class WrongCode(ConfidentialError):
    """Not a case code of a case that exists (which of the two is not said)."""


class TooManyTries(ConfidentialError):
    pass


class NotYours(ConfidentialError):
    """The case is gone, or belongs to someone else (a forged or stale button)."""


class NoCounsellor(ConfidentialError):
    """Nobody of that kind is reachable through the bot."""


class NotACounsellor(ConfidentialError):
    pass


def ring_of(key: object) -> Keyring:
    """The keyring of Settings.confidential_key (a SecretStr or None)."""
    if key is None:
        raise Unavailable
    text = key.get_secret_value() if hasattr(key, "get_secret_value") else str(key)
    found = keyring(text)
    if found is None:
        raise Unavailable
    return found


# -- codes -------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def shown(code: str) -> str:
    """XXXX-XXXX: easy to read out and type back."""
    return f"{code[:4]}-{code[4:]}"


def normalise(text: str) -> str | None:
    """A typed code as stored: case, spaces and dashes ignored, O read as 0, I and L as 1."""
    cleaned = "".join(text.split()).replace("-", "").upper()
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    if len(cleaned) != CODE_LENGTH or any(c not in ALPHABET for c in cleaned):
        return None
    return cleaned


def _code_tag(ring: Keyring, code: str) -> bytes:
    return ring.tag(Purpose.CASE_LOOKUP, "code", code)


def _member_tag(ring: Keyring, user_id: int) -> bytes:
    return ring.tag(Purpose.CASE_LOOKUP, "member", user_id)


def _ctx(kind: str, case_id: int) -> bytes:
    return f"{kind}:{case_id}".encode()


def code_of(ring: Keyring, case: ConfidentialCase) -> str:
    """The case code, shown to its counsellor (sealed at rest)."""
    return ring.unseal(Purpose.CASE_LINK, case.code_sealed, _ctx("code", case.id)).decode()


def member_of(ring: Keyring, case: ConfidentialCase) -> int:
    """The Telegram id the case's replies go to."""
    return link_of(ring, case)[0]


def link_of(ring: Keyring, case: ConfidentialCase) -> tuple[int, str | None]:
    """The member's Telegram id and language (replies and questions go in it)."""
    link = json.loads(ring.unseal(Purpose.CASE_LINK, case.member_link, _ctx("case", case.id)))
    return int(link["user"]), link.get("locale")


def _link(ring: Keyring, case: ConfidentialCase, user_id: int, locale: str | None) -> None:
    plain = json.dumps({"user": user_id, "locale": locale}).encode()
    case.member_link = ring.seal(Purpose.CASE_LINK, plain, _ctx("case", case.id))
    case.member_tag = _member_tag(ring, user_id)


def seal_case_ref(ring: Keyring, case_id: int, user_id: int) -> str:
    """The case a member is talking in, as conversation state keeps it (Redis, perhaps):
    sealed to that account, so the state alone does not say which case."""
    sealed = ring.seal(Purpose.CASE_LINK, str(case_id).encode(), _ctx("state", user_id))
    return sealed.hex()


def open_case_ref(ring: Keyring, ref: str, user_id: int) -> int | None:
    try:
        return int(ring.unseal(Purpose.CASE_LINK, bytes.fromhex(ref), _ctx("state", user_id)))
    except (SealBroken, ValueError):
        return None


# -- counsellors -------------------------------------------------------------------------


async def reachable(session: AsyncSession) -> list[Counsellor]:
    """Whom a member may choose: counsellors reachable through the bot, with a name."""
    found = await repo.counsellors(session, reachable_only=True)
    return [c for c in found if c.display_name and c.kind != "committee"]


async def counsellor_by_id(session: AsyncSession, counsellor_id: int | None) -> Counsellor | None:
    return await repo.counsellor(session, counsellor_id) if counsellor_id else None


async def note_locale(session: AsyncSession, counsellor: Counsellor, locale: str) -> None:
    if counsellor.locale != locale:
        counsellor.locale = locale
        await session.commit()


async def counsellor_of(session: AsyncSession, telegram_id: int) -> Counsellor | None:
    """The counsellor profile of someone holding the counsellor role, or None."""
    found = await repo.counsellor_by_telegram(session, telegram_id)
    if found is None or telegram_id not in await repo.counsellor_holders(session):
        return None
    return found


async def _pick(session: AsyncSession, chosen: int | None) -> Counsellor:
    options = await reachable(session)
    if chosen:
        for option in options:
            if option.id == chosen:
                return option
        raise NoCounsellor
    load = await repo.open_counts(session)
    for kind in ("internal", "external"):
        of_kind = [c for c in options if c.kind == kind]
        if of_kind:
            return min(of_kind, key=lambda c: (load.get(c.id, 0), c.id))
    raise NoCounsellor


@dataclass(frozen=True, slots=True)
class Opened:
    case_id: int
    code: str  # shown once to the member, then only sealed
    counsellor: Counsellor


async def open_case(
    session: AsyncSession,
    ring: Keyring,
    user_id: int,
    chosen: int | None,
    locale: str | None = None,
) -> Opened:
    """A new case with the chosen counsellor (None: whoever is available)."""
    counsellor = await _pick(session, chosen)
    today = clock.now().date()
    while True:
        code = new_code()
        if await repo.case_by_code_tag(session, _code_tag(ring, code)) is None:
            break
    case = ConfidentialCase(
        code_tag=_code_tag(ring, code), code_sealed=b"", member_tag=b"", member_link=b"",
        counsellor_id=counsellor.id, status=OPEN, identity_shared=False, opened_on=today,
    )  # fmt: skip
    session.add(case)
    await session.flush()
    case.code_sealed = ring.seal(Purpose.CASE_LINK, code.encode(), _ctx("code", case.id))
    _link(ring, case, user_id, locale)
    await repo.count_month(session, today.strftime("%Y-%m"), "opened")
    await session.commit()
    return Opened(case.id, code, counsellor)


async def enter_code(
    session: AsyncSession, ring: Keyring, user_id: int, typed: str, locale: str | None = None
) -> int:
    """The case of a typed code, now linked to this account (a member continuing from
    another phone). At most `TRIES_PER_HOUR` codes an hour per account; a wrong one is
    refused after a pause, without saying whether the case exists."""
    now = clock.now()
    account = ring.tag(Purpose.CASE_LOOKUP, "tries", user_id)
    tries = await repo.take_try(session, account, now, now - timedelta(hours=1))
    await session.commit()
    if tries > TRIES_PER_HOUR:
        raise TooManyTries
    code = normalise(typed)
    case = await repo.case_by_code_tag(session, _code_tag(ring, code)) if code else None
    if case is None:
        await asyncio.sleep(WRONG_CODE_DELAY)
        raise WrongCode
    if link_of(ring, case) != (user_id, locale):
        case = await repo.case(session, case.id, lock=True)
        assert case is not None
        _link(ring, case, user_id, locale)
    await session.commit()
    return case.id


async def member_case(
    session: AsyncSession, ring: Keyring, case_id: int, user_id: int, *, lock: bool = False
) -> ConfidentialCase:
    """The case, if it is this person's (buttons carry ids: re-checked here)."""
    case = await repo.case(session, case_id, lock=lock)
    if case is None:
        raise NotYours
    try:
        if member_of(ring, case) != user_id:
            raise NotYours
    except SealBroken as exc:
        raise NotYours from exc
    return case


async def cases_of_member(
    session: AsyncSession, ring: Keyring, user_id: int
) -> list[ConfidentialCase]:
    return await repo.cases_by_member_tag(session, _member_tag(ring, user_id))


async def counsellor_case(
    session: AsyncSession, counsellor: Counsellor, case_id: int, *, lock: bool = False
) -> ConfidentialCase:
    """The case, if this counsellor holds it."""
    case = await repo.case(session, case_id, lock=lock)
    if case is None or case.counsellor_id != counsellor.id:
        raise NotYours
    return case


async def counsellor_case_by_code(
    session: AsyncSession, ring: Keyring, counsellor: Counsellor, typed: str
) -> ConfidentialCase:
    code = normalise(typed)
    case = await repo.case_by_code_tag(session, _code_tag(ring, code)) if code else None
    if case is None or case.counsellor_id != counsellor.id:
        raise NotYours
    return case


# -- relaying: routes and what the wipe needs --------------------------------------------


async def add_route(
    session: AsyncSession, counsellor_id: int, message_id: int, case_id: int
) -> None:
    repo.add_route(session, counsellor_id, message_id, case_id)
    await session.commit()


async def routed_case(
    session: AsyncSession, message_id: int, counsellor: Counsellor
) -> ConfidentialCase | None:
    """The case a message in this counsellor's chat was relayed for (perhaps handed over
    since: the caller checks who holds it now)."""
    case_id = await repo.routed(session, counsellor.id, message_id)
    return await repo.case(session, case_id) if case_id is not None else None


async def remember(
    session: AsyncSession, ring: Keyring, case_id: int, message_ids: Sequence[int]
) -> None:
    """Messages in the member's current chat that "remove this conversation" deletes (sealed:
    they belong to the member's chat). Ids too old to delete are dropped."""
    case = await repo.case(session, case_id, lock=True)
    if case is None:
        return
    now = int(clock.now().timestamp())
    chat = member_of(ring, case)
    kept = [e for e in _wipe_list(ring, case) if now - e[1] < WIPE_WINDOW.total_seconds()]
    kept += [[int(m), now, chat] for m in message_ids]
    case.wipe_sealed = ring.seal(
        Purpose.CASE_LINK, json.dumps(kept).encode(), _ctx("wipe", case.id)
    )
    await session.commit()


def _wipe_list(ring: Keyring, case: ConfidentialCase) -> list[list[int]]:
    """[message id, when (epoch seconds), chat] per message."""
    if not case.wipe_sealed:
        return []
    return list(json.loads(ring.unseal(Purpose.CASE_LINK, case.wipe_sealed, _ctx("wipe", case.id))))


async def take_wipe(
    session: AsyncSession, ring: Keyring, case: ConfidentialCase
) -> list[tuple[int, int]]:
    """(chat, message id) of the messages still young enough to delete, in every chat the
    case was continued from (a phone lost: wiped from the other); the list is emptied."""
    now = int(clock.now().timestamp())
    young = [e for e in _wipe_list(ring, case) if now - e[1] < WIPE_WINDOW.total_seconds()]
    case.wipe_sealed = None
    await session.commit()
    return [(int(chat), int(message_id)) for message_id, _at, chat in young]


# -- the case's course -------------------------------------------------------------------


async def share_identity(session: AsyncSession, case: ConfidentialCase) -> bool:
    """Mark that the member told the counsellor who they are; False if already done."""
    if case.identity_shared:
        return False
    case.identity_shared = True
    await session.commit()
    return True


async def close(session: AsyncSession, case: ConfidentialCase) -> None:
    if case.status == CLOSED:
        return
    today = clock.now().date()
    case.status, case.closed_on, case.handover_to = CLOSED, today, None
    await repo.count_month(session, today.strftime("%Y-%m"), "closed")
    await session.commit()


async def _handover_options(session: AsyncSession, case: ConfidentialCase) -> list[Counsellor]:
    """The reachable counsellors the case could go to: anyone but its own counsellor."""
    return [
        c for c in await repo.counsellors(session, reachable_only=True)
        if c.id != case.counsellor_id
    ]  # fmt: skip


async def handover_kinds(session: AsyncSession, case: ConfidentialCase) -> set[str]:
    """The kinds (external, committee) a hand-over could reach now: only those get a button."""
    return {c.kind for c in await _handover_options(session, case)}


async def propose_handover(session: AsyncSession, case: ConfidentialCase, kind: str) -> Counsellor:
    """Who the case would go to (the first reachable of `kind` who is not its counsellor);
    it moves only when the member says yes (`answer_handover`)."""
    options = [c for c in await _handover_options(session, case) if c.kind == kind]
    if not options or case.status != OPEN:
        raise NoCounsellor
    case.handover_to = options[0].id
    await session.commit()
    return options[0]


async def answer_handover(
    session: AsyncSession, case: ConfidentialCase, yes: bool
) -> tuple[Counsellor | None, Counsellor | None]:
    """The member's answer: (the counsellor before, the one proposed). On yes it moves."""
    if case.handover_to is None:
        raise NotYours
    before = await repo.counsellor(session, case.counsellor_id) if case.counsellor_id else None
    proposed = await repo.counsellor(session, case.handover_to)
    if yes:
        case.counsellor_id = case.handover_to
    case.handover_to = None
    await session.commit()
    return before, proposed


async def purge(session: AsyncSession, case: ConfidentialCase) -> None:
    """The case and its routes are deleted (the member's wish, or retention)."""
    await repo.delete_cases(session, [case.id])
    await session.commit()


async def forget_member(session: AsyncSession, ring: Keyring, user_id: int) -> int:
    """/vergeetmij: every case linked to this account goes."""
    cases = await cases_of_member(session, ring, user_id)
    deleted = await repo.delete_cases(session, [c.id for c in cases])
    await session.commit()
    return deleted


async def purge_expired(session: AsyncSession, retention_days: int) -> int:
    """Cases closed `retention_days` ago or longer are deleted; code tries over an hour old
    are forgotten."""
    now = clock.now()
    ids = await repo.closed_before(session, now.date() - timedelta(days=retention_days))
    deleted = await repo.delete_cases(session, ids)
    await repo.forget_tries(session, now - timedelta(hours=1))
    await session.commit()
    return deleted


async def counsellor_cases(
    session: AsyncSession, counsellor: Counsellor, page: int
) -> tuple[list[ConfidentialCase], int]:
    """One page of the counsellor's open cases, and how many there are."""
    return await repo.cases_of_counsellor(session, counsellor.id, max(0, page) * PAGE, PAGE)


# -- admins: counsellors' profiles and monthly counts, never cases -------------------------


@dataclass(frozen=True, slots=True)
class Listed:
    telegram_id: int
    profile: Counsellor | None


async def listing(session: AsyncSession, actor: frozenset[Grant]) -> list[Listed]:
    if not has_role(actor, RoleName.ADMIN):
        raise NotAdmin
    listed = []
    for telegram_id in await repo.counsellor_holders(session):
        listed.append(Listed(telegram_id, await repo.counsellor_by_telegram(session, telegram_id)))
    return listed


async def configure(
    session: AsyncSession,
    actor: frozenset[Grant],
    telegram_id: int,
    *,
    name: str | None = None,
    about: str | None = None,
    kind: str | None = None,
    reachable: bool | None = None,
) -> Counsellor:
    """Set a counsellor's name, text, kind or reachability (they must hold the role)."""
    if not has_role(actor, RoleName.ADMIN):
        raise NotAdmin
    if telegram_id not in await repo.counsellor_holders(session):
        raise NotACounsellor
    profile = await repo.counsellor_by_telegram(session, telegram_id)
    if profile is None:
        profile = Counsellor(
            telegram_id=telegram_id, kind="internal", display_name="", about="", reachable=False
        )
        session.add(profile)
    if name is not None:
        profile.display_name = name[:64]
    if about is not None:
        profile.about = about[:300]
    if kind is not None:
        profile.kind = kind
    if reachable is not None:
        profile.reachable = reachable
    await session.commit()
    return profile


async def monthly(
    session: AsyncSession, actor: frozenset[Grant], last: int = 12
) -> list[tuple[str, int, int]]:
    if not has_role(actor, RoleName.ADMIN):
        raise NotAdmin
    return [(m.month, m.opened, m.closed) for m in await repo.months(session, last)]


def opened_at(case: ConfidentialCase) -> datetime:
    """The day a case was opened, as a moment to show (only the day is kept)."""
    return datetime.combine(case.opened_on, time(12), clock.now().tzinfo)
