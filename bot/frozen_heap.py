"""Imported by bot.app before anything else: loads aiogram without the cyclic garbage
collector and then moves every object alive out of its sight (`gc.freeze()`).

Importing aiogram builds its ~600 pydantic models: about 190,000 objects, of which some 1,700
are garbage. The collector walks all of them three times while they are built, and once more
when our modules and SQLAlchemy add theirs: 0.4-0.6 s of CPU at every start for nothing,
since module-level objects live as long as the process. Frozen objects are still freed by
reference counting; the few cycles among them stay (well under 1 MiB).
"""

from __future__ import annotations

import gc
import sys

if "aiogram" not in sys.modules:
    gc.disable()
    try:
        import aiogram  # noqa: F401
    finally:
        gc.enable()
gc.freeze()
