"""The API's JSON parser: DRF's, refusing a body nested past the limit before it parses it
(Python's parser recurses once per level, so a deep enough body would exhaust the stack)."""

import io
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from getitdone.limits import BODY_MAX_DEPTH, body_depth_exceeds


class LimitedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        raw = stream.read() if stream is not None else b""
        if body_depth_exceeds(raw):
            raise ParseError(f"JSON parse error - nested deeper than {BODY_MAX_DEPTH} levels.")
        return super().parse(io.BytesIO(raw), media_type, parser_context)
