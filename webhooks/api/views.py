"""The polling feed (API.md §6)."""

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from getitdone.errors import NotFound
from webhooks import selectors
from webhooks.api.serializers import EventFeedInputSerializer


class EventFeedApi(APIView):
    def get(self, request: Request) -> Response:
        params = EventFeedInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = selectors.event_feed(integrator=request.user, **params.validated_data)
        return Response(
            {
                "results": [e.representation() for e in page.results],
                "next_after": page.next_after,
                "has_more": page.has_more,
            }
        )


class EventDetailApi(APIView):
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.event_get(integrator=request.user, event_id=event_id)
        if event is None:
            raise NotFound("No such event.")
        return Response(event.representation())
