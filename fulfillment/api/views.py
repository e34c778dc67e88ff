from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfillment.api.schemas import WorkflowDoc
from fulfillment.graph import workflow_graph
from fulfillment.selectors import workflow_for, workflows_for
from getitdone.api.pagination import AscendingCursorPagination, PageQuerySerializer, paginated
from getitdone.api.schema import page_of
from getitdone.errors import NotFound


class WorkflowListApi(APIView):
    @extend_schema(
        operation_id="workflows_list", tags=["workflows"], parameters=[PageQuerySerializer],
        responses=page_of(WorkflowDoc, "WorkflowPage"),
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        return paginated(
            request, self, workflows_for(request.user), lambda w: workflow_graph(w).representation(),
            AscendingCursorPagination,
        )  # fmt: skip


class WorkflowDetailApi(APIView):
    @extend_schema(operation_id="workflows_get", tags=["workflows"], responses=WorkflowDoc)
    def get(self, request: Request, id_or_code: str) -> Response:
        workflow = workflow_for(request.user, id_or_code)
        if workflow is None:
            raise NotFound("No such workflow.")
        return Response(workflow_graph(workflow).representation())
