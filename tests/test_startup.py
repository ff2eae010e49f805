"""What `ledenbot run` loads before its first update: only what polling needs.

Alembic, the QR library, rapidfuzz and the sandbox are imported where they are used; an
import added at the top of a module on the start-up path would bring them back silently, and
bench/startup.py is not run in CI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAZY = ("alembic", "mako", "pygments", "segno", "rapidfuzz", "sandbox")

PROBE = """
import gc, json, sys
import bot.cli, bot.app
print(json.dumps({"modules": sorted({m.split(".")[0] for m in sys.modules}),
                  "frozen": gc.get_freeze_count()}))
"""


def test_the_start_up_path_leaves_out_what_only_some_commands_use() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    assert not set(LAZY) & set(loaded["modules"])
    # aiogram's objects are out of the collector's sight before our modules add to the heap
    assert loaded["frozen"] > 100_000
