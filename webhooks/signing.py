"""Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
where the key is the base64 part of a `whsec_` secret."""

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"

_B64 = "[A-Za-z0-9+/]"
_B64_24_TO_63_BYTES = rf"(?:{_B64}{{4}}){{8,20}}(?:{_B64}{{2}}==|{_B64}{{3}}=|{_B64}{{4}})?"
_B64_64_BYTES = rf"(?:{_B64}{{4}}){{21}}{_B64}{{2}}=="
# A secret a client may give: whsec_ and the base64 of 24 to 64 bytes (ECMA-compatible: the
# schema shows it).
SECRET_PATTERN = rf"^whsec_(?:{_B64_24_TO_63_BYTES}|{_B64_64_BYTES})$"


def generate_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    message = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_key(secret), message, hashlib.sha256).digest()).decode()


def signature_header(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per live secret (two during a rotation)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)
