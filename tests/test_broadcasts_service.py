"""The broadcast's life as the service decides it: the approval threshold, who may approve,
scheduling, and each step taken once when two workers (or two taps) take it together."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import clock, outbox
from bot.services import broadcasts
from bot.services.broadcasts import Audience, BroadcastError, Draft, NotYours
from bot.services.roles import ALL_REGIONS, Scope
from storage.models import Broadcast, OutboxRow
from tests import factories

OOST = Scope(frozenset({"oost"}))
WEST = Scope(frozenset({"west"}))


def render(broadcast: Broadcast, locale: str) -> outbox.Letter:
    return outbox.Letter(0, broadcast.texts.get(locale) or broadcast.texts["nl"])


async def drafted(session: AsyncSession, scope: Scope = OOST, author: int = 1) -> Broadcast:
    made = await broadcasts.new_draft(session, author, "training", "nl", scope)
    await broadcasts.set_text(session, made, "nl", "Trainingsdag")
    return made


async def rows(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxRow)) or 0)


async def test_over_the_threshold_it_waits_for_another_organiser(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await factories.bare_members(session, 5, region_code="oost")
        await factories.bare_members(session, 3, 2_000_000, region_code="west")
        made = await drafted(session)
        assert made.audience["regions"] == ["oost"]  # a regional organiser's draft
        status = await broadcasts.submit(session, made, render, ("nl",), approval_over=4)
        assert status == "approval" and made.recipients == 5
        assert await rows(sessions) == 0
        with pytest.raises(NotYours):  # the author
            await broadcasts.approve(session, made.id, 1, OOST, render, ("nl",))
        with pytest.raises(NotYours):  # an organiser of another region
            await broadcasts.approve(session, made.id, 2, WEST, render, ("nl",))
        approved = await broadcasts.approve(session, made.id, 3, OOST, render, ("nl",))
        assert approved.status == "sending" and approved.approved_by == 3
        with pytest.raises(BroadcastError):  # once only
            await broadcasts.approve(session, made.id, 4, ALL_REGIONS, render, ("nl",))
    assert await rows(sessions) == 5


async def test_a_scheduled_broadcast_starts_at_its_time_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await factories.bare_members(session, 3, region_code="oost")
        made = await drafted(session)
        at = clock.now() + timedelta(hours=2)
        status = await broadcasts.submit(session, made, render, ("nl",), 1000, send_at=at)
        assert status == "scheduled"
        assert await broadcasts.start_due(session, render, ("nl",)) == []
    with clock.travel_to(at + timedelta(seconds=1)):
        async with sessions() as one, sessions() as two:
            started = await asyncio.gather(
                broadcasts.start_due(one, render, ("nl",)),
                broadcasts.start_due(two, render, ("nl",)),
            )
    assert sorted(started) == [[], [made.id]]
    assert await rows(sessions) == 3


async def test_two_taps_on_send_write_the_rows_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await factories.bare_members(session, 4, region_code="oost")
        made = await drafted(session)
    async with sessions() as one, sessions() as two:
        first = await broadcasts.draft_of(one, made.id, 1)
        second = await broadcasts.draft_of(two, made.id, 1)
        outcomes = await asyncio.gather(
            broadcasts.submit(one, first, render, ("nl",), 1000),
            broadcasts.submit(two, second, render, ("nl",), 1000),
            return_exceptions=True,
        )
    assert sorted(type(o).__name__ for o in outcomes) == ["BroadcastError", "str"]
    assert await rows(sessions) == 4


async def test_a_regional_audience_stays_in_its_region(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        made = await drafted(session)
        with pytest.raises(broadcasts.OutOfScope):
            await broadcasts.set_audience(session, made, Audience(regions=("west",)), OOST)
        chosen = await broadcasts.set_audience(session, made, Audience(locales=("sv",)), OOST)
        assert chosen.regions == ("oost",)
        assert broadcasts.may_handle(made, OOST) and broadcasts.may_handle(made, ALL_REGIONS)
        assert not broadcasts.may_handle(made, WEST) and not broadcasts.may_handle(made, None)
        national = await broadcasts.create(
            session, 9, Draft({"nl": "x"}, "nl"), Audience(), ALL_REGIONS
        )
        assert not broadcasts.may_handle(national, OOST)


async def test_a_regional_history_holds_what_addressed_only_their_regions(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    both = Scope(frozenset({"oost", "noord"}))
    async with sessions() as session:
        made = {}
        for name, audience, scope in (
            ("oost", Audience(), OOST),
            ("both", Audience(regions=("noord", "oost")), both),
            ("west", Audience(), WEST),
            ("national", Audience(), ALL_REGIONS),
        ):
            found = await broadcasts.create(session, 1, Draft({"nl": name}, "nl"), audience, scope)
            found.status = "done"
            made[name] = found.id
        await session.commit()
        shown = {
            label: [
                p.broadcast.texts["nl"] for p in await broadcasts.history(session, scope, 0, 10)
            ]
            for label, scope in (("oost", OOST), ("both", both), ("all", ALL_REGIONS))
        }
        assert shown["oost"] == ["oost"]
        assert shown["both"] == ["both", "oost"]
        assert shown["all"] == ["national", "west", "both", "oost"]
        paged = await broadcasts.history(session, both, 1, 1)
        assert [p.broadcast.id for p in paged] == [made["oost"]]
