"""The report's views at the largest input: hundreds of skills with 100-character names
(HTML in them), formulas in workshop titles."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot import report_chart
from bot.services.demand import Report, SkillDemand, gaps_of
from bot.settings import Settings
from handlers.report import summary
from storage.repositories.demand import PastRow
from tests.botrunner import I18N
from tests.factories import NOW

TZ = ZoneInfo("Europe/Amsterdam")


def largest() -> Report:
    name = ("<b>R&D</b> " + "x" * 100)[:100]
    skills = [SkillDemand(i, (name, name, name), 10_000 - i, i, 0) for i in range(300)]
    past = [
        PastRow(i, '=HYPERLINK("x")', NOW - timedelta(days=i + 1), "oost", 20, 20, 19, 5, 4.2)
        for i in range(400)
    ]
    return Report("oost", "Oost", NOW, 100_000, skills, past, gaps_of(skills))


def test_the_summary_fits_one_message_and_escapes_names() -> None:
    settings = Settings(_env_file=None, bot_token="1:x")  # type: ignore[call-arg]
    for locale in ("nl", "en", "sv"):
        with I18N.context(), I18N.use_locale(locale):
            text = summary(largest(), locale, settings)
        assert len(text) <= 4096
        assert "<b>R&D" not in text and "&lt;b&gt;R&amp;D" in text
        assert "100.000" in text or "100,000" in text or "100\xa0000" in text


def test_the_chart_shows_only_the_top_and_stays_phone_sized() -> None:
    report = largest()
    with I18N.context(), I18N.use_locale("sv"):
        labels = report_chart.labels_for(report, "sv", TZ)
    png = report_chart.render(report.top, "sv", labels)
    assert len(report.top) == 15
    assert len(png) < 10 * 1024 * 1024


def test_the_csv_guards_formulas() -> None:
    from bot.services.demand import csv_bytes

    text = csv_bytes(largest(), "nl", TZ).decode("utf-8-sig")
    assert text.count("\r\n") == 1 + 300 + 400
    assert ";\"'=HYPERLINK" in text and ';"=HYPERLINK' not in text
