"""The confidential path's service: codes, tries, links, hand-over, retention (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.sealing import Keyring, new_key
from bot.services import confidential as conf
from bot.services.roles import Grant, NotAdmin, RoleName
from storage.models import ConfidentialCase, ConfidentialMonth, ConfidentialRelay, Role

ADMIN = frozenset({Grant(RoleName.ADMIN)})
MEMBER, OTHER_PHONE, STRANGER = 70001, 70002, 70003
INTERNAL, EXTERNAL, COMMITTEE = 71001, 71002, 71003
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def ring() -> Keyring:
    return Keyring.from_text(new_key())


@pytest.fixture(autouse=True)
def quick_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "WRONG_CODE_DELAY", 0.01)


async def counsellors(session: AsyncSession) -> dict[str, int]:
    ids = {}
    for telegram_id, kind, name in (
        (INTERNAL, "internal", "Ineke"),
        (EXTERNAL, "external", "Erik"),
        (COMMITTEE, "committee", "Klachtencommissie"),
    ):
        session.add(Role(telegram_id=telegram_id, role="counsellor", granted_by=1))
        await session.commit()
        profile = await conf.configure(
            session, ADMIN, telegram_id, name=name, about="", kind=kind, reachable=True
        )
        ids[kind] = profile.id
    return ids


async def test_a_case_is_found_by_its_code_and_follows_the_account(
    session: AsyncSession, ring: Keyring
) -> None:
    ids = await counsellors(session)
    with clock.travel_to(NOW):
        opened = await conf.open_case(session, ring, MEMBER, None)
    assert opened.counsellor.id == ids["internal"]  # whoever is available: internal first
    assert len(opened.code) == 8 and set(opened.code) <= set(conf.ALPHABET)
    case = await conf.member_case(session, ring, opened.case_id, MEMBER)
    assert conf.code_of(ring, case) == opened.code
    typed = conf.shown(opened.code).lower().replace("0", "o")  # read out, typed back
    assert await conf.enter_code(session, ring, OTHER_PHONE, typed) == opened.case_id
    case = await conf.member_case(session, ring, opened.case_id, OTHER_PHONE)
    with pytest.raises(conf.NotYours):
        await conf.member_case(session, ring, opened.case_id, MEMBER)
    assert [c.id for c in await conf.cases_of_member(session, ring, OTHER_PHONE)] == [case.id]
    assert await conf.cases_of_member(session, ring, MEMBER) == []
    row = await session.scalar(select(ConfidentialCase))
    assert row is not None and row.opened_on == NOW.date()
    for value in (row.code_tag, row.code_sealed, row.member_tag, row.member_link):
        assert str(OTHER_PHONE).encode() not in value and opened.code.encode() not in value
    months = (await session.scalars(select(ConfidentialMonth))).all()
    assert [(m.month, m.opened, m.closed) for m in months] == [("2026-11", 1, 0)]


async def test_wrong_codes_are_refused_alike_and_the_sixth_try_in_an_hour(
    session: AsyncSession, ring: Keyring
) -> None:
    await counsellors(session)
    opened = await conf.open_case(session, ring, MEMBER, None)
    with clock.travel_to(NOW):
        for typed in ("ABCD-EFGH", "nonsense", "ZZZZ-ZZZZ", "", "1234-5678"):
            with pytest.raises(conf.WrongCode):
                await conf.enter_code(session, ring, STRANGER, typed)
        with pytest.raises(conf.TooManyTries):  # the sixth, even the right code
            await conf.enter_code(session, ring, STRANGER, opened.code)
    with clock.travel_to(NOW + timedelta(minutes=61)):
        assert await conf.enter_code(session, ring, STRANGER, opened.code) == opened.case_id


async def test_hand_over_moves_only_on_the_members_yes(
    session: AsyncSession, ring: Keyring
) -> None:
    ids = await counsellors(session)
    opened = await conf.open_case(session, ring, MEMBER, ids["internal"])
    case = await conf.member_case(session, ring, opened.case_id, MEMBER)
    target = await conf.propose_handover(session, case, "external")
    assert target.id == ids["external"]
    await conf.answer_handover(session, case, yes=False)
    assert case.counsellor_id == ids["internal"] and case.handover_to is None
    await conf.propose_handover(session, case, "committee")
    before, after = await conf.answer_handover(session, case, yes=True)
    assert (before and before.id, after and after.id) == (ids["internal"], ids["committee"])
    assert case.counsellor_id == ids["committee"]
    with pytest.raises(conf.NotYours):  # no question pending: a stale button
        await conf.answer_handover(session, case, yes=True)


async def test_hand_over_is_offered_only_where_someone_can_take_it(
    session: AsyncSession, ring: Keyring
) -> None:
    ids = await counsellors(session)
    opened = await conf.open_case(session, ring, MEMBER, ids["internal"])
    case = await conf.member_case(session, ring, opened.case_id, MEMBER)
    assert await conf.handover_kinds(session, case) == {"external", "committee"}
    await conf.configure(session, ADMIN, EXTERNAL, reachable=False)
    assert await conf.handover_kinds(session, case) == {"committee"}
    with pytest.raises(conf.NoCounsellor):  # a stale "external" button changes nothing
        await conf.propose_handover(session, case, "external")
    assert case.handover_to is None


async def test_closed_cases_are_purged_after_retention_and_erasure_takes_the_rest(
    session: AsyncSession, ring: Keyring
) -> None:
    ids = await counsellors(session)
    with clock.travel_to(NOW):
        first = await conf.open_case(session, ring, MEMBER, None)
        second = await conf.open_case(session, ring, MEMBER, None)
        case = await conf.member_case(session, ring, first.case_id, MEMBER)
        await conf.add_route(session, ids["internal"], 99, case.id)
        await conf.close(session, case)
    with clock.travel_to(NOW + timedelta(days=89)):
        assert await conf.purge_expired(session, 90) == 0
    with clock.travel_to(NOW + timedelta(days=90)):
        assert await conf.purge_expired(session, 90) == 1
    assert (await session.scalars(select(ConfidentialRelay))).all() == []
    remaining = (await session.scalars(select(ConfidentialCase.id))).all()
    assert remaining == [second.case_id]
    assert await conf.forget_member(session, ring, MEMBER) == 1
    assert (await session.scalars(select(ConfidentialCase.id))).all() == []
    month = await session.scalar(select(ConfidentialMonth))
    assert month is not None and (month.opened, month.closed) == (2, 1)  # counts stay


async def test_only_admins_configure_and_only_role_holders_are_counsellors(
    session: AsyncSession,
) -> None:
    with pytest.raises(NotAdmin):
        await conf.configure(session, frozenset(), INTERNAL, name="x")
    with pytest.raises(conf.NotACounsellor):
        await conf.configure(session, ADMIN, STRANGER, name="x")
    await counsellors(session)
    assert [c.display_name for c in await conf.reachable(session)] == ["Erik", "Ineke"]
    with pytest.raises(NotAdmin):
        await conf.monthly(session, frozenset())


async def test_the_wipe_list_keeps_only_messages_young_enough(
    session: AsyncSession, ring: Keyring
) -> None:
    await counsellors(session)
    with clock.travel_to(NOW):
        opened = await conf.open_case(session, ring, MEMBER, None)
        await conf.remember(session, ring, opened.case_id, [10, 11])
    with clock.travel_to(NOW + timedelta(hours=47)):
        await conf.remember(session, ring, opened.case_id, [12])
    with clock.travel_to(NOW + timedelta(hours=49)):
        case = await conf.member_case(session, ring, opened.case_id, MEMBER)
        assert await conf.take_wipe(session, ring, case) == [(MEMBER, 12)]
        assert await conf.take_wipe(session, ring, case) == []
        await conf.remember(session, ring, case.id, [13])
        await conf.enter_code(session, ring, OTHER_PHONE, opened.code)  # continued elsewhere
        await conf.remember(session, ring, case.id, [5])
        case = await conf.member_case(session, ring, case.id, OTHER_PHONE)
        assert await conf.take_wipe(session, ring, case) == [(MEMBER, 13), (OTHER_PHONE, 5)]
