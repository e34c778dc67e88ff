"""The command endpoint (API.md §8)."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commands import selectors, services
from commands.api.schemas import BatchRequestDoc, BatchResultDoc, CommandDoc, command_request
from commands.api.serializers import CommandBatchInputSerializer, CommandFilterSerializer
from getitdone.api.envelope import success
from getitdone.api.exceptions import flatten_errors
from getitdone.api.fields import form_values
from getitdone.api.pagination import PageQuerySerializer, paginated
from getitdone.api.schema import page_of
from getitdone.errors import DomainError
from getitdone.limits import KEY_MAX_LENGTH, KEY_PATTERN

_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": KEY_PATTERN}


def _accepted(request: Request, accepted: services.Accepted) -> Response:
    if accepted.replayed is not None:
        body, status = accepted.replayed["body"], accepted.replayed["status_code"]
    else:
        body, status = services.command_representation(accepted.command), 202
    response = Response(body, status=status)
    response["Location"] = f"/api/commands/{accepted.command.pk}"
    return response


class CommandListCreateApi(APIView):
    @extend_schema(
        operation_id="commands_send", tags=["commands"], request=command_request(), responses={202: CommandDoc},
        parameters=[OpenApiParameter("Idempotency-Key", _KEY_SCHEMA, OpenApiParameter.HEADER, description="Kept 24 h")],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        accepted = services.command_accept(
            integrator=request.user, body=request.data, idempotency_key=request.headers.get("Idempotency-Key")
        )
        return _accepted(request, accepted)

    @extend_schema(
        operation_id="commands_list",
        tags=["commands"],
        parameters=[CommandFilterSerializer, PageQuerySerializer],
        responses=page_of(CommandDoc, "CommandPage"),
    )
    def get(self, request: Request) -> Response:
        filters = CommandFilterSerializer(data=form_values(request.query_params))
        filters.is_valid(raise_exception=True)
        queryset = selectors.command_list(integrator=request.user, **filters.validated_data)
        return paginated(request, self, queryset, services.command_representation)


class CommandBatchApi(APIView):
    @extend_schema(
        operation_id="commands_send_batch", tags=["commands"], request=BatchRequestDoc, responses={202: BatchResultDoc}
    )
    def post(self, request: Request) -> Response:
        batch = CommandBatchInputSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        # One transaction: each command is accepted or rejected on its own, but an unexpected
        # error on one leaves none of the batch behind its 500.
        with transaction.atomic():
            results = [_accept_one(request, index, body) for index, body in enumerate(batch.validated_data["commands"])]
        rejected = sum(1 for r in results if r["status"] == "rejected")
        warning = [{"code": "rejected", "field": f"commands.{r['index']}", "value": r["error"][0]["message"]}
                   for r in results if r["status"] == "rejected"] or None  # fmt: skip
        body = success({"results": results, "accepted": len(results) - rejected, "rejected": rejected}, status_code=202,
                       warning=warning)  # fmt: skip
        return Response(body, status=202)


def _accept_one(request: Request, index: int, body: Any) -> dict[str, Any]:
    try:
        accepted = services.command_accept(integrator=request.user, body=body)
    except serializers.ValidationError as exc:
        return {"index": index, "status": "rejected", "error": flatten_errors(exc.detail)}
    except DomainError as exc:
        return {"index": index, "status": "rejected", "error": [exc.as_dict()]}
    command = accepted.replayed["body"] if accepted.replayed else services.command_representation(accepted.command)
    return {"index": index, "status": "accepted", "command": command}


class CommandDetailApi(APIView):
    @extend_schema(operation_id="commands_get", tags=["commands"], responses=CommandDoc)
    def get(self, request: Request, command_pk: int) -> Response:
        return Response(services.command_representation(selectors.command_get(integrator=request.user, pk=command_pk)))
