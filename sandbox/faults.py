"""Fault injection: make the next calls of a method fail or answer slowly.

The bot must survive Telegram's bad days (a 500, a 429 with retry_after, a response that
never comes in time) without losing or duplicating anything; these let a test arrange one.
"""

from __future__ import annotations

import random
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


DROPPED = -1
"""A failure's error code for a connection closed before the call reached Telegram."""


@dataclass
class Chaos:
    """Random faults on a share of the calls of some methods, by weight of their kind."""

    share: float
    methods: frozenset[str]
    weights: dict[str, float]
    rng: random.Random


def _key(method: str) -> str:
    return method.strip().lower()


class Faults:
    """The queue of injected faults, consulted once per incoming request."""

    def __init__(self) -> None:
        self._failures: list[Failure] = []
        self._delays: list[Delay] = []
        self._chaos: Chaos | None = None
        self.chaos_counts: dict[str, int] = {}
        """How many faults of each kind chaos has injected ("429", "5xx", "drop")."""

    def chaos(
        self,
        share: float,
        *,
        methods: tuple[str, ...] = ("sendMessage",),
        weights: dict[str, float] | None = None,
        seed: int = 0,
    ) -> None:
        """From now on, fail `share` of the calls of `methods` at random (reproducibly, by
        `seed`): a 429 (retry_after 1), a 500 or 502, or a connection dropped before the call
        reached Telegram ("drop"), in proportion to `weights`. None of them carries out the
        call, as with Telegram: a retry cannot duplicate."""
        self._chaos = Chaos(
            share,
            frozenset(_key(m) for m in methods),
            weights or {"429": 0.1, "5xx": 0.45, "drop": 0.45},
            random.Random(seed),
        )

    def calm(self) -> None:
        """No more random faults."""
        self._chaos = None

    def _random_failure(self, key: str) -> Failure | None:
        chaos = self._chaos
        if chaos is None or key not in chaos.methods or chaos.rng.random() >= chaos.share:
            return None
        kinds = list(chaos.weights)
        kind = chaos.rng.choices(kinds, weights=[chaos.weights[k] for k in kinds])[0]
        self.chaos_counts[kind] = self.chaos_counts.get(kind, 0) + 1
        if kind == "429":
            return Failure(key, 429, "Too Many Requests: retry after 1", 1, 1)
        if kind == "drop":
            return Failure(key, DROPPED, "connection dropped", None, 1)
        code = chaos.rng.choice((500, 502))
        return Failure(key, code, DEFAULT_DESCRIPTIONS[code], None, 1)

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
        else:
            failure = self._random_failure(key)
        delay = next((d for d in self._delays if d.method in (key, "*")), None)
        if delay is not None:
            delay.remaining -= 1
            if delay.remaining <= 0:
                self._delays.remove(delay)
        return failure, delay
