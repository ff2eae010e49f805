"""Find the known answer to a member's typed question ("hoe verander ik mijn iban?").

The knowledge base is a list of entries per language: a question, the other ways members put
it, and the answer. A member types anything up to a full Telegram message, with typos, in
another word order, in Flemish or with Swedish compounds; we must return the entries that
answer it, or nothing when none does ("gaat het morgen regenen", "voetbal", "hallo"), so the
question goes to a volunteer instead of getting a wrong answer.

Plain Python (no aiogram, no database): the caller builds ``KnowledgeEntry`` rows (from the
bundled CSV files with :func:`load_default_entries`, later from a table) and keeps one matcher.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.services.knowledge_text import LANGUAGES, Language, normalise, rules, terms

__all__ = [
    "CSV_HEADER",
    "DEFAULT_DIR",
    "LANGUAGES",
    "MAX_ANSWER_CHARS",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_WORDS",
    "MIN_SCORE",
    "KnowledgeEntry",
    "KnowledgeMatch",
    "KnowledgeMatcher",
    "load_default_entries",
    "parse_csv",
]

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "knowledge"
CSV_HEADER = ("id", "topic", "question", "phrasings", "answer")
#: Phrasings share one CSV cell, separated by this character.
PHRASING_SEPARATOR = "|"
#: An answer is one short chat message, readable without scrolling.
MAX_ANSWER_CHARS = 600
#: Telegram's own limit; longer text (a pasted document) is cut here before any work.
MAX_QUERY_CHARS = 4096
_ID = re.compile(r"^[a-z][a-z0-9_]{1,47}$")

#: match() returns entries scoring at least this (0..100). Tuned on
#: tests/data/knowledge_matching.tsv: see the scoring notes on KnowledgeMatcher.
MIN_SCORE = 50.0
#: F-beta of the two coverages: beta > 1 weighs "the entry's phrasing is all there" above "all
#: of the message is explained", so a long story around a known question still finds it.
_BETA = 1.5
#: Weight of a message word the knowledge base does not know ("voetbal", "regenen"): as much
#: as a word two or three entries use, so what we do not understand is not explained away.
_UNKNOWN_WEIGHT = 2.5
#: A phrasing weighs at least this: a phrasing of one common word ("word lid") is not fully
#: matched by that word ("lid") alone, a phrasing of one rare keyword ("lidgeld") is.
_MIN_PHRASING_WEIGHT = 2.0
#: Common verbs and adjectives that say little on their own ("vind", "zoek", "new", "need").
_LIGHT_FACTOR = 0.3
#: Typo matches of single words: words of five letters or more, above these cutoffs; they count
#: a little less than an exact word.
_FUZZY_MIN_LEN = 5
_FUZZY_CUTOFF = 80.0
_FUZZY_SHORT_CUTOFF = 83.0  # five to seven letters: one edit, no more
_FUZZY_SHORT_LEN = 8
_FUZZY_FACTOR = 0.9
#: A compound part ("avgift" of "medlemsavgift", or "gemeenteraad" + "verkiezing") counts this.
_PART_FACTOR = 0.8
_PART_MIN = 4
#: Words of one family share a long start: "trakasserad" and "trakasserier" share 9 letters,
#: at least _HEAD_SHARE of each word.
_HEAD_MIN = 6
_HEAD_SHARE = 0.75
#: Only the first this many distinct unknown words of a message get the (costlier) compound and
#: typo search; the rest stay unknown. Bounds the cost of 4 KB of junk.
_MAX_UNKNOWN_WORDS = 24
#: Word weights assume a knowledge base of at least this many entries, so that a small one
#: (an organisation's first few entries, a test) is matched like a part of a larger one.
_MIN_ENTRIES = 30
#: Words read from one message (some 1,500 characters of ordinary text): a question and its
#: context fit easily (the longest table row has 48 words); what a pasted document says past
#: this is left to the volunteer who reads it.
MAX_QUERY_WORDS = 250


@dataclass(frozen=True, slots=True)
class KnowledgeEntry:
    """One question and its answer in one language; ``entry_id`` is shared by its translations."""

    entry_id: str
    language: str
    topic: str
    question: str
    phrasings: tuple[str, ...]
    answer: str

    def texts(self) -> list[str]:
        """The question first, then every other phrasing: what the matcher compares with."""
        return [self.question, *self.phrasings]


@dataclass(frozen=True, slots=True)
class KnowledgeMatch:
    """A candidate answer; ``score`` is 0..100."""

    entry: KnowledgeEntry
    score: float

    @property
    def entry_id(self) -> str:
        return self.entry.entry_id


#: Term -> the (entry, phrasing) pairs that hold it.
_Postings = dict[str, list[tuple[int, int]]]
#: Each distinct message term -> the entry terms it stands for, with a similarity 0..1.
_Found = dict[str, dict[str, float]]


@dataclass(slots=True)
class _Index:
    """Everything match() needs for one language, computed once."""

    lang: Language
    entries: list[KnowledgeEntry]
    weight: dict[str, float]  # term -> inverse entry frequency (lowered for light words)
    postings: _Postings  # term -> (entry, phrasing) pairs that hold it
    phrasing_weight: list[list[float]]  # [entry][phrasing] -> sum of its terms' weights
    surface: dict[str, str] = field(default_factory=dict)  # written word -> its term
    by_initial: dict[str, list[str]] = field(default_factory=dict)  # typo search, per letter
    heads: dict[str, list[str]] = field(default_factory=dict)  # "trakasser" -> "trakasseri"
    prefixes: dict[str, list[str]] = field(default_factory=dict)  # "medlems" -> compounds
    suffixes: dict[str, list[str]] = field(default_factory=dict)  # "avgift" -> compounds


class KnowledgeMatcher:
    """Weighted word overlap between the message and each entry's phrasings, typo-tolerant.

    1. Both sides become terms (:func:`terms`). Each entry term weighs its inverse entry
       frequency: "iban" (one entry) counts far more than "lid" (many); common verbs less.
    2. Each message word is looked up: exactly; joined with a Dutch particle ("meld ... af");
       as part of a known compound ("avgift" in "medlemsavgift") or as a compound of known
       words ("gemeenteraads|verkiezing"); and, when not exact, by typo (``fuzz.ratio`` of the
       written word against every word the entries use, five letters or more).
    3. Per phrasing, two coverages: of the phrasing (weight of its terms found in the message,
       over its total, at least _MIN_PHRASING_WEIGHT) and of the message (weight of message
       terms found anywhere in the entry, over the message's total; unknown words weigh
       _UNKNOWN_WEIGHT). The entry scores the best phrasing's F-beta of the two (beta 1.5: the
       phrasing counts more, so a story around a known question still finds it), times 100.
       A lone rare keyword ("lidgeld") scores 100; "mag mijn partner mee naar de workshop"
       finds "workshop" but leaves too much of the message unexplained.

    Measured on tests/data/knowledge_matching.tsv (printed by its test) and timed by
    bench/knowledge_match.py; every weight and cutoff below was tuned on that table.
    """

    def __init__(self, entries: Iterable[KnowledgeEntry]) -> None:
        """Group the entries by language and index each language once."""
        grouped: dict[str, list[KnowledgeEntry]] = {}
        for entry in entries:
            grouped.setdefault(entry.language, []).append(entry)
        self._indexes = {lang: _build_index(lang, items) for lang, items in grouped.items()}

    @property
    def languages(self) -> list[str]:
        return sorted(self._indexes)

    def entries(self, language: str) -> list[KnowledgeEntry]:
        index = self._indexes.get(language)
        return list(index.entries) if index else []

    def match(self, text: str, language: str, limit: int = 3) -> list[KnowledgeMatch]:
        """The best *limit* entries for *text* in *language*, best first; [] when none fits."""
        index = self._indexes.get(language)
        if index is None or limit <= 0 or not text:
            return []
        # Cut before folding: normalise() on the part we read, not on all 4,096 characters.
        head = " ".join(text[:MAX_QUERY_CHARS].split(maxsplit=MAX_QUERY_WORDS)[:MAX_QUERY_WORDS])
        words = normalise(head).split()[:MAX_QUERY_WORDS]
        found = _resolve(index, words)
        if not found:
            return []
        scores = _score(index, found)
        ranked = sorted(
            ((score, e) for e, score in scores.items() if score >= MIN_SCORE),
            key=lambda item: (-item[0], index.entries[item[1]].entry_id),
        )
        return [KnowledgeMatch(index.entries[e], round(score, 1)) for score, e in ranked[:limit]]


def _build_index(language: str, entries: list[KnowledgeEntry]) -> _Index:
    """Terms, weights, postings and typo/compound lookups of one language's entries."""
    lang = rules(language)
    split = [[normalise(text).split() for text in entry.texts()] for entry in entries]
    plain = {term for entry in entries for text in entry.texts() for term in terms(text, language)}
    phrasings = [  # again, now joining separable verbs that the entries know: "meld ... aan"
        [{term for term, _ in _message_terms(lang, words, plain, True)} for words in entry]
        for entry in split
    ]
    frequency: dict[str, int] = {}
    for entry_terms in phrasings:
        for term in set().union(*entry_terms):
            frequency[term] = frequency.get(term, 0) + 1
    n = max(len(entries), _MIN_ENTRIES)
    weight = {
        term: math.log((n + 1) / (df + 0.5)) * (_LIGHT_FACTOR if term in lang.light else 1.0)
        for term, df in frequency.items()
    }
    postings: _Postings = {}
    for e, entry_terms in enumerate(phrasings):
        for p, phrasing in enumerate(entry_terms):
            for term in phrasing:
                postings.setdefault(term, []).append((e, p))
    index = _Index(
        lang=lang,
        entries=entries,
        weight=weight,
        postings=postings,
        phrasing_weight=[[sum(weight[t] for t in ph) for ph in entry] for entry in phrasings],
    )
    written = [w for entry in split for words in entry for w, _ in lang.words(words)]
    written += lang.synonyms()
    for word in sorted(set(written)):
        if len(word) >= _PART_MIN and lang.term(word) in weight:
            index.surface[word] = lang.term(word)
            index.by_initial.setdefault(word[0], []).append(word)
    for term in weight:
        for cut in range(_PART_MIN, len(term) - _PART_MIN + 1):
            index.prefixes.setdefault(term[:cut], []).append(term)
            index.suffixes.setdefault(term[cut:], []).append(term)
        for cut in range(_HEAD_MIN, len(term)):
            index.heads.setdefault(term[:cut], []).append(term)
    return index


