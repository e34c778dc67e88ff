"""JSON renderer that wraps plain view data in the envelope (errors arrive already wrapped), and
writes `RawJSON` values as the JSON text they already are.

The polling feed returns up to 500 events whose `data` PostgreSQL already holds as JSON: parsing
each into Python only to serialize it again was a third of the feed's CPU. The renderer writes a
placeholder string for each fragment and splices the text in after the one `json.dumps`.
"""

import contextvars
import re
import secrets
from dataclasses import dataclass
from typing import Any

from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

from getitdone.api.envelope import Envelope, success


@dataclass(frozen=True)
class RawJSON:
    """A value already encoded as JSON (from the database, which checked it on the way in)."""

    text: str


# The placeholder carries a per-process nonce: no string a client stored can look like one.
_NONCE = secrets.token_hex(8)
_PLACEHOLDER = re.compile(rb'"\\u0000raw:' + _NONCE.encode() + rb':(\d+)\\u0000"')
_fragments: contextvars.ContextVar[list[bytes] | None] = contextvars.ContextVar("raw_json_fragments", default=None)


class _Encoder(JSONEncoder):
    def default(self, obj: Any) -> Any:
        fragments = _fragments.get()
        if isinstance(obj, RawJSON) and fragments is not None:
            # As DRF writes every string: U+2028 and U+2029 escaped, so the body is valid JavaScript.
            fragments.append(obj.text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode())
            return f"\x00raw:{_NONCE}:{len(fragments) - 1}\x00"
        return super().default(obj)


class EnvelopeJSONRenderer(JSONRenderer):
    encoder_class = _Encoder

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and not isinstance(data, Envelope):
            data = success(data, status_code=response.status_code)
        fragments: list[bytes] = []
        token = _fragments.set(fragments)
        try:
            body = super().render(data, accepted_media_type, renderer_context)
        finally:
            _fragments.reset(token)
        return _PLACEHOLDER.sub(lambda m: fragments[int(m[1])], body) if fragments else body
