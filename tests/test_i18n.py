"""Every message the code can show exists, translated, in nl, en and sv."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, create_i18n
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