def _message_terms(
    lang: Language, words: list[str], known: Container[str], keep_joined: bool
) -> list[tuple[str, str]]:
    """(term, written word) for the content words of normalised *words*, with Dutch separable
    verbs joined when *known* has the result; joined Swedish particle verbs are kept when
    *known* has them or *keep_joined*."""
    separable = lang.separable(words, known)
    items: list[tuple[str, str]] = []
    for word, joined in lang.words(words):
        term = lang.term(word)
        if not joined:
            items.append((separable.get(word, term), word))
        elif keep_joined or term in known:
            items.append((term, word))
    items += [(term, word) for word, term in separable.items() if not lang.is_content(word)]
    return items


def _resolve(index: _Index, words: list[str]) -> _Found:
    """Each distinct content term of the message -> {entry term: similarity 0..1}; an empty
    mapping is a word the knowledge base does not know. A repeated word counts once."""
    found: _Found = {}
    typos: dict[str, str] = {}  # term -> a written form, for the typo search
    for term, word in _message_terms(index.lang, words, index.weight, False):
        if term in found:
            continue
        if term in index.weight:
            found[term] = {term: 1.0}
        elif len(typos) < _MAX_UNKNOWN_WORDS:
            found[term] = _compound_hits(index, term)
            typos[term] = word
        else:
            found[term] = {}
    if typos:
        _typo_hits(index, typos, found)
    return found


