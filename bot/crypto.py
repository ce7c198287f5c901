"""Encryption of secrets at rest (bot tokens), with the Fernet key(s) in ENCRYPTION_KEY.

ENCRYPTION_KEY may hold several comma-separated keys: the first encrypts, all of them
decrypt, so a key can be rotated without losing the installations stored under the old one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.errors import ConfigError

GENERATE_HINT = (
    'generate one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


class CryptoError(ConfigError):
    """A key is missing, malformed, or does not open what was stored."""


class MissingEncryptionKeyError(CryptoError):
    """Secrets would be stored in clear text: refused."""


class TokenCipher:
    """Encrypts and decrypts short secrets; the ciphertext is URL-safe text for a column."""

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise MissingEncryptionKeyError(f"ENCRYPTION_KEY is empty; {GENERATE_HINT}")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError) as exc:
            raise CryptoError(
                f"ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64 bytes); "
                f"{GENERATE_HINT}"
            ) from exc

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken as exc:
            raise CryptoError(
                "A stored token cannot be decrypted with ENCRYPTION_KEY: the key changed. "
                "Put the old key after the new one (comma-separated) or reinstall the app."
            ) from exc


def require_cipher(key: str | None, *, purpose: str) -> TokenCipher:
    """The cipher for `key`, or a clear refusal naming what needed it."""
    if not key or not key.strip():
        raise MissingEncryptionKeyError(
            f"{purpose} stores tokens in the database, and ENCRYPTION_KEY is not set, so "
            f"they would be stored in clear text. Set ENCRYPTION_KEY; {GENERATE_HINT}"
        )
    return TokenCipher(key)
