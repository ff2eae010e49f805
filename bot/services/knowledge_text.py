"""How a member's words become comparable terms, per language: folding, stop words, endings,
particle verbs and a few synonyms ("Hoe verander ik mijn IBAN?" -> ["wijzig", "iban"]).

The rules the knowledge matcher (bot/services/knowledge_match.py) applies alike to its entries
and to a message. They need not be linguistics, only the same on both sides, and cheap: a
message may be 4,096 characters. Plain Python.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Container, Mapping
from dataclasses import dataclass

__all__ = ["LANGUAGES", "Language", "normalise", "rules", "terms"]

LANGUAGES = ("nl", "en", "sv")

# normalise(): as bot/services/skill_match.py folds text (tests/test_knowledge_match.py checks
# they agree), but with one regex for the accents instead of a test per character: Swedish and
# Flemish text is rarely ASCII, and a message may be 4,096 characters.
_TRANSLIT = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "ı": "i", "ĳ": "ij"}
)
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_APOSTROPHES = re.compile(r"['’‘`´ʼ′]")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    """Fold *text* for comparison: case, accents, apostrophes, punctuation, spaces.

    "Förtroendepersonen!" -> "fortroendepersonen", "domiciliëring" -> "domiciliering".
    """
    text = text.casefold()
    if text.isascii():
        text = text.replace("'", "").replace("`", "")
    else:
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text)).translate(_TRANSLIT)
        text = _APOSTROPHES.sub("", text)
    return _NON_ALNUM.sub(" ", text).strip()


#: Endings stripped (one, longest first) so word forms meet, per language: Dutch plurals,
#: diminutives and -ing ("aanmelding" = "aanmelden"); English plurals and -ing/-ed; Swedish
#: plurals and definite forms ("utbildningarna", "medlemsavgiften"). Not "-er" in Dutch and
#: English, where it makes a person: "trainer" is not "training".
_SUFFIXES = {
    "nl": ("heden", "ingen", "tjes", "pjes", "ing", "jes", "tje", "pje", "je", "en", "e", "s"),
    "en": ("ings", "ing", "es", "ed", "e", "s"),
    "sv": (
        "ingarna", "ingen", "ingar", "erna", "arna", "orna", "ing", "en", "er", "ar", "or",
        "an", "et", "na", "a", "e", "s",
    ),
}  # fmt: skip
_MIN_STEM = 4
_MIN_S_STEM = 5
_NO_S_AFTER = frozenset("su")
#: Dutch v/f and z/s alternate between forms: "schrijf"/"schrijven", "verhuis"/"verhuizen".
_DEVOICE = {"v": "f", "z": "s"}

# Words that say how, who or when, not what; greetings and thanks. After normalise() (no
# accents). Dutch and Swedish messages also drop the English ones: members mix them in.
_STOP_WORDS = {
    "nl": """
ik je jij u me mij mijn mn we wij ons onze jullie hij zij ze het de een t van voor in op aan
met om te tot bij naar over uit door en of maar dat die dit deze is ben bent zijn was wordt
word kan kun kunt kunnen wil wilt willen moet moeten mag mogen zou zouden zal ga gaat gaan doe
doet doen heb hebt heeft hebben had er hier daar nu ook nog al wel hoe wat waar wanneer waarom
wie welke welk graag even aub alsjeblieft alstublieft svp hoi hallo hey hee groet groeten
groetjes bedankt dank dankjewel dankuwel zo dan als iets ergens eens toch echt gewoon heel erg
mee af worden geworden gekregen kreeg krijgt blijft blijven veel iemand niemand iedereen
binnenkort straks morgen vandaag gisteren volgende vorige week maand najaar voorjaar zomer
""",
    "en": """
i me my mine you your we our us it its the a an of for in on at to from with by about and or
but that this these those is am are was were be been being do does did have has had can could
will would shall should may might must how what where when why who whom which there here
please pls hi hello hey thanks thank thx ok okay just so some any im id ive ill youre really
much many someone somebody anyone everyone become became soon upcoming coming next today
tomorrow yesterday week month autumn spring summer
hoi hallo hej tack bedankt dank
""",
    "sv": """
