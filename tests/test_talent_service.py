"""The talent base as plain async calls, on SQLite and PostgreSQL: ranking, scope, paging,
audit, contact requests answered once, and requests that cannot be used to pester."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import clock
from bot.i18n import create_i18n
from bot.services import catalogue, profile, talent
from bot.services.places import default_gazetteer
from bot.services.profile import Level, SkillKind
from bot.services.roles import Grant, RoleName
from handlers.talent import render
from storage.models import AuditEntry, ContactRequest, Member, MemberSkill
from storage.repositories import talent as talent_rows
from tests import factories

ADMIN = frozenset({Grant(RoleName.ADMIN)})
OOST = frozenset({Grant(RoleName.ORGANISER, "oost")})


REGION_OF = {"Groningen": "noord", "Zwolle": "oost", "Enschede": "oost"}


async def member(
    session: AsyncSession, tid: int, town: str, level: Level | None, *, findable: bool = True
) -> int:
    region = REGION_OF.get(town, "west")
    added = await factories.onboarded(
        session, tid, f"Lid{tid}", town, region=region, talents="debatteren", level=level,
        findable=findable,
    )  # fmt: skip
    return added.id


@pytest.fixture
async def debating(session: AsyncSession) -> int:
    await catalogue.ensure_defaults(session)
    catalogue.invalidate()
    found = (await catalogue.matcher(session)).match("debatteren")
    return found[0].skill_id


async def test_ranking_by_level_then_distance(session: AsyncSession, debating: int) -> None:
    far_teacher = await member(session, 1, "Groningen", Level.TEACH)
    near_some = await member(session, 2, "Zwolle", Level.SOME)
    near_teacher = await member(session, 3, "Enschede", Level.TEACH)
    await member(session, 4, "Utrecht", Level.EXPERIENCED, findable=False)
    unsaid = await member(session, 5, "Utrecht", None)
    zwolle = default_gazetteer().search("Zwolle")[0].place
    results = await talent.search(
        session, actor_id=99, grants=ADMIN, skill_id=debating, region=None, near=zwolle
    )
    assert results.total == 4
    assert [h.row.member_id for h in results.hits] == [near_teacher, far_teacher, near_some, unsaid]
    assert results.hits[2].distance_km == pytest.approx(0, abs=1)
    assert 50 < results.hits[0].distance_km < 70  # Enschede–Zwolle


async def test_unplaced_last_within_their_level_ties_by_id_across_pages(
    session: AsyncSession, debating: int
) -> None:
    """The order the organiser pages through: level first, then distance with members
    without a place after the placed ones of their level, then who joined first."""
    unplaced_teacher = await member(session, 1, "Utrecht", Level.TEACH)
    same_town = [await member(session, tid, "Leiden", Level.TEACH) for tid in range(2, 8)]
    experienced = await member(session, 8, "Leiden", Level.EXPERIENCED)
    gone = await member(session, 9, "Leiden", Level.TEACH)
    for member_id, change in ((unplaced_teacher, "place"), (gone, "unreachable")):
        row = await session.get(Member, member_id)
        assert row is not None
        if change == "place":
            row.latitude = row.longitude = None
        else:
            row.unreachable_since = datetime(2026, 11, 1, tzinfo=UTC)
    await session.commit()
    leiden = default_gazetteer().search("Leiden")[0].place
    seen, totals = [], set()
    for offset in (0, 5):
        page = await talent.search(
            session, actor_id=7, grants=ADMIN, skill_id=debating, region="west", near=leiden,
            offset=offset,
        )  # fmt: skip
        seen += [h.row.member_id for h in page.hits]
        totals.add(page.total)
    assert seen == [*sorted(same_town), unplaced_teacher, experienced]
    assert totals == {8}


async def test_regional_organiser_sees_only_their_region(
    session: AsyncSession, debating: int
) -> None:
    await member(session, 1, "Groningen", Level.TEACH)
    oost = await member(session, 2, "Zwolle", Level.SOME)
    results = await talent.search(
        session, actor_id=7, grants=OOST, skill_id=debating, region=None, near=None
    )
    assert [h.row.member_id for h in results.hits] == [oost]
    with pytest.raises(talent.OutOfScope):
        await talent.search(
            session, actor_id=7, grants=OOST, skill_id=debating, region="noord", near=None
        )
    with pytest.raises(talent.NotAllowed):
        await talent.search(
            session, actor_id=7, grants=frozenset(), skill_id=debating, region=None, near=None
        )


async def test_pages_and_one_audit_entry_per_search(session: AsyncSession, debating: int) -> None:
    for tid in range(10, 22):
        await member(session, tid, "Utrecht", Level.SOME)
    seen: list[int] = []
    for offset in (0, 5, 10):
        page = await talent.search(
            session, actor_id=7, grants=ADMIN, skill_id=debating, region="west", near=None,
            offset=offset, query_text="debatteren west",
        )  # fmt: skip
        assert page.total == 12
        seen += [h.row.member_id for h in page.hits]
    assert len(seen) == len(set(seen)) == 12
    audit = (await session.scalars(select(AuditEntry))).all()
    assert [(a.actor_id, a.action, a.query, a.results) for a in audit] == [
        (7, "search", "debatteren west", 12)
    ]


async def crowd(session: AsyncSession, skill_id: int, n: int) -> list[int]:
    """n findable teachers of the skill in Utrecht (west), inserted at once."""
    utrecht = default_gazetteer().search("Utrecht")[0].place
    await session.execute(
        insert(Member),
        [
            {"telegram_id": 700_000 + i, "locale": "nl", "kind": "member",
             "first_name": f"Lid{i}", "place_id": utrecht.id, "town": utrecht.name,
             "latitude": utrecht.lat, "longitude": utrecht.lon, "region_code": "west",
             "onboarding_step": "done", "findable": True}
            for i in range(n)
        ],
    )  # fmt: skip
    ids = list(
        await session.scalars(
            select(Member.id).where(Member.telegram_id >= 700_000).order_by(Member.id)
        )
    )
    await session.execute(
        insert(MemberSkill),
        [
            {"member_id": m, "skill_id": skill_id, "typed_text": "debatteren", "kind": "talent",
             "level": "teach", "status": "ok"}
            for m in ids
        ],
    )  # fmt: skip
    await session.commit()
    return ids


@pytest.mark.parametrize("level_first", [False, True])
@pytest.mark.parametrize("region", ["west", None])
async def test_a_count_past_a_thousand_reads_more_than_a_thousand(
    session: AsyncSession,
    debating: int,
    region: str | None,
    level_first: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Counting stops past COUNT_CAP: the organiser reads "more than 1,000", in their own
    language, with the same first page; at the cap itself the count is exact. Whichever
    plan the database picks: in a region, also ranking only the page's level."""
    plans: list[talent_rows.Plan] = []
    choose = talent_rows._plan

    async def chosen(*args: object) -> talent_rows.Plan:
        plans.append(await choose(*args))  # type: ignore[arg-type]
        return plans[-1]

    monkeypatch.setattr(talent_rows, "_plan", chosen)
    if level_first:  # as for a skill far more common than the cap, on either database
        monkeypatch.setattr(talent_rows, "RANK_ALL", 0)
        monkeypatch.setattr(talent_rows, "MATCHES_PAST", 0.0)
    ids = await crowd(session, debating, talent.COUNT_CAP + 1)
    utrecht = default_gazetteer().search("Utrecht")[0].place
    i18n = create_i18n("nl")

    async def shown(lang: str) -> tuple[list[str], list[str]]:
        results = await talent.search(
            session, actor_id=7, grants=ADMIN, skill_id=debating, region=region,
            near=utrecht, query_text="debatteren",
        )  # fmt: skip
        assert [h.row.member_id for h in results.hits] == ids[:5]  # ties: by member id
        with i18n.context(), i18n.use_locale(lang):
            text, markup = await render(session, results, lang)
        buttons = [b.text for row in markup.inline_keyboard for b in row]  # type: ignore[attr-defined]
        return text.splitlines(), buttons

    more = {
        "en": "More than 1,000 found, showing 1–5",
        "nl": "Meer dan 1.000 gevonden, 1–5 getoond",
        "sv": "Fler än 1\u00a0000 hittade, visar 1–5",
    }
    for lang, line in more.items():
        lines, buttons = await shown(lang)
        assert lines[1] == line
        assert buttons[-2:] == ["1/200+", "▶️"]
    audit = (await session.scalars(select(AuditEntry.results))).all()
    assert set(audit) == {1001}  # "more than 1,000"

    await session.execute(update(Member).where(Member.id == ids[-1]).values(findable=False))
    await session.commit()
    exact = {
        "en": "1,000 found, showing 1–5",
        "nl": "1.000 gevonden, 1–5 getoond",
        "sv": "1\u00a0000 hittade, visar 1–5",
    }
    for lang, line in exact.items():
        lines, buttons = await shown(lang)
        assert lines[1] == line
        assert buttons[-2:] == ["1/200", "▶️"]
    assert {p.level_first for p in plans} == {level_first and region is not None}


