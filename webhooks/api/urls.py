from django.urls import path

from webhooks.api import views

urlpatterns = [
    path("events", views.EventFeedApi.as_view(), name="event-list"),
    path("events/schemas", views.EventSchemasApi.as_view(), name="event-schemas"),
    path("events/schemas/<str:event_type>", views.EventSchemaApi.as_view(), name="event-schema"),
    path("events/<code:event_id>", views.EventDetailApi.as_view(), name="event-detail"),
    path("webhooks", views.WebhookListCreateApi.as_view(), name="webhook-list"),
    path("webhooks/<pk:webhook_id>", views.WebhookDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<pk:webhook_id>/rotate-secret", views.WebhookRotateSecretApi.as_view(), name="webhook-rotate"),
    path("webhooks/<pk:webhook_id>/test", views.WebhookTestApi.as_view(), name="webhook-test"),
    path("webhooks/<pk:webhook_id>/recover", views.WebhookRecoverApi.as_view(), name="webhook-recover"),
    path("webhooks/<pk:webhook_id>/deliveries", views.DeliveryListApi.as_view(), name="delivery-list"),
    path(
        "webhooks/<pk:webhook_id>/deliveries/<pk:delivery_id>/retry",
        views.DeliveryRetryApi.as_view(),
        name="delivery-retry",
    ),
]
