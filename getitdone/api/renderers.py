"""JSON renderer that wraps plain view data in the envelope (errors arrive already wrapped)."""

from typing import Any

from rest_framework.renderers import JSONRenderer

from getitdone.api.envelope import Envelope, success


class EnvelopeJSONRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and not isinstance(data, Envelope):
            data = success(data, status_code=response.status_code)
        return super().render(data, accepted_media_type, renderer_context)
