"""The confidentiality promises, each tested against the real bot in the sandbox: nothing
said stays in the database (SQLite file, PostgreSQL dump) or in any log line; a relay the
counsellor's chat cannot take waits sealed and arrives once; closed cases are purged; erasure
takes the member's cases; without CONFIDENTIAL_KEY the path says so and stays off."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot import clock, confidential_relay
from bot.sealing import new_key
from bot.services import confidential as conf
from storage.models import ConfidentialCase, OutboxRow
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

ADMIN, COUNSELLOR = 8201, 8202
MEMBER = 5_123_456_789  # large enough that its bytes are findable in a database file
NAME, USERNAME = "Wilhelmina", "wilhelmina_x"
SAID = "Mijn penningmeester intimideert mij tijdens vergaderingen"
CAPTION = "Bewijsstuk schermafdruk"
FILE_TEXT = b"Verslag van wat er gebeurde op dinsdag"
ANSWERED = "Vervelend om te lezen, laten we bellen"


@pytest.fixture(autouse=True)
def quick_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "WRONG_CODE_DELAY", 0.01)


async def counsellor_ready(bot: RunningBot) -> None:
    admin = bot.sandbox.user(ADMIN, "Eva", language_code="nl")
    await admin.send_text(f"/rol {COUNSELLOR} vertrouwenspersoon")
    await admin.next()
    for setting in ("naam Ineke", "intern", "aan"):
        await admin.send_text(f"/vertrouwenspersonen {COUNSELLOR} {setting}")
        await admin.next()


async def open_case(bot: RunningBot) -> tuple[str, object, object]:
    member = bot.sandbox.user(MEMBER, NAME, language_code="nl", username=USERNAME)
    ineke = bot.sandbox.user(COUNSELLOR, "Ineke", language_code="nl")
    await member.send_text("/vertrouwelijk")
    await member.expect_text(t("nl", "A confidential conversation"))
    await member.press("✍️ " + t("nl", "Start a conversation"))
    await member.expect_text(t("nl", "Whom would you like to talk to?"))
    await member.press("Ineke (" + t("nl", "internal") + ")")
    shown = await member.expect_text(
        t("nl", "Your case code is <code>{code}</code>.", code="")[:10]
    )
    found = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}", shown.text)
    assert found
    await ineke.expect_text(found.group(0))
    return found.group(0), member, ineke


async def conversation(bot: RunningBot) -> str:
    """Member → counsellor → member: text, a photo with a caption, a file; the member shares
    who they are. The case code comes back."""
    code, member, ineke = await open_case(bot)
    await member.send_text(SAID)
    relayed = await ineke.expect_text(SAID)
    await member.send_photo(caption=CAPTION)
    await ineke.expect_text(CAPTION)
    await member.send_document("verslag.txt", FILE_TEXT, "text/plain")
    confirm = await member.expect_text(t("nl", "Passed on to {name}.", name="Ineke"))
    await ineke.expect_text("")  # the file
    await ineke.send_text(ANSWERED, reply_to=relayed)
    await member.expect_text(ANSWERED)
    share = "🪪 " + t("nl", "Share my name and Telegram contact with the counsellor")
    await member.press(share, message=confirm)
    await ineke.expect_text(NAME)
    await bot.sandbox.idle()
    return code


def secrets_of(code: str) -> list[bytes]:
    raw = code.replace("-", "")
    return [
        *(w.encode() for w in (SAID, CAPTION, ANSWERED, NAME, USERNAME, code, raw)),
        FILE_TEXT,
        str(MEMBER).encode(),
        MEMBER.to_bytes(6, "big"),  # SQLite's own integer encoding of this id
        MEMBER.to_bytes(8, "big"),
    ]


def database_bytes(database_url: str) -> bytes:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(
        ["pg_dump", "--data-only", plain], check=True, capture_output=True, timeout=60
    ).stdout


async def test_nothing_said_stays_in_the_database_or_the_logs(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    loggers = [logging.getLogger(n) for n in ("", "bot", "handlers", "aiogram", "sqlalchemy")]
    before = [lg.level for lg in loggers]
    caplog.set_level(logging.DEBUG)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        async with running_bot(
            database_url, admin_ids=str(ADMIN), confidential_key=new_key()
        ) as bot:
            await counsellor_ready(bot)
            code = await conversation(bot)
            assert bot.app is not None
            async with bot.app.sessions() as session:
                assert len((await session.scalars(select(ConfidentialCase))).all()) == 1
            await bot.app.engine.dispose()  # everything written out to the file
            stored = database_bytes(database_url)
    finally:
        for lg, level in zip(loggers, before, strict=True):
            lg.setLevel(level)
    assert b"Ineke" in stored  # the search would find what is there: a counsellor's name
    for secret in secrets_of(code):
        assert secret not in stored, secret
    records = [r.getMessage() for r in caplog.records]
    assert any("confidential_cases" in r for r in records)  # SQL was logged, with parameters
    for record in records:
        for secret in (SAID, CAPTION, ANSWERED, FILE_TEXT.decode(), code, code.replace("-", "")):
            assert secret not in record, record
        if str(MEMBER) in record:  # who wrote, in a record that says nothing of the case
            assert "confidential" not in record.lower() and NAME not in record, record


async def test_a_relay_the_counsellor_cannot_take_waits_sealed_and_arrives_once(
    database_url: str,
) -> None:
    async with running_bot(database_url, admin_ids=str(ADMIN), confidential_key=new_key()) as bot:
        await counsellor_ready(bot)
        code, member, ineke = await open_case(bot)
        bot.sandbox.faults.fail_next("copyMessage", 502, count=3, chat_id=COUNSELLOR)
        await member.send_text(SAID)
        await member.expect_text(start_of_waiting())
        assert bot.app is not None
        async with bot.app.sessions() as session:
            rows = (await session.scalars(select(OutboxRow))).all()
        sealed = [r for r in rows if r.sealed]
        assert len(sealed) == 1
        row = sealed[0]
        assert (row.chat_id, row.member_id, row.payload) == (0, None, {"sealed": "confidential"})
        assert row.attachment is None and row.expires_at is not None
        waits = row.expires_at - row.created_at
        assert timedelta(days=7) - timedelta(seconds=1) < waits <= timedelta(days=7)
        for secret in secrets_of(code):
            assert secret not in row.sealed and secret not in repr(row.payload).encode()
        await ineke.expect_text(SAID, timeout=15)  # retried until the chat takes it
        await bot.sandbox.idle()
        assert sum(SAID in m.text for m in ineke.messages) == 1
        async with bot.app.sessions() as session:
            done = await session.get(OutboxRow, row.id)
            assert done is not None and (done.state, done.sealed) == ("sent", None)

        # one that never gets through: after 7 days the member is told
        bot.sandbox.faults.fail_next("copyMessage", 500, count=1000, chat_id=COUNSELLOR)
        await member.send_text(CAPTION)
        await member.expect_text(start_of_waiting())
        with clock.travel_to(clock.now() + timedelta(days=7, minutes=1)):
            await asyncio.sleep(1.5)  # the sender finds it expired
            app = bot.app
            await confidential_relay.periodic(app.bot, app.sessions, app.i18n, app.settings)
        await member.expect_text(
            t("nl", "A message in your confidential conversation could not be delivered. "
                    "Please send it again, or try later.")
        )  # fmt: skip
        async with bot.app.sessions() as session:
            left = await session.scalars(select(OutboxRow).where(OutboxRow.sealed.is_not(None)))
            assert left.all() == []
        assert not any(CAPTION in m.text for m in ineke.messages)


async def test_a_long_429_on_the_counsellors_chat_also_waits_sealed(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN), confidential_key=new_key()) as bot:
        await counsellor_ready(bot)
        code, member, _ineke = await open_case(bot)
        bot.sandbox.faults.fail_next("copyMessage", 429, retry_after=90, chat_id=COUNSELLOR)
        await member.send_text(SAID)
        assert bot.app is not None
        for _ in range(50):  # every send now waits out the 90 s: the member's notice too
            async with bot.app.sessions() as session:
                rows = (await session.scalars(select(OutboxRow))).all()
            if rows:
                break
            await asyncio.sleep(0.1)
        [row] = rows
        assert (row.chat_id, row.payload) == (0, {"sealed": "confidential"})
        assert row.state in ("queued", "sending")  # the sender holds it, waiting out the 90 s
        assert row.sealed is not None
        for secret in secrets_of(code):
            assert secret not in row.sealed


def start_of_waiting() -> str:
    return t("nl", "The counsellor cannot be reached this moment. Your message is on its way; "
                   "if it cannot be delivered within 7 days, I will tell you.")  # fmt: skip


async def test_a_closed_case_is_purged_after_the_retention_days(database_url: str) -> None:
    async with running_bot(
        database_url, admin_ids=str(ADMIN), confidential_key=new_key(),
        confidential_retention_days=30,
    ) as bot:  # fmt: skip
        await counsellor_ready(bot)
        code, member, ineke = await open_case(bot)
        await ineke.send_text("/zaken")
        listing = await ineke.expect_text(
            t("nl", "Your open cases ({count}), page {page} of {pages}:", count=1, page=1, pages=1)
        )
        assert listing.inline_keyboard[0][0].text.startswith(code)
        await ineke.press(listing.inline_keyboard[0][0].text)
        await ineke.expect_text(t("nl", "The member has not said who they are."))
        await ineke.press("✅ " + t("nl", "Close the case"))
        await member.expect_text(
            t("nl", "Your counsellor has closed this conversation. It is erased after {days} "
                    "days; you can erase it sooner with /vertrouwelijk. You can always start a "
                    "new one.", days=30)
        )  # fmt: skip
        await member.send_text(SAID)  # the conversation is over
        await member.expect_text(
            t("nl", "This conversation is no longer open. Start again with /vertrouwelijk.")
        )
        assert bot.app is not None
        app = bot.app
        with clock.travel_to(clock.now() + timedelta(days=29)):
            await confidential_relay.periodic(app.bot, app.sessions, app.i18n, app.settings)
        async with app.sessions() as session:
            assert len((await session.scalars(select(ConfidentialCase))).all()) == 1
        with clock.travel_to(clock.now() + timedelta(days=30)):
            await confidential_relay.periodic(app.bot, app.sessions, app.i18n, app.settings)
        async with app.sessions() as session:
            assert (await session.scalars(select(ConfidentialCase))).all() == []
        await ineke.send_text("/zaken")
        await ineke.expect_text(t("nl", "You have no open cases."))


async def test_forget_me_takes_the_members_cases(database_url: str) -> None:
    async with running_bot(database_url, admin_ids=str(ADMIN), confidential_key=new_key()) as bot:
        await counsellor_ready(bot)
        _code, member, _ineke = await open_case(bot)
        await member.send_text("/vergeetmij")
        await member.next()  # the question
        await member.press(t("nl", "Yes, erase everything"))
        await bot.sandbox.idle()
        assert bot.app is not None
        async with bot.app.sessions() as session:
            assert (await session.scalars(select(ConfidentialCase))).all() == []


async def test_without_the_key_the_path_says_so_and_stays_off(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        member = bot.sandbox.user(8210, "Anna", language_code="sv")
        await member.send_text("/vertrouwelijk")
        await member.expect_text(
            t("sv", "Confidential conversations are not available in this bot at the moment. "
                    "Please contact your organisation's confidential counsellor in another way.")
        )  # fmt: skip
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.send_text("/vertrouwenspersonen")
        said = await admin.expect_text("CONFIDENTIAL_KEY")
        assert "ledenbot confidential-key" in said.text
    warnings = [r.getMessage() for r in caplog.records if "CONFIDENTIAL_KEY" in r.getMessage()]
    assert warnings == ["CONFIDENTIAL_KEY is not set: the confidential path is off"]


async def test_admins_see_counsellors_and_counts_never_cases(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN), confidential_key=new_key()) as bot:
        await counsellor_ready(bot)
        code, _member, _ineke = await open_case(bot)
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="nl")
        await admin.send_text("/vertrouwenspersonen")
        overview = await admin.expect_text("Ineke")
        month = clock.now().strftime("%Y-%m")
        counts = t(
            "nl", "{month}: {opened} opened, {closed} closed", month=month, opened=1, closed=0
        )
        assert counts in overview.text
        assert code not in overview.text and str(MEMBER) not in overview.text
        for command in ("/zaken", f"/antwoord {code} hallo"):
            await admin.send_text(command)
            await admin.expect_text(t("nl", "This command is for confidential counsellors only."))


LAZY_CHECK = """
import asyncio, sys
from bot import confidential_relay
from bot.app import build_app
from bot.sealing import new_key
from bot.settings import Settings

