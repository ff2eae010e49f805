"""The demand chart: a PNG Telegram takes as a photo and a phone shows legibly; matplotlib
loaded only when one is drawn."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

from bot import report_chart
from bot.services.demand import TOP, SkillDemand
from tests.demand_data import LONG

ROOT = Path(__file__).resolve().parent.parent
LABELS = report_chart.Labels(
    "Wensen en trainers — Oost",
    "30 november 2026 · 10 leden",
    "Willen het leren",
    "Kunnen het geven",
    "geen workshop gepland in de komende 3 maanden",
    "Nog geen leerwensen",
)


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _skills(n: int) -> list[SkillDemand]:
    first = SkillDemand(1, (LONG, LONG, "Läsa budgetar"), 40, 2, 0)
    return [first] + [
        SkillDemand(i + 2, (f"Vaardigheid {i}", f"Skill {i}", f"Förmåga {i}"), 30 - i, i % 4, i % 2)
        for i in range(n - 1)
    ]


def test_chart_renders_a_phone_sized_png() -> None:
    png = report_chart.render(_skills(TOP), "sv", LABELS)
    width, height = _size(png)
    assert width == 1000  # shown about 400 px wide: 9-10 pt text stays readable
    assert 1500 < height < 4000  # within Telegram's photo limits (sum ≤ 10,000, ratio ≤ 20)
    assert 20_000 < len(png) < 1_000_000


def test_empty_report_still_draws() -> None:
    width, height = _size(report_chart.render([], "nl", LABELS))
    assert width == 1000 and height < 1000


def test_long_skill_names_wrap_on_two_lines_at_most() -> None:
    shown = report_chart.label(LONG)
    assert len(shown.split("\n")) == 2
    assert all(len(line) <= report_chart.LABEL_CHARS for line in shown.split("\n"))
    assert shown.endswith("…")
    assert report_chart.label("Debatteren") == "Debatteren"
    assert report_chart.label("x" * 100).count("\n") == 1


PROBE = """
import sys
import bot.app
import handlers.report
loaded = lambda name: name in sys.modules and type(sys.modules[name]).__name__ == "module"
print(*(loaded(n) for n in ("matplotlib", "bot.report_chart", "bot.services.demand")))
"""


def test_matplotlib_is_not_imported_at_start() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False", "False"]
