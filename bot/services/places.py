"""Offline gazetteer for "where do you live?" (Netherlands, Belgium, Sweden).

Members type their town by hand — with typos, without diacritics, in Dutch, French, Swedish
or English ("Den Bosch", "Goteborg", "Antwerp") — or share a GPS location. Both must resolve
to one stable place id without calling any web service, so the data ships with the bot in
``bot/data/places.tsv.gz`` (GeoNames, CC BY 4.0; regenerate with ``scripts/build_places.py``).

This module is plain Python (no aiogram) so it can be tested and reused anywhere.
"""

from __future__ import annotations

import bisect
import gzip
import math
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_PATH",
    "MAX_QUERY_CHARS",
    "MIN_SCORE",
    "Gazetteer",
    "Place",
    "PlaceMatch",
    "default_gazetteer",
    "haversine_km",
    "normalise",
]

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "places.tsv.gz"

#: Anything longer is not a town name; refusing it early keeps a hostile 4 KB message cheap.
MAX_QUERY_CHARS = 100
#: Fuzzy matches below this are noise: random letters still score 60-70 against *something*
#: among 11,000 names, while one or two typos in a real name score 85+. Tuned on the typo
#: and junk tables in tests/test_places.py.
MIN_SCORE = 80.0
#: A shared location farther than this from every known place is not "in" NL/BE/SE.
DEFAULT_MAX_KM = 50.0

_EARTH_RADIUS_KM = 6371.0088

# Letters that Unicode does not decompose into "base letter + accent".
_TRANSLIT = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ß": "ss",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ĳ": "ij",
    }
)
# All the ways people (and phones) type an apostrophe: "'s-Hertogenbosch", "’s Hertogenbosch".
_APOSTROPHES = re.compile(r"['’‘`´ʼ′]")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Dutch names may start with the old articles 's (des) and 't (het); people drop them freely.
_ARTICLE = re.compile(r"^[st] (?=\S)")
# "Utrecht NL", "Gent, Belgie", "Malmo Sverige": a trailing country adds nothing.
_COUNTRY_SUFFIX = re.compile(
    r" (?:nl|nederland|netherlands|the netherlands|holland|be|belgie|belgium|belgique"
    r"|se|sverige|sweden)$"
)
# First words shared by hundreds of names; as a prefix on their own they identify nothing.
_GENERIC_FIRST_WORDS = frozenset(
    [
        "sint",
        "saint",
        "sankt",
        "nieuw",
        "nieuwe",
        "oud",
        "oude",
        "groot",
        "grote",
        "klein",
        "kleine",
        "noord",
        "zuid",
        "oost",
        "west",
        "norra",
        "sodra",
        "ostra",
        "vastra",
        "stora",
        "lilla",
        "gamla",
        "nya",
    ]
)


def normalise(text: str) -> str:
    """Fold *text* into the comparison key used for names and queries alike.

    Case, diacritics ("Göteborg" == "Goteborg"), apostrophes, hyphens and spacing are
    ignored, and a leading Dutch article "'s"/"'t" is dropped, so that "'s-Hertogenbosch",
    "s Hertogenbosch" and "hertogenbosch" all become ``"hertogenbosch"``. Non-Latin letters
    are dropped (the data only holds Latin-script names).
    """
    text = text.casefold()
    if not text.isascii():  # fast path: most names are plain ASCII
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).translate(_TRANSLIT)
        text = _APOSTROPHES.sub("", text)
    else:
        text = text.replace("'", "").replace("`", "")
    text = _NON_ALNUM.sub(" ", text).strip()
    return _ARTICLE.sub("", text)


def _strip_country(query: str) -> str:
    stripped = _COUNTRY_SUFFIX.sub("", query)
    return stripped or query


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class Place:
    """One populated place. ``id`` is the GeoNames id: stable, safe to store per member."""

    id: int
    name: str
    country: str  # "NL" | "BE" | "SE"
    province: str  # NL province, SE län, BE region (GeoNames admin1 has no BE provinces)
    lat: float
    lon: float
    population: int

    def label(self) -> str:
        """Short unambiguous label, e.g. "Hengelo (Overijssel, NL)".

        Proper names only, so it needs no translation; the province disambiguates the many
        duplicate village names (there are two Hengelos, three Beeks, ...).
        """
        return f"{self.name} ({self.province}, {self.country})"


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    """A search hit; ``score`` is 0..100 (100 = exact name or alias after normalising)."""

    place: Place
    score: float


