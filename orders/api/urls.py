from django.urls import path

from orders.api import views

urlpatterns = [
    path("issues", views.IssueListCreateApi.as_view(), name="issue-list"),
    path("issues/status/<client_issue_id:client_issue_id>", views.IssueStatusApi.as_view(), name="issue-status"),
    path("issues/<client_issue_id:client_issue_id>", views.IssueDetailApi.as_view(), name="issue-detail"),
    path("issues/<client_issue_id:client_issue_id>/history", views.IssueHistoryApi.as_view(), name="issue-history"),
    path("issues/<client_issue_id:client_issue_id>/files", views.IssueFilesApi.as_view(), name="issue-files"),
    path("files/<pk:file_id>", views.FileDetailApi.as_view(), name="file-detail"),
    path("files/<pk:file_id>/content", views.FileContentApi.as_view(), name="file-content"),
]
