"""The one clock every service, handler and stored default reads "now" from.

Tests move it (`travel_to`) so that nothing passes or fails by the hour the suite runs at;
the time keeps ticking from there, so timeouts and orderings still behave as in real life.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """The current moment, aware, in UTC."""
    return datetime.now(UTC) + _offset


@contextmanager
def travel_to(moment: datetime) -> Iterator[None]:
    """Run the block as if it were `moment` (aware); the clock ticks on from there."""
    global _offset
    if moment.tzinfo is None:
        raise ValueError("travel_to needs an aware datetime")
    before = _offset
    _offset = moment - datetime.now(UTC)
    try:
        yield
    finally:
        _offset = before
