"""Cursor pagination in the contract's shape: `data = {"results": [...], "next_cursor": ...}`,
query parameters `limit` (default 50, at most 200) and `cursor`, both validated (422).

The cursor is opaque to clients but has a fixed grammar, which the schema states, so that every
cursor the schema allows can be decoded: `f` or `r` (the direction), the id of the row it
starts after (none on a first page: every ordering here is by id), a dot, and how many rows of
that id to skip. DRF's own cursors (base64 of a query string) could not be described so.
"""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

from rest_framework import serializers
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from getitdone.api.fields import FullMatchValidator, form_values

CURSOR_PATTERN = r"^([fr])([0-9]{0,18})\.([0-9]{1,4})$"
_CURSOR = re.compile(CURSOR_PATTERN)
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_LIMIT,
        help_text=f"Page size, default {DEFAULT_LIMIT}, at most {MAX_LIMIT}",
    )
    cursor = serializers.CharField(
        required=False,
        trim_whitespace=False,
        validators=[FullMatchValidator(CURSOR_PATTERN, "Invalid cursor.")],
        help_text="The next_cursor of the previous page",
    )


class ContractCursorPagination(CursorPagination):
    page_size = DEFAULT_LIMIT
    max_page_size = MAX_LIMIT
    page_size_query_param = "limit"
    cursor_query_param = "cursor"
    ordering = "-id"

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list | None:
        query = PageQuerySerializer(data=form_values(request.query_params))
        query.is_valid(raise_exception=True)
        self.query = query.validated_data
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request: Any) -> int:
        return self.query.get("limit", self.page_size)

    def encode_cursor(self, cursor: Cursor) -> str:
        token = f"{'r' if cursor.reverse else 'f'}{cursor.position or ''}.{cursor.offset}"
        return replace_query_param(self.base_url, self.cursor_query_param, token)

    def decode_cursor(self, request: Any) -> Cursor | None:
        token = self.query.get("cursor")
        if token is None:
            return None
        direction, position, offset = _CURSOR.fullmatch(token).groups()  # the serializer matched it
        return Cursor(offset=min(int(offset), self.offset_cutoff), reverse=direction == "r", position=position or None)

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
    """One page of `queryset`, each item rendered, in the contract's list shape. The view
    documents `PageQuerySerializer` among its parameters."""
    paginator = pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response([render(item) for item in page])