async def test_contact_requests_are_answered_once(
    sessions: async_sessionmaker[AsyncSession], debating: int
) -> None:
    async with sessions() as session:
        target = await member(session, 30, "Zwolle", Level.TEACH)
        request = await talent.request_contact(
            session, actor_id=7, grants=OOST, member_id=target, skill_id=debating
        )
        with pytest.raises(talent.AlreadyAsked):
            await talent.request_contact(
                session, actor_id=7, grants=OOST, member_id=target, skill_id=debating
            )
    async with sessions() as first, sessions() as second:
        await talent.answer_contact(first, member_id=target, request_id=request.id, accept=True)
        with pytest.raises(talent.NotPending):
            await talent.answer_contact(
                second, member_id=target, request_id=request.id, accept=False
            )
        with pytest.raises(talent.NotPending):  # not addressed to this member
            await talent.answer_contact(first, member_id=999, request_id=request.id, accept=True)


async def test_nobody_who_paused_or_blocked_can_be_asked(
    session: AsyncSession, debating: int
) -> None:
    paused = await member(session, 40, "Utrecht", Level.TEACH, findable=False)
    with pytest.raises(talent.NotFindable):
        await talent.request_contact(
            session, actor_id=7, grants=ADMIN, member_id=paused, skill_id=debating
        )
    noord = await member(session, 41, "Groningen", Level.TEACH)
    with pytest.raises(talent.OutOfScope):
        await talent.request_contact(
            session, actor_id=7, grants=OOST, member_id=noord, skill_id=debating
        )


