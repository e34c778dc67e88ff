"""Admin plumbing the apps' admins share: forms that save through a service, like the API.

A `ServiceAdmin` saves in `save_model` by calling the app's service, and the service is the one
validator, as it is for the API: no rule is copied into a form. When it refuses (a DomainError),
Django's own transaction around the change view has already been rolled back by the exception,
so nothing is half-saved; the view then runs again on the same POST, and the form shows the
message on the field the error names (or above the form when it names none).
"""

import json
import logging
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.forms.fields import InvalidJSONInput
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from getitdone.errors import DomainError
from getitdone.limits import BODY_MAX_DEPTH, body_depth_exceeds

logger = logging.getLogger(__name__)

_REFUSAL = "_service_refusal"

admin.site.site_header = gettext_lazy("Get It Done")
admin.site.site_title = gettext_lazy("Get It Done support")
admin.site.index_title = gettext_lazy("Support console")
admin.site.enable_nav_sidebar = False  # its 280 px are the list's at 1400 px; the breadcrumbs lead home


def pretty_json(value: Any) -> SafeString:
    """A JSON value as indented text, read-only (details, event data, command errors)."""
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return format_html('<pre class="gid-json">{}</pre>', text)


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


class JSONEditorWidget(forms.Textarea):
    """A textarea for JSON that says, as you type, whether it parses (the server checks again)."""

    template_name = "admin/getitdone/json_editor.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = {"rows": 12, "class": "vLargeTextField gid-json-editor", "spellcheck": "false"}
        super().__init__(attrs={**defaults, **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        # The JSONField gives its value as compact text: shown indented, it can be read and edited.
        if isinstance(value, str) and value and not isinstance(value, InvalidJSONInput):
            try:
                return json.dumps(json.loads(value), indent=2, ensure_ascii=False)
            except ValueError:
                return value
        return super().format_value(value)

    class Media:
        js = ("getitdone/admin/json_editor.js",)
        css = {"all": ("getitdone/admin/console.css",)}


class ServiceAdmin(admin.ModelAdmin):
    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, models.JSONField):
            kwargs.setdefault("form_class", LimitedJSONFormField)
            kwargs.setdefault("widget", JSONEditorWidget)
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

    def has_act_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """For its actions (`permissions=["act"]`): the model's own change permission, which
        here lets staff act through services (retry), never edit the record."""
        opts = self.opts  # type: ignore[attr-defined]
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


class SecretRevealAdmin(admin.ModelAdmin):
    """Secrets shown as hidden until a staff user with change permission presses "Reveal"; each
    reveal is logged (in the object's history and the log). `revealable_secrets` names the
    fields: {"secret": "signing secret"}; show one with `secret_field(obj, "secret")`."""

    revealable_secrets: dict[str, str] = {}

    def get_urls(self) -> list:
        name = f"{self.opts.app_label}_{self.opts.model_name}_reveal"
        reveal = self.admin_site.admin_view(require_POST(self.reveal_view))
        return [path("<path:object_id>/reveal/<str:field>/", reveal, name=name), *super().get_urls()]

    def secret_field(self, obj: Any, field: str) -> SafeString | str:
        if obj is None or obj.pk is None:
            return ""
        if not getattr(obj, field):
            return _("not set")
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_reveal", args=[obj.pk, field])
        # A button of the change form itself (forms cannot nest): it posts the form, with its
        # CSRF token, to the reveal view, which reads nothing else from it.
        return format_html(
            '<span class="gid-hidden-secret">••••••••</span> '
            '<button type="submit" class="button" formaction="{}" formnovalidate>{}</button>',
            url,
            _("Reveal"),
        )

    def reveal_view(self, request: HttpRequest, object_id: str, field: str) -> HttpResponse:
        if field not in self.revealable_secrets:
            raise Http404
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        label = self.revealable_secrets[field]
        self.log_change(request, obj, _("Revealed the %(secret)s.") % {"secret": label})
        logger.warning("%s revealed the %s of %s %s", request.user, label, self.opts.model_name, obj.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("The %(secret)s of %(object)s") % {"secret": label, "object": obj},
            "opts": self.opts,
            "original": obj,
            "secret": getattr(obj, field),
            "label": label,
        }
        return TemplateResponse(request, "admin/getitdone/reveal_secret.html", context)
