"""Encryption at rest for stored tenant credentials: Fernet keys from BRIDGED_SECRET_KEY.

`cryptography`'s Fernet (AES-128-CBC + HMAC-SHA256, with a timestamp) and MultiFernet (several keys:
the first encrypts, any decrypts, `rotate` re-encrypts with the first) do exactly what Bridged's promise
"credentials are encrypted and never stored in plain text" needs; hand-written crypto would not.
There is no built-in default key: without BRIDGED_SECRET_KEY nothing can be stored or read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bridged_auth0_pipeline.config.settings import SettingsError

SECRET_KEY_VARIABLE = "BRIDGED_SECRET_KEY"
HOW_TO_SET = (
    "Fix: create a key with `bridged-auth0 keygen` and set BRIDGED_SECRET_KEY=<key> wherever the CLI, the Dagster "
    "daemon and the runs start (several keys, comma-separated: the first encrypts, all decrypt)."
)


class SecretKeyError(SettingsError):
    """BRIDGED_SECRET_KEY is missing, malformed, or does not open a stored secret."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    """Encrypts with the first key of BRIDGED_SECRET_KEY, decrypts with any of them."""

    def __init__(self, keys: list[str]):
        if not keys:
            raise SecretKeyError(f"{SECRET_KEY_VARIABLE} is not set: stored tenant credentials are encrypted with it. {HOW_TO_SET}")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode()))
            except ValueError:
                raise SecretKeyError(
                    f"{SECRET_KEY_VARIABLE}: key {position} of {len(keys)} is not a Fernet key (32 url-safe base64 bytes). "
                    f"{HOW_TO_SET}"
                ) from None
        self._fernet = MultiFernet(fernets)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SecretBox":
        value = (os.environ if env is None else env).get(SECRET_KEY_VARIABLE) or ""
        return cls([key.strip() for key in value.split(",") if key.strip()])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str, *, owner: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                f"The stored secret of tenant {owner!r} opens with no key in {SECRET_KEY_VARIABLE}: it was encrypted "
                "with a key that has been removed. Fix: put the old key back (after the new one) and run "
                f"`bridged-auth0 rotate-key`, or store the secret again with `bridged-auth0 connect {owner} ...`."
            ) from None

    def rotate(self, ciphertext: str, *, owner: str) -> str:
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            self.decrypt(ciphertext, owner=owner)  # raises the explanation
            raise
