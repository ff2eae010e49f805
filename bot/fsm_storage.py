"""Conversation state in memory, bounded as it is in Redis: gone a day after it was last
written, and never more than a fixed number of conversations (the longest untouched go first).

aiogram's MemoryStorage keeps every key for as long as the process lives (it even adds one on
every read), so a language chosen before consent, which is stored nowhere else, or a dialog
abandoned halfway would stay in memory indefinitely.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot import clock

CONVERSATION_TTL = timedelta(days=1)
MAX_CONVERSATIONS = 100_000


@dataclass(slots=True)
class Record:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    written: datetime = field(default_factory=clock.now)


class BoundedMemoryStorage(BaseStorage):
    """A record lives `ttl` after its last write; beyond `max_keys` the oldest is dropped.

    Records are kept in the order they were last written, so expiry sweeps from the front
    and stops at the first live one: each write costs O(1) amortised.
    """

    def __init__(
        self, ttl: timedelta = CONVERSATION_TTL, max_keys: int = MAX_CONVERSATIONS
    ) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.ttl, self.max_keys = ttl, max_keys
        self.records: OrderedDict[StorageKey, Record] = OrderedDict()

    def _expired(self, record: Record, now: datetime) -> bool:
        return now - record.written >= self.ttl

    def _live(self, key: StorageKey) -> Record | None:
        record = self.records.get(key)
        if record is not None and self._expired(record, clock.now()):
            del self.records[key]
            return None
        return record

    def _sweep(self, now: datetime) -> None:
        while self.records:
            oldest = next(iter(self.records.values()))
            if not self._expired(oldest, now) and len(self.records) <= self.max_keys:
                return
            self.records.popitem(last=False)

    def _store(self, key: StorageKey, record: Record) -> None:
        now = clock.now()
        self.records.pop(key, None)
        if record.state is not None or record.data:  # an empty record is no record
            record.written = now
            self.records[key] = record
        self._sweep(now)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        record = self._live(key) or Record()
        record.state = state.state if isinstance(state, State) else state
        self._store(key, record)

    async def get_state(self, key: StorageKey) -> str | None:
        record = self._live(key)
        return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        record = self._live(key) or Record()
        record.data = data.copy()
        self._store(key, record)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = self._live(key)
        return record.data.copy() if record else {}

    async def close(self) -> None:
        self.records.clear()
