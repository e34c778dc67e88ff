"""The RSA key that signs access tokens, and its public half as a JWKS."""

import functools
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from jwcrypto import jwk

from getitdone.devfiles import generated_once


@dataclass(frozen=True)
class SigningKey:
    private_pem: bytes
    kid: str
    public_jwk: dict


@functools.cache
def signing_key() -> SigningKey:
    pem = settings.JWT_PRIVATE_KEY.encode() if settings.JWT_PRIVATE_KEY else _dev_key(settings.JWT_PRIVATE_KEY_FILE)
    key = jwk.JWK.from_pem(pem)
    kid = key.thumbprint()  # RFC 7638: stable for the key, changes when the key does
    public = key.export_public(as_dict=True) | {"kid": kid, "use": "sig", "alg": "RS256"}
    return SigningKey(private_pem=pem, kid=kid, public_jwk=public)


def jwks() -> dict:
    return {"keys": [signing_key().public_jwk]}


def _dev_key(path: Path) -> bytes:
    """Generated once into var/ for a machine without JWT_PRIVATE_KEY."""

    def make() -> bytes:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    return generated_once(path, make)
