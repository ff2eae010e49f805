"""CSV cells that a spreadsheet shows as text and never runs (OWASP "CSV injection").

Every CSV the bot writes goes through `SafeWriter`: a cell that Excel or LibreOffice would
read as a formula (it starts with = + - @, a tab or a carriage return) is written behind an
apostrophe, which the spreadsheet hides. Names and titles come from members and organisers,
so none of them may become a formula on an organiser's computer. `unguard` undoes it, for
the workshop import, so that an exported file imports again unchanged.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"


def guard(value: object) -> str:
    """The cell as text, behind an apostrophe when a spreadsheet would run it."""
    text = "" if value is None else str(value)
    return GUARD + text if text.startswith(FORMULA_START) else text


def unguard(text: str) -> str:
    """The cell as it was before `guard`."""
    if text.startswith(GUARD) and text[1:2] in FORMULA_START:
        return text[1:]
    return text


class SafeWriter:
    """csv.writer whose every cell is guarded: no caller can forget one."""

    def __init__(self, out: TextIO, delimiter: str = ";") -> None:
        self._writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")

    def writerow(self, cells: Iterable[object]) -> None:
        self._writer.writerow([guard(cell) for cell in cells])
