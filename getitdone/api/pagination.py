"""Cursor pagination in the contract's shape: `data = {"results": [...], "next_cursor": ...}`,
query parameters `limit` (default 50, at most 200) and `cursor`."""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

_ID = re.compile(r"[0-9]{1,18}")


class ContractCursorPagination(CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"
    cursor_query_param = "cursor"
    ordering = "-id"

    def decode_cursor(self, request: Any) -> Any:
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]}) from exc
        # Every ordering here is by id: a position that is no id was not made by us.
        if cursor is not None and cursor.position is not None and not _ID.fullmatch(cursor.position):
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]})
        return cursor

    def _token(self, link: str | None) -> str | None:
        if not link:
            return None
        return parse_qs(urlparse(link).query).get(self.cursor_query_param, [None])[0]

    def get_paginated_response(self, data: list) -> Response:
        return Response({"results": data, "next_cursor": self._token(self.get_next_link())})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results", "next_cursor"],
            "properties": {
                "results": schema,
                "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page."},
            },
        }


class AscendingCursorPagination(ContractCursorPagination):
    ordering = "id"


def paginated(
    request: Any,
    view: Any,
    queryset: Any,
    render: Callable[[Any], dict],
    pagination: type[ContractCursorPagination] = ContractCursorPagination,
) -> Response:
    """One page of `queryset`, each item rendered, in the contract's list shape."""
    paginator = pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response([render(item) for item in page])
