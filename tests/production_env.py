"""What a process started by a test or a benchmark needs to start with DEBUG off: real secrets
(getitdone.checks refuses the development fallbacks), the same keys as the process that starts
it where it has them, and plain HTTP on loopback."""

import functools
import secrets

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings


@functools.cache
def production_env() -> dict[str, str]:
    if settings.configured:  # a test: its workers must read what it encrypted
        from fulfillment.keys import signing_key

        pem, field_keys = signing_key().private_pem, ",".join(settings.FIELD_ENCRYPTION_KEYS)
    else:  # a benchmark's processes only need to agree among themselves
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        encoding, format_ = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
        pem = key.private_bytes(encoding, format_, serialization.NoEncryption())
        field_keys = Fernet.generate_key().decode()
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_PRIVATE_KEY": pem.decode(),
        "FIELD_ENCRYPTION_KEYS": field_keys,
        "SECURE_SSL_REDIRECT": "false",
    }
