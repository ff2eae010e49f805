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


BUILD_ALL = """
import json, typing
import bot.app  # loads aiogram as the bot does: Telegram types built at first use
from pydantic import BaseModel
from aiogram.methods.base import Response, TelegramMethod
from aiogram.types import Update

deferred = not Update.__pydantic_complete__
models, todo = [], list(BaseModel.__subclasses__())
while todo:
    model = todo.pop()
    todo.extend(model.__subclasses__())
    generic = model.__pydantic_generic_metadata__
    # generic bases are never built (stock aiogram cannot build TelegramMethod[Message] either)
    if model.__module__.startswith("aiogram.") and not generic["parameters"] and (
        generic["origin"] is not TelegramMethod
    ):
        models.append(model)
failed = []
for model in models:
    try:
        model.model_rebuild()
        assert model.__pydantic_complete__
        returning = getattr(model, "__returning__", None)
        if issubclass(model, TelegramMethod) and returning is not None:
            Response[returning].model_rebuild()  # what a call's answer is read with
    except Exception as exc:
        failed.append(f"{model.__name__}: {type(exc).__name__}")
print(json.dumps({"deferred": deferred, "models": len(models), "failed": failed}))
"""


def test_every_telegram_type_and_answer_builds_when_first_used() -> None:
    """bot/frozen_heap.py leaves aiogram's types unbuilt until used: each of them, every
    method, and the answer of every method must build then (in a process of its own)."""
    out = subprocess.run(
        [sys.executable, "-c", BUILD_ALL], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out)
    assert result["deferred"]  # the probe saw the deferred types, not prebuilt ones
    assert result["models"] > 500
    assert result["failed"] == []
