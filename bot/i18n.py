"""Translations: gettext catalogues in locales/, compiled in memory at start.

The .po files are the only source; compiling them when the bot starts (a few milliseconds)
means no build step, no stale .mo files and nothing to forget after editing a translation.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.settings import SUPPORTED_LOCALES

DOMAIN = "ledenbot"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English", "sv": "Svenska"}


def compile_catalogue(po_path: Path) -> gettext.GNUTranslations:
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=po_path.parent.parent.name)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


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
