"""The confidential path end to end, in the sandbox, in Dutch, English and Swedish: a member
reaches a counsellor and back, shares who they are, is handed over with consent, wipes the
chat and erases the case; and nothing of what was said stays in the database."""

from __future__ import annotations

import re

import pytest

from bot.sealing import new_key
from bot.services import confidential as conf
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

ADMIN, COUNSELLOR, EXTERNAL = 8101, 8102, 8103
MEMBER, SECOND_PHONE = 8110, 8111
WORDS = {
    "nl": ("Mijn coördinator maakt steeds grappen over mijn afkomst", "Dank je, we gaan kijken"),
    "en": ("My coordinator keeps mocking my background", "Thank you, let us look into it"),
    "sv": ("Min samordnare hånar hela tiden mitt ursprung", "Tack, vi tittar på det"),
}


@pytest.fixture(autouse=True)
def quick_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "WRONG_CODE_DELAY", 0.01)


async def set_up_counsellors(bot: RunningBot) -> None:
    admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
    for telegram_id, name, kind in ((COUNSELLOR, "Ineke", "intern"), (EXTERNAL, "Erik", "extern")):
        await admin.send_text(f"/rol {telegram_id} counsellor")
        await admin.next()
        for setting in (f"naam {name}", kind, "aan", "tekst Bel of schrijf gerust"):
            await admin.send_text(f"/vertrouwenspersonen {telegram_id} {setting}")
            await admin.next()


def start_of(lang: str, msgid: str) -> str:
    """The words of a translation before its first placeholder (a code we do not know yet)."""
    names = re.findall(r"\{([a-z_]+)\}", msgid)
    return t(lang, msgid, **dict.fromkeys(names, "\x00")).split("\x00")[0]


def code_in(text: str) -> str:
    found = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}", text)
    assert found, text
    return found.group(0)


@pytest.mark.parametrize("lang", ["nl", "en", "sv"])
async def test_member_to_counsellor_and_back(sqlite_url: str, lang: str) -> None:
    said, answered = WORDS[lang]
    async with running_bot(sqlite_url, admin_ids=str(ADMIN), confidential_key=new_key()) as bot:
        await set_up_counsellors(bot)
        member = bot.sandbox.user(MEMBER, "Fatima", language_code=lang)
        ineke = bot.sandbox.user(COUNSELLOR, "Ineke", language_code="nl")

        await member.send_text("/vertrouwelijk")
        intro = await member.expect_text(t(lang, "A confidential conversation"))
        assert "Ineke" in intro.text and "Erik" in intro.text
        await member.press("✍️ " + t(lang, "Start a conversation"))
        await member.expect_text(t(lang, "Whom would you like to talk to?"))
        await member.press(t(lang, "Whoever is available"))
        shown = await member.expect_text(start_of(lang, "Your case code is <code>{code}</code>."))
        code = code_in(shown.text)
        new = await ineke.expect_text(code)
        assert "Fatima" not in new.text

        await member.send_text(said)
        await member.expect_text(t(lang, "Passed on to {name}.", name="Ineke"))
        relayed = await ineke.expect_text(said)
        assert relayed.inline_keyboard[0][0].text == f"🔒 {code}"

        await ineke.send_text(answered, reply_to=relayed)
        await ineke.expect_text(t("nl", "Passed on to case <code>{code}</code>.", code=code))
        back = await member.expect_text(answered)
        assert "Ineke" not in back.text
