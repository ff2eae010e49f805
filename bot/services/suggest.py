"""Which upcoming workshops to suggest to a member, and why.

Ranked by how well the topics match the member's learning wishes, then by distance from
where they live (online workshops have none; without a location, their own region counts as
near), then by date. Every suggestion carries its reasons, so the member sees why.

Suggestions (not browsing) also leave out what the member cannot use: a workshop in a
language they did not say they speak, or in person too far from where they live.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.services.places import _EARTH_RADIUS_KM, haversine_km
from storage.models import Member, Workshop
from storage.repositories.workshops import Listed

WISH_POINTS = 100.0  # per learning wish a workshop's topics cover
NEAR_POINTS = 60.0  # at 0 km, falling to nothing at NEAR_KM
NEAR_KM = 120.0
ONLINE_POINTS = 35.0
SAME_REGION_POINTS = 40.0
DAY_COST = 0.4  # a workshop a month later needs a reason worth 12 points more


@dataclass(slots=True)  # not frozen: a frozen one costs 1 µs more to make, 500 times a list
class Suggestion:
    workshop: Workshop | Listed
    score: float
    wishes: tuple[int, ...]  # skill ids of the member's wishes this workshop covers
    distance_km: float | None
    same_region: bool


def _language(code: str | None) -> str:
    """ "nl", "nl-BE" and "NL" are one language."""
    return (code or "").split("-")[0].split("_")[0].lower()


def _near(
    workshop: Workshop | Listed, member: Member, max_km: float, distance: float | None
) -> bool:
    """Online, or near enough given the distance already worked out (None: a place unknown)."""
    if workshop.latitude is None or workshop.longitude is None:
        return True
    if distance is None:  # the member's place is unknown
        return not member.region_code or workshop.region_code == member.region_code
    return distance <= max_km


def fits(workshop: Workshop | Listed, member: Member, max_km: float) -> bool:
    """Worth suggesting: in the member's language (their locale), and online or near enough.

    Without a known place, in-person workshops count as near only in the member's own region
    (or anywhere when they have no region either: nothing says they are far).
    """
    if _language(workshop.language) != _language(member.locale):
        return False
    return _near(workshop, member, max_km, _distance(workshop, member))


def _distance(workshop: Workshop | Listed, member: Member) -> float | None:
    if (
        workshop.latitude is None
        or workshop.longitude is None
        or member.latitude is None
        or member.longitude is None
    ):
        return None
    return haversine_km(member.latitude, member.longitude, workshop.latitude, workshop.longitude)


def _topics(
    workshop: Workshop | Listed, topic_ids: dict[int, frozenset[int]] | None
) -> frozenset[int]:
    if topic_ids is not None:
        return topic_ids.get(workshop.id, frozenset())
    if isinstance(workshop, Listed):
        return workshop.topic_ids
    return frozenset(t.id for t in workshop.topics)


def rank(
    workshops: Iterable[Workshop | Listed],
    member: Member,
    wish_skill_ids: Sequence[int],
    now: datetime,
    topic_ids: dict[int, frozenset[int]] | None = None,
    max_km: float | None = None,
) -> list[Suggestion]:
    """Best first. `topic_ids` (workshop id -> skill ids) may be given to skip lazy loads.

    With `max_km` these are suggestions and leave out what does not `fit` the member; without
    it (browsing) every upcoming workshop is ranked. This runs over 500 workshops a tap: the
    member's side of each distance is worked out once (the same arithmetic as `haversine_km`,
    so the same kilometres), the language of each workshop read once per spelling, and the
    order sorted on plain tuples.
    """
    wishes = frozenset(wish_skill_ids)
    region = member.region_code
    here_lat, here_lon = member.latitude, member.longitude
    located = here_lat is not None and here_lon is not None
    if located:
        p1 = math.radians(here_lat)  # type: ignore[arg-type]
        cos_p1 = math.cos(p1)
    spoken = _language(member.locale)
    languages: dict[str | None, bool] = {}
    radians, sin, cos, asin, sqrt = math.radians, math.sin, math.cos, math.asin, math.sqrt
    diameter = 2 * _EARTH_RADIUS_KM
    keyed: list[tuple[float, datetime, int, Suggestion]] = []
    for workshop in workshops:
        starts_at = workshop.starts_at
        if starts_at <= now or workshop.status != "published":
            continue
        lat, lon = workshop.latitude, workshop.longitude
        if located and lat is not None and lon is not None:
            p2 = radians(lat)
            dp = p2 - p1
            dl = radians(lon - here_lon)  # type: ignore[operator]
            a = sin(dp / 2) ** 2 + cos_p1 * cos(p2) * sin(dl / 2) ** 2
            distance: float | None = diameter * asin(min(1.0, sqrt(a)))
        else:
            distance = None
        if max_km is not None:
            language = workshop.language
            speaks = languages.get(language)
            if speaks is None:
                speaks = languages[language] = _language(language) == spoken
            if not speaks:
                continue
            if lat is None or lon is None:
                pass  # online (or a place unknown): near enough
            elif distance is None:  # the member's place is unknown
                if region and workshop.region_code != region:
                    continue
            elif distance > max_km:
                continue
        if wishes:
            topics = _topics(workshop, topic_ids)
            matched = tuple(sorted(topics & wishes)) if topics else ()
        else:
            matched = ()
        score = WISH_POINTS * len(matched)
        if distance is not None:
            score += NEAR_POINTS * max(0.0, 1 - distance / NEAR_KM)
        elif lat is None and workshop.online_url:
            score += ONLINE_POINTS
        same_region = bool(region) and workshop.region_code == region
        if same_region and distance is None:
            score += SAME_REGION_POINTS
        score -= DAY_COST * (starts_at - now).total_seconds() / 86400
        keyed.append(
            (
                -score,
                starts_at,
                workshop.id,
                Suggestion(workshop, score, matched, distance, same_region),
            )
        )
    keyed.sort()  # ids are unique: the suggestions themselves are never compared
    return [entry[3] for entry in keyed]
