"""Telegram's flood limits and size limits, so broadcasts are measured against the real rules.

Telegram documents "about 30 messages per second" per bot, "no more than one message per
second" in a single chat (short bursts are tolerated) and "no more than 20 messages per
minute" in a group. Each is a token bucket here: ``rate`` tokens per second refill a bucket
of ``burst`` tokens; a send that finds any of its buckets empty is answered with 429 and the
whole seconds until a token is back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What the sandbox enforces; defaults are Telegram's, tests tighten or relax them."""

    enabled: bool = True
    """False turns every flood limit off (size and format checks stay)."""
    bot_per_second: float = 30.0
    bot_burst: int = 30
    private_per_second: float = 1.0
    private_burst: int = 4
    group_per_minute: float = 20.0
    group_burst: int = 20
    edits_per_second: float | None = None
    """Per-chat limit on edits (editMessage*); None: edits are not limited."""
    edits_burst: int = 5
    max_text_length: int = 4096
    max_caption_length: int = 1024
    max_callback_data: int = 64
    max_buttons: int = 100
    max_upload_bytes: int = 50 * MB
    max_photo_bytes: int = 10 * MB
    max_download_bytes: int = 20 * MB
    callback_query_ttl: float | None = 15.0
    """Seconds after which answerCallbackQuery fails as "query is too old"; None: never."""

    @classmethod
    def off(cls) -> Limits:
        """No flood limits at all: for functional tests that do not care about speed."""
        return cls(enabled=False)

    @classmethod
    def relaxed(cls) -> Limits:
        """Telegram's global limit, but a quick conversation in one chat is never throttled."""
        return cls(private_per_second=50.0, private_burst=50, group_per_minute=600, group_burst=50)

    def but(self, **changes: float | int | bool | None) -> Limits:
        """A copy with some fields changed: ``Limits().but(private_burst=1)``."""
        return replace(self, **changes)  # type: ignore[arg-type]


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.tokens = float(self.burst)
        self.updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 when one is)."""
        self._refill(now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else math.inf

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0


class RateLimiter:
    """The buckets of every bot and chat; asks all of a send's buckets before taking any."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._buckets: dict[tuple[object, ...], TokenBucket] = {}

    def _bucket(self, key: tuple[object, ...], rate: float, burst: int, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate, burst, now)
        return bucket

    def _acquire(self, buckets: list[TokenBucket], now: float) -> int | None:
        wait = max((b.wait(now) for b in buckets), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait)) if math.isfinite(wait) else 3600
        for bucket in buckets:
            bucket.take(now)
        return None

    def send(self, bot_id: int, chat_id: int, is_group: bool, now: float) -> int | None:
        """Take a token for one message; returns retry_after seconds when over a limit."""
        lim = self.limits
        if not lim.enabled:
            return None
        buckets = [self._bucket(("bot", bot_id), lim.bot_per_second, lim.bot_burst, now)]
        if is_group:
            rate = lim.group_per_minute / 60.0
            buckets.append(self._bucket(("chat", bot_id, chat_id), rate, lim.group_burst, now))
        else:
            buckets.append(
                self._bucket(
                    ("chat", bot_id, chat_id), lim.private_per_second, lim.private_burst, now
                )
            )
        return self._acquire(buckets, now)

    def edit(self, bot_id: int, chat_id: int, now: float) -> int | None:
        """Take a token for one edit, if edits are limited at all."""
        lim = self.limits
        if not lim.enabled or lim.edits_per_second is None:
            return None
        key = ("edit", bot_id, chat_id)
        return self._acquire([self._bucket(key, lim.edits_per_second, lim.edits_burst, now)], now)
