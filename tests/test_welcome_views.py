"""Telegram's limits in the welcome and goals views, with the largest inputs: the card with
the longest name and 60 long wishes, a full page of the overview, goals for 60 regions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services import goals, regions, welcome
from bot.services.goals import Metric
from bot.services.roles import ALL_REGIONS, Grant, RoleName
from bot.settings import Settings
from handlers import goals as goal_views
from handlers import welcome as welcome_views
from tests import factories
from tests.botrunner import I18N
from tests.factories import NOW

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
ADMIN = frozenset({Grant(RoleName.ADMIN)})


def test_the_card_with_the_largest_input_fits_and_shows_no_contact() -> None:
    wishes = tuple(welcome.Wish("w" * 100, None) for _ in range(60))
    card = welcome.Card(7, "N" * 64, "oost", wishes, None)
    for locale in ("nl", "en", "sv"):
        with I18N.context(), I18N.use_locale(locale):
            text = welcome_views.card_text(card, "R" * 64, locale)
            keyboard = welcome_views.card_keyboard(card)
        assert len(text) <= 4096
        more = I18N.gettext("and {n} more", locale=locale).format(n=40)
        assert more in text and "@" not in text
        assert sum(len(row) for row in keyboard.inline_keyboard) == 3
    direct = welcome.Card(7, "Noor", "oost", (), "noor_d")
    with I18N.context(), I18N.use_locale("en"):
        text = welcome_views.card_text(direct, "Oost", "en")
        assert sum(len(r) for r in welcome_views.card_keyboard(direct).inline_keyboard) == 2
    assert "@noor_d" in text and "Learning wishes: not shared" in text


async def test_a_full_overview_page_fits(session: AsyncSession) -> None:
    with clock.travel_to(NOW - timedelta(days=20)):
        await factories.bare_members(session, 20, 1000, region_code="oost", first_name="N" * 64)
    with clock.travel_to(NOW):
        await welcome.assign_due(session, NOW, 30)  # nobody in oost: all wait
        with I18N.context(), I18N.use_locale("nl"):
            text, markup = await welcome_views.overview_view(
                session, ALL_REGIONS, 1, "nl", SETTINGS
            )
    assert markup is not None and len(text) <= 4096
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert len(labels) == 8 + 2  # a reassign button per row, back and forward
    assert labels[0].startswith("↪️ 9. ") and labels[-2:] == ["◀️", "▶️"]
    assert I18N.gettext("no volunteer in the region", locale="nl") in text


async def test_goals_of_sixty_regions_split_within_the_limit(session: AsyncSession) -> None:
    codes = [f"r{n:02d}" for n in range(60)]
    for code in codes:
        await factories.region(session, code, "Regio " + "x" * 50 + code)
    for code in codes:
        for metric in Metric:
            await goals.set_goal(session, ADMIN, 2027, code, metric, 1_000_000, NOW)
    with I18N.context(), I18N.use_locale("nl"):
        texts = await goal_views.progress_texts(session, ALL_REGIONS, 2027, "nl", True)
    assert len(texts) > 1 and all(len(text) <= 4096 for text in texts)
    joined = "\n".join(texts)
    assert all(code in joined for code in codes)
    assert "0 van 1.000.000 (0%)" in joined
    regions.invalidate()
