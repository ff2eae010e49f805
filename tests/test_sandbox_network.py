"""The sandbox as the internet makes Telegram look: a round trip on every call, webhooks
delivered over several connections at once, and taps that age from the moment of pressing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiohttp import web

from sandbox import InlineButton, Limits, Sandbox

pytestmark = pytest.mark.e2e

TOKEN = "123456:network-test"


@asynccontextmanager
async def sandbox(**kwargs: object) -> AsyncIterator[tuple[Sandbox, Bot]]:
    async with Sandbox(default_token=TOKEN, **kwargs) as sb:  # type: ignore[arg-type]
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sb.base_url)))
        try:
            yield sb, bot
        finally:
            await bot.session.close()
        assert sb.internal_errors == []


@asynccontextmanager
async def web_server(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def test_a_round_trip_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="rtt"):
        Sandbox(rtt=-0.1)


async def test_a_call_takes_the_round_trip_and_lands_half_way() -> None:
    async with sandbox(rtt=0.4, limits=Limits.off()) as (sb, bot):
        anna = sb.user(1001, "Anna")
        began = time.monotonic()
        sending = asyncio.create_task(bot.send_message(anna.id, "hallo"))
        seen = await anna.next()
        landed = time.monotonic()
        await sending
        answered = time.monotonic()
        assert seen.text == "hallo"
        assert landed - began >= 0.19, "the call took effect before it could have arrived"
        assert answered - landed >= 0.19, "the answer came back faster than the network allows"
        record = sb.calls("sendMessage")[0]
        assert record.duration is not None and record.duration >= 0.39


async def test_without_a_round_trip_calls_are_quick() -> None:
    async with sandbox(limits=Limits.off()) as (_, bot):
        began = time.monotonic()
        await bot.get_me()
        assert time.monotonic() - began < 0.3


async def test_a_tap_ages_from_the_press_not_from_its_delivery() -> None:
    async with sandbox(limits=Limits().but(callback_query_ttl=1.0)) as (sb, bot):
        anna = sb.user(1001, "Anna")
        placed = anna.place_bot_message("Doe mee?", [[InlineButton("Ja", "ja")]])
        old = await anna.press("Ja", message=placed)
        await asyncio.sleep(1.2)  # nobody fetched the update meanwhile
        updates = await bot.get_updates(timeout=0)
        assert [u.callback_query.id for u in updates if u.callback_query] == [old]
        with pytest.raises(TelegramBadRequest, match="query is too old"):
            await bot.answer_callback_query(old)  # fresh to the bot, 1.2 s old to the member
        fresh = await anna.press("Ja", message=placed)
        assert await bot.answer_callback_query(fresh, text="Gelukt")
        records = sb.bot(TOKEN).callback_queries
        assert (records[old].too_late, records[old].answered) == (1, False)
        assert records[fresh].too_late == 0
        assert records[fresh].answered_at is not None
        assert 0 <= records[fresh].answered_at - records[fresh].created < 0.5
        assert anna.alerts == ["Gelukt"]


async def test_a_placed_bot_message_skips_the_flood_limits() -> None:
    async with sandbox(limits=Limits().but(private_burst=1, bot_burst=1)) as (sb, bot):
        anna = sb.user(1001, "Anna")
        for i in range(3):
            anna.place_bot_message(f"knop {i}", [[InlineButton("Aanmelden", f"signup:{i}")]])
        assert sb.sent[anna.id] == 0
        assert [m.text for m in anna.bot_messages] == ["knop 0", "knop 1", "knop 2"]
        await anna.press("Aanmelden")
        (update,) = await bot.get_updates(timeout=0)
        assert update.callback_query.data == "signup:2"
        assert update.callback_query.message.text == "knop 2"
        await bot.send_message(anna.id, "een echte")  # the bot's own quota is untouched
        assert sb.sent[anna.id] == 1


async def test_a_webhook_gets_max_connections_at_once_and_each_chat_in_order() -> None:
    active: set[int] = set()
    peak = 0
    arrivals: dict[int, list[str]] = {}
    overlaps: list[int] = []
    failed_once: set[str] = set()

    async def receive(request: web.Request) -> web.Response:
        nonlocal peak
        update = await request.json()
        chat = update["message"]["chat"]["id"]
        if chat in active:
            overlaps.append(chat)
        active.add(chat)
        peak = max(peak, len(active))
        try:
            await asyncio.sleep(0.2)
            text = update["message"]["text"]
            if text == "a1" and text not in failed_once:
                failed_once.add(text)
                return web.Response(status=500)  # retried before a2 is sent
            arrivals.setdefault(chat, []).append(text)
            return web.Response()
        finally:
            active.discard(chat)

    app = web.Application()
    app.router.add_post("/hook", receive)
    async with web_server(app) as url, sandbox(rtt=0.02, webhook_retry_delay=0.05) as (sb, bot):
        await bot.set_webhook(f"{url}/hook", max_connections=4)
        people = [sb.user(2000 + i, f"Lid {i}") for i in range(10)]
        for person in people:
            for n in (1, 2, 3):
                await person.send_text(f"{'a' if person is people[0] else 'b'}{n}")
        began = time.monotonic()
        await sb.idle(quiet=0.1, timeout=20)
        took = time.monotonic() - began
        assert overlaps == []
        assert peak == 4
        assert arrivals[people[0].id] == ["a1", "a2", "a3"]
        assert all(arrivals[p.id] == ["b1", "b2", "b3"] for p in people[1:])
        # 31 posts of 0.2 s over 4 connections: about 1.6 s, not the 6 s of one at a time
        assert took < 4.5
        assert (await bot.get_webhook_info()).max_connections == 4


async def test_updates_queued_before_allowed_updates_changed_are_dropped_then() -> None:
    async with sandbox(limits=Limits.off()) as (sb, bot):
        anna = sb.user(1001, "Anna")
        await anna.send_text("hallo")
        anna.block()  # a my_chat_member update, queued while every type was wanted
        updates = await bot.get_updates(timeout=0, allowed_updates=["message"])
        assert [u.message.text for u in updates] == ["hallo"]
        kinds = [next(k for k in u if k != "update_id") for u in sb.bot(TOKEN).dropped_updates]
        assert kinds == ["my_chat_member"]
