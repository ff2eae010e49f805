"""Fault injection: make the next calls of a method fail or answer slowly.

The bot must survive Telegram's bad days (a 500, a 429 with retry_after, a response that
never comes in time) without losing or duplicating anything; these let a test arrange one.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Failure:
    """An error answer the sandbox gives instead of doing the call."""

    method: str
    error_code: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: int | None = None


@dataclass
class Delay:
    """A slow answer; with ``execute_first`` the call takes effect before the wait."""

    method: str
    seconds: float
    execute_first: bool
    remaining: int


def _key(method: str) -> str:
    return method.strip().lower()


class Faults:
    """The queue of injected faults, consulted once per incoming request."""

    def __init__(self) -> None:
        self._failures: list[Failure] = []
        self._delays: list[Delay] = []

    def fail_next(
        self,
        method: str,
        error_code: int = 500,
        *,
        count: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` ("*": any) with an error, doing nothing.

        A 429 gets ``retry_after`` (default 1) and Telegram's "Too Many Requests" text. With
        ``chat_id``, only calls to that chat (a bot sending to many at once picks its order).
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = DEFAULT_DESCRIPTIONS.get(error_code, "Internal Server Error")
        self._failures.append(
            Failure(_key(method), error_code, description, retry_after, count, chat_id)
        )

    def delay_next(
        self, method: str, seconds: float, count: int = 1, *, execute_first: bool = True
    ) -> None:
        """Hold the answer to the next ``count`` calls of ``method`` ("*": any) ``seconds``.

        By default the call is carried out first and only the answer is late: a client that
        times out has, for example, already sent the message (the duplicate-on-retry trap).
        With ``execute_first=False`` the call waits first, and is dropped if the client hangs up.
        """
        self._delays.append(Delay(_key(method), seconds, execute_first, count))

    def clear(self) -> None:
        """Forget every pending fault."""
        self._failures.clear()
        self._delays.clear()

    @property
    def pending(self) -> int:
        """How many injected faults have not fired yet."""
        return sum(f.remaining for f in self._failures) + sum(d.remaining for d in self._delays)

    def take(self, method: str, chat_id: object = None) -> tuple[Failure | None, Delay | None]:
        """The failure and delay (if any) that apply to this call, used up by taking them."""
        key = _key(method)
        failure = next(
            (
                f
                for f in self._failures
                if f.method in (key, "*") and (f.chat_id is None or str(f.chat_id) == str(chat_id))
            ),
            None,
        )
        if failure is not None:
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.remove(failure)
        delay = next((d for d in self._delays if d.method in (key, "*")), None)
        if delay is not None:
            delay.remaining -= 1
            if delay.remaining <= 0:
                self._delays.remove(delay)
        return failure, delay
