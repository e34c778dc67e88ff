from django.urls import path

from fulfillment.api import views

urlpatterns = [
    path("workflows", views.WorkflowListApi.as_view(), name="workflow-list"),
    path("workflows/<code:id_or_code>", views.WorkflowDetailApi.as_view(), name="workflow-detail"),
]
