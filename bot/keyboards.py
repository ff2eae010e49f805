"""Buttons and their callback data. Callback data carries ids only; handlers re-check them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import LANGUAGE_NAMES
from bot.services.places import Place
from storage.models import Region


class ConsentCb(CallbackData, prefix="consent"):
    agree: bool


class KindCb(CallbackData, prefix="kind"):
    kind: str  # "member", "sympathiser" or "skip"


class PlaceCb(CallbackData, prefix="place"):
    place_id: int  # 0: none of these


class RegionCb(CallbackData, prefix="region"):
    code: str  # "" skips


class LangCb(CallbackData, prefix="lang"):
    code: str


class MenuCb(CallbackData, prefix="menu"):
    action: str  # "details", "language", "help"


def consent() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Yes, I agree"), callback_data=ConsentCb(agree=True))
    kb.button(text=_("No, thank you"), callback_data=ConsentCb(agree=False))
    kb.button(text="🌐 " + _("Language"), callback_data=MenuCb(action="language"))
    kb.adjust(1, 2)
    return kb.as_markup()


def kinds() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("I am a member"), callback_data=KindCb(kind="member"))
    kb.button(text=_("I am a sympathiser"), callback_data=KindCb(kind="sympathiser"))
    kb.button(text=_("Skip"), callback_data=KindCb(kind="skip"))
    kb.adjust(1, 1, 1)
    return kb.as_markup()


def share_location() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=share_location_label(), request_location=True)],
            [KeyboardButton(text=skip_label())],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=_("Type your town…"),
    )


def share_location_label() -> str:
    return "📍 " + _("Share my location")


def skip_label() -> str:
    return "⏭ " + _("Skip")


def place_choices(places: Iterable[Place]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for place in places:
        kb.button(text=place.label(), callback_data=PlaceCb(place_id=place.id))
    kb.button(text=_("None of these"), callback_data=PlaceCb(place_id=0))
    kb.adjust(1)
    return kb.as_markup()


def region_choices(regions: Sequence[Region], suggested: Region | None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    ordered = ([suggested] if suggested else []) + [r for r in regions if r != suggested]
    for region in ordered:
        label = f"⭐ {region.name}" if region == suggested else region.name
        kb.button(text=label, callback_data=RegionCb(code=region.code))
    kb.button(text=_("Skip"), callback_data=RegionCb(code=""))
    kb.adjust(2)
    return kb.as_markup()


def languages() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        kb.button(text=name, callback_data=LangCb(code=code))
    kb.adjust(3)
    return kb.as_markup()


def main_menu() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="✏️ " + _("Change my details"), callback_data=MenuCb(action="details"))
    kb.button(text="🌐 " + _("Language"), callback_data=MenuCb(action="language"))
    kb.button(text="❓ " + _("Help"), callback_data=MenuCb(action="help"))
    kb.adjust(1, 2)
    return kb.as_markup()
