"""The polling feed (API.md §6) and webhook endpoint configuration (§7)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from getitdone.api.fields import form_values
from getitdone.api.pagination import PageQuerySerializer, paginated
from getitdone.api.schema import page_of
from getitdone.errors import NotFound
from webhooks import selectors, services
from webhooks.api.schemas import DeliveryDoc, EventDoc, EventFeedDoc, RecoverDoc, WebhookDoc, WebhookWithSecretDoc
from webhooks.api.serializers import (
    EventFeedInputSerializer,
    WebhookCreateInputSerializer,
    WebhookRecoverInputSerializer,
    WebhookUpdateInputSerializer,
)
from webhooks.catalogue import EVENT_TYPES
from webhooks.representations import delivery_representation, webhook_representation
from webhooks.schemas import event_schema, event_schemas


class EventFeedApi(APIView):
    @extend_schema(
        operation_id="events_list", tags=["events"], parameters=[EventFeedInputSerializer], responses=EventFeedDoc
    )
    def get(self, request: Request) -> Response:
        params = EventFeedInputSerializer(data=form_values(request.query_params))
        params.is_valid(raise_exception=True)
        page = selectors.event_feed(integrator=request.user, **params.validated_data)
        return Response(
            {
                "results": page.results,
                "next_after": page.next_after,
                "has_more": page.has_more,
            }
        )


class EventSchemasApi(APIView):
    """The JSON Schema of every event type (docs/events.md): public, as the catalogue is."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="events_schemas", tags=["events"], auth=[],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="JSON Schemas, by event type")},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        return Response(event_schemas())


class EventSchemaApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="events_schema", tags=["events"], auth=[],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The event type's JSON Schema")},
    )  # fmt: skip
    def get(self, request: Request, event_type: str) -> Response:
        if event_type not in EVENT_TYPES:
            raise NotFound("No such event type.")
        return Response(event_schema(event_type))


class EventDetailApi(APIView):
    @extend_schema(operation_id="events_get", tags=["events"], responses=EventDoc)
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.event_get(integrator=request.user, event_id=event_id)
        if event is None:
            raise NotFound("No such event.")
        return Response(event)


class WebhookListCreateApi(APIView):
    @extend_schema(
        operation_id="webhooks_list", tags=["webhooks"], parameters=[PageQuerySerializer],
        responses=page_of(WebhookDoc, "WebhookPage"),
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        return paginated(request, self, selectors.webhook_list(integrator=request.user), webhook_representation)

    @extend_schema(
        operation_id="webhooks_create",
        tags=["webhooks"],
        request=WebhookCreateInputSerializer,
        responses={201: WebhookWithSecretDoc},
    )
    def post(self, request: Request) -> Response:
        serializer = WebhookCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_create(integrator=request.user, **serializer.validated_data)
        return Response(webhook_representation(endpoint, with_secret=True), status=201)


class WebhookDetailApi(APIView):
    @extend_schema(operation_id="webhooks_get", tags=["webhooks"], responses=WebhookDoc)
    def get(self, request: Request, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(integrator=request.user, webhook_id=webhook_id)
        return Response(webhook_representation(endpoint))

    @extend_schema(
        operation_id="webhooks_update", tags=["webhooks"], request=WebhookUpdateInputSerializer, responses=WebhookDoc
    )
    def patch(self, request: Request, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(integrator=request.user, webhook_id=webhook_id)
        serializer = WebhookUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_update(endpoint=endpoint, **serializer.validated_data)
        return Response(webhook_representation(endpoint))

    @extend_schema(operation_id="webhooks_delete", tags=["webhooks"], responses={200: None})
    def delete(self, request: Request, webhook_id: int) -> Response:
        services.webhook_delete(endpoint=selectors.webhook_get(integrator=request.user, webhook_id=webhook_id))
        return Response(None)


class WebhookRotateSecretApi(APIView):
    @extend_schema(
        operation_id="webhooks_rotate_secret", tags=["webhooks"], request=None, responses=WebhookWithSecretDoc
    )
    def post(self, request: Request, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(integrator=request.user, webhook_id=webhook_id)
        endpoint = services.webhook_rotate_secret(endpoint=endpoint)
        return Response(webhook_representation(endpoint, with_secret=True))


class WebhookTestApi(APIView):
    @extend_schema(operation_id="webhooks_test", tags=["webhooks"], request=None, responses={202: DeliveryDoc})
    def post(self, request: Request, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(integrator=request.user, webhook_id=webhook_id)
        delivery = services.webhook_send_test(endpoint=endpoint)
        return Response(delivery_representation(delivery), status=202)


class DeliveryListApi(APIView):
    @extend_schema(
        operation_id="webhooks_deliveries_list", tags=["webhooks"], parameters=[PageQuerySerializer],
        responses=page_of(DeliveryDoc, "DeliveryPage"),
    )  # fmt: skip
    def get(self, request: Request, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(integrator=request.user, webhook_id=webhook_id)
        return paginated(request, self, selectors.delivery_list(endpoint=endpoint), delivery_representation)


class DeliveryRetryApi(APIView):
    @extend_schema(
        operation_id="webhooks_deliveries_retry", tags=["webhooks"], request=None, responses={202: DeliveryDoc}
    )
    def post(self, request: Request, webhook_id: int, delivery_id: int) -> Response:
        endpoint = selectors.webhook_get(integrator=request.user, webhook_id=webhook_id)
        delivery = services.delivery_retry(delivery=selectors.delivery_get(endpoint=endpoint, delivery_id=delivery_id))
        return Response(delivery_representation(delivery), status=202)


class WebhookRecoverApi(APIView):
    @extend_schema(
        operation_id="webhooks_recover", tags=["webhooks"], request=WebhookRecoverInputSerializer,
        responses={202: RecoverDoc},
    )  # fmt: skip
    def post(self, request: Request, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(integrator=request.user, webhook_id=webhook_id)
        serializer = WebhookRecoverInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        queued = services.webhook_recover(endpoint=endpoint, **serializer.validated_data)
        return Response({"queued": queued}, status=202)
