from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfillment.graph import workflow_graph
from fulfillment.selectors import workflow_for, workflows_for
from getitdone.errors import NotFound


class WorkflowListApi(APIView):
    def get(self, request: Request) -> Response:
        graphs = [workflow_graph(w).representation() for w in workflows_for(request.user).order_by("id")]
        return Response({"results": graphs, "next_cursor": None})


class WorkflowDetailApi(APIView):
    def get(self, request: Request, id_or_code: str) -> Response:
        workflow = workflow_for(request.user, id_or_code)
        if workflow is None:
            raise NotFound("No such workflow.")
        return Response(workflow_graph(workflow).representation())
