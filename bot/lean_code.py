"""Load the libraries (SQLAlchemy, aiogram, pydantic, the standard library's modules not yet
loaded, ...) without the docstrings of their functions and classes, as `python -OO` would,
but keeping `assert` and touching nothing else.

Their docstrings are API documentation (SQLAlchemy's alone 2 MiB, aiogram's 1.1 MiB) that a
running bot never reads, yet each string stays in memory for the life of the process. `-OO`
is not an option for a console script, and it would drop asserts too. The standard library
and these libraries run under `-OO`, so code without its docstrings is a case they support;
but SQLAlchemy rewrites the docstrings of its event hooks while importing and asserts one is
there, so modules named `events` lose those of their classes' functions only once they have
run (0.28 MiB). So do module docstrings (`ledenbot --help`
shows one), our own code, and Alembic with its templates (loaded only to migrate; Alembic's
command line reads its commands' docstrings).

Their code also loses its column positions, as `python -X no_debug_ranges` would compile
it: the line numbers stay (tracebacks name the same lines), only the ^^^ markers under the
failing expression go (0.45 MiB of idle memory).

The lean code is kept beside the usual cache (`__pycache__/*.opt-lean2.pyc`), so a start
loads it ready-made; where that folder cannot be written, every start strips again (~0.2 s).

Imported first by bot.cli and bot.app. Only on Python 3.11 and 3.12, where a function's
docstring (or None) is always its first constant.
"""

from __future__ import annotations

import _imp
import dis
import marshal
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
from importlib.util import MAGIC_NUMBER, cache_from_source
from types import CodeType, FunctionType, ModuleType

# Packages that keep their docstrings: ours, and Alembic with what it loads; numpy and
# matplotlib too (loaded only for a report's chart), because numpy.ma asserts on the
# docstrings it rewrites and fails on half-stripped ones.
KEEP = frozenset(
    {"bot", "handlers", "storage", "sandbox", "tests", "bench", "scripts", "alembic", "mako"}
    | {"numpy", "matplotlib"}
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


def without_columns(code: CodeType) -> CodeType:
    """The same code with a location table of line numbers only: one "no column" entry per
    run of up to 8 code units on one line (the format is CPython's Objects/locations.md)."""
    consts = tuple(
        without_columns(const) if type(const) is CodeType else const for const in code.co_consts
    )
    table = bytearray()
    previous = code.co_firstlineno
    for start, end, line in code.co_lines():
        units = (end - start) >> 1
        while units > 0:
            size = min(units, 8)
            units -= size
            if line is None:
                table.append(0xF8 | (size - 1))  # kind 15: no location
                continue
            delta, previous = line - previous, line
            table.append(0xE8 | (size - 1))  # kind 13: a line delta, no columns
            value = (-delta << 1) | 1 if delta < 0 else delta << 1  # signed varint
            while value >= 64:
                table.append(0x40 | (value & 63))
                value >>= 6
            table.append(value)
    return code.replace(co_consts=consts, co_linetable=bytes(table))


def lean(code: CodeType) -> CodeType:
    return without_columns(without_docstrings(code))


_TAG = "lean2"  # part of the cached files' names: a new one when `lean` changes


class _Loader(SourceFileLoader):
    make = staticmethod(lean)

    def get_code(self, fullname: str) -> CodeType:
        """The lean code from its own cache file when that is as new as the source (checked
        as the usual .pyc is: modification time and size), else made and cached."""
        source = self.get_filename(fullname)
        cached = cache_from_source(source, optimization=_TAG)
        stats = self.path_stats(source)
        header = b"".join(
            (
                MAGIC_NUMBER,
                bytes(4),  # flags 0: checked by time and size
                (int(stats["mtime"]) & 0xFFFFFFFF).to_bytes(4, "little"),
                (int(stats["size"]) & 0xFFFFFFFF).to_bytes(4, "little"),
            )
        )
        try:
            data = self.get_data(cached)
        except OSError:
            data = b""
        if data[:16] == header:
            try:
                code = marshal.loads(memoryview(data)[16:])
            except (EOFError, ValueError, TypeError):
                pass  # a truncated or foreign file: make it again
            else:
                if type(code) is CodeType:
                    _imp._fix_co_filename(code, source)
                    return code
        code = super().get_code(fullname)
        assert code is not None  # a source file always has code
        code = self.make(code)
        if not sys.dont_write_bytecode:
            self.set_data(cached, header + marshal.dumps(code))  # quietly skipped if read-only
        return code


class _EventsLoader(_Loader):
    """A module named `events`: SQLAlchemy reads (and rewrites) the docstrings of its event
    hooks while it runs, so they go only afterwards."""

    make = staticmethod(without_columns)

    def exec_module(self, module: ModuleType) -> None:
        super().exec_module(module)
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__ == module.__name__:
                for function in vars(value).values():
                    if type(function) is FunctionType and function.__doc__ is not None:
                        function.__code__ = without_docstrings(function.__code__)
                        function.__doc__ = None


class _Finder:
    @staticmethod
    def find_spec(
        name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name.partition(".")[0] in KEEP:
            return None
        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and type(spec.loader) is SourceFileLoader:
            kind = _EventsLoader if name.rpartition(".")[2] == "events" else _Loader
            spec.loader = kind(spec.loader.name, spec.loader.path)
        return spec


if (3, 11) <= sys.version_info < (3, 13) and _Finder not in sys.meta_path:
    sys.meta_path.insert(0, _Finder)  # type: ignore[arg-type]
