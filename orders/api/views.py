"""Issue endpoints (API.md §4, §5): thin views over `orders.services` and `orders.selectors`."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from getitdone.api.envelope import success
from getitdone.api.fields import form_values
from getitdone.api.pagination import AscendingCursorPagination, PageQuerySerializer, paginated
from getitdone.api.schema import page_of
from orders import selectors, services
from orders.api.schemas import FileDoc, HistoryDoc, IssueDoc
from orders.api.serializers import (
    FileUploadInputSerializer,
    IssueCreateInputSerializer,
    IssueListFilterSerializer,
    StatusChangeInputSerializer,
)
from orders.representations import file_representation, history_representation, issue_representation


def _children(issue):  # noqa: ANN001
    return list(issue.children.all())


_PAGE = [PageQuerySerializer]


class IssueListCreateApi(APIView):
    @extend_schema(
        operation_id="issues_list", tags=["issues"], parameters=[IssueListFilterSerializer, *_PAGE],
        responses=page_of(IssueDoc, "IssuePage"),
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        filters = IssueListFilterSerializer(data=form_values(request.query_params))
        filters.is_valid(raise_exception=True)
        queryset = selectors.issue_list(integrator=request.user, **filters.validated_data)
        return paginated(request, self, queryset, lambda i: issue_representation(i, _children(i)))

    @extend_schema(
        operation_id="issues_create", tags=["issues"], request=IssueCreateInputSerializer, responses={201: IssueDoc}
    )
    def post(self, request: Request) -> Response:
        serializer = IssueCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.issue_create(
            integrator=request.user,
            actor=services.Actor.integrator(request.user),
            client_issue_id=data["client_issue_id"],
            workflow=data.get("workflow"),
            status=data.get("status"),
            webhook_url=data.get("webhook_url", ""),
            details=data["details"],
            children=[services.ChildSpec(**child) for child in data["children"]],
        )
        return Response(issue_representation(result.issue, result.children), status=201)


class IssueDetailApi(APIView):
    @extend_schema(operation_id="issues_get", tags=["issues"], responses=IssueDoc)
    def get(self, request: Request, client_issue_id: str) -> Response:
        issue = selectors.issue_get(integrator=request.user, client_issue_id=client_issue_id)
        return Response(issue_representation(issue, issue.family_children))


class IssueHistoryApi(APIView):
    @extend_schema(
        operation_id="issues_history", tags=["issues"], parameters=_PAGE, responses=page_of(HistoryDoc, "HistoryPage")
    )
    def get(self, request: Request, client_issue_id: str) -> Response:
        issue = selectors.issue_get(integrator=request.user, client_issue_id=client_issue_id)
        return paginated(
            request, self, selectors.issue_history(issue=issue), history_representation, AscendingCursorPagination
        )


class IssueStatusApi(APIView):
    """The seed's `PUT /api/issues/status/{client_issue_id}`."""

    @extend_schema(
        operation_id="issues_change_status", tags=["issues"], request=StatusChangeInputSerializer, responses=IssueDoc,
        description="Children follow where a transition allows; the others are listed in `warning`.",
    )  # fmt: skip
    def put(self, request: Request, client_issue_id: str) -> Response:
        serializer = StatusChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The service finds the family by its client id as it locks it: one query, not two.
        result = services.issue_change_status(
            issue=services.IssueRef(request.user, client_issue_id),
            actor=services.Actor.integrator(request.user),
            **serializer.validated_data,
        )
        return Response(success(result.representation(), warning=result.warnings or None))


class IssueFilesApi(APIView):
    parser_classes = [MultiPartParser, FormParser]  # uploads; the JSON parser is not needed here

    @extend_schema(
        operation_id="issues_files_list", tags=["files"], parameters=_PAGE, responses=page_of(FileDoc, "FilePage")
    )
    def get(self, request: Request, client_issue_id: str) -> Response:
        issue = selectors.issue_get(integrator=request.user, client_issue_id=client_issue_id)
        base = request.build_absolute_uri("/")
        return paginated(request, self, selectors.issue_files(issue=issue), lambda f: file_representation(f, base))

    @extend_schema(
        operation_id="issues_files_upload", tags=["files"], request={"multipart/form-data": FileUploadInputSerializer},
        responses={201: FileDoc},
    )  # fmt: skip
    def post(self, request: Request, client_issue_id: str) -> Response:
        serializer = FileUploadInputSerializer(data=form_values(request.data))
        serializer.is_valid(raise_exception=True)
        issue = selectors.issue_get(integrator=request.user, client_issue_id=client_issue_id)
        record = services.issue_attach_file(
            issue=issue,
            upload=serializer.validated_data["file"],
            kind=serializer.validated_data["kind"],
            actor=services.Actor.integrator(request.user),
        )
        return Response(file_representation(record, request.build_absolute_uri("/")), status=201)


class FileDetailApi(APIView):
    @extend_schema(operation_id="files_get", tags=["files"], responses=FileDoc)
    def get(self, request: Request, file_id: int) -> Response:
        record = selectors.file_get(integrator=request.user, file_id=file_id)
        return Response(file_representation(record, request.build_absolute_uri("/")))


class FileContentApi(APIView):
    @extend_schema(
        operation_id="files_content", tags=["files"],
        # The type sniffed at upload: octet-stream names the shape for generated clients (which
        # drop a */* response), */* says that any type may come.
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, (200, "*/*"): OpenApiTypes.BINARY},
        description="The bytes, with the content type sniffed at upload.",
    )  # fmt: skip
    def get(self, request: Request, file_id: int) -> FileResponse:
        record = selectors.file_get(integrator=request.user, file_id=file_id)
        return FileResponse(
            record.file.open("rb"), as_attachment=True, filename=record.name, content_type=record.content_type
        )
