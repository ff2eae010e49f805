"""Rare paths' modules load at their first use, not at start (bot/lazy.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
import bot.app
loaded = lambda name: name in sys.modules and type(sys.modules[name]).__name__ == "module"
print(*(loaded(n) for n in ("bot.services.talent", "bot.services.workshop_csv")))
from handlers import talent, workshop_import
print(talent.talent.PAGE_SIZE > 0, callable(workshop_import.workshop_csv.describe))
print(*(loaded(n) for n in ("bot.services.talent", "bot.services.workshop_csv")))
"""


def test_the_talent_search_and_csv_import_load_at_first_use() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[:3] == ["False False", "True True", "True True"]
