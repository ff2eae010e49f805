"""Imported by bot.app before anything else: loads aiogram with the validators of its
Telegram types left to their first use, without the cyclic garbage collector, and then moves
every object alive out of the collector's sight (`gc.freeze()`).

aiogram declares its ~450 Telegram types with pydantic's `defer_build`, but its
`aiogram.types` then rebuilds every one of them eagerly (`model_rebuild` with the namespace
that resolves their forward references). Each rebuilt type holds a complete validator and
serializer of everything it can contain, so the types that nest (an Update holds a Message,
which holds nearly every other type) repeat one another: 106 MiB of the bare aiogram bot's
166, and about 1 s of CPU at every start. Here those rebuilds only leave the namespace on the
type (`__pydantic_parent_namespace__`, where pydantic looks when it builds a deferred model),
so a type is built the first time an update, a reply or a request uses it: an Update with a
message and a callback query cost 4 MiB and 0.1 s once. Nothing else changes: the same
pydantic builds the same validators from the same namespace, later.

Importing aiogram makes about 190,000 objects; the collector would walk them three times
while they are made and once more when our modules add theirs, for nothing, since
module-level objects live as long as the process. Frozen objects are still freed by
reference counting; the few cycles among them stay (well under 1 MiB).
"""

from __future__ import annotations

import gc
import sys
from typing import Any


def _import_aiogram_deferred() -> None:
    from pydantic import BaseModel

    eager = BaseModel.__dict__["model_rebuild"]

    namespaces: list[Any] = []

    def defer(cls: type[BaseModel], *args: Any, **kwargs: Any) -> bool | None:
        namespace = kwargs.get("_types_namespace")
        if namespace is not None and cls.__module__.startswith("aiogram.types."):
            namespaces.append(namespace)
            return None
        return eager.__func__(cls, *args, **kwargs)  # type: ignore[no-any-return]

    BaseModel.model_rebuild = classmethod(defer)  # type: ignore[assignment,method-assign]
    try:
        import aiogram.types  # noqa: F401
    finally:
        BaseModel.model_rebuild = eager  # type: ignore[method-assign]
    if not namespaces:
        return  # another aiogram: its types were built as it does it
    # pydantic resolves a nested type's forward references in the namespace of the model
    # being built: every aiogram model (types, methods, and `Response`, whose `Response[Message]`
    # is made at the first call returning a Message and inherits it) gets the types' namespace.
    namespace, todo = namespaces[0], list(BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if model.__module__.startswith("aiogram."):
            model.__pydantic_parent_namespace__ = (
                {  # type: ignore[misc]
                    **namespace,
                    **(model.__pydantic_parent_namespace__ or {}),
                }
                if model.__pydantic_parent_namespace__
                else namespace
            )


if "aiogram" not in sys.modules:
    gc.disable()
    try:
        _import_aiogram_deferred()
    finally:
        gc.enable()
gc.freeze()
