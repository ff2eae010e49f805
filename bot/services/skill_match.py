"""Match what a member types ("debateren, speechen en begroting lezen") to catalogue skills.

Members describe talents and learning wishes in free text, in Dutch, Flemish, Swedish or
English, with typos, plurals, diminutives and abbreviations. Each phrase must land on one
catalogue skill when we are sure, be offered as a short list when we are not, and match
nothing when it is not a skill at all ("voetbal"), so the bot can keep it as typed.

Plain Python (no aiogram, no database): the caller builds ``SkillEntry`` rows from the skills
table (or from the bundled catalogue with :func:`catalogue_entries`) and keeps one matcher.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_CATALOGUE",
    "MAX_ITEMS",
    "MAX_ITEM_CHARS",
    "MAX_QUERY_CHARS",
    "MIN_SCORE",
    "SURE_LEAD",
    "SURE_SCORE",
    "SkillEntry",
    "SkillMatch",
    "SkillMatcher",
    "catalogue_entries",
    "core",
    "load_default_catalogue",
    "normalise",
    "split_input",
]

DEFAULT_CATALOGUE = Path(__file__).resolve().parent.parent / "data" / "skills.json"

#: split_input() keeps this many phrases, each at most this long: a pasted CV is not a list
#: of skills, and the cap bounds the work one message can cause.
MAX_ITEMS = 20
MAX_ITEM_CHARS = 100
#: match() refuses longer text outright: no skill name is longer, and a 4 KB message is junk.
MAX_QUERY_CHARS = 100

#: Fuzzy matches below this are noise. Tuned on tests/data/skill_matching.tsv: one typo in a
#: real word scores 85-95, unrelated words of similar length score 50-75.
MIN_SCORE = 80.0
#: Short strings need a stricter cut: one edit in a five-letter word already costs 20 points,
#: and a random short word is one or two edits away from some synonym.
_SHORT_MIN_SCORE = 90.0
_SHORT_LEN = 6
#: Below this many letters only exact hits count ("PR", "GR", "EU", "AI", "LO").
_MIN_FUZZY_LEN = 4
#: is_sure(): accept without asking back only a high score with a clear lead over the runner
#: up. A typo that is equally close to two skills must be asked about, not guessed.
SURE_SCORE = 90.0
SURE_LEAD = 5.0

#: Scores by kind of hit, best first. Fuzzy scores are capped below the exact kinds so a typo
#: never outranks an exact hit on another skill.
_SCORE_EXACT = 100.0  # a name or synonym after normalise()
_SCORE_CORE = 97.0  # the same after stemming and dropping filler words
_SCORE_TAIL = 95.0  # exact once a generic tail is cut off ("armoedebeleid" -> "armoede")
_FUZZY_CAP = 95.0
#: A typo of a short word is never sure: "emotie" is one letter from "motie", "actief" from
#: "actie". Fuzzy hits on keys of fewer letters are offered with at most _SHORT_FUZZY_CAP.
_SURE_FUZZY_LEN = 7
_SHORT_FUZZY_CAP = 89.0
#: A known phrase inside a longer text ("moties schrijven voor de raad") scores by how much
#: of the text it covers: _PART_BASE .. _PART_BASE + _PART_SPAN.
_PART_BASE = 70.0
_PART_SPAN = 25.0
_PART_MIN_CHARS = 4
_PART_MAX_WORDS = 4

# Letters that Unicode does not decompose into "base letter + accent".
_TRANSLIT = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "ı": "i", "ĳ": "ij"}
)
# Apostrophes vanish ("video's" == "videos"); every other non-letter separates words, which
# unifies hyphens, slashes and punctuation ("deur-aan-deur" == "deur aan deur").
_APOSTROPHES = re.compile(r"['’‘`´ʼ′]")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")

# Stemming-ish suffixes, longest first; the first that leaves a stem of _MIN_STEM letters is
# stripped, once. Dutch diminutives (-pje/-tje/-je, plural -s), plural -en/-s, Swedish plural
# -er/-ar/-or and definite plural -erna/-arna/-orna, English plural -s. It need not be
# linguistically right, only the same for query and catalogue: "begroting lezen" and
# "begrotingen lezen", "filmpjes" and "filmpje", "motioner" and "motion" meet.
_SUFFIXES = (
    "pjes", "tjes", "erna", "arna", "orna",
    "pje", "tje", "jes",
    "je", "en", "er", "ar", "or", "s",
)  # fmt: skip
_MIN_STEM = 4
# A bare "-s" needs a longer stem: "frans" and "pools" are languages, not "fran" and "pool".
_MIN_S_STEM = 5
# "-s" only after these letters: "press", "status", "crisis" keep theirs.
_NO_S_AFTER = frozenset("su")
# English "-es" plurals whose stem ends in a sibilant: "speeches" -> "speech".
_ES_PLURAL = re.compile(r"(?:ch|sh|ss|x)es$")

#: Words that say how or whether, not what: "ik wil graag leren debatteren", "I'm good at
#: canvassing", "jag vill lära mig tala". Dropped when something else is left, so that the rest
#: can hit a synonym exactly. Negations ("niet", "not", "inte") are deliberately kept.
_FILLER = frozenset(
    (
        # nl
        "ik", "je", "jij", "u", "we", "wij", "mijn", "ben", "heb", "kan", "kun", "kunnen",
        "wil", "willen", "zou", "graag", "goed", "goede", "beter", "leren", "leer", "hoe",
        "het", "de", "een", "van", "voor", "in", "om", "te", "met", "op", "over", "meer",
        "veel", "ook", "ervaring", "doen", "daar", "erg", "heel", "echt", "iets", "wat",
        # en (after normalise(): "I'm" -> "im")
        "i", "im", "me", "my", "am", "can", "could", "want", "would", "like", "to", "learn",
        "learning", "how", "the", "a", "an", "of", "on", "at", "about", "more", "good",
        "better", "have", "experience", "with", "for", "some", "do", "doing", "really", "very",
        # sv (after normalise(): "lära" -> "lara", "på" -> "pa", "är" -> "ar")
        "jag", "vill", "lara", "lar", "mig", "mer", "att", "hur", "man", "en", "ett", "bra",
        "pa", "av", "med", "har", "erfarenhet", "garna", "ar", "till", "det", "den", "nagot",
        "lite",
    )
)  # fmt: skip

#: Generic last words or compound tails that turn a topic into "policy on / skills in the
#: topic": "armoedebeleid", "onderhandelingsvaardigheden", "klimatpolitik", "AVG wetgeving".
#: Cut off at query time only, when the text itself found nothing exact.
_TAILS = (  # longest first
    "vaardigheden", "vaardigheid", "technieken", "trainingen", "utbildning", "wetgeving",
    "politiek", "techniek", "training", "politics", "kunskap", "politik", "beleid", "fragor",
    "teknik", "policy", "skills", "skill", "law",
)  # fmt: skip
_MIN_HEAD = 3

# split_input(): list separators. "&" and "+" only when not glued between two letters, so
# "D&I" and "S&D" stay whole while "data & excel" splits.
_SPLIT = re.compile(
    r"[,;\n\r/|•·◦‣⁃∙●○▪■▸►]"
    r"|\s+(?:en|and|och)\s+"
    r"|(?<![^\W_])[&+]|[&+](?![^\W_])",
    re.IGNORECASE,
)
# A leading list marker left on an item: "- ", "* ", "1. ", "2) ".
_LIST_MARKER = re.compile(r"^(?:[-*–—]+|\d{1,2}[.)])\s*")
_EDGE_PUNCT = " \t.!?:\"'“”‘’()[]{}<>-–—*"


def normalise(text: str) -> str:
    """Fold *text* for comparison: case, accents, apostrophes, hyphens, punctuation, spaces.

    "Discussiëren" == "discussieren", "Train-de-trainer" == "train de trainer",
    "video's" == "videos". Non-Latin letters are dropped (the catalogue is Latin script).
    """
    text = text.casefold()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).translate(_TRANSLIT)
        text = _APOSTROPHES.sub("", text)
    else:
        text = text.replace("'", "").replace("`", "")
    return _NON_ALNUM.sub(" ", text).strip()


def _stem(word: str) -> str:
    """Strip one plural/diminutive ending so inflected forms meet (see _SUFFIXES)."""
    if len(word) <= _MIN_STEM:
        return word
    if _ES_PLURAL.search(word):
        return word[:-2]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            if suffix == "s" and (word[-2] in _NO_S_AFTER or len(word) <= _MIN_S_STEM):
                continue
            return word[: -len(suffix)]
    return word


def core(normalised: str) -> str:
    """The comparison key of already-normalised text: filler words dropped, words stemmed.

    Applied alike to catalogue strings and queries, so "Ik wil graag leren debatteren" and
    "debatteren" share the key "debatter".
    """
    words = normalised.split()
    kept = [w for w in words if w not in _FILLER]
    if sum(map(len, kept)) < _MIN_FUZZY_LEN:  # "I like it" is not "IT"
        kept = words
    return " ".join(_stem(w) for w in kept)


#: offer(skill_ids, score): record a candidate score (the best per skill is kept).
_Offer = Callable[[Iterable[int], float], None]


@dataclass(frozen=True, slots=True)
class SkillEntry:
    """One catalogue skill as the matcher sees it; ``skill_id`` is the caller's (DB) id."""

    skill_id: int
    key: str
    names: Mapping[str, str]
    synonyms: Mapping[str, Sequence[str]]

    def strings(self) -> list[str]:
        """Every name and synonym in every language, names first."""
        out = list(self.names.values())
        for words in self.synonyms.values():
            out.extend(words)
        return out


