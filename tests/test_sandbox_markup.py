"""The sandbox's pure parts: Telegram formatting, flood buckets, faults, body parameters."""

from __future__ import annotations

import pytest

from sandbox.faults import Faults
from sandbox.limits import Limits, RateLimiter, TokenBucket
from sandbox.markup import (
    EntityParseError,
    entities_to_html,
    parse,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    utf16_len,
)
from sandbox.params import Params, Upload
from sandbox.state import ApiError, SandboxMessage, StoredMessage


def test_html_gives_plain_text_and_utf16_offsets() -> None:
    text, entities = parse_html(
        '😀 <b>Debat</b> &amp; <a href="https://x.nl/?a=1&amp;b=2">meer</a>'
    )
    assert text == "😀 Debat & meer"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 5},  # the emoji counts two UTF-16 units
        {"type": "text_link", "url": "https://x.nl/?a=1&b=2", "offset": 11, "length": 4},
    ]
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert (text, entities) == (
        "x = 1",
        [{"type": "pre", "language": "python", "offset": 0, "length": 5}],
    )
    assert parse_html('<span class="tg-spoiler">geheim</span>')[1][0]["type"] == "spoiler"


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("Hoi <Anna>", 'Unsupported start tag "anna" at byte offset 4'),
        ("<b>vet", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<div>blok</div>", 'Unsupported start tag "div" at byte offset 0'),
        ('<span class="rood">x</span>', 'Unsupported start tag "span" at byte offset 0'),
    ],
)
def test_html_errors_are_telegrams(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert str(caught.value) == error
    assert caught.value.description == f"Bad Request: can't parse entities: {error}"


def test_legacy_markdown() -> None:
    text, entities = parse_markdown("*vet* _schuin_ `code` [link](https://x.nl) a\\_b")
    assert text == "vet schuin code link a_b"
    assert [e["type"] for e in entities] == ["bold", "italic", "code", "text_link"]
    with pytest.raises(EntityParseError, match="Can't find end of the entity starting at byte"):
        parse_markdown("user_name")


def test_markdown_v2_requires_escapes() -> None:
    text, entities = parse_markdown_v2(
        "*vet _en schuin_* __onder__ ~weg~ ||spoiler|| `a\\`b` [x](https://x.nl/\\)) 1\\.5"
    )
    assert text == "vet en schuin onder weg spoiler a`b x 1.5"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    assert entities[-1]["url"] == "https://x.nl/)"
    for bad, message in [
        ("Workshop om 19.30", "Character '.' is reserved"),
        ("*vet", "Can't find end of Bold entity at byte offset 0"),
        ("a | b", "Character '|' is reserved"),
    ]:
        with pytest.raises(EntityParseError, match=message.replace("|", r"\|").replace(".", r"\.")):
            parse_markdown_v2(bad)
    quote, quote_entities = parse_markdown_v2(">citaat\n>nog\nklaar")
    assert quote == "citaat\nnog\nklaar" and quote_entities[0]["type"] == "blockquote"


def test_entities_render_back_to_html() -> None:
    for source in [
        "<b>vet <i>en schuin</i></b> 😀 <u>x</u>",
        'zie <a href="https://x.nl">hier</a>',
    ]:
        assert entities_to_html(*parse_html(source)) == source
    assert entities_to_html("a < b", []) == "a &lt; b"
    assert parse("zonder opmaak <b>", None) == ("zonder opmaak <b>", [])
    assert utf16_len("😀a") == 3


def test_sandbox_message_html_view() -> None:
    stored = StoredMessage(1, 1, True, 9, {"text": "a b", "entities": []}, "a b", None)
    message: SandboxMessage = stored.snapshot()
    assert message.html == "a b" and str(message) == "a b"


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=2, now=0.0)
    bucket.take(0.0)
    bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(0.5)
    assert bucket.wait(0.5) == 0.0


def test_rate_limiter_checks_all_buckets_before_taking() -> None:
    limiter = RateLimiter(Limits(bot_per_second=10, bot_burst=3, private_burst=2))
    assert limiter.send(1, 100, False, 0.0) is None
    assert limiter.send(1, 100, False, 0.0) is None
    assert limiter.send(1, 100, False, 0.0) == 1  # the chat's burst is spent
    assert limiter.send(1, 200, False, 0.0) is None  # the refusal took no global token
    assert limiter.send(1, 300, False, 0.0) == 1  # now the bot's burst is spent
    assert RateLimiter(Limits.off()).send(1, 100, False, 0.0) is None
    assert limiter.edit(1, 100, 0.0) is None  # edits are not limited by default
    edits = RateLimiter(Limits(edits_per_second=1, edits_burst=1))
    assert edits.edit(1, 100, 0.0) is None and edits.edit(1, 100, 0.1) == 1
    assert Limits().but(private_burst=1).private_burst == 1


def test_faults_are_used_up_in_order() -> None:
    faults = Faults()
    faults.fail_next("sendMessage", 429, count=2)
    faults.delay_next("*", 0.5)
    failure, delay = faults.take("SendMessage")
    assert failure is not None and failure.description == "Too Many Requests: retry after 1"
    assert delay is not None and delay.seconds == 0.5
    assert faults.take("getMe") == (None, None)
    assert faults.take("sendmessage")[0] is not None
    assert faults.pending == 0


def test_params_convert_by_expected_type() -> None:
    form = Params(
        {
            "chat_id": "-100123",
            "text": "123",
            "show_alert": "true",
            "reply_markup": '{"remove_keyboard": true}',
            "document": "attach://f",
        },
        {"f": Upload("a.csv", "text/csv", b"x")},
    )
    assert form.integer("chat_id") == -100123
    assert form.text("text") == "123"
    assert form.flag("show_alert") is True
    assert form.obj("reply_markup") == {"remove_keyboard": True}
    assert form.file("document") == Upload("a.csv", "text/csv", b"x")
    native = Params({"chat_id": 5, "show_alert": False, "text": 7, "scope": {"type": "default"}})
    assert native.integer("chat_id") == 5 and native.flag("show_alert") is False
    assert native.text("text") == "7" and native.obj("scope") == {"type": "default"}
    with pytest.raises(ApiError, match="can't parse reply keyboard markup"):
        Params({"reply_markup": "{nope"}).obj("reply_markup", "reply keyboard markup")
