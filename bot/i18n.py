"""Translations: gettext catalogues in locales/, compiled in memory at start.

The .po files are the only source; compiling them when the bot starts (a few milliseconds)
means no build step, no stale .mo files and nothing to forget after editing a translation.
They are read by a few lines of ours rather than Babel's catalogue classes: those cost 0.4
MiB of idle memory (their modules and what compiling three catalogues leaves behind) for what
is a key-value file. tests/test_i18n.py checks that both compile the same catalogues.
"""

from __future__ import annotations

import gettext
import io
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.settings import SUPPORTED_LOCALES

DOMAIN = "ledenbot"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English", "sv": "Svenska"}

_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')
_ESCAPE = re.compile(r'\\([\\trn"])')
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r"}


def _unquote(quoted: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPED.get(m[1], m[1]), quoted.strip()[1:-1])


def read_po(po_path: Path) -> dict[bytes, bytes]:
    """A .po file's messages as a .mo file holds them, with what Babel's compiler keeps:
    the header, and every translated message that is neither fuzzy nor obsolete (`#~`);
    an untranslated plural form falls back to the English one."""
    messages: dict[bytes, bytes] = {}
    entry: dict[str, Any] = {}
    fuzzy = False
    last = ""

    def flush() -> None:
        nonlocal entry, fuzzy
        if "msgid" in entry:
            msgid = entry["msgid"]
            if "msgid_plural" in entry:
                forms = entry.get("msgstr", {})
                key = f"{msgid}\x00{entry['msgid_plural']}"
                value = "\x00".join(
                    forms.get(n) or (msgid, entry["msgid_plural"])[min(n, 1)]
                    for n in range(max(forms, default=1) + 1)
                )
            else:
                key, value = msgid, entry.get("msgstr", "")
            if "msgctxt" in entry:
                key = f"{entry['msgctxt']}\x04{key}"
            if msgid == "" or (value and not fuzzy):
                messages[key.encode()] = value.encode()
        entry, fuzzy = {}, False

    for line in po_path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line[2:].replace(",", " ").split():
                if "msgstr" in entry:
                    flush()
                fuzzy = True
            continue
        if line.startswith('"'):  # continues the string before
            if last == "msgstr" and isinstance(entry.get("msgstr"), dict):
                forms = entry["msgstr"]
                forms[max(forms)] += _unquote(line)
            elif last:
                entry[last] += _unquote(line)
            continue
        found = _KEYWORD.match(line)
        if found is None:
            continue
        keyword, index, quoted = found.groups()
        if keyword in ("msgctxt", "msgid") and "msgstr" in entry:
            flush()
        if index is not None:
            entry.setdefault("msgstr", {})[int(index)] = _unquote(quoted)
            last = "msgstr"
        else:
            last = keyword
            entry[keyword] = _unquote(quoted)
    flush()
    return messages


def mo_bytes(messages: dict[bytes, bytes]) -> bytes:
    """The GNU .mo file for `messages`: a header, two tables of (length, offset), the
    strings."""
    keys = sorted(messages)
    ids, strs, table_ids, table_strs = b"", b"", [], []
    start_ids = 7 * 4 + 16 * len(keys)
    start_strs = start_ids + sum(len(k) + 1 for k in keys)
    for key in keys:
        table_ids += [len(key), start_ids + len(ids)]
        table_strs += [len(messages[key]), start_strs + len(strs)]
        ids += key + b"\x00"
        strs += messages[key] + b"\x00"
    header = struct.pack("<7I", 0x950412DE, 0, len(keys), 28, 28 + 8 * len(keys), 0, 0)
    tables = struct.pack(f"<{4 * len(keys)}I", *table_ids, *table_strs)
    return header + tables + ids + strs


def compile_catalogue(po_path: Path) -> gettext.GNUTranslations:
    return gettext.GNUTranslations(io.BytesIO(mo_bytes(read_po(po_path))))


class CatalogueI18n(I18n):
    """aiogram's I18n, but reading .po files directly instead of pre-built .mo files."""

    @contextmanager
    def context(self) -> Iterator[I18n]:
        # aiogram keeps one context variable per class and its gettext reads I18n's, so a
        # subclass must register itself there, not in a variable of its own.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        found: dict[str, gettext.GNUTranslations] = {}
        for code in SUPPORTED_LOCALES:
            po = self.path / code / "LC_MESSAGES" / f"{self.domain}.po"
            if po.exists():
                found[code] = compile_catalogue(po)
        return found


def create_i18n(default_locale: str) -> CatalogueI18n:
    return CatalogueI18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def locale_from_telegram(user: User | None, default: str) -> str:
    """Map Telegram's language_code ("nl-BE", "sv", "en-GB") to one we speak."""
    code = (user.language_code or "") if user else ""
    base = code.split("-")[0].lower()
    return base if base in SUPPORTED_LOCALES else default


class LocaleMiddleware(I18nMiddleware):
    """Member's stored choice, else the pre-consent choice kept in FSM, else Telegram's."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        member = data.get("member")
        if member is not None and member.locale in SUPPORTED_LOCALES:
            return str(member.locale)
        state = data.get("state")
        if state is not None:
            chosen = (await state.get_data()).get("locale")
            if chosen in SUPPORTED_LOCALES:
                return str(chosen)
        return locale_from_telegram(data.get("event_from_user"), self.i18n.default_locale)