@dataclass(frozen=True, slots=True)
class SkillMatch:
    """A candidate skill; ``score`` is 0..100 (100 = a name or synonym, exactly)."""

    skill_id: int
    key: str
    score: float


class SkillMatcher:
    """Exact lookup on names/synonyms in all languages, then stemmed lookup, then fuzzy.

    Scoring, best first (each skill appears once, with its best score):

    1. 100: the normalised text is a name or synonym.
    2. 97: equal after stemming and dropping filler words ("begroting lezen",
       "ik wil leren debatteren").
    3. 95: equal once a generic tail is cut off: "armoedebeleid", "AVG wetgeving",
       "onderhandelingsvaardigheden" (only when 1-2 found nothing).
    4. up to 95: ``fuzz.ratio`` (normalised Indel similarity) against every stemmed key, and
       against the same keys with their words sorted (word order: "lezen begrotingen").
       ``WRatio``/``partial_ratio``/``token_set_ratio`` were measured and rejected: they score
       90-100 whenever one side contains the other, so "social" would be sure of "sociale
       veiligheid" and a long sentence matches any short synonym inside it. Cut off at
       MIN_SCORE, and stricter for short text, where one edit weighs more.
    5. 70-95: a known phrase inside longer text, by the share of the text it covers; so
       "campagne voeren voor de verkiezingen" offers both skills without being sure of either.
    """

    def __init__(self, entries: Iterable[SkillEntry]) -> None:
        """Precompute every normalised, stemmed and word-sorted key once."""
        self._entries: dict[int, SkillEntry] = {}
        self._exact: dict[str, set[int]] = {}
        self._core: dict[str, set[int]] = {}
        for entry in entries:
            self._entries[entry.skill_id] = entry
            for raw in entry.strings():
                norm = normalise(raw)
                if norm:
                    self._exact.setdefault(norm, set()).add(entry.skill_id)
                    self._core.setdefault(core(norm), set()).add(entry.skill_id)
        self._core_keys: list[str] = list(self._core)
        # The same keys with their words sorted, for order-independent comparison: a list of
        # (sorted key, original key) so hits map back to skills.
        self._sorted: dict[str, list[str]] = {}
        for key in self._core_keys:
            if " " in key:
                self._sorted.setdefault(_sort_words(key), []).append(key)
        self._sorted_keys: list[str] = list(self._sorted)
        self._max_words = max((k.count(" ") + 1 for k in self._core_keys), default=1)

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, text: str, limit: int = 3) -> list[SkillMatch]:
        """The best *limit* skills for one phrase, best first; [] for junk or empty text."""
        if limit <= 0 or not text or len(text) > MAX_QUERY_CHARS:
            return []
        norm = normalise(text)
        if sum(ch.isalpha() for ch in norm) < 2:
            return []
        best: dict[int, float] = {}

        def offer(ids: Iterable[int], score: float) -> None:
            for skill_id in ids:
                if score > best.get(skill_id, 0.0):
                    best[skill_id] = score

        offer(self._exact.get(norm, ()), _SCORE_EXACT)
        key = core(norm)
        offer(self._core.get(key, ()), _SCORE_CORE)
        if not best:
            for head in _without_tail(norm):
                offer(self._core.get(core(head), ()), _SCORE_TAIL)
        if len(key.replace(" ", "")) >= _MIN_FUZZY_LEN:
            self._fuzzy(key, offer)
            if " " in key:
                self._parts(key, offer)

        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [
            SkillMatch(skill_id, self._entries[skill_id].key, round(score, 1))
            for skill_id, score in ranked
        ]

    def is_sure(self, matches: list[SkillMatch]) -> bool:
        """True when the top match may be taken without asking the member back.

        The top score must reach SURE_SCORE and lead the runner-up by SURE_LEAD. An exact hit
        (100) therefore always wins over typo matches (at most 95) and only another exact-ish
        hit makes it doubtful.
        """
        if not matches or matches[0].score < SURE_SCORE:
            return False
        return len(matches) == 1 or matches[0].score - matches[1].score >= SURE_LEAD

    def _fuzzy(self, key: str, offer: _Offer) -> None:
        """Typo matches of the whole phrase, in written and in sorted word order."""
        letters = len(key) - key.count(" ")
        cutoff = MIN_SCORE if letters >= _SHORT_LEN else _SHORT_MIN_SCORE
        cap = _FUZZY_CAP if letters >= _SURE_FUZZY_LEN else _SHORT_FUZZY_CAP
        from rapidfuzz import fuzz, process  # here: 3 MiB a bot that never matches can skip

        for hit, score, _ in process.extract(
            key, self._core_keys, scorer=fuzz.ratio, limit=8, score_cutoff=cutoff
        ):
            offer(self._core[hit], min(score, cap))
        if " " in key and self._sorted_keys:
            for hit, score, _ in process.extract(
                _sort_words(key), self._sorted_keys, scorer=fuzz.ratio, limit=8, score_cutoff=cutoff
            ):
                for original in self._sorted[hit]:
                    offer(self._core[original], min(score, cap))

    def _parts(self, key: str, offer: _Offer) -> None:
        """Known phrases (exact stemmed keys) inside a longer phrase, scored by coverage."""
        words = key.split()
        total = len(key.replace(" ", ""))
        longest = min(len(words) - 1, self._max_words, _PART_MAX_WORDS)
        for size in range(longest, 0, -1):
            for start in range(len(words) - size + 1):
                part = " ".join(words[start : start + size])
                chars = len(part.replace(" ", ""))
                ids = self._core.get(part)
                if ids and chars >= _PART_MIN_CHARS:
                    offer(ids, _PART_BASE + _PART_SPAN * chars / total)


