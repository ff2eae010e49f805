"""The confidential path's screens within Telegram's limits, with the largest inputs."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.sealing import Keyring, new_key
from bot.services import confidential as conf
from bot.services.roles import Grant, RoleName
from bot.settings import Settings
from handlers.confidential import ConfCb, explanation
from handlers.counsellor import CaseCb, cases_page
from storage.models import Role
from tests.botrunner import I18N

ADMIN = frozenset({Grant(RoleName.ADMIN)})


async def many_counsellors(session: AsyncSession, count: int) -> None:
    for n in range(count):
        session.add(Role(telegram_id=900_000 + n, role="counsellor", granted_by=1))
        await session.commit()
        await conf.configure(
            session, ADMIN, 900_000 + n, name=f"{n:02d}" + "N" * 62, about="A" * 300,
            kind="internal", reachable=True,
        )  # fmt: skip


@pytest.mark.parametrize("locale", ["nl", "en", "sv"])
async def test_the_explanation_fits_with_sixty_counsellors(
    session: AsyncSession, locale: str
) -> None:
    await many_counsellors(session, 60)
    with I18N.context(), I18N.use_locale(locale):
        text = await explanation(session)
    assert len(text) <= 4096
    shown = [n for n in range(60) if f"{n:02d}" + "N" * 62 in text]
    assert shown == list(range(len(shown))) and len(shown) >= 40
    assert I18N.gettext("…and {count} more", locale=locale).format(count=60 - len(shown)) in text


async def test_the_explanation_shows_every_text_when_they_fit(session: AsyncSession) -> None:
    await many_counsellors(session, 5)
    with I18N.context(), I18N.use_locale("nl"):
        text = await explanation(session)
    assert text.count("A" * 300) == 5


async def test_a_counsellors_cases_page_and_buttons_fit(session: AsyncSession) -> None:
    await many_counsellors(session, 1)
    ring = Keyring.from_text(new_key())
    for member in range(20):
        await conf.open_case(session, ring, 5_000_000_000 + member, None, "nl")
    counsellor = (await conf.reachable(session))[0]
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    seen = []
    for page in range(3):
        with I18N.context(), I18N.use_locale("sv"):
            text, markup = await cases_page(session, ring, counsellor, page, I18N, settings)
        assert markup is not None and len(text) < 4096
        buttons = [b for row in markup.inline_keyboard for b in row]
        assert len(buttons) <= 100
        assert all(len((b.callback_data or "").encode()) <= 64 for b in buttons)
        seen += [b.text for b in buttons if b.callback_data.startswith("vz:view")]  # type: ignore[union-attr]
    assert len(seen) == 20 == len(set(seen))
    longest = ConfCb(action="purge_yes", case=2**31, ref=2**31, cmd=2**31, intro=2**31)
    assert len(longest.pack().encode()) <= 64
    assert len(CaseCb(action="close", case=2**31, page=2**31).pack().encode()) <= 64
