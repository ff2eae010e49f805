"""The sandbox's one clock: Telegram's dates are whole seconds since the epoch."""

from __future__ import annotations

import time


def now() -> int:
    return int(time.time())
