"""The command endpoint (API.md §8)."""

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commands import selectors, services
from commands.models import CommandStatus
from commands.registry import command_types
from getitdone.api.envelope import success
from getitdone.api.exceptions import flatten_errors
from getitdone.api.pagination import ContractCursorPagination
from getitdone.errors import DomainError


def _accepted(request: Request, accepted: services.Accepted) -> Response:
    if accepted.replayed is not None:
        body, status = accepted.replayed["body"], accepted.replayed["status_code"]
    else:
        body, status = services.command_representation(accepted.command), 202
    response = Response(body, status=status)
    response["Location"] = f"/api/commands/{accepted.command.pk}"
    return response


class CommandListCreateApi(APIView):
    def post(self, request: Request) -> Response:
        accepted = services.command_accept(
            integrator=request.user, body=request.data, idempotency_key=request.headers.get("Idempotency-Key")
        )
        return _accepted(request, accepted)

    def get(self, request: Request) -> Response:
        filters = CommandFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = ContractCursorPagination()
        queryset = selectors.command_list(integrator=request.user, **filters.validated_data)
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([services.command_representation(c) for c in page])


class CommandFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(required=False, choices=CommandStatus.values)
    type = serializers.ChoiceField(required=False, choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = command_types()


class CommandBatchInputSerializer(serializers.Serializer):
    commands = serializers.ListField(child=serializers.JSONField(), min_length=1, max_length=100)


class CommandBatchApi(APIView):
    def post(self, request: Request) -> Response:
        batch = CommandBatchInputSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        results = []
        for index, body in enumerate(batch.validated_data["commands"]):
            try:
                accepted = services.command_accept(integrator=request.user, body=body)
            except serializers.ValidationError as exc:
                results.append({"index": index, "status": "rejected", "error": flatten_errors(exc.detail)})
                continue
            except DomainError as exc:
                results.append({"index": index, "status": "rejected", "error": [exc.as_dict()]})
                continue
            command = (
                accepted.replayed["body"] if accepted.replayed else services.command_representation(accepted.command)
            )
            results.append({"index": index, "status": "accepted", "command": command})
        rejected = sum(1 for r in results if r["status"] == "rejected")
        warning = [{"code": "rejected", "field": f"commands.{r['index']}", "value": r["error"][0]["message"]}
                   for r in results if r["status"] == "rejected"] or None  # fmt: skip
        body = success({"results": results, "accepted": len(results) - rejected, "rejected": rejected}, status_code=202,
                       warning=warning)  # fmt: skip
        return Response(body, status=202)


class CommandDetailApi(APIView):
    def get(self, request: Request, command_pk: int) -> Response:
        return Response(services.command_representation(selectors.command_get(integrator=request.user, pk=command_pk)))
