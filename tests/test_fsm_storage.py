"""Conversation state in memory is bounded in time and in size."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import StorageKey

from bot import clock
from bot.fsm_storage import BoundedMemoryStorage


def key(user_id: int) -> StorageKey:
    return StorageKey(bot_id=1, chat_id=user_id, user_id=user_id)


async def test_a_record_is_gone_a_day_after_its_last_write() -> None:
    storage = BoundedMemoryStorage(ttl=timedelta(days=1))
    start = clock.now()
    with clock.travel_to(start):
        await storage.update_data(key(1), {"locale": "en"})
        await storage.set_state(key(2), State("asking", "profile"))
    with clock.travel_to(start + timedelta(hours=20)):
        await storage.update_data(key(2), {"step": 2})  # key 2 is written again
        assert await storage.get_data(key(1)) == {"locale": "en"}
    with clock.travel_to(start + timedelta(days=1, minutes=1)):
        await storage.update_data(key(3), {"locale": "sv"})  # any write sweeps the expired
        assert key(1) not in storage.records
        assert await storage.get_data(key(1)) == {}
        assert await storage.get_state(key(2)) == "profile:asking"
    with clock.travel_to(start + timedelta(days=3)):
        assert await storage.get_state(key(2)) is None
        assert await storage.get_data(key(3)) == {}
        assert len(storage.records) == 0


async def test_beyond_the_size_bound_the_longest_untouched_go_first() -> None:
    storage = BoundedMemoryStorage(max_keys=3)
    for user_id in range(1, 6):
        await storage.update_data(key(user_id), {"locale": "en"})
        await storage.get_data(key(1))  # reading does not keep a record alive
    assert len(storage.records) == 3
    assert [k.user_id for k in storage.records] == [3, 4, 5]


async def test_reads_and_clearing_keep_nothing() -> None:
    storage = BoundedMemoryStorage()
    for user_id in range(100):
        assert await storage.get_state(key(user_id)) is None
        assert await storage.get_data(key(user_id)) == {}
    await storage.update_data(key(1), {"locale": "en"})
    await storage.set_state(key(1), None)
    await storage.set_data(key(1), {})  # what FSMContext.clear() does
    assert len(storage.records) == 0


async def test_data_must_be_a_dict() -> None:
    with pytest.raises(DataNotDictLikeError):
        await BoundedMemoryStorage().set_data(key(1), [("locale", "en")])  # type: ignore[arg-type]
