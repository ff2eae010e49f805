"""Every message the code can show exists, translated, in nl, en and sv."""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, compile_catalogue, create_i18n
from bot.settings import SUPPORTED_LOCALES

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {**DEFAULT_KEYWORDS, "__": None}
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
TAG = re.compile(r"</?[a-z]+>")


def code_messages() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "handlers"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def catalogue(locale: str) -> Catalog:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "ledenbot.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def test_the_code_has_messages() -> None:
    assert "Question {number} of {total}" in code_messages()


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalogue_has_every_message_translated(locale: str) -> None:
    cat = catalogue(locale)
    missing = sorted(m for m in code_messages() if m not in cat or not cat[m].string)
    fuzzy = sorted(m.id for m in cat if m.id and m.fuzzy)
    assert missing == [], f"{locale}: untranslated or missing: {missing}"
    assert fuzzy == [], f"{locale}: fuzzy: {fuzzy}"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_translations_keep_placeholders_and_tags(locale: str) -> None:
    for message in catalogue(locale):
        if not message.id or not message.string:
            continue
        source, target = str(message.id), str(message.string)
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(target)), source
        assert sorted(TAG.findall(source)) == sorted(TAG.findall(target)), source


def test_catalogues_compile_in_memory_and_translate() -> None:
    i18n = create_i18n("nl")
    assert set(i18n.available_locales) == set(SUPPORTED_LOCALES)
    skip = {loc: i18n.gettext("Skip", locale=loc) for loc in SUPPORTED_LOCALES}
    assert skip == {"nl": "Overslaan", "en": "Skip", "sv": "Hoppa över"}


EDGES = r"""# header comment
msgid ""
msgstr ""
"Language: nl\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"
"Content-Type: text/plain; charset=utf-8\n"

#: somewhere.py:1
#, python-brace-format
msgid "Hello {name}"
msgstr "Hallo {name}"

msgid ""
"Two "
"lines\twith \"quotes\" and \\ a backslash\n"
msgstr "Twee "
"regels\twith \"quotes\" and \\ a backslash\n"

#, fuzzy
msgid "Guessed"
msgstr "Gegokt"

msgid "Untranslated"
msgstr ""

msgctxt "button"
msgid "Open"
msgstr "Openen"

msgid "Open"
msgstr "Open (werkwoord)"

msgid "{n} day"
msgid_plural "{n} days"
msgstr[0] "{n} dag"
msgstr[1] ""
"{n} dagen"

msgid "{n} hour"
msgid_plural "{n} hours"
msgstr[0] ""
msgstr[1] ""

#, fuzzy, python-format
msgid "Fuzzy plural"
msgid_plural "Fuzzy plurals"
msgstr[0] "x"
msgstr[1] "y"

#~ msgid "Gone"
#~ msgstr "Weg"
"""


def babel_compiled(po: Path, locale: str) -> gettext.GNUTranslations:
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@pytest.mark.parametrize("locale", [*SUPPORTED_LOCALES, "edges"])
def test_our_po_reader_compiles_what_babel_compiles(locale: str, tmp_path: Path) -> None:
    if locale == "edges":
        po = tmp_path / "edges.po"
        po.write_text(EDGES, encoding="utf-8")
    else:
        po = LOCALES_DIR / locale / "LC_MESSAGES" / "ledenbot.po"
    ours, theirs = compile_catalogue(po), babel_compiled(po, "nl" if locale == "edges" else locale)
    messages = {k: v for k, v in ours._catalog.items() if k != ""}  # type: ignore[attr-defined]
    assert messages == {k: v for k, v in theirs._catalog.items() if k != ""}  # type: ignore[attr-defined]
    assert [ours.plural(n) for n in range(30)] == [theirs.plural(n) for n in range(30)]  # type: ignore[attr-defined]
    assert ours.gettext("Skip" if locale != "edges" else "Hello {name}") != ""
