"""The stored @username follows Telegram's, and is written only when it changed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import onboarding
from tests.factories import onboarded


async def test_refresh_writes_only_a_change_and_only_with_direct_contact(
    session: AsyncSession,
) -> None:
    direct = await onboarded(session, 4001, "Noor", "Zwolle", username="noor_old")
    assert await onboarding.refresh_username(session, direct, "noor_old") is False
    assert await onboarding.refresh_username(session, direct, "noor_new") is True
    assert await onboarding.refresh_username(session, direct, "noor_new") is False
    assert await onboarding.refresh_username(session, direct, None) is True
    await session.refresh(direct)
    assert direct.username is None and direct.contact_direct

    private = await onboarded(session, 4002, "Ruben", "Zwolle")
    assert await onboarding.refresh_username(session, private, "ruben_r") is False
    await session.refresh(private)
    assert private.username is None
