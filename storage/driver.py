"""Hot read queries run straight on the database driver.

SQLAlchemy builds and compiles such a query once per shape; each call then hands the driver
the SQL and its parameters and takes the rows as the driver gives them. For a list of 500
workshops this saves about 2 ms a call (bench/suggest.py): no statement rebuilt and looked up
in the cache, no result processing per value, and on aiosqlite one hop to its thread instead
of three (execute, fetch, close). The caller converts the few values that need it
(`timestamp`, `flag`): SQLite gives timestamps as text and booleans as 0/1.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

# How SQLAlchemy's SQLite DateTime stores a timestamp: comparisons are on this text.
_SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True, slots=True)
class Compiled:
    """A query's SQL for one dialect, the order its parameters go in, and the values of the
    ones the query itself fixed (`status = 'published'`)."""

    sql: str
    names: tuple[str, ...]
    fixed: Mapping[str, Any]


_compiled: dict[tuple[str, Hashable], Compiled] = {}


def compiled(dialect: Dialect, shape: Hashable, build: Callable[[], Select[Any]]) -> Compiled:
    """The query `build` makes for this `shape`, compiled the first time it is asked for.

    `build` must name every value that varies with `bindparam(name, required=False)`; the
    shape must say everything else the query's text depends on.
    """
    key = (dialect.name, shape)
    found = _compiled.get(key)
    if found is None:
        done = build().compile(dialect=dialect)
        names = tuple(done.positiontup or ())
        found = _compiled[key] = Compiled(str(done), names, done.construct_params())
    return found


async def fetch(
    conn: AsyncConnection, query: Compiled, values: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """The rows of `query` with `values` for its named parameters, as the driver returns them."""
    sqlite = conn.dialect.name == "sqlite"
    params = []
    for name in query.names:
        value = values[name] if name in values else query.fixed[name]
        if isinstance(value, datetime):
            value = value.astimezone(UTC)
            if sqlite:
                value = value.strftime(_SQLITE_TIMESTAMP)
        params.append(value)
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    if sqlite:
        return await driver.execute_fetchall(query.sql, params)  # type: ignore[no-any-return]
    return await driver.fetch(query.sql, *params)  # type: ignore[no-any-return]


def timestamp(value: str | datetime) -> datetime:
    """A stored UTC timestamp as an aware datetime, from either driver."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
