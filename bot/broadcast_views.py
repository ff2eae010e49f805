"""How broadcasts look: the letter members get (per language), the organiser's live
progress message, an audience in words. Shared by the handlers, the scheduler (which starts
scheduled broadcasts) and the progress watcher, so all three show the same thing."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from babel import Locale
from babel.dates import format_timedelta
from babel.numbers import format_decimal

from bot import outbox
from bot.services import broadcasts
from bot.services.broadcasts import Audience, Progress, Render
from handlers.workshops import ANNOUNCEMENT_MARK, SignupCb
from storage.models import Broadcast

CAPTION_LIMIT = 1024  # Telegram's limit for a photo's caption


class MuteCb(CallbackData, prefix=ANNOUNCEMENT_MARK.rstrip(":")):
    """ "No more of these" under a broadcast: the kind of announcement to mute."""

    kind: str
    broadcast_id: int = 0  # counted on the broadcast (0: not known)


class ControlCb(CallbackData, prefix="bctl"):
    """Pause, resume, cancel or approve a broadcast; re-checked against who pressed it."""

    broadcast_id: int
    action: str  # pause | resume | cancel | approve


def plain_length(text: str) -> int:
    """How long an HTML text is as Telegram counts it (tags off, entities decoded)."""
    return len(html.unescape(re.sub(r"<[^>]+>", "", text)))


def renderer(i18n: I18n) -> Render:
    """`broadcasts.start`'s `render`: the letter in one language, its buttons translated."""

    def render(broadcast: Broadcast, locale: str) -> outbox.Letter:
        with i18n.context(), i18n.use_locale(locale):
            return letter(broadcast, locale)

    return render


def letter(broadcast: Broadcast, locale: str) -> outbox.Letter:
    """The message as members in `locale` get it (call in that locale): their version of the
    text (else the default's), the photo carrying it as caption when it fits, the buttons."""
    text = broadcast.texts.get(locale) or broadcast.texts.get(broadcast.default_locale) or ""
    rows: list[list[InlineKeyboardButton]] = []
    workshop_id = broadcasts.signup_workshop(broadcast)
    if workshop_id is not None:
        data = SignupCb(workshop_id=workshop_id).pack()
        rows.append([InlineKeyboardButton(text="✅ " + _("Sign me up"), callback_data=data)])
    for label, url in broadcasts.links(broadcast):
        rows.append([InlineKeyboardButton(text=label, url=url)])
    mute = MuteCb(kind=broadcast.kind, broadcast_id=broadcast.id or 0).pack()
    rows.append([InlineKeyboardButton(text="🔕 " + _("No more of these"), callback_data=mute)])
    markup = InlineKeyboardMarkup(inline_keyboard=rows)
    media = broadcast.media or {}
    file_id = media.get("file_id")
    kind = "document_id" if media.get("type") == "document" else "photo"
    attached = {kind: file_id} if file_id else {}
    if file_id and plain_length(text) <= CAPTION_LIMIT:
        return outbox.Letter(0, caption=text, reply_markup=markup, **attached)
    return outbox.Letter(0, text=text, reply_markup=markup, **attached)


async def send_letter(bot: Bot, chat_id: int, found: outbox.Letter) -> None:
    """Send one letter now, part by part as the sender would (a preview, an approval)."""
    for part in outbox.parts_of(found):
        await outbox.send_part(bot, chat_id, part)


def language_name(code: str, locale: str) -> str:
    """'Engels', 'English', 'engelska': a language named in the reader's language."""
    return Locale.parse(code).get_display_name(locale) or code


def kind_label(kind: str) -> str:
    return "📅 " + _("Training day") if kind == "training" else "📰 " + _("General news")


def status_label(status: str) -> str:
    return {
        "draft": _("draft"),
        "approval": _("waiting for approval"),
        "scheduled": _("scheduled"),
        "sending": _("sending"),
        "paused": _("paused"),
        "cancelled": _("cancelled"),
        "done": _("done"),
    }.get(status, status)


def number(n: float, locale: str) -> str:
    return format_decimal(n, locale=locale)


