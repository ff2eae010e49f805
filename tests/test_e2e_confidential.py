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
async def test_member_to_counsellor_and_back(database_url: str, lang: str) -> None:
    said, answered = WORDS[lang]
    async with running_bot(database_url, admin_ids=str(ADMIN), confidential_key=new_key()) as bot:
        await set_up_counsellors(bot)
        member = bot.sandbox.user(MEMBER, "Fatima", language_code=lang)
        ineke = bot.sandbox.user(COUNSELLOR, "Ineke", language_code="nl")
        erik = bot.sandbox.user(EXTERNAL, "Erik", language_code="en")

        # the member opens the path, chooses, gets a code; the counsellor hears of a new case
        await member.send_text("/vertrouwelijk")
        intro = await member.expect_text(t(lang, "A confidential conversation"))
        assert "Ineke" in intro.text and "Erik" in intro.text
        assert t(lang, "internal") in intro.text and "Bel of schrijf gerust" in intro.text
        await member.press("✍️ " + t(lang, "Start a conversation"))
        await member.expect_text(t(lang, "Whom would you like to talk to?"))
        await member.press(t(lang, "Whoever is available"))
        shown = await member.expect_text(start_of(lang, "Your case code is <code>{code}</code>."))
        code = code_in(shown.text)
        new = await ineke.expect_text(code)
        assert "Fatima" not in new.text and str(MEMBER) not in new.text

        # member → counsellor → member, text and a photo
        await member.send_text(said)
        confirm = await member.expect_text(t(lang, "Passed on to {name}.", name="Ineke"))
        relayed = await ineke.expect_text(said)
        assert relayed.inline_keyboard[0][0].text == f"🔒 {code}"
        assert "Fatima" not in relayed.text
        await member.send_sticker()
        await member.expect_text(t(lang, "I can pass on text, photos and files."))
        await member.send_photo(caption="screenshot")
        await member.expect_text(t(lang, "Passed on to {name}.", name="Ineke"))
        photo = await ineke.next()
        assert photo.photo is not None and photo.text == "screenshot"

        await ineke.send_text(answered, reply_to=relayed)
        await ineke.expect_text(t("nl", "Passed on to case <code>{code}</code>.", code=code))
        back = await member.expect_text(answered)
        assert "Ineke" not in back.text
        assert [b.text for row in back.inline_keyboard for b in row] == [
            "✍️ " + t(lang, "Reply"),
            "🧹 " + t(lang, "Remove this conversation from my phone"),
        ]
        await ineke.send_text(f"/antwoord {code.lower()} {answered}?")
        await member.expect_text(f"{answered}?")

        # share-identity: once, with name, username and a link
        share = "🪪 " + t(lang, "Share my name and Telegram contact with the counsellor")
        await member.press(share, message=confirm)
        await bot.sandbox.idle()
        assert member.alerts[-1] == t(lang, "Shared: the counsellor now knows who you are.")
        who = await ineke.expect_text("Fatima")
        assert code in who.text
        await member.press(share, message=confirm)
        await bot.sandbox.idle()
        assert member.alerts[-1] == t(lang, "The counsellor already knows who you are.")

        # hand-over: the counsellor proposes, the member says yes, the case moves
        await ineke.send_text("/zaken")
        listing = await ineke.expect_text(
            start_of("nl", "Your open cases ({count}), page {page} of {pages}:")
        )
        assert listing.inline_keyboard[0][0].text.startswith(code)
        await ineke.press(listing.inline_keyboard[0][0].text)
        await ineke.expect_text(t("nl", "The member has told you who they are."))
        await ineke.press("↪️ " + t("nl", "Hand over to the external counsellor"))
        await bot.sandbox.idle()
        assert ineke.alerts[-1] == t("nl", "The member is asked first; you will hear their answer.")
        await member.expect_text(
            start_of(
                lang,
                "Your counsellor suggests handing your conversation over to {name} ({kind}). They "
                "would receive your next messages; they do not see earlier ones. Do you agree?",
            )
        )
        await member.press(t(lang, "Yes, hand it over"))
        await member.expect_text(
            t(lang, "Done: from now on {name} receives your messages.", name="Erik")
        )
        await ineke.expect_text(
            t(
                "nl",
                "The member agreed: case <code>{code}</code> now goes to {name}.",
                code=code,
                name="Erik",
            )
        )
        await erik.expect_text(code)
        await member.send_text(f"{said}!")
        await member.expect_text(t(lang, "Passed on to {name}.", name="Erik"))
        to_erik = await erik.expect_text(f"{said}!")
        await ineke.send_text(f"/antwoord {code} hallo")  # no longer hers
        await ineke.expect_text(t("nl", "You have no open case with that code."))
        await ineke.send_text("hallo?", reply_to=relayed)
        await ineke.expect_text(t("nl", "That case is no longer yours, or no longer exists."))

        # wipe: the conversation's messages, both sides, leave the member's chat
        await member.press("🧹 " + t(lang, "Remove this conversation from my phone"))
        await bot.sandbox.idle()
        left = [m for m in member.messages if not m.deleted]
        for gone in (said, answered, f"{said}!", code):
            assert not any(gone in m.text for m in left), gone
        assert any(m.photo is not None and m.deleted for m in member.messages)
        assert not any(t(lang, "A confidential conversation") in m.text for m in left)
        assert not any("/vertrouwelijk" in m.text for m in left)

        await member.send_text("P.S.")  # after the wipe, before continuing elsewhere
        await member.expect_text(t(lang, "Passed on to {name}.", name="Erik"))

        # another phone, with the code: a wrong code first, then the right one, read out
        phone = bot.sandbox.user(SECOND_PHONE, "F", language_code=lang)
        await phone.send_text("/vertrouwelijk")
        await phone.expect_text(t(lang, "A confidential conversation"))
        await phone.press("🔑 " + t(lang, "I have a case code"))
        await phone.expect_text(t(lang, "Type your case code (it looks like K7QM-3XTD)."))
        await phone.send_sticker()
        await phone.expect_text(t(lang, "Type your case code (it looks like K7QM-3XTD)."))
        await phone.send_text("AAAA-AAAA")
        await phone.expect_text(
            t(lang, "I cannot open a conversation with that code. Check it and try again.")
        )
        await phone.send_text(code.lower().replace("-", " "))
        await phone.expect_text(
            t(
                lang,
                "You are back in your conversation. Write your message: it goes to the counsellor.",
            )
        )
        await erik.send_text("Hoe gaat het nu?", reply_to=to_erik)
        await phone.expect_text("Hoe gaat het nu?")
        await member.expect_silence()

        # the member erases the case: the counsellor hears it, the code no longer works
        await phone.send_text("/vertrouwelijk")
        await phone.expect_text(t(lang, "A confidential conversation"))
        await phone.press("📂 " + t(lang, "My conversations"))
        await phone.expect_text(t(lang, "Your conversations:"))
        await phone.press(phone.last.inline_keyboard[0][0].text)
        await phone.expect_text(
            t(
                lang,
                "You are back in your conversation. Write your message: it goes to the counsellor.",
            )
        )
        await phone.press("🗑 " + t(lang, "Erase this conversation"))
        await phone.expect_text(
            start_of(
                lang,
                "Erase this conversation? The counsellor is told that it ended, and the case code "
                "no longer works. This cannot be undone.",
            )
        )
        await phone.press(t(lang, "Yes, erase this conversation"))
        await phone.expect_text(t(lang, "The conversation has been erased."))
        await bot.sandbox.idle()  # erasing wiped both phones, the first one's P.S. too
        assert all(m.deleted for m in member.messages if "P.S." in m.text)
        assert any("P.S." in m.text for m in member.messages)
        await erik.expect_text(
            t("en", "Case <code>{code}</code> was ended and erased by the member.", code=code)
        )
        await phone.send_text("/vertrouwelijk")
        await phone.expect_text(t(lang, "A confidential conversation"))
        await phone.press("🔑 " + t(lang, "I have a case code"))
        await phone.expect_text(t(lang, "Type your case code (it looks like K7QM-3XTD)."))
        await phone.send_text(code)
        await phone.expect_text(
            t(lang, "I cannot open a conversation with that code. Check it and try again.")
        )
