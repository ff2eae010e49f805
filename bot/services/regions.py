"""The configured regions, and which one a town belongs to (a suggestion the member confirms)."""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.places import Place
from storage.repositories import regions as repo
from storage.repositories.regions import Configured

KEPT_SECONDS = 60.0

# Per engine (a weak key: a disposed test engine takes its regions along): read at most once a
# minute. Regions change only with a migration, which restarts the bot; tests that add one
# call `invalidate`.
_kept: weakref.WeakKeyDictionary[object, tuple[list[Configured], float]] = (
    weakref.WeakKeyDictionary()
)


async def configured(session: AsyncSession) -> list[Configured]:
    """Every configured region in its order: asked for by every list of workshops and every
    region question, so kept rather than read each time (1-1.5 ms a query)."""
    kept = _kept.get(session.bind)
    if kept is None or time.monotonic() - kept[1] > KEPT_SECONDS:
        kept = _kept[session.bind] = (await repo.all_regions(session), time.monotonic())
    return list(kept[0])


async def known(session: AsyncSession, code: str) -> bool:
    return any(r.code == code for r in await configured(session))


def invalidate() -> None:
    _kept.clear()


# The PvdA plan's four parts of the country, by province.
NL_PROVINCE_REGION = {
    "Groningen": "noord",
    "Friesland": "noord",
    "Fryslân": "noord",
    "Drenthe": "noord",
    "Overijssel": "oost",
    "Gelderland": "oost",
    "Flevoland": "oost",
    "Noord-Holland": "west",
    "Zuid-Holland": "west",
    "Utrecht": "west",
    "Zeeland": "zuid",
    "Noord-Brabant": "zuid",
    "Limburg": "zuid",
}


def suggest(place: Place | None, configured: Sequence[Configured]) -> Configured | None:
    """The configured region that matches the town's province, if there is one."""
    if place is None:
        return None
    by_code = {r.code: r for r in configured}
    if place.country == "NL":
        return by_code.get(NL_PROVINCE_REGION.get(place.province, ""))
    return None


def relevant(place: Place | None, configured: Sequence[Configured]) -> list[Configured]:
    """The regions of the member's country; all of them when we do not know where they live.

    Empty when the organisation has no regions in that country: then there is nothing to ask.
    """
    if place is None:
        return list(configured)
    return [r for r in configured if r.country == place.country]