jag mig min mitt mina du dig din ditt dina vi oss var vart vara ni er han hon den det de dem en
ett i pa av till fran hos vid och eller men att som ar har hade kan kunna vill ska skulle maste
far hur vad nar varfor vem vilken vilka vilket man dar nu ocksa hej tack snalla garna
lite nagot nagon nagra sa bara ju val med om finns finnas mycket alla bli blir blev blivit
snart imorgon idag igar nasta forra vecka manad host sommar ga gar gick
""",
}
_STOP = {
    code: frozenset(normalise(words + ("" if code == "en" else _STOP_WORDS["en"])).split())
    for code, words in _STOP_WORDS.items()
}

#: Dutch separable verbs: "schrijf ik me uit", "meld je af", "zeg ik op" meet "uitschrijven",
#: "afmelden", "opzeggen".
_PARTICLES = ("aan", "af", "op", "uit", "in", "mee", "terug", "door")
#: Swedish (and English) particle verbs are joined to the word before: "gå med" -> "gamed",
#: "säga upp", "ta bort", "stänga av", "sign up"; in the entries always, in a message only
#: when the entries know the result.
_POST_PARTICLES = frozenset(("med", "ur", "upp", "av", "bort", "ut", "up"))

# Words that mean the same to a member asking something; folded to the first of their group
# (after stemming) in the entries and in the message alike.
_SAME = (
    "wijzig verander aanpass update change edit modify andra byt byta redigera uppdatera",
    "verwijder wis delete erase remove radera tabort",
    "opzeg stopzet beeindig",
    "workshop workshopp",
)

_LIGHT_WORDS = """
vind vinden zoek zoeken krijg krijgen kom komen zie zien weet weten geef geven zet zetten sta
staat nieuw nieuwe ander andere goed goede meer
see find get got give come know make making take put new other good need like more keep keeps
hitta se fa ge ta komma vet ny nya annan andra bra gora behova mer
"""


#: _SUFFIXES as (length, set) pairs, longest first: a few set lookups a word, not a dozen
#: endswith() calls (a 4 KB message has some 600 words).
_SUFFIX_SETS = {
    code: [
        (n, frozenset(x for x in endings if len(x) == n))
        for n in sorted(set(map(len, endings)), reverse=True)
    ]
    for code, endings in _SUFFIXES.items()
}


def _stem(word: str, language: str) -> str:
    """Strip one ending (see _SUFFIXES): it need not be linguistics, only the same for the
    entries and the message."""
    size = len(word)
    if size <= _MIN_STEM:
        return word
    for n, endings in _SUFFIX_SETS.get(language, ()):
        if size - n >= _MIN_STEM and word[-n:] in endings:
            if n == 1 and word[-1] == "s" and (word[-2] in _NO_S_AFTER or size <= _MIN_S_STEM):
                continue
            word = word[:-n]
            break
    return word[:-1] + _DEVOICE[word[-1]] if word[-1] in _DEVOICE else word


@dataclass(frozen=True, slots=True)
class Language:
    """One language's rules: its stop words, synonym folding and light words."""

    code: str
    stop: frozenset[str]
    canonical: Mapping[str, str]
    light: frozenset[str]  # terms that say little alone ("vind", "need"): weighed less

    def term(self, word: str) -> str:
        """One normalised word's comparison key: stemmed, synonyms folded."""
        return _term(self.code, word)

    def is_content(self, word: str) -> bool:
        """Not a stop word, particle, single letter or number."""
        return (
            word not in self.stop
            and word not in _POST_PARTICLES
            and len(word) > 1
            and not word.isdigit()
        )

    def words(self, words: list[str]) -> list[tuple[str, bool]]:
        """Content words of normalised *words*, each with False, and joined particle verbs
        ("gamed" for "gå med") with True."""
        out: list[tuple[str, bool]] = []
        for i, word in enumerate(words):
            if i and word in _POST_PARTICLES and words[i - 1] not in _POST_PARTICLES:
                out.append((words[i - 1] + word, True))
            if self.is_content(word):
                out.append((word, False))
        return out

    def separable(self, words: list[str], known: Container[str]) -> dict[str, str]:
        """Written word -> the term of particle + word when *known* has it: "meld ... af" ->
        "afmeld"."""
        particles = [w for w in _PARTICLES if w in words]
        joined: dict[str, str] = {}
        if particles:
            for word in set(words):
                for particle in particles:
                    term = self.term(particle + word)
                    if word != particle and term in known:
                        joined[word] = term
        return joined

    def synonyms(self) -> list[str]:
        """Every word of the synonym groups, as written: a typo of one finds its group."""
        return [word for group in _SAME for word in group.split()]


@functools.lru_cache(maxsize=16384)
def _term(code: str, word: str) -> str:
    stem = _stem(word, code)
    return _RULES[code].canonical.get(stem, stem)


def _rules(code: str) -> Language:
    canonical: dict[str, str] = {}
    for group in _SAME:
        stems = [_stem(w, code) for w in group.split()]
        for stem in stems:
            canonical.setdefault(stem, stems[0])
    light = set()
    for word in normalise(_LIGHT_WORDS).split():
        stem = _stem(word, code)
        light.add(canonical.get(stem, stem))
    return Language(code, _STOP[code], canonical, frozenset(light))


_RULES = {code: _rules(code) for code in LANGUAGES}


def rules(language: str) -> Language:
    """The rules of *language* (one of LANGUAGES); KeyError for another."""
    return _RULES[language]


def terms(text: str, language: str) -> list[str]:
    """The content terms of *text*: normalised, stop words dropped, stemmed, synonyms folded.

    "Hoe verander ik mijn IBAN?" -> ["wijzig", "iban"]. Digits alone are dropped. Dutch
    separable verbs are joined only against a vocabulary (see the matcher).
    """
    lang = _RULES[language]
    return [lang.term(w) for w, _ in lang.words(normalise(text).split())]
