"""The onboarding steps as plain async calls, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import onboarding
from bot.services.onboarding import Kind, Step, StepClosed, UnknownRegion
from bot.services.places import default_gazetteer
from storage.models import Consent, Member


async def test_consent_creates_member_and_consent_record(session: AsyncSession) -> None:
    member, _ = await onboarding.give_consent(session, 4242, "sv")
    assert member.onboarding_step == Step.KIND
    consent = await session.scalar(select(Consent).where(Consent.member_id == member.id))
    assert consent is not None
    assert (consent.version, consent.locale) == (onboarding.CONSENT_VERSION, "sv")
    assert consent.granted_at.tzinfo is not None


async def test_consent_twice_keeps_one_member(sessions: async_sessionmaker[AsyncSession]) -> None:
    async def tap() -> int:
        async with sessions() as s:
            return (await onboarding.give_consent(s, 77, "nl"))[0].id

    ids = await asyncio.gather(tap(), tap(), tap())
    assert len(set(ids)) == 1
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Member)) == 1
        assert await s.scalar(select(func.count()).select_from(Consent)) == 1


async def test_full_onboarding_stores_town_not_exact_location(session: AsyncSession) -> None:
    member, _ = await onboarding.give_consent(session, 1, "nl")
    await onboarding.answer_kind(session, member, Kind.MEMBER)
    groningen = default_gazetteer().search("Groningen")[0].place
    await onboarding.answer_place(session, member, groningen)
    await onboarding.answer_region(session, member, "noord")
    await session.refresh(member)
    assert (member.kind, member.town, member.region_code) == ("member", "Groningen", "noord")
    assert (member.latitude, member.longitude) == (groningen.lat, groningen.lon)
    assert member.onboarding_step == Step.DONE


async def test_skipping_leaves_fields_empty(session: AsyncSession) -> None:
    member, _ = await onboarding.give_consent(session, 2, "en")
    await onboarding.answer_kind(session, member, None)
    await onboarding.answer_place(session, member, None)
    await onboarding.answer_region(session, member, None)
    assert (member.kind, member.town, member.region_code) == (None, None, None)
    assert member.onboarding_step == Step.DONE


async def test_stale_answer_changes_nothing(session: AsyncSession) -> None:
    member, _ = await onboarding.give_consent(session, 3, "nl")
    await onboarding.answer_kind(session, member, Kind.SYMPATHISER)
    with pytest.raises(StepClosed):
        await onboarding.answer_kind(session, member, Kind.MEMBER)
    await session.refresh(member)
    assert member.kind == "sympathiser"


async def test_unknown_region_is_refused(session: AsyncSession) -> None:
    member, _ = await onboarding.give_consent(session, 4, "nl")
    await onboarding.answer_kind(session, member, None)
    await onboarding.answer_place(session, member, None)
    with pytest.raises(UnknownRegion):
        await onboarding.answer_region(session, member, "atlantis")
    await session.refresh(member)
    assert (member.region_code, member.onboarding_step) == (None, Step.REGION)


async def test_restart_keeps_answers_until_replaced(session: AsyncSession) -> None:
    member, _ = await onboarding.give_consent(session, 5, "nl")
    await onboarding.answer_kind(session, member, Kind.MEMBER)
    await onboarding.answer_place(session, member, None)
    await onboarding.answer_region(session, member, "zuid")
    await onboarding.restart(session, member)
    await session.refresh(member)
    assert (member.onboarding_step, member.kind, member.region_code) == ("kind", "member", "zuid")


async def test_two_sessions_answering_the_same_question_one_wins(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Two quick taps are two updates with their own session, each holding the member."""
    async with sessions() as s:
        await onboarding.give_consent(s, 6, "nl")
    async with sessions() as first, sessions() as second:
        a = await first.scalar(select(Member).where(Member.telegram_id == 6))
        b = await second.scalar(select(Member).where(Member.telegram_id == 6))
        assert a is not None and b is not None
        await onboarding.answer_kind(first, a, Kind.MEMBER)
        with pytest.raises(StepClosed):
            await onboarding.answer_kind(second, b, Kind.SYMPATHISER)
        assert b.onboarding_step == Step.PLACE  # refreshed: the handler sees what won
    async with sessions() as s:
        stored = await s.scalar(select(Member).where(Member.telegram_id == 6))
        assert stored is not None and stored.kind == "member"


async def test_moving_abroad_clears_a_region_that_no_longer_fits(session: AsyncSession) -> None:
    member, _ = await onboarding.give_consent(session, 7, "nl")
    places = default_gazetteer()
    await onboarding.answer_kind(session, member, None)
    await onboarding.answer_place(session, member, places.search("Groningen")[0].place)
    await onboarding.answer_region(session, member, "noord")
    await onboarding.restart(session, member)
    await onboarding.answer_kind(session, member, None)
    await onboarding.answer_place(session, member, places.search("Antwerpen")[0].place)
    assert (member.town, member.region_code, member.onboarding_step) == ("Antwerpen", None, "done")


async def test_no_region_question_where_the_organisation_has_none(session: AsyncSession) -> None:
    member, _ = await onboarding.give_consent(session, 8, "nl")
    await onboarding.answer_kind(session, member, None)
    await onboarding.answer_place(session, member, default_gazetteer().search("Göteborg")[0].place)
    assert member.onboarding_step == Step.DONE  # no Swedish regions: nothing to ask