def _without_tail(norm: str) -> list[str]:
    """*norm* without a generic tail (see _TAILS), also without a Dutch/Swedish linking "s"."""
    words = norm.split()
    last = words[-1]
    for tail in _TAILS:
        if last == tail:
            return [" ".join(words[:-1])] if len(words) > 1 else []
        if last.endswith(tail) and len(last) - len(tail) >= _MIN_HEAD:
            head = " ".join([*words[:-1], last[: -len(tail)]])
            return [head, head[:-1]] if head.endswith("s") else [head]
    return []


def _sort_words(key: str) -> str:
    return " ".join(sorted(key.split()))


def split_input(text: str) -> list[str]:
    """Split a member's list into phrases: "debateren, speechen en begroting lezen" -> 3.

    Splits on commas, semicolons, slashes, newlines, bullets and the words en/and/och and
    &/+; strips list markers ("- ", "1. ") and edge punctuation; drops items without a letter
    or digit (an emoji alone is not a skill); caps items at MAX_ITEM_CHARS and the list at
    MAX_ITEMS so one pasted essay stays cheap.
    """
    items: list[str] = []
    for raw in _SPLIT.split(text):
        item = _LIST_MARKER.sub("", raw.strip()).strip(_EDGE_PUNCT)
        item = " ".join(item.split())[:MAX_ITEM_CHARS].rstrip()
        if any(ch.isalnum() for ch in item):
            items.append(item)
            if len(items) >= MAX_ITEMS:
                break
    return items


def load_default_catalogue(path: Path | None = None) -> list[dict[str, Any]]:
    """Read the bundled skills catalogue (``bot/data/skills.json``), or the one at *path*.

    Each item: ``{"key", "category", "names": {lang: label}, "synonyms": {lang: [...]}}``.
    """
    with open(path or DEFAULT_CATALOGUE, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, list):
        raise ValueError(f"not a skills catalogue: {path or DEFAULT_CATALOGUE}")
    return data


def catalogue_entries(items: Iterable[Mapping[str, Any]]) -> list[SkillEntry]:
    """Matcher entries straight from catalogue items, numbered 1.. in order.

    For tests, benchmarks and seeding; the running bot uses the ids of its skills table.
    """
    return [
        SkillEntry(number, item["key"], item["names"], item.get("synonyms", {}))
        for number, item in enumerate(items, start=1)
    ]
