"""A module loaded at its first use rather than at import (`importlib.util.LazyLoader`).

For what only a rare path needs (an organiser's talent search, the CSV import): a handler
module can name it at the top as usual, register its handlers at start, and leave the memory
of the module itself to the first member who needs it (measured in bench/startup.py).
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module `name`, executed at the first attribute read (at once if already loaded)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
