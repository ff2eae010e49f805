"""The sending budget: the most urgent waiter goes first, the rate holds, a 429 pauses all,
and a chat gets at most its own share. Times are lower bounds only: a slow machine can make
these take longer, never shorter."""

from __future__ import annotations

import asyncio
import time

from bot.budget import CHAT_BURST, Priority, SendBudget


async def _take_all(budget: SendBudget, takes: list[tuple[int, Priority, str]]) -> list[str]:
    order: list[str] = []

    async def one(chat_id: int, priority: Priority, name: str) -> None:
        await budget.take(chat_id, priority)
        order.append(name)

    tasks = []
    for chat_id, priority, name in takes:
        tasks.append(asyncio.create_task(one(chat_id, priority, name)))
        await asyncio.sleep(0)  # each starts waiting in the order given
    await asyncio.gather(*tasks)
    return order


async def test_the_most_urgent_waiter_goes_first() -> None:
    budget = SendBudget(20)
    bulk = [(1000 + i, Priority.BULK, f"bulk{i}") for i in range(8)]
    late = [(2, Priority.PERSONAL, "notice"), (3, Priority.ANSWER, "answer")]
    order = await _take_all(budget, bulk + late)
    # The first bulk message had the token that was there; the two urgent ones, though they
    # came last, go next, the answer to a member first.
    assert order[:3] == ["bulk0", "answer", "notice"]
    assert order[3:] == [f"bulk{i}" for i in range(1, 8)]


async def test_the_rate_holds() -> None:
    budget = SendBudget(50)
    started = time.monotonic()
    await _take_all(budget, [(i, Priority.BULK, str(i)) for i in range(41)])
    # 41 sends at 49.5 a second with a burst of 2.475: the last waits at least 38.5/49.5 s.
    assert time.monotonic() - started >= 38 / 49.5


async def test_a_429_pauses_every_send() -> None:
    budget = SendBudget(1000)
    await budget.take(1, Priority.BULK)
    budget.pause(0.3)
    started = time.monotonic()
    await _take_all(budget, [(2, Priority.ANSWER, "a"), (3, Priority.BULK, "b")])
    assert time.monotonic() - started >= 0.29
    assert budget.paused == 1


async def test_a_chat_gets_a_short_burst_then_one_a_second() -> None:
    budget = SendBudget(1000)
    started = time.monotonic()
    for _ in range(CHAT_BURST):
        await budget.take(7, Priority.PERSONAL)
    assert time.monotonic() - started < 0.9  # the burst is not held back
    await budget.take(7, Priority.PERSONAL)
    assert time.monotonic() - started >= 0.95
    # Another chat is not held back by this one, nor is a reply in this one.
    started = time.monotonic()
    await budget.take(8, Priority.PERSONAL)
    await budget.take(7, Priority.ANSWER)
    assert time.monotonic() - started < 0.9
