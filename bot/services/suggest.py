"""Which upcoming workshops to suggest to a member, and why.

Ranked by how well the topics match the member's learning wishes, then by distance from
where they live (online workshops have none; without a location, their own region counts as
near), then by date. Every suggestion carries its reasons, so the member sees why.

Suggestions (not browsing) also leave out what the member cannot use: a workshop in a
language they did not say they speak, or in person too far from where they live.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.services.places import haversine_km
from storage.models import Member, Workshop

WISH_POINTS = 100.0  # per learning wish a workshop's topics cover
NEAR_POINTS = 60.0  # at 0 km, falling to nothing at NEAR_KM
NEAR_KM = 120.0
ONLINE_POINTS = 35.0
SAME_REGION_POINTS = 40.0
DAY_COST = 0.4  # a workshop a month later needs a reason worth 12 points more


@dataclass(frozen=True, slots=True)
class Suggestion:
    workshop: Workshop
    score: float
    wishes: tuple[int, ...]  # skill ids of the member's wishes this workshop covers
    distance_km: float | None
    same_region: bool


def _language(code: str | None) -> str:
    """ "nl", "nl-BE" and "NL" are one language."""
    return (code or "").split("-")[0].split("_")[0].lower()


def fits(workshop: Workshop, member: Member, max_km: float) -> bool:
    """Worth suggesting: in the member's language (their locale), and online or near enough.

    Without a known place, in-person workshops count as near only in the member's own region
    (or anywhere when they have no region either: nothing says they are far).
    """
    if _language(workshop.language) != _language(member.locale):
        return False
    if workshop.latitude is None or workshop.longitude is None:
        return True
    if member.latitude is None or member.longitude is None:
        return not member.region_code or workshop.region_code == member.region_code
    distance = haversine_km(
        member.latitude, member.longitude, workshop.latitude, workshop.longitude
    )
    return distance <= max_km


def rank(
    workshops: Iterable[Workshop],
    member: Member,
    wish_skill_ids: Sequence[int],
    now: datetime,
    topic_ids: dict[int, frozenset[int]] | None = None,
    max_km: float | None = None,
) -> list[Suggestion]:
    """Best first. `topic_ids` (workshop id -> skill ids) may be given to skip lazy loads.

    With `max_km` these are suggestions and leave out what does not `fit` the member; without
    it (browsing) every upcoming workshop is ranked.
    """
    wishes = set(wish_skill_ids)
    located = member.latitude is not None and member.longitude is not None
    out: list[Suggestion] = []
    for workshop in workshops:
        if workshop.starts_at <= now or workshop.status != "published":
            continue
        if max_km is not None and not fits(workshop, member, max_km):
            continue
        topics = (
            topic_ids.get(workshop.id, frozenset())
            if topic_ids is not None
            else frozenset(t.id for t in workshop.topics)
        )
        matched = tuple(sorted(topics & wishes))
        score = WISH_POINTS * len(matched)
        distance = None
        if workshop.latitude is not None and workshop.longitude is not None and located:
            distance = haversine_km(
                member.latitude, member.longitude, workshop.latitude, workshop.longitude
            )  # type: ignore[arg-type]
            score += NEAR_POINTS * max(0.0, 1 - distance / NEAR_KM)
        elif workshop.latitude is None and workshop.online_url:
            score += ONLINE_POINTS
        same_region = bool(member.region_code) and workshop.region_code == member.region_code
        if same_region and distance is None:
            score += SAME_REGION_POINTS
        score -= DAY_COST * (workshop.starts_at - now).total_seconds() / 86400
        out.append(Suggestion(workshop, score, matched, distance, same_region))
    out.sort(key=lambda s: (-s.score, s.workshop.starts_at, s.workshop.id))
    return out
