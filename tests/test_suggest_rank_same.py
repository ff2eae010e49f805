"""suggest.rank, made cheaper per workshop, ranks exactly as the plain version did: the same
suggestions, in the same order, with the same scores, distances and reasons."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.services import suggest
from bot.services.places import haversine_km
from storage.models import Member
from storage.repositories.workshops import Listed

NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)


def plain_rank(workshops, member, wish_skill_ids, now, max_km=None):  # type: ignore[no-untyped-def]
    """The ranking as it was written before it was made cheaper (the reference)."""
    wishes = frozenset(wish_skill_ids)
    out = []
    for w in workshops:
        if w.starts_at <= now or w.status != "published":
            continue
        distance = suggest._distance(w, member)
        if max_km is not None and not suggest.fits(w, member, max_km):
            continue
        matched = tuple(sorted(w.topic_ids & wishes)) if wishes else ()
        score = suggest.WISH_POINTS * len(matched)
        if distance is not None:
            score += suggest.NEAR_POINTS * max(0.0, 1 - distance / suggest.NEAR_KM)
        elif w.latitude is None and w.online_url:
            score += suggest.ONLINE_POINTS
        same_region = bool(member.region_code) and w.region_code == member.region_code
        if same_region and distance is None:
            score += suggest.SAME_REGION_POINTS
        score -= suggest.DAY_COST * (w.starts_at - now).total_seconds() / 86400
        out.append(suggest.Suggestion(w, score, matched, distance, same_region))
    out.sort(key=lambda s: (-s.score, s.workshop.starts_at, s.workshop.id))
    return out


def _workshops(rng: random.Random, n: int) -> list[Listed]:
    out = []
    for i in range(n):
        online = rng.random() < 0.2
        lat = None if online else rng.uniform(50.5, 53.6)
        lon = None if online else rng.uniform(3.3, 7.2)
        starts = NOW + timedelta(days=rng.choice([-1, 1, 1, 2, 30, 90]), hours=rng.randint(0, 3))
        out.append(
            Listed(
                id=i + 1, title=f"W{i}", starts_at=starts, town=None, latitude=lat, longitude=lon,
                region_code=rng.choice([None, "oost", "west"]),
                online_url="https://x" if online or rng.random() < 0.1 else None,
                capacity=10, language=rng.choice(["nl", "nl", "NL", "nl-BE", "en", "sv"]),
                members_only=False, status=rng.choice(["published"] * 9 + ["cancelled"]),
                topic_ids=frozenset(rng.sample(range(1, 30), rng.randint(0, 3))),
            )
        )  # fmt: skip
    return out


def test_the_same_suggestions_in_the_same_order() -> None:
    rng = random.Random(11)
    for _ in range(60):
        workshops = _workshops(rng, 120)
        located = rng.random() < 0.6
        member = Member(
            locale=rng.choice(["nl", "nl-BE", "en", None]),
            latitude=rng.uniform(50.5, 53.6) if located else None,
            longitude=rng.uniform(3.3, 7.2) if located else None,
            region_code=rng.choice([None, "", "oost", "west"]),
        )
        wishes = rng.sample(range(1, 30), rng.randint(0, 4))
        for max_km in (None, 150.0, 40.0):
            got = suggest.rank(workshops, member, wishes, NOW, max_km=max_km)
            want = plain_rank(workshops, member, wishes, NOW, max_km)
            assert got == want


def test_exactly_at_max_km() -> None:
    member = Member(locale="nl", latitude=52.5, longitude=6.1, region_code=None)
    (workshop,) = _workshops(random.Random(1), 1)
    workshop = replace(
        workshop, latitude=53.2, longitude=6.9, status="published", language="nl",
        starts_at=NOW + timedelta(days=3),
    )  # fmt: skip
    at = haversine_km(52.5, 6.1, 53.2, 6.9)
    assert [s.distance_km for s in suggest.rank([workshop], member, [], NOW, max_km=at)] == [at]
    assert suggest.rank([workshop], member, [], NOW, max_km=at - 1e-9) == []
