"""Group commit for sign-ups: taps for one workshop that arrive together are decided together.

After an announcement thousands tap *Sign up* within seconds. One transaction per tap would
queue them all on the workshop's lock; here the first tap starts a writer for its workshop,
and every tap that arrives while the writer is busy joins the next batch. A batch is one
lock, one count, one insert (`signups.decide`), in arrival order, with the same guarantees as
a single sign-up: never more confirmed than places, the queue in the order of the taps.

One desk per process; with several workers each has its own and the row lock keeps them
honest, as it does for single sign-ups.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.signups import Decided, SignupError, Tap, decide

log = logging.getLogger(__name__)
Result = Decided | SignupError


class SignupDesk:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], most: int = 250) -> None:
        self._sessions = sessions
        self._most = most  # taps per transaction: keeps each lock short
        self._queues: dict[int, list[tuple[Tap, asyncio.Future[Result]]]] = {}
        self._writers: dict[int, asyncio.Task[None]] = {}

    async def sign_up(self, workshop_id: int, tap: Tap) -> Result:
        """This tap's outcome (or refusal), decided with the taps that came with it."""
        waiter: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(workshop_id, []).append((tap, waiter))
        if workshop_id not in self._writers:
            self._writers[workshop_id] = asyncio.create_task(self._write(workshop_id))
        return await waiter

    async def _write(self, workshop_id: int) -> None:
        """Decide batches until no tap waits; the next tap then starts a new writer."""
        try:
            while queue := self._queues.pop(workshop_id, None):
                batch, rest = queue[: self._most], queue[self._most :]
                if rest:
                    self._queues[workshop_id] = rest
                await self._decide(workshop_id, batch)
        finally:
            del self._writers[workshop_id]

    async def _decide(
        self, workshop_id: int, batch: list[tuple[Tap, asyncio.Future[Result]]]
    ) -> None:
        try:
            async with self._sessions() as session:
                results = await decide(session, workshop_id, [tap for tap, _ in batch])
        except Exception as error:  # the database failed: every tap in the batch learns it
            log.exception("sign-up batch for workshop %s failed (%d taps)", workshop_id, len(batch))
            for _tap, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(error)
            return
        log.debug("workshop %s: %d taps decided together", workshop_id, len(batch))
        for (_tap, waiter), result in zip(batch, results, strict=True):
            if not waiter.done():  # the tap's update may have been cancelled meanwhile
                waiter.set_result(result)
