"""Buttons and their callback data. Callback data carries ids only; handlers re-check them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import LANGUAGE_NAMES
from bot.services.places import Place
from storage.repositories.regions import Configured


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
    action: str  # "details", "language", "help", "confidential", "ask"


def consent() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="✅ " + _("Yes, I agree"), callback_data=ConsentCb(agree=True))
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


def region_choices(
    regions: Sequence[Configured], suggested: Configured | None
) -> InlineKeyboardMarkup:
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
    kb.button(text="📅 " + _("Workshops for you"), callback_data=MenuCb(action="workshops"))
    kb.button(text="❓ " + _("Ask a question"), callback_data=MenuCb(action="ask"))
    kb.button(text="🧩 " + _("My talents and wishes"), callback_data=ProfileCb(action="show"))
    kb.button(text="✏️ " + _("Change my details"), callback_data=MenuCb(action="details"))
    kb.button(text="🌐 " + _("Language"), callback_data=MenuCb(action="language"))
    kb.button(text="❓ " + _("Help"), callback_data=MenuCb(action="help"))
    kb.button(text=_("A confidential conversation"), callback_data=MenuCb(action="confidential"))
    kb.adjust(1, 1, 1, 1, 2, 1)
    return kb.as_markup()


class ProfileCb(CallbackData, prefix="prof"):
    action: str  # add_talent, add_wish, remove, availability, findable, contact, skip, done


class PickCb(CallbackData, prefix="pick"):
    row_id: int
    skill_id: int  # 0: keep as typed


class LevelCb(CallbackData, prefix="lvl"):
    row_id: int
    level: str


class AvailCb(CallbackData, prefix="avail"):
    slot: str


class FindCb(CallbackData, prefix="find"):
    yes: bool


class ContactPrefCb(CallbackData, prefix="cpref"):
    direct: bool


class RemoveCb(CallbackData, prefix="rm"):
    row_id: int


def level_label(level: str) -> str:
    return {
        "some": _("Some experience"),
        "experienced": _("Experienced"),
        "teach": _("I can teach it"),
    }[level]


def availability_label(slot: str) -> str:
    return {
        "evenings": _("Weekday evenings"),
        "weekends": _("Weekends"),
        "daytime": _("Daytime"),
        "online": _("Online"),
    }[slot]


def levels(row_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for level in ("some", "experienced", "teach"):
        kb.button(text=level_label(level), callback_data=LevelCb(row_id=row_id, level=level))
    kb.adjust(1)
    return kb.as_markup()


def picks(row_id: int, choices: Sequence[tuple[int, str]], typed: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for skill_id, name in choices:
        kb.button(text=name, callback_data=PickCb(row_id=row_id, skill_id=skill_id))
    keep = _("Keep “{typed}” as I typed it").format(typed=typed[:30])
    kb.button(text=keep, callback_data=PickCb(row_id=row_id, skill_id=0))
    kb.adjust(1)
    return kb.as_markup()


def skip_or_done(action: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Skip"), callback_data=ProfileCb(action=action))
    return kb.as_markup()


def availability(chosen: Sequence[str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for slot in ("evenings", "weekends", "daytime", "online"):
        mark = "✅" if slot in chosen else "▫️"
        kb.button(text=f"{mark} {availability_label(slot)}", callback_data=AvailCb(slot=slot))
    kb.button(text="✔️ " + _("Done"), callback_data=ProfileCb(action="availability_done"))
    kb.adjust(2, 2, 1)
    return kb.as_markup()


def findable() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, organisers may find me"), callback_data=FindCb(yes=True))
    kb.button(text=_("No, not now"), callback_data=FindCb(yes=False))
    kb.adjust(1)
    return kb.as_markup()


def contact_preference(username: str | None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if username:
        label = _("Show my Telegram name @{username}").format(username=username)
        kb.button(text=label, callback_data=ContactPrefCb(direct=True))
    kb.button(text=_("Only through the bot"), callback_data=ContactPrefCb(direct=False))
    kb.adjust(1)
    return kb.as_markup()


def profile_card(findable_now: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="➕ " + _("Talents"), callback_data=ProfileCb(action="add_talent"))
    kb.button(text="➕ " + _("Learning wishes"), callback_data=ProfileCb(action="add_wish"))
    kb.button(text="🗑 " + _("Remove something"), callback_data=ProfileCb(action="remove"))
    kb.button(text="🎚 " + _("Change a level"), callback_data=ProfileCb(action="levels"))
    kb.button(text="🕒 " + _("Availability"), callback_data=ProfileCb(action="availability"))
    pause = _("Hide me from searches") if findable_now else _("Show me in searches")
    kb.button(text="👁 " + pause, callback_data=ProfileCb(action="findable"))
    kb.button(text="📇 " + _("How to contact me"), callback_data=ProfileCb(action="contact"))
    kb.adjust(2, 2, 1, 1, 1)
    return kb.as_markup()


class AskLevelCb(CallbackData, prefix="asklvl"):
    row_id: int


def talents_to_relevel(rows: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for row_id, label in rows:
        kb.button(text=label, callback_data=AskLevelCb(row_id=row_id))
    kb.button(text="↩️ " + _("Back"), callback_data=ProfileCb(action="show"))
    kb.adjust(1)
    return kb.as_markup()


def removals(rows: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for row_id, label in rows:
        kb.button(text=f"🗑 {label}", callback_data=RemoveCb(row_id=row_id))
    kb.button(text="↩️ " + _("Back"), callback_data=ProfileCb(action="show"))
    kb.adjust(1)
    return kb.as_markup()


class FeedbackCb(CallbackData, prefix="fb"):
    workshop_id: int
    rating: int  # 1-5; 0 skips the comment


def feedback_keyboard(workshop_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for stars in range(1, 6):
        kb.button(
            text="⭐" * stars, callback_data=FeedbackCb(workshop_id=workshop_id, rating=stars)
        )
    kb.adjust(5)
    return kb.as_markup()


def pager(
    page: int, pages: int, data: Callable[[int], CallbackData], more: bool = False
) -> list[InlineKeyboardButton]:
    """The one row of page buttons every paged list uses: ◀️, "2/5", ▶️ (pages count from 0).

    `data(n)` is the callback data that opens page n; the middle button re-opens the page
    shown (a refresh). One page needs no buttons: an empty row. `more`: a list counted only
    so far ("2/200+"), with pages after the last one counted.
    """
    if pages <= 1 and not more:
        return []
    page = max(0, min(page, pages - 1))
    row = []
    if page > 0:
        row.append(InlineKeyboardButton(text="◀️", callback_data=data(page - 1).pack()))
    label = f"{page + 1}/{pages}" + ("+" if more else "")
    row.append(InlineKeyboardButton(text=label, callback_data=data(page).pack()))
    if page + 1 < pages or more:
        row.append(InlineKeyboardButton(text="▶️", callback_data=data(page + 1).pack()))
    return row
