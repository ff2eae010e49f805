"""Runtime configuration, read from the environment and `.env`, checked once at start."""

from __future__ import annotations

import re
import sys
from functools import cached_property
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SUPPORTED_LOCALES = ("nl", "en", "sv")
TELEGRAM_API_URL = "https://api.telegram.org"
SANDBOX_TOKEN = "100000:sandbox"


class Settings(BaseSettings):
    """Every knob an operator may turn; names are a stable interface (see README)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: str = ""
    bot_api_url: str = TELEGRAM_API_URL
    database_url: str = "sqlite+aiosqlite:///ledenbot.db"
    redis_url: str | None = None
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    default_locale: str = "nl"
    timezone: str = "Europe/Amsterdam"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8080
    # Webhook worker processes sharing WEBHOOK_PORT (more than one needs PostgreSQL and Redis).
    webhook_workers: int = Field(default=1, ge=1, le=32)
    flood_rate: float = 3.0
    flood_burst: int = 8
    reminder_hours: float = Field(default=24.0, gt=0, le=24 * 14)
    reminder_interval: float = Field(default=60.0, gt=0)
    suggest_max_km: float = Field(default=150.0, gt=0)  # suggestions leave out farther ones
    contact_requests_per_day: int = Field(default=20, ge=1)
    # Updates handled at once per process (polling); measured in bench/signup_burst.py.
    concurrent_updates: int = Field(default=200, ge=1, le=1000)
    # Messages a second the bot may send: Telegram's 30, up to 1,000 with paid broadcasts.
    broadcast_rate: float = Field(default=30.0, gt=0, le=1000)
    # A broadcast to more members than this needs a second organiser's or an admin's yes.
    broadcast_approval_over: int = Field(default=1000, ge=0)
    # The confidential path's key (32 bytes, URL-safe base64); without it the path is off.
    confidential_key: SecretStr | None = None
    # Days a closed confidential case is kept before it is purged.
    confidential_retention_days: int = Field(default=90, ge=1, le=3650)
    # Questions (issue 11): open claims one volunteer may hold; hours before an unanswered
    # question goes to the region's organisers; minutes before an unclaimed one is assigned.
    question_claim_cap: int = Field(default=5, ge=1, le=100)
    question_escalate_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    question_rotate_minutes: float = Field(default=60.0, gt=0, le=24 * 60 * 7)
    # Welcome follow-up (issue 12): members who consented in the last this many days are
    # assigned to a volunteer of their region.
    welcome_days: int = Field(default=30, ge=1, le=365)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> frozenset[int]:
        if value is None or value == "":
            return frozenset()
        if isinstance(value, int):
            return frozenset({value})
        if isinstance(value, list | tuple | set | frozenset):
            parts = [str(v) for v in value]
        else:
            parts = [p.strip() for p in str(value).split(",") if p.strip()]
        bad = [p for p in parts if not p.lstrip("-").isdigit()]
        if bad:
            raise ValueError(
                f"expected comma-separated Telegram user ids such as 12345,67890; "
                f"not a number: {', '.join(repr(b) for b in bad)}"
            )
        return frozenset(int(p) for p in parts)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(
                "expected an SQLAlchemy URL such as sqlite+aiosqlite:///ledenbot.db "
                "or postgresql+asyncpg://user@host/db"
            ) from exc
        if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError(
                f"driver {url.drivername!r} is not supported; "
                "use sqlite+aiosqlite:/// or postgresql+asyncpg://"
            )
        return value

    @field_validator("default_locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("expected an IANA time zone such as Europe/Amsterdam") from exc
        return value

    @field_validator("bot_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value):
            raise ValueError("use 16 to 256 characters from A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("confidential_key", mode="before")
    @classmethod
    def _check_confidential_key(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        from bot.sealing import parse_key

        parse_key(text)  # raises BadKey (a ValueError) with the reason
        return text.strip()

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SettingsError(SystemExit):
    """Raised with a readable, per-variable explanation; exits non-zero."""


def load_settings(**overrides: object) -> Settings:
    """Build the settings or exit with one line per wrong variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = ["ledenbot: the configuration is not valid:"]
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"  {name}: {msg}")
        print("\n".join(lines), file=sys.stderr)
        raise SettingsError(2) from None