def audience_lines(audience: Audience, named: broadcasts.Named) -> list[str]:
    """The audience in words, one line per chosen part; everyone when nothing narrows it."""
    lines = []
    if named.regions:
        lines.append("📍 " + html.escape(", ".join(named.regions)))
    else:
        lines.append("📍 " + _("every region"))
    if audience.member_kinds:
        kinds = {"member": _("members"), "sympathiser": _("sympathisers")}
        lines.append("👤 " + ", ".join(kinds.get(k, k) for k in audience.member_kinds))
    if audience.locales:
        lines.append("🌐 " + ", ".join(audience.locales))
    if named.wishes:
        lines.append("🎯 " + _("wishes to learn: {skills}").format(
            skills=html.escape(", ".join(named.wishes))))  # fmt: skip
    if named.talents:
        lines.append("🎓 " + _("has talents: {skills}").format(
            skills=html.escape(", ".join(named.talents))))  # fmt: skip
    if named.workshop is not None and audience.signed_up is not None:
        text = _("signed up for {title}") if audience.signed_up else _("not signed up for {title}")
        lines.append("✍️ " + text.format(title=html.escape(named.workshop)))
    if named.track is not None and audience.in_track is not None:
        text = _("took part in {title}") if audience.in_track else _("did not take part in {title}")
        lines.append("🧭 " + text.format(title=html.escape(named.track)))
    return lines


def reach_line(reach: broadcasts.Reach, locale: str) -> str:
    """'Reaches 120 members; left out: 3 who muted these, 2 unreachable.'"""
    line = ngettext(
        "Reaches <b>{count}</b> member.", "Reaches <b>{count}</b> members.", reach.recipients
    ).format(count=number(reach.recipients, locale))
    if reach.muted or reach.unreachable:
        line += " " + _(
            "Left out: {muted} who turned these off, {unreachable} unreachable."
        ).format(muted=number(reach.muted, locale), unreachable=number(reach.unreachable, locale))
    return line


def progress_view(
    broadcast: Broadcast, progress: Progress, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The organiser's live message: counts, rate, time left, and the buttons that fit."""
    n = {
        key: number(value, locale)
        for key, value in (
            ("sent", progress.sent),
            ("unreachable", progress.unreachable),
            ("failed", progress.failed),
            ("remaining", progress.remaining),
            ("cancelled", progress.cancelled),
        )
    }
    lines = [
        "📣 <b>"
        + _("Announcement #{id}: {status}").format(
            id=broadcast.id, status=status_label(broadcast.status)
        )
        + "</b>",
        "✅ " + _("Sent: {sent}").format(**n),
        "🚫 " + _("Unreachable: {unreachable}").format(**n),
        "⚠️ " + _("Failed: {failed}").format(**n),
    ]
    if broadcast.status in ("sending", "paused"):
        lines.append("⏳ " + _("Still to send: {remaining}").format(**n))
    if progress.cancelled:
        lines.append("✋ " + _("Not sent (cancelled): {cancelled}").format(**n))
    if broadcast.status == "sending" and progress.per_second:
        lines.append(
            "⚡ "
            + _("{rate} per second").format(
                rate=format_decimal(round(progress.per_second, 1), locale=locale)
            )
        )
        if progress.seconds_left is not None and progress.remaining:
            left = format_timedelta(max(1.0, progress.seconds_left), locale=locale, threshold=1.1)
            lines.append("🕒 " + _("About {left} left").format(left=left))
    return "\n".join(lines), controls(broadcast)


def controls(broadcast: Broadcast) -> InlineKeyboardMarkup | None:
    buttons: list[InlineKeyboardButton] = []

    def button(text: str, action: str) -> None:
        data = ControlCb(broadcast_id=broadcast.id, action=action).pack()
        buttons.append(InlineKeyboardButton(text=text, callback_data=data))

    if broadcast.status == "sending":
        button("⏸ " + _("Pause"), "pause")
    elif broadcast.status == "paused":
        button("▶️ " + _("Resume"), "resume")
    if broadcast.status in ("sending", "paused", "scheduled", "approval"):
        button("❌ " + _("Cancel"), "cancel")
    return InlineKeyboardMarkup(inline_keyboard=[buttons]) if buttons else None


def counts_line(counts: Mapping[str, int], locale: str) -> str:
    """'delivered 120 · unreachable 3 · failed 0' for `/berichten`."""
    values: dict[str, Any] = {
        key: number(counts.get(key, 0), locale) for key in ("sent", "unreachable", "failed")
    }
    return _("delivered {sent} · unreachable {unreachable} · failed {failed}").format(**values)
