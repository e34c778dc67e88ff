"""Admin plumbing the apps' admins share: forms that save through a service, like the API.

A `ServiceAdmin` saves in `save_model` by calling the app's service, and the service is the one
validator, as it is for the API: no rule is copied into a form. When it refuses (a DomainError),
Django's own transaction around the change view has already been rolled back by the exception,
so nothing is half-saved; the view then runs again on the same POST, and the form shows the
message on the field the error names (or above the form when it names none).
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.forms.fields import InvalidJSONInput
from django.http import HttpRequest, HttpResponse

from getitdone.errors import DomainError
from getitdone.limits import BODY_MAX_DEPTH, body_depth_exceeds

_REFUSAL = "_service_refusal"


class LimitedJSONFormField(forms.JSONField):
    """JSON typed into a form, refused past the nesting limit before it is parsed (the parser
    recurses once per level: deep enough text would exhaust the stack)."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and body_depth_exceeds(value.encode()):
            raise forms.ValidationError(f"Nested deeper than {BODY_MAX_DEPTH} levels.", code="max_depth")
        return super().to_python(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Shown again, as typed, beside its error (Django parses it once more to show it).
        if isinstance(data, str) and body_depth_exceeds(data.encode()):
            return InvalidJSONInput(data)
        return super().bound_data(data, initial)


class ServiceAdmin(admin.ModelAdmin):
    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, models.JSONField):
            kwargs.setdefault("form_class", LimitedJSONFormField)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            # From a service in save_model, inside the transaction.atomic of Django's own
            # changeform_view (for a POST), which the exception rolled back on its way out.
            setattr(request, _REFUSAL, exc)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)
        refusal: DomainError | None = getattr(request, _REFUSAL, None)
        if refusal is None:
            return form_class

        class RefusedForm(form_class):
            def clean(self) -> dict[str, Any]:
                cleaned_data = super().clean()
                self.add_error(refusal.field if refusal.field in self.fields else None, refusal.message)
                return cleaned_data

        return RefusedForm


class ReadOnly:
    """For a ModelAdmin of records only the services write (events, deliveries, history,
    commands): staff look, and act through actions that call services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
