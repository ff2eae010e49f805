"""Load SQLAlchemy and aiogram without their functions' docstrings, as `python -OO` would,
but keeping `assert` and touching nothing else.

Their docstrings are API documentation (SQLAlchemy's alone 1.6 MiB, aiogram's Bot methods
0.9 MiB) that a running bot never reads, yet each string stays in memory for the life of the
process. `-OO` is not an option for a console script, and it would drop asserts too. Both
libraries run under `-OO`, so a function without its docstring is a case they support; but
SQLAlchemy rewrites the docstrings of its event hooks while importing and asserts one is
there, so modules named `events` keep theirs.

Imported first by bot.cli and bot.app, before either library. Only on Python 3.11 and 3.12,
where a function's docstring (or None) is always its first constant.
"""

from __future__ import annotations

import dis
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
from types import CodeType, ModuleType

PACKAGES = frozenset({"sqlalchemy", "aiogram"})

_CO_OPTIMIZED = 0x0001  # a function's code; a module's or a class body's lacks it
# Instructions that read co_consts[0] look like (opcode, 0) not preceded by EXTENDED_ARG.
_READS_FIRST_CONST = [bytes((op, 0)) for op in dis.hasconst]
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]


def _reads_first_const(code: CodeType) -> bool:
    raw = code.co_code
    for pattern in _READS_FIRST_CONST:
        at = raw.find(pattern)
        while at >= 0:
            if at % 2 == 0 and (at == 0 or raw[at - 2] != _EXTENDED_ARG):
                return True
            at = raw.find(pattern, at + 1)
    return False


def without_docstrings(code: CodeType) -> CodeType:
    """The same code with each function's docstring constant replaced by None (unless the
    body itself loads that string)."""
    consts = tuple(without_docstrings(c) if isinstance(c, CodeType) else c for c in code.co_consts)
    if (
        code.co_flags & _CO_OPTIMIZED
        and not code.co_name.startswith("<")  # lambdas, comprehensions
        and consts
        and isinstance(consts[0], str)
        and not _reads_first_const(code)
    ):
        consts = (None, *consts[1:])
    if all(a is b for a, b in zip(consts, code.co_consts, strict=True)):
        return code
    return code.replace(co_consts=consts)


class _Loader(SourceFileLoader):
    def get_code(self, fullname: str) -> CodeType:
        code = super().get_code(fullname)
        assert code is not None  # a source file always has code
        return without_docstrings(code)


class _Finder:
    @staticmethod
    def find_spec(
        name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name.partition(".")[0] not in PACKAGES or name.rpartition(".")[2] == "events":
            return None
        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and type(spec.loader) is SourceFileLoader:
            spec.loader = _Loader(spec.loader.name, spec.loader.path)
        return spec


if (3, 11) <= sys.version_info < (3, 13) and _Finder not in sys.meta_path:
    sys.meta_path.insert(0, _Finder)  # type: ignore[arg-type]