class Gazetteer:
    """In-memory place index: exact lookup by normalised name/alias, then fuzzy fallback."""

    # Rank of how a key was produced, lower is better when several places share an exact key:
    # the place's own name beats a foreign exonym ("Bergen" is Bergen NH before Mons).
    _KIND_NAME = 0
    _KIND_ALIAS = 1

    def __init__(self, places: list[Place], names: dict[int, list[str]]) -> None:
        """Build the indexes. *names* maps place id to its alternate names (raw)."""
        self._places: dict[int, Place] = {p.id: p for p in places}
        # normalised key -> [(kind, place_id)]
        index: dict[str, list[tuple[int, int]]] = {}
        for place in places:
            seen: set[str] = set()
            own = (normalise(place.name), self._KIND_NAME)
            aliases = [(normalise(n), self._KIND_ALIAS) for n in names.get(place.id, ())]
            for key, kind in (own, *aliases):
                if key and key not in seen:
                    seen.add(key)
                    index.setdefault(key, []).append((kind, place.id))
        for hits in index.values():
            hits.sort(key=lambda h: (h[0], -self._places[h[1]].population))
        self._index = index
        self._keys: list[str] = list(index)
        self._sorted_keys: list[str] = sorted(index)
        # For nearest(): a plain scan over ~5,500 tuples takes ~0.3 ms.
        self._coords: list[tuple[float, float, int]] = [(p.lat, p.lon, p.id) for p in places]

    def __len__(self) -> int:
        return len(self._places)

    def __iter__(self) -> Iterator[Place]:
        return iter(self._places.values())

    @classmethod
    def load(cls, path: Path | None = None) -> Gazetteer:
        """Read the bundled (or given) ``places.tsv.gz`` written by scripts/build_places.py.

        Columns: id, name, ascii name, country, province, lat, lon, population, alternates
        ("|"-separated). The ascii name is also indexed, as an alias.
        """
        places: list[Place] = []
        names: dict[int, list[str]] = {}
        with gzip.open(path or DEFAULT_PATH, "rt", encoding="utf-8") as fh:
            header = fh.readline().rstrip("\n").split("\t")
            if header[:2] != ["id", "name"]:
                raise ValueError(f"not a places file: {path or DEFAULT_PATH}")
            for line in fh:
                pid, name, ascii_name, country, province, lat, lon, pop, alts = line.rstrip(
                    "\n"
                ).split("\t")
                place = Place(int(pid), name, country, province, float(lat), float(lon), int(pop))
                places.append(place)
                names[place.id] = [ascii_name, *alts.split("|")] if alts else [ascii_name]
        return cls(places, names)

    def get(self, place_id: int) -> Place | None:
        """The place with this GeoNames id, or None (e.g. a stale id after a data update)."""
        return self._places.get(place_id)

    def search(self, text: str, limit: int = 3) -> list[PlaceMatch]:
        """Best matches for what a member typed, best first; [] for junk or empty input.

        1. Exact hits on a normalised name/alias score 100; among several places with that
           name, the place's own name beats an exonym, then the larger population wins.
        2. The rest is filled with typo matches (rapidfuzz ``fuzz.ratio``, i.e. normalised
           edit similarity). ``WRatio`` was tried and rejected: its partial matching lets
           2-letter names like "Or" or "As" score 90 inside any longer query, and it is
           ~10x slower (~5 ms vs ~0.4 ms over 11k keys).
        3. Whole-word prefixes ("Alphen" -> "Alphen aan den Rijn", "Capelle") score 80-95,
           below good typo matches.
        A trailing country ("Utrecht NL", "Gent, België") is ignored. Fuzzy scores are capped
        at 99 and cut off at MIN_SCORE, so junk returns [].
        """
        if limit <= 0 or not text or len(text) > MAX_QUERY_CHARS:
            return []
        query = normalise(text)
        if query not in self._index:  # "Hoek van Holland" is a name, not "Hoek van" + country
            query = _strip_country(query)
        if sum(ch.isalpha() for ch in query) < 2:
            return []

        out: list[PlaceMatch] = []
        taken: set[int] = set()
        for _kind, pid in self._index.get(query, ()):
            out.append(PlaceMatch(self._places[pid], 100.0))
            taken.add(pid)
            if len(out) >= limit:
                return out

        # place id -> (score, -kind): on equal scores a place's own name beats an exonym.
        best: dict[int, tuple[float, int]] = {}

        def offer(key: str, score: float) -> None:
            score = min(score, 99.0)  # never look like an exact hit
            for kind, pid in self._index[key]:
                if pid not in taken and (score, -kind) > best.get(pid, (-1.0, 0)):
                    best[pid] = (score, -kind)

        from rapidfuzz import fuzz, process  # here: 3 MiB a bot that never matches can skip

        # A few spare keys: several keys can lead to the same (or an already taken) place.
        for key, score, _ in process.extract(
            query, self._keys, scorer=fuzz.ratio, limit=limit + 10, score_cutoff=MIN_SCORE
        ):
            offer(key, score)
        if len(query) >= 4 and query not in _GENERIC_FIRST_WORDS:
            prefix = query + " "
            i = bisect.bisect_left(self._sorted_keys, prefix)
            while i < len(self._sorted_keys) and self._sorted_keys[i].startswith(prefix):
                key = self._sorted_keys[i]
                offer(key, 80.0 + 15.0 * len(query) / len(key))
                i += 1

        ranked = sorted(
            best, key=lambda pid: (*best[pid], self._places[pid].population), reverse=True
        )
        out.extend(
            PlaceMatch(self._places[pid], best[pid][0]) for pid in ranked[: limit - len(out)]
        )
        return out

    def nearest(self, lat: float, lon: float, max_km: float = DEFAULT_MAX_KM) -> Place | None:
        """The closest place to a shared location, or None if none is within *max_km*.

        GeoNames also lists some city districts (e.g. "Södermalm"), which are then returned
        as-is: they are where the member is, and the label still shows the province.
        """
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return None
        # Cheap equirectangular distance (accurate enough at < 100 km) to pick the winner;
        # the exact haversine is only computed once, for the cut-off.
        kx = math.cos(math.radians(lat))
        max_deg = max_km / 111.0 * 1.5  # margin: the pre-filter must never drop the answer
        best_id, best_d2 = -1, math.inf
        for plat, plon, pid in self._coords:
            dy = plat - lat
            if -max_deg < dy < max_deg:
                dx = (plon - lon) * kx
                d2 = dx * dx + dy * dy
                if d2 < best_d2:
                    best_id, best_d2 = pid, d2
        if best_id < 0:
            return None
        place = self._places[best_id]
        if haversine_km(lat, lon, place.lat, place.lon) > max_km:
            return None
        return place


_default: Gazetteer | None = None
_default_lock = threading.Lock()


def default_gazetteer() -> Gazetteer:
    """The bundled gazetteer, loaded on first use (~0.1 s) and shared afterwards."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Gazetteer.load()
    return _default
