"""bot.lean_code drops docstrings only: the code runs as before."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.lean_code import without_docstrings

ROOT = Path(__file__).resolve().parent.parent

SOURCE = textwrap.dedent(
    '''
    def plain(x):
        """Documentation nobody reads."""
        return [y for y in "ab" if y != x]

    def reads_its_docstring():
        """same"""
        return "same"

    async def coroutine():
        """Also documentation."""
        return lambda: "lambda"

    class Thing:
        """Gone too."""

        label = "thing"

        def method(self):
            """Gone."""
            return "method"

    class Echo:
        """echo"""

        said = "echo"
    '''
)


@pytest.mark.skipif(not (3, 11) <= sys.version_info < (3, 13), reason="3.11 and 3.12 only")
def test_functions_lose_their_docstrings_and_nothing_else() -> None:
    namespace: dict[str, object] = {}
    exec(without_docstrings(compile(SOURCE, "<test>", "exec")), namespace)
    plain, reads, coroutine, thing, echo = (
        namespace[n] for n in ("plain", "reads_its_docstring", "coroutine", "Thing", "Echo")
    )
    assert plain.__doc__ is None and plain("a") == ["b"]  # type: ignore[attr-defined,operator]
    assert reads.__doc__ == "same" and reads() == "same"  # type: ignore[attr-defined,operator]
    assert coroutine.__doc__ is None  # type: ignore[attr-defined]
    assert thing.__doc__ is None and thing.label == "thing"  # type: ignore[attr-defined]
    assert echo.__doc__ == "echo" and echo.said == "echo"  # type: ignore[attr-defined]
    assert thing.method.__doc__ is None and thing().method() == "method"  # type: ignore[attr-defined,operator]


PROBE = """
import bot.cli, sqlalchemy, aiogram
from sqlalchemy.orm import Session, relationship
from sqlalchemy.orm.events import MapperEvents
engine = sqlalchemy.create_engine("sqlite://")
with Session(engine) as session:
    assert session.scalar(sqlalchemy.text("select 1")) == 1
hook = MapperEvents.before_insert
print(relationship.__doc__, aiogram.Bot.send_message.__doc__, Session.__doc__, bool(hook.__doc__))
"""


@pytest.mark.skipif(not (3, 11) <= sys.version_info < (3, 13), reason="3.11 and 3.12 only")
def test_the_bot_loads_sqlalchemy_and_aiogram_lean() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == [
        "None",
        "None",
        "None",
        "False",
    ]  # event hooks lose theirs too, once SQLAlchemy has read them (see bot.lean_code)