DAY0 = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)


async def ask(session: AsyncSession, actor: int, target: int, skill: int, **kw: int) -> int:
    request = await talent.request_contact(
        session, actor_id=actor, grants=ADMIN, member_id=target, skill_id=skill, **kw
    )
    return request.id


async def test_after_a_no_the_same_organiser_waits_90_days(
    session: AsyncSession, debating: int
) -> None:
    target = await member(session, 50, "Zwolle", Level.TEACH)
    with clock.travel_to(DAY0):
        request = await ask(session, 7, target, debating)
        await talent.answer_contact(session, member_id=target, request_id=request, accept=False)
    with clock.travel_to(DAY0 + timedelta(days=89)):
        with pytest.raises(talent.DeclinedRecently) as refused:
            await ask(session, 7, target, debating)
        assert refused.value.declined_at.date() == DAY0.date()
        assert refused.value.again_from.date() == date(2027, 6, 1)
        await ask(session, 8, target, debating)  # another organiser may
    with clock.travel_to(DAY0 + timedelta(days=91)):
        await ask(session, 7, target, debating)


async def test_only_a_skill_the_member_listed(session: AsyncSession, debating: int) -> None:
    target = await member(session, 51, "Zwolle", Level.TEACH)
    budgets, wish = await factories.skill_ids(session, "begroting lezen", "fotografie")
    await profile.add(session, await _member(session, target), SkillKind.WISH, "fotografie")
    for forged in (budgets, wish, None):  # never listed; only a wish; none at all
        with pytest.raises(talent.NotListed):
            await talent.request_contact(
                session, actor_id=7, grants=ADMIN, member_id=target, skill_id=forged
            )
    assert (await session.scalars(select(ContactRequest))).all() == []


async def test_a_daily_limit_per_organiser_that_resets_at_midnight_utc(
    session: AsyncSession, debating: int
) -> None:
    targets = [await member(session, 60 + i, "Zwolle", Level.SOME) for i in range(4)]
    with clock.travel_to(datetime(2027, 3, 3, 23, 50, tzinfo=UTC)):
        for target in targets[:3]:
            await ask(session, 7, target, debating, per_day=3)
        with pytest.raises(talent.DailyLimit) as refused:
            await ask(session, 7, targets[3], debating, per_day=3)
        assert refused.value.limit == 3
        await ask(session, 8, targets[3], debating, per_day=3)  # someone else's count
    with clock.travel_to(datetime(2027, 3, 4, 0, 10, tzinfo=UTC)):
        await ask(session, 7, targets[3], debating, per_day=3)


async def test_never_ask_me_again_stops_every_organiser_until_undone(
    session: AsyncSession, debating: int
) -> None:
    target = await member(session, 70, "Zwolle", Level.TEACH)
    request = await ask(session, 7, target, debating)
    answered = await talent.answer_contact(
        session, member_id=target, request_id=request, accept=True, never=True
    )
    assert answered.status == "declined"
    for organiser in (7, 8):
        with pytest.raises(talent.NoRequests):
            await ask(session, organiser, target, debating)
    row = await _member(session, target)
    assert row.no_contact_requests is True
    await profile.set_contact_requests(session, row, allowed=True)
    await ask(session, 8, target, debating)
    with pytest.raises(talent.DeclinedRecently):  # the no to organiser 7 still stands
        await ask(session, 7, target, debating)


async def _member(session: AsyncSession, member_id: int) -> Member:
    found = await session.get(Member, member_id)
    assert found is not None
    return found
