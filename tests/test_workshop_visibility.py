"""Who sees what of a workshop: poster links by code (old id links only for public
workshops), members-only details only to members, the online link only with a place; and
suggestions that fit the member's language and distance. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services import signups, suggest, workshops
from bot.services.onboarding import Kind
from bot.services.places import default_gazetteer
from storage.models import Member, Workshop
from tests import factories
from tests.factories import NOW

LINK = "https://meet.example.org/leden"


async def _pair(session: AsyncSession) -> tuple[Workshop, Workshop]:
    """A public workshop and a members-only online one."""
    public = await factories.workshop(session, "Open", now=NOW)
    closed = await factories.workshop(
        session, "Leden", None, now=NOW, members_only=True, online_url=LINK
    )
    found = await session.get(Workshop, public), await session.get(Workshop, closed)
    assert found[0] is not None and found[1] is not None
    return found[0], found[1]


async def test_poster_links_by_code_or_old_public_id(session: AsyncSession) -> None:
    public, closed = await _pair(session)
    assert len(closed.code) == 12 and closed.code != public.code
    assert await workshops.from_poster(session, closed.code) == closed.id
    assert await workshops.from_poster(session, public.code) == public.id
    assert await workshops.from_poster(session, str(public.id)) == public.id
    assert await workshops.from_poster(session, str(closed.id)) is None  # no enumerating
    for unknown in ("AAAAAAAAAAAA", "99999999999999", "-1", ""):
        assert await workshops.from_poster(session, unknown) is None
    public.status = "cancelled"
    await session.commit()
    assert await workshops.from_poster(session, public.code) is None


async def test_members_only_details_and_the_link(session: AsyncSession) -> None:
    with clock.travel_to(NOW):
        _public, closed = await _pair(session)
        member, sympathiser = await factories.bare_members(session, 2)
        sympathiser.kind = Kind.SYMPATHISER
        await session.commit()
        stranger = await workshops.visible_detail(session, closed.id, None)
        other = await workshops.visible_detail(session, closed.id, sympathiser)
        assert stranger is not None and other is not None
        assert not stranger.full and not other.full
        assert stranger.online_url is None and other.online_url is None
        before = await workshops.visible_detail(session, closed.id, member)
        assert before is not None and before.full and before.online_url is None
        assert await workshops.with_place(session, member, closed.id) is None
        await signups.sign_up(session, member, closed.id)
        after = await workshops.visible_detail(session, closed.id, member)
        assert after is not None and after.online_url == LINK
        assert await workshops.with_place(session, member, closed.id) is not None
        assert await workshops.with_place(session, sympathiser, closed.id) is None


def _member(town: str | None, locale: str = "nl", region: str | None = None) -> Member:
    place = default_gazetteer().search(town)[0].place if town else None
    return Member(
        telegram_id=1, locale=locale, kind="member", onboarding_step="done",
        latitude=place.lat if place else None, longitude=place.lon if place else None,
        region_code=region,
    )  # fmt: skip


def _workshop(
    wid: int, town: str | None, language: str = "nl", region: str | None = None
) -> Workshop:
    place = default_gazetteer().search(town)[0].place if town else None
    return Workshop(
        id=wid, title=f"W{wid}", starts_at=NOW + timedelta(days=wid), status="published",
        ends_at=NOW + timedelta(days=wid, hours=2), language=language, region_code=region,
        latitude=place.lat if place else None, longitude=place.lon if place else None,
        online_url=None if place else LINK,
    )  # fmt: skip


def test_suggestions_fit_language_and_distance_browsing_keeps_all() -> None:
    amersfoort = _member("Amersfoort")
    options = [
        _workshop(1, "Göteborg", "sv"),  # 746 km, and Swedish
        _workshop(2, "Utrecht"),
        _workshop(3, None, "en"),  # online, English
        _workshop(4, "Delfzijl"),  # 166 km
        _workshop(5, None, "NL"),
    ]
    suggested = suggest.rank(options, amersfoort, [], NOW, topic_ids={}, max_km=150)
    assert sorted(s.workshop.id for s in suggested) == [2, 5]
    wider = suggest.rank(options, amersfoort, [], NOW, topic_ids={}, max_km=200)
    assert sorted(s.workshop.id for s in wider) == [2, 4, 5]
    browsing = suggest.rank(options, amersfoort, [], NOW, topic_ids={})
    assert len(browsing) == len(options)


def test_without_a_place_in_person_workshops_of_their_region() -> None:
    options = [_workshop(1, "Zwolle", region="oost"), _workshop(2, "Leiden", region="west")]
    unplaced = _member(None, region="oost")
    assert [s.workshop.id for s in suggest.rank(options, unplaced, [], NOW, {}, 150)] == [1]
    nowhere = _member(None)
    assert len(suggest.rank(options, nowhere, [], NOW, {}, 150)) == 2
