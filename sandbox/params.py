"""Reading Bot API parameters from every body shape clients use.

Telegram takes parameters from the query string, form-urlencoded or multipart bodies (where
objects are JSON-encoded strings and numbers are digits) or a JSON body (native types). The
server does not guess: it converts each parameter by the type the method expects, so a text
of "123" stays a string. ``Params`` does the same with typed getters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from sandbox.state import ApiError, bad_request


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart body."""

    filename: str | None
    content_type: str | None
    data: bytes


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


class Params:
    """The parameters of one call, read by the type each method expects."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.uploads = uploads or {}

    def __contains__(self, name: str) -> bool:
        return name in self.values and self.values[name] not in (None, "")

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value, ensure_ascii=False)

    def required_text(self, name: str, missing: str | None = None) -> str:
        value = self.text(name)
        if value is None or value == "":
            raise bad_request(missing or f"{name} is empty")
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def required_int(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def number(self, name: str, default: float | None = None) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad_request(f"invalid {name} specified")

    def obj(self, name: str, what: str | None = None) -> Any:
        """An object or array parameter: JSON text in forms, native in JSON bodies."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what or name} JSON object") from None

    def file(self, name: str) -> Upload | str | None:
        """A file parameter: an upload (direct or ``attach://``), or a file_id/URL string."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.text(name)
        if value is None or value == "":
            return None
        if value.startswith("attach://"):
            upload = self.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"can't find attached file {value!r}")
            return upload
        return value

    def loggable(self) -> dict[str, Any]:
        """The parameters without file bytes, for the request log."""
        logged = dict(self.values)
        for name, upload in self.uploads.items():
            logged[name] = f"<file {upload.filename or name} ({len(upload.data)} bytes)>"
        return logged


def _merge_form(
    form: MultiDictProxy[Any], values: dict[str, Any], uploads: dict[str, Upload]
) -> None:
    for key, value in form.items():
        if isinstance(value, web.FileField):
            uploads[key] = Upload(value.filename, value.content_type, value.file.read())
        elif isinstance(value, bytes | bytearray):
            values[key] = bytes(value).decode("utf-8", "replace")
        else:
            values[key] = value


async def read_params(request: web.Request) -> Params:
    """Parameters from the query string and the body, whatever shape the body has."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.can_read_body:
        ctype = request.content_type
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            _merge_form(await request.post(), values, uploads)
        else:
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON body") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: JSON body must be an object")
                values.update(body)
    return Params(values, uploads)


async def read_multipart_reply(reader: Any) -> Params:
    """Parameters of a method a webhook answered with as multipart (aiogram's shape)."""
    values: dict[str, Any] = {}
    uploads: dict[str, Upload] = {}
    while True:
        part = await reader.next()
        if part is None:
            break
        data = await part.read()
        if part.filename:
            uploads[part.name] = Upload(part.filename, part.headers.get("Content-Type"), data)
        else:
            values[part.name] = data.decode("utf-8")
    return Params(values, uploads)
