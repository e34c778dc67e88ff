from django.urls import path

from webhooks.api import views

urlpatterns = [
    path("events", views.EventFeedApi.as_view(), name="event-list"),
    path("events/<str:event_id>", views.EventDetailApi.as_view(), name="event-detail"),
]