def _compound_hits(index: _Index, term: str) -> dict[str, float]:
    """A message word that is part of a known compound, or a compound of known words."""
    hits: dict[str, float] = {}
    for known in index.prefixes.get(term, []) + index.suffixes.get(term, []):
        hits[known] = max(hits.get(known, 0.0), _PART_FACTOR * len(term) / len(known))
    for cut in range(len(term) - 1, _HEAD_MIN - 1, -1):  # the same word family: trakasser-
        family = [k for k in index.heads.get(term[:cut], []) if cut >= _HEAD_SHARE * len(k)]
        if family and cut >= _HEAD_SHARE * len(term):
            for known in family:
                hits[known] = max(
                    hits.get(known, 0.0), _PART_FACTOR * cut / max(len(term), len(known))
                )
            break
    for cut in range(_PART_MIN, len(term) - _PART_MIN + 1):
        head, tail = term[:cut], term[cut:]
        if head.endswith("s") and head[:-1] in index.weight:
            head = head[:-1]  # a linking "s": gemeenteraad|s|verkiezing
        if head in index.weight and tail in index.weight:
            hits[head] = hits[tail] = _PART_FACTOR
    return hits


def _typo_hits(index: _Index, typos: Mapping[str, str], found: _Found) -> None:
    """Add the nearest written word of the entries to each unknown term, if close enough."""
    from rapidfuzz import fuzz, process  # here: a bot without questions never loads it

    for term, word in typos.items():
        if len(word) < _FUZZY_MIN_LEN:
            continue
        cutoff = _FUZZY_CUTOFF if len(word) >= _FUZZY_SHORT_LEN else _FUZZY_SHORT_CUTOFF
        # Typos in the first letter are rare; matching it rules out "raining" -> "training".
        choices = index.by_initial.get(word[0], [])
        best = process.extractOne(word, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
        if best is not None:
            known, sim = index.surface[best[0]], _FUZZY_FACTOR * best[1] / 100.0
            hits = found[term]
            hits[known] = max(hits.get(known, 0.0), sim)


def _score(index: _Index, found: _Found) -> dict[int, float]:
    """Entry -> score 0..100: the best phrasing's F-beta of phrasing and message coverage."""
    query_weight = 0.0
    covered: dict[tuple[int, int], dict[str, float]] = {}  # phrasing -> entry term -> sim
    explained: dict[int, dict[str, float]] = {}  # entry -> message term -> weight explained
    for term, hits in found.items():
        if not hits:
            query_weight += _UNKNOWN_WEIGHT * (_LIGHT_FACTOR if term in index.lang.light else 1)
            continue
        own = max(index.weight[k] for k in hits)
        query_weight += own
        for known, sim in hits.items():
            for e, p in index.postings[known]:
                seen = covered.setdefault((e, p), {})
                seen[known] = max(seen.get(known, 0.0), sim)
                mine = explained.setdefault(e, {})
                mine[term] = max(mine.get(term, 0.0), own * sim)
    beta2 = _BETA * _BETA
    scores: dict[int, float] = {}
    for (e, p), seen in covered.items():
        if all(k in index.lang.light for k in seen):
            continue  # "wie kan mij vinden" is not found by "vind" alone
        total = max(index.phrasing_weight[e][p], _MIN_PHRASING_WEIGHT)
        recall = min(1.0, sum(index.weight[k] * sim for k, sim in seen.items()) / total)
        precision = min(1.0, sum(explained[e].values()) / query_weight)
        if recall <= 0 or precision <= 0:
            continue
        score = 100.0 * (1 + beta2) * precision * recall / (beta2 * precision + recall)
        scores[e] = max(scores.get(e, 0.0), score)
    return scores


def parse_csv(text: str, language: str) -> list[KnowledgeEntry]:
    """Entries from one language's CSV (header ``id,topic,question,phrasings,answer``).

    Phrasings are separated by "|". Raises ValueError naming the line of the first problem:
    a wrong header, an empty field, an id repeated or not lower_snake_case, an answer longer
    than MAX_ANSWER_CHARS. For the bundled files and, later, organisers' imports.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != CSV_HEADER:
        raise ValueError(f"line 1: the header must be {','.join(CSV_HEADER)}")
    entries: list[KnowledgeEntry] = []
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(CSV_HEADER):
            raise ValueError(f"line {line}: {len(row)} fields, expected {len(CSV_HEADER)}")
        entry_id, topic, question, phrasings, answer = (cell.strip() for cell in row)
        parts = tuple(p.strip() for p in phrasings.split(PHRASING_SEPARATOR) if p.strip())
        if not (entry_id and topic and question and parts and answer):
            raise ValueError(f"line {line}: every field needs a value")
        if not _ID.match(entry_id) or entry_id in seen:
            raise ValueError(f"line {line}: id {entry_id!r} is not a new lower_snake_case id")
        if len(answer) > MAX_ANSWER_CHARS:
            raise ValueError(f"line {line}: the answer is longer than {MAX_ANSWER_CHARS}")
        seen.add(entry_id)
        entries.append(KnowledgeEntry(entry_id, language, topic, question, parts, answer))
    return entries


def load_default_entries(directory: Path | None = None) -> list[KnowledgeEntry]:
    """The bundled knowledge base (``bot/data/knowledge/<language>.csv``), every language."""
    folder = directory or DEFAULT_DIR
    entries: list[KnowledgeEntry] = []
    for language in LANGUAGES:
        text = (folder / f"{language}.csv").read_text(encoding="utf-8")
        entries.extend(parse_csv(text, language))
    return entries
