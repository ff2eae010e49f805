"""Which region a town belongs to, as a suggestion the member confirms."""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.places import Place
from storage.models import Region

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


def suggest(place: Place | None, configured: Sequence[Region]) -> Region | None:
    """The configured region that matches the town's province, if there is one."""
    if place is None:
        return None
    by_code = {r.code: r for r in configured}
    if place.country == "NL":
        return by_code.get(NL_PROVINCE_REGION.get(place.province, ""))
    return None


def relevant(place: Place | None, configured: Sequence[Region]) -> list[Region]:
    """The regions of the member's country; all of them when we do not know where they live.

    Empty when the organisation has no regions in that country: then there is nothing to ask.
    """
    if place is None:
        return list(configured)
    return [r for r in configured if r.country == place.country]
