"""bot.lean_code drops column positions, keeps every line number, and caches what it made."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import CodeType

import pytest

from bot.lean_code import lean, without_columns

ROOT = Path(__file__).resolve().parent.parent
LEAN_ONLY = pytest.mark.skipif(
    not (3, 11) <= sys.version_info < (3, 13), reason="3.11 and 3.12 only"
)

SOURCE = textwrap.dedent(
    '''
    import math

    def long_lines(values):
        """A docstring."""
        total = sum(v * 2 for v in values if v) + (
            len(values)
            - 1
        )
        try:
            return math.sqrt(total) / (total - total)
        except ZeroDivisionError:
            return [x for x in range(300)][len(values)]

    class Thing:
        def method(self):
            return lambda: 1 / 0
    '''
) + ("\n" * 500 + "def far_below():\n    return 'far'\n")


def codes(code: CodeType) -> list[CodeType]:
    nested = [c for c in code.co_consts if isinstance(c, CodeType)]
    return [code] + [inner for c in nested for inner in codes(c)]


@LEAN_ONLY
def test_every_line_number_stays_and_no_column_is_left() -> None:
    original = compile(SOURCE, "<test>", "exec")
    stripped = without_columns(original)
    for before, after in zip(codes(original), codes(stripped), strict=True):
        assert list(after.co_lines()) == list(before.co_lines())
        assert all(pos[2:] == (None, None) for pos in after.co_positions())
        assert after.co_code == before.co_code
    assert sum(len(c.co_linetable) for c in codes(stripped)) < sum(
        len(c.co_linetable) for c in codes(original)
    )


@LEAN_ONLY
def test_lean_code_runs_alike() -> None:
    namespace: dict[str, object] = {}
    exec(lean(compile(SOURCE, "<test>", "exec")), namespace)
    long_lines, thing, far_below = (namespace[n] for n in ("long_lines", "Thing", "far_below"))
    assert long_lines([1, 2]) == 2  # type: ignore[operator]
    assert far_below() == "far"  # type: ignore[operator]
    with pytest.raises(ZeroDivisionError) as caught:
        thing().method()()  # type: ignore[operator]
    assert caught.traceback[-1].lineno + 1 == 17  # the line of `1 / 0` (0-based in pytest)


PROBE = """
import bot.lean_code, leanprobe, traceback
try:
    leanprobe.fail()
except ZeroDivisionError:
    shown = traceback.format_exc().count('leanprobe.py", line 4,')
    print(shown, leanprobe.fail.__doc__, leanprobe.ok())
"""


@LEAN_ONLY
def test_a_library_is_cached_lean_and_loaded_from_that_cache(tmp_path: Path) -> None:
    (tmp_path / "leanprobe.py").write_text(
        'def ok():\n    return "ok"\ndef fail():\n    """Doc."""; return 1 / 0\n'
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    def probe() -> str:
        return subprocess.run(
            [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    assert probe() == "1 None ok"  # made, and written beside the usual cache
    cached = list((tmp_path / "__pycache__").glob("leanprobe.*.opt-lean2.pyc"))
    assert len(cached) == 1
    assert probe() == "1 None ok"  # loaded from that file
    (tmp_path / "leanprobe.py").write_text(
        'def ok():\n    return "new"\ndef fail():\n    """Doc."""; return 1 / 0\n'
    )  # a different size: the cache is stale
    assert probe() == "1 None new"
