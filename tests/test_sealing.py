"""The confidential path's key: sealed values open only with their key, purpose and context."""

from __future__ import annotations

import base64

import pytest

from bot.cli import main
from bot.sealing import BadKey, Keyring, Purpose, SealBroken, keyring, new_key, parse_key
from bot.settings import load_settings


def test_a_sealed_value_opens_with_its_key_purpose_and_context_only() -> None:
    ring = Keyring.from_text(new_key())
    sealed = ring.seal(Purpose.CASE_LINK, b"member 4242", b"case 7")
    assert b"4242" not in sealed
    assert ring.unseal(Purpose.CASE_LINK, sealed, b"case 7") == b"member 4242"
    with pytest.raises(SealBroken):
        ring.unseal(Purpose.CASE_LINK, sealed, b"case 8")  # copied onto another row
    with pytest.raises(SealBroken):
        ring.unseal(Purpose.PENDING_MESSAGE, sealed, b"case 7")
    with pytest.raises(SealBroken):
        Keyring.from_text(new_key()).unseal(Purpose.CASE_LINK, sealed, b"case 7")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SealBroken):
        ring.unseal(Purpose.CASE_LINK, tampered, b"case 7")


def test_sealing_twice_gives_different_bytes() -> None:
    ring = Keyring.from_text(new_key())
    assert ring.seal(Purpose.CASE_LINK, b"x") != ring.seal(Purpose.CASE_LINK, b"x")


def test_tags_are_keyed_per_purpose_and_unambiguous() -> None:
    key = new_key()
    ring, other = Keyring.from_text(key), Keyring.from_text(new_key())
    assert ring.tag(Purpose.CASE_LOOKUP, 42) == Keyring.from_text(key).tag(Purpose.CASE_LOOKUP, 42)
    assert ring.tag(Purpose.CASE_LOOKUP, 42) != other.tag(Purpose.CASE_LOOKUP, 42)
    assert ring.tag(Purpose.CASE_LOOKUP, 42) != ring.tag(Purpose.SURVEY, 42)
    assert ring.tag(Purpose.SURVEY, "ab", "c") != ring.tag(Purpose.SURVEY, "a", "bc")


@pytest.mark.parametrize("text", ["", "not base64!", base64.urlsafe_b64encode(b"short").decode()])
def test_a_bad_key_is_refused_with_how_to_make_one(text: str) -> None:
    with pytest.raises(BadKey, match="ledenbot confidential-key"):
        parse_key(text)


def test_settings_check_the_key_and_leave_the_path_off_without_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert load_settings(confidential_key="").confidential_key is None
    assert keyring(None) is None
    with pytest.raises(SystemExit):
        load_settings(confidential_key="too-short")
    assert "CONFIDENTIAL_KEY" in capsys.readouterr().err
    key = new_key()
    settings = load_settings(confidential_key=key)
    assert settings.confidential_key is not None
    assert key not in repr(settings)  # a SecretStr never prints itself
    assert keyring(settings.confidential_key.get_secret_value()) is not None


def test_the_cli_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    main(["confidential-key"])
    printed = capsys.readouterr().out.strip()
    assert len(parse_key(printed)) == 32
