"""Sealing what nobody but the bot may read: the confidential path's one key, and its uses.

`CONFIDENTIAL_KEY` (32 random bytes, URL-safe base64; `ledenbot confidential-key` makes one)
is the only secret. From it HKDF derives one subkey per purpose, so a value sealed for one
purpose cannot be opened as another, and a keyed lookup tag never equals a ciphertext:

- `seal`/`unseal`: AES-256-GCM (the `cryptography` library's AEAD, a fresh 96-bit nonce per
  value) for what must be read back: the link from a case to a member, a message waiting to
  be relayed. The `context` (a case id, say) is bound as associated data, so a sealed value
  copied onto another row does not open.
- `tag`: HMAC-SHA256 for what must only be found again: "does this member have a case?",
  "has this member answered this survey?". Without the key, a tag says nothing.

`cryptography` costs ~8 MiB, so it is imported on first use, never at start-up.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class Purpose(StrEnum):
    """Each use of the key gets its own subkey (the value is HKDF's `info`)."""

    CASE_LINK = "ledenbot case link v1"
    PENDING_MESSAGE = "ledenbot pending message v1"
    CASE_LOOKUP = "ledenbot case lookup v1"
    SURVEY = "ledenbot survey v1"


class BadKey(ValueError):
    """CONFIDENTIAL_KEY is present but not a usable key; the text says what to do."""


class SealBroken(Exception):
    """A sealed value did not open: another key, another context, or tampered with."""


def new_key() -> str:
    """A fresh key as an operator puts it in the environment."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def parse_key(text: str) -> bytes:
    """The 32 key bytes from their base64 text, or a clear reason why not."""
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise BadKey(
            "expected 32 random bytes in URL-safe base64 (make one with "
            "`ledenbot confidential-key`)"
        ) from exc
    if len(raw) != KEY_BYTES:
        raise BadKey(
            f"expected 32 bytes, got {len(raw)} (make one with `ledenbot confidential-key`)"
        )
    return raw


class Keyring:
    """The subkeys of one CONFIDENTIAL_KEY; holds no plaintext of its own."""

    __slots__ = ("_subkeys",)

    def __init__(self, key: bytes) -> None:
        self._subkeys = {p: _derive(key, p) for p in Purpose}

    @classmethod
    def from_text(cls, text: str) -> Keyring:
        return cls(parse_key(text))

    def seal(self, purpose: Purpose, plaintext: bytes, context: bytes = b"") -> bytes:
        """nonce ‖ ciphertext ‖ tag; `context` must be given again to open it."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + _aead(self._subkeys[purpose]).encrypt(nonce, plaintext, context)

    def unseal(self, purpose: Purpose, sealed: bytes, context: bytes = b"") -> bytes:
        from cryptography.exceptions import InvalidTag

        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            return _aead(self._subkeys[purpose]).decrypt(nonce, body, context)
        except (InvalidTag, ValueError) as exc:
            raise SealBroken from exc

    def tag(self, purpose: Purpose, *parts: str | int | bytes) -> bytes:
        """A keyed fingerprint of `parts` (unambiguous: each part is length-prefixed)."""
        mac = hmac.new(self._subkeys[purpose], digestmod=hashlib.sha256)
        for part in parts:
            data = part if isinstance(part, bytes) else str(part).encode("utf-8")
            mac.update(len(data).to_bytes(4, "big") + data)
        return mac.digest()


def _derive(key: bytes, purpose: Purpose) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode())
    return hkdf.derive(key)


@cache
def _aead(subkey: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(subkey)


def keyring(key: str | None) -> Keyring | None:
    """The keyring of the configured key (made once per key), or None: the path is off."""
    return None if key is None else _keyring(key)


@cache
def _keyring(key: str) -> Keyring:
    return Keyring.from_text(key)
