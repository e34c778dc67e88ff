from django.urls import path

from commands.api import views

urlpatterns = [
    path("commands", views.CommandListCreateApi.as_view(), name="command-list"),
    path("commands/batch", views.CommandBatchApi.as_view(), name="command-batch"),
    path("commands/<pk:command_pk>", views.CommandDetailApi.as_view(), name="command-detail"),
]
