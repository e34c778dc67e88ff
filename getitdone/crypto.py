"""Encryption at rest for the secrets the service must read back: webhook signing keys.

They cannot be hashed like client secrets, since HMAC signing needs the key itself; so they are
stored as Fernet tokens under FIELD_ENCRYPTION_KEYS. The first key encrypts and every key
decrypts: a key is rotated by putting a new one first, re-encrypting (`manage.py
reencrypt_secrets`), then dropping the old one.
"""

import functools
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


class DecryptionError(Exception):
    """A stored value that none of FIELD_ENCRYPTION_KEYS decrypts (a dropped key, or not a token)."""


@functools.lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    # Keyed by the keys themselves: a process builds it once, and overridden settings get theirs.
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    return MultiFernet([Fernet(key) for key in keys])


def _keys() -> tuple[str, ...]:
    return tuple(settings.FIELD_ENCRYPTION_KEYS)


def encrypt(text: str) -> str:
    return _fernet(_keys()).encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext of `token`; raises DecryptionError if no configured key opens it.

    Memoized: every delivery decrypts its secrets, and a ciphertext is unique to one encryption
    (random IV), so its plaintext never changes. The keys are part of the cache key, so a token
    whose key was dropped fails even if it was decrypted before."""
    return _decrypt(token, _keys())


@functools.lru_cache(maxsize=2048)
def _decrypt(token: str, keys: tuple[str, ...]) -> str:
    try:
        return _fernet(keys).decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("No key in FIELD_ENCRYPTION_KEYS decrypts this value.") from None


def ensure_encrypted(value: str) -> str:
    """`value` as a token: itself if a configured key decrypts it, else encrypted (clear text)."""
    try:
        decrypt(value)
    except DecryptionError:
        return encrypt(value)
    return value


def reencrypt(token: str) -> str:
    """`token` under the first key (itself if it already is), so that the other keys can go."""
    keys = _keys()
    try:
        _fernet(keys[:1]).decrypt(token.encode())
    except InvalidToken:
        try:
            return _fernet(keys).rotate(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError("No key in FIELD_ENCRYPTION_KEYS decrypts this value.") from None
    return token


def rewrite_stored(
    connection: BaseDatabaseWrapper, table: str, column: str, change: Callable[[str], str], *, pk: str = "id"
) -> int:
    """Pass each non-empty value stored in `column` through `change`; returns how many changed.

    By raw SQL, since the field itself would decrypt on read (data migrations run on rows still
    in clear). Each UPDATE is conditional on the value read, so a secret rotated meanwhile keeps
    its new value (written under the first key anyway)."""
    table, column, pk = (connection.ops.quote_name(name) for name in (table, column, pk))
    changed = 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} <> ''")
        for key, value in cursor.fetchall():
            new = change(value)
            if new != value:
                cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s", [new, key, value])
                changed += cursor.rowcount
    return changed


class EncryptedTextField(models.TextField):
    """Text stored encrypted: Django code reads and writes plaintext; the column holds a token.

    The empty string stays empty (an unset `previous_secret`). `to_python` is TextField's, since
    forms and fixtures deal in plaintext. Each write encrypts afresh, so the column cannot be
    filtered on by value."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt(value) if value else value

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return decrypt(value) if value else value
