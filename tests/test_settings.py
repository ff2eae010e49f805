"""Settings read `.env` and the environment as pydantic-settings did before them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings


def test_env_file_environment_and_arguments_in_that_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "BOT_TOKEN=1:from-file\nflood_burst=4\nADMIN_IDS=7, 8\nSOMETHING_ELSE=x\n# note\nEMPTY\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FLOOD_BURST", "5")
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.delenv("ADMIN_IDS", raising=False)
    settings = Settings(_env_file=env_file, default_locale="en")
    assert settings.bot_token == "1:from-file"
    assert settings.flood_burst == 5  # the environment beats the file
    assert settings.admin_ids == frozenset({7, 8})
    assert settings.default_locale == "en"
    assert Settings(_env_file=env_file, flood_burst=6).flood_burst == 6  # arguments beat both


def test_no_env_file_and_defaults_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BOT_API_URL", "ADMIN_IDS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.bot_api_url == "https://api.telegram.org"
    assert settings.admin_ids == frozenset()
    monkeypatch.setenv("bot_api_url", "http://localhost:8081/")  # names match in any case
    assert Settings(_env_file=None).bot_api_url == "http://localhost:8081"
    assert Settings(_env_file=Path("/nonexistent/.env")).webhook_port == 8080
