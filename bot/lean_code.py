"""Load the libraries (SQLAlchemy, aiogram, pydantic, the standard library's modules not yet
loaded, ...) without the docstrings of their functions and classes, as `python -OO` would,
but keeping `assert` and touching nothing else.

Their docstrings are API documentation (SQLAlchemy's alone 2 MiB, aiogram's 1.1 MiB) that a
running bot never reads, yet each string stays in memory for the life of the process. `-OO`
is not an option for a console script, and it would drop asserts too. The standard library
and these libraries run under `-OO`, so code without its docstrings is a case they support;
but SQLAlchemy rewrites the docstrings of its event hooks while importing and asserts one is
there, so modules named `events` keep theirs. So do module docstrings (`ledenbot --help`
shows one), our own code, and Alembic with its templates (loaded only to migrate; Alembic's
command line reads its commands' docstrings).

Imported first by bot.cli and bot.app. Only on Python 3.11 and 3.12, where a function's
docstring (or None) is always its first constant.
"""

from __future__ import annotations

import dis
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
from types import CodeType, ModuleType

# Packages that keep their docstrings: ours, and Alembic with what it loads.
KEEP = frozenset(
    {"bot", "handlers", "storage", "sandbox", "tests", "bench", "scripts", "alembic", "mako"}
)

_CO_OPTIMIZED = 0x0001  # a function's code; a module's or a class body's lacks it
_HAS_CONST = tuple(dis.hasconst)
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]
_LOAD_CONST = dis.opmap["LOAD_CONST"]
_STORE_NAME = dis.opmap["STORE_NAME"]


def _const_loads(code: CodeType, index: int) -> int:
    """How many instructions read co_consts[index] (below 256: no EXTENDED_ARG)."""
    raw, count = code.co_code, 0
    for op in _HAS_CONST:
        at = raw.find(bytes((op, index)))
        while at >= 0:
            if at % 2 == 0 and (at == 0 or raw[at - 2] != _EXTENDED_ARG):
                count += 1
            at = raw.find(bytes((op, index)), at + 1)
    return count


def _docstring_index(code: CodeType) -> int | None:
    """Where the docstring of a function or a class body is among its constants."""
    if code.co_flags & _CO_OPTIMIZED:
        # lambdas and comprehensions have none; a function's is first, unless it is None
        if code.co_name.startswith("<") or not code.co_consts:
            return None
        index = 0
        loads = 0  # the function's code does not load its docstring
    elif code.co_name != "<module>" and "__doc__" in code.co_names:
        name = code.co_names.index("__doc__")  # a class body: LOAD_CONST k, STORE_NAME __doc__
        at = code.co_code.find(bytes((_STORE_NAME, name))) if name < 256 else -1
        if at < 2 or at % 2 or code.co_code[at - 2] != _LOAD_CONST:
            return None
        index = code.co_code[at - 1]
        loads = 1
        if at >= 4 and code.co_code[at - 4] == _EXTENDED_ARG:
            return None
    else:
        return None
    if not isinstance(code.co_consts[index], str) or _const_loads(code, index) != loads:
        return None
    return index


def without_docstrings(code: CodeType) -> CodeType:
    """The same code with the docstrings of its functions and classes replaced by None,
    unless the code also reads that string for something else."""
    consts: list[object] | None = None  # a copy, once something changes
    for i, const in enumerate(code.co_consts):
        if type(const) is CodeType:
            lean = without_docstrings(const)
            if lean is not const:
                consts = consts or list(code.co_consts)
                consts[i] = lean
    index = _docstring_index(code)
    if index is not None:
        consts = consts or list(code.co_consts)
        consts[index] = None
    return code if consts is None else code.replace(co_consts=tuple(consts))


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
        if name.partition(".")[0] in KEEP or name.rpartition(".")[2] == "events":
            return None
        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and type(spec.loader) is SourceFileLoader:
            spec.loader = _Loader(spec.loader.name, spec.loader.path)
        return spec


if (3, 11) <= sys.version_info < (3, 13) and _Finder not in sys.meta_path:
    sys.meta_path.insert(0, _Finder)  # type: ignore[arg-type]