async def main():
    settings = Settings(_env_file=None, bot_token="1:x", database_url=sys.argv[1],
                        confidential_key=new_key())
    app = await build_app(settings)
    await confidential_relay.periodic(app.bot, app.sessions, app.i18n, app.settings)
    await app.close()
    print(sorted({m.split(".")[0] for m in sys.modules} & {"cryptography"}))

asyncio.run(main())
"""


def test_cryptography_is_not_loaded_at_start_nor_by_the_scheduler(sqlite_url: str) -> None:
    """Idle memory is a target: the 8 MiB of `cryptography` wait for the first case."""
    done = subprocess.run(
        [sys.executable, "-c", LAZY_CHECK, sqlite_url],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


async def test_six_codes_in_an_hour_are_too_many_even_the_right_one(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN), confidential_key=new_key()) as bot:
        await counsellor_ready(bot)
        code, _member, _ineke = await open_case(bot)
        guesser = bot.sandbox.user(8220, "Gerrit", language_code="en")
        await guesser.send_text("/vertrouwelijk")
        await guesser.expect_text(t("en", "A confidential conversation"))
        await guesser.press("🔑 " + t("en", "I have a case code"))
        await guesser.expect_text(t("en", "Type your case code (it looks like K7QM-3XTD)."))
        wrong = t("en", "I cannot open a conversation with that code. Check it and try again.")
        for guess in ("AAAA-AAAA", "BBBB-BBBB", "nonsense", "CCCC-CCCC", "DDDD-DDDD"):
            await guesser.send_text(guess)
            await guesser.expect_text(wrong)
        await guesser.send_text(code)
        await guesser.expect_text(t("en", "Too many codes tried. Please try again in an hour."))
        assert bot.app is not None
        async with bot.app.sessions() as session:
            [case] = (await session.scalars(select(ConfidentialCase))).all()
        ring = conf.ring_of(bot.app.settings.confidential_key)
        assert conf.member_of(ring, case) == MEMBER  # the case stayed with its member


async def test_a_hand_over_the_member_declines_stays(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN), confidential_key=new_key()) as bot:
        await counsellor_ready(bot)
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="nl")
        await admin.send_text("/rol 8203 vertrouwenspersoon")
        await admin.next()
        for setting in ("naam Klachtencommissie", "commissie", "aan"):
            await admin.send_text(f"/vertrouwenspersonen 8203 {setting}")
            await admin.next()
        code, member, ineke = await open_case(bot)
        await ineke.send_text("/zaken")
        listing = await ineke.expect_text(
            t("nl", "Your open cases ({count}), page {page} of {pages}:", count=1, page=1, pages=1)
        )
        await ineke.press(listing.inline_keyboard[0][0].text)
        await ineke.expect_text(t("nl", "The member has not said who they are."))
        await ineke.press("↪️ " + t("nl", "Hand over to the complaints committee"))
        asked = await member.expect_text("Klachtencommissie")
        assert t("nl", "complaints committee") in asked.text
        await member.press(t("nl", "No, keep it as it is"))
        await member.expect_text(t("nl", "Fine: your conversation stays with your counsellor."))
        await ineke.expect_text(
            t("nl", "The member prefers to keep case <code>{code}</code> with you.", code=code)
        )
        yes = next(
            b.data for row in asked.inline_keyboard for b in row if b.data.endswith(":1:0:0")
        )
        await member.press_raw(asked.message_id, yes)  # a stale yes: the question is answered
        await bot.sandbox.idle()
        assert member.alerts[-1] == t("nl", "That question has already been answered.")
        stranger = bot.sandbox.user(8221, "Mallory", language_code="nl")
        await stranger.send_text("/start")
        await stranger.press_raw(1, yes)  # a forged tap on someone else's case
        await bot.sandbox.idle()
        assert stranger.alerts[-1] == t("nl", "That conversation no longer exists.")
        await member.send_text(SAID)
        await ineke.expect_text(SAID)
