"""Admin for setup data: integrators and the maintenance switch, written through their services
(fulfillment.services) like the CLI; workflows are in fulfillment.admin_workflows."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from oauth2_provider import admin as oauth2_admin
from oauth2_provider.models import AccessToken, Application

from fulfillment import admin_workflows  # noqa: F401  (registers the workflow editor)
from fulfillment.models import Integrator, MaintenanceMode
from fulfillment.selectors import MAINTENANCE_CACHE_SECONDS, maintenance_switch
from fulfillment.services import (
    integrator_create,
    integrator_disable,
    integrator_enable,
    integrator_rotate_client_secret,
    integrator_rotate_webhook_secret,
    integrator_update,
    maintenance_set,
)
from getitdone.admin import ReadOnly, SecretRevealAdmin, ServiceAdmin
from getitdone.errors import DomainError


def _names(integrators: list[Integrator]) -> str:
    return ", ".join(i.name for i in integrators)


@admin.register(Integrator)
class IntegratorAdmin(SecretRevealAdmin, ServiceAdmin):
    list_display = ("name", "client_id", "is_active", "scopes", "default_workflow", "created_at")
    list_select_related = ("application", "default_workflow")  # nullable: Django's own select_related skips it
    list_filter = ("is_active", "created_at")
    search_fields = ("name", "application__client_id")
    actions = ("disable", "enable", "rotate_client_secret", "rotate_webhook_secret")
    revealable_secrets = {"webhook_secret": gettext_lazy("default webhook secret")}

    def get_fields(self, request: HttpRequest, obj: Integrator | None = None) -> list[str]:
        if obj is None:  # the client and secrets are generated on save, and shown once then
            return ["name", "scopes", "is_active"]
        return ["name", "client_id", "scopes", "is_active", "default_workflow", "webhook_secret_shown", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Integrator | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        # is_active: the Disable and Enable actions; the secrets: the Rotate actions.
        return ("client_id", "is_active", "webhook_secret_shown", "created_at")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("application")

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # its issues, events and OAuth client hang on it: disable it instead

    @admin.display(description=gettext_lazy("client id"))
    def client_id(self, obj: Integrator) -> str:
        return obj.client_id

    @admin.display(description=gettext_lazy("default webhook secret"))
    def webhook_secret_shown(self, obj: Integrator):
        return self.secret_field(obj, "webhook_secret")

    def save_model(self, request: HttpRequest, obj: Integrator, form, change: bool) -> None:
        # Never obj.save(): the services validate (a refusal shows on its field, see ServiceAdmin).
        if change:
            integrator_update(
                integrator=obj,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                default_workflow=form.cleaned_data["default_workflow"],
            )
            return
        credentials = integrator_create(name=obj.name, scopes=obj.scopes, instance=obj)
        request._shown_once = True  # see response_add
        messages.warning(
            request,
            _(
                "Credentials for %(name)s — shown only now, store them: client_id %(client_id)s · "
                "client_secret %(client_secret)s · webhook secret %(webhook_secret)s"
            )
            % {
                "name": obj.name,
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
                "webhook_secret": credentials.webhook_secret,
            },
        )

    def response_add(self, request: HttpRequest, obj: Integrator, post_url_continue: str | None = None):
        # The new credentials' message is shown on this page, now: after a redirect it would wait
        # in the message store (a cookie) until the next page.
        if getattr(request, "_shown_once", False):
            context = {**self.admin_site.each_context(request), "title": _("Integrator created"), "opts": self.opts}
            return TemplateResponse(request, "admin/fulfillment/integrator/created.html", context)
        return super().response_add(request, obj, post_url_continue)

    # --- Actions: irreversible ones ask first (a page like Django's delete confirmation), and
    # each reports its result once: in one message, or on the page that shows new secrets.

    def _confirmation(
        self, request: HttpRequest, queryset: QuerySet[Integrator], *, action: str, title: str, consequence: str,
        button: str,
    ) -> TemplateResponse | None:  # fmt: skip
        """None once the staff user confirmed (the page posts `post=yes`, as delete_selected's)."""
        if request.POST.get("post") == "yes":
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "consequence": consequence,
            "button": button,
            "action": action,
            "queryset": queryset,
            "opts": self.opts,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/fulfillment/integrator/action_confirmation.html", context)

    def _secrets_page(self, request: HttpRequest, *, title: str, note: str, shown: list[tuple[Integrator, str]]):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "note": note,
            "shown": shown,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/fulfillment/integrator/new_secrets.html", context)

    @admin.action(
        permissions=["change"], description=gettext_lazy("Disable selected integrators (their tokens get 403)")
    )
    def disable(self, request: HttpRequest, queryset: QuerySet[Integrator]) -> TemplateResponse | None:
        asked = self._confirmation(
            request, queryset, action="disable", title=_("Disable integrators"),
            consequence=_(
                "Their access tokens get 403 from the next request on, and they get no new ones. Their issues, "
                "webhooks and pending deliveries stay as they are; “Enable” undoes this."
            ),
            button=_("Yes, disable them"),
        )  # fmt: skip
        if asked is not None:
            return asked
        integrators = list(queryset)
        done = [i for i in integrators if i.is_active]
        for integrator in done:
            integrator_disable(integrator=integrator)
        already = [i for i in integrators if i not in done]
        if not done:
            self.message_user(request, _("Nothing changed: already disabled: %(names)s.") % {"names": _names(already)})
            return None
        text = _("Disabled: %(names)s.") % {"names": _names(done)}
        if already:
            text += " " + _("Already disabled: %(names)s.") % {"names": _names(already)}
        self.message_user(request, text, messages.SUCCESS)
        return None

    @admin.action(permissions=["change"], description=gettext_lazy("Enable selected integrators"))
    def enable(self, request: HttpRequest, queryset: QuerySet[Integrator]) -> None:
        integrators = list(queryset)
        done = [i for i in integrators if not i.is_active]
        for integrator in done:
            integrator_enable(integrator=integrator)
        if not done:
            self.message_user(
                request, _("Nothing changed: already enabled: %(names)s.") % {"names": _names(integrators)}
            )
            return
        text = _("Enabled: %(names)s.") % {"names": _names(done)}
        self.message_user(request, text, messages.SUCCESS)

    @admin.action(permissions=["change"], description=gettext_lazy("Rotate the OAuth client secret (shown once)"))
    def rotate_client_secret(self, request: HttpRequest, queryset: QuerySet[Integrator]) -> TemplateResponse:
        asked = self._confirmation(
            request, queryset, action="rotate_client_secret", title=_("Rotate client secrets"),
            consequence=_(
                "Each gets a new client secret, shown on the next page only. The old one gets no more tokens; "
                "tokens it already got keep working until they expire. Give the new secret to the partner."
            ),
            button=_("Yes, rotate them"),
        )  # fmt: skip
        if asked is not None:
            return asked
        with transaction.atomic():  # all or none: a secret rotated but never shown would cut its partner off
            shown = [(i, integrator_rotate_client_secret(integrator=i)) for i in queryset]
        return self._secrets_page(
            request, title=_("New client secrets"), shown=shown,
            note=_("Shown only now: copy each one and give it to its partner. It is stored hashed and cannot be "
                   "shown again; rotate again if it is lost."),
        )  # fmt: skip

    @admin.action(permissions=["change"], description=gettext_lazy("Rotate the default webhook secret (shown once)"))
    def rotate_webhook_secret(self, request: HttpRequest, queryset: QuerySet[Integrator]) -> TemplateResponse:
        asked = self._confirmation(
            request, queryset, action="rotate_webhook_secret", title=_("Rotate default webhook secrets"),
            consequence=_(
                "Deliveries to their issues' own webhook_url are signed with the new secret from now on; the old "
                "one stops signing at once, so the partner's receiver must change to it."
            ),
            button=_("Yes, rotate them"),
        )  # fmt: skip
        if asked is not None:
            return asked
        with transaction.atomic():  # all or none, as above
            shown = [(i, integrator_rotate_webhook_secret(integrator=i)) for i in queryset]
        return self._secrets_page(
            request, title=_("New default webhook secrets"), shown=shown,
            note=_("Shown now: copy each one and give it to its partner. Later it is hidden until someone with "
                   "change permission reveals it, and each reveal is recorded."),
        )  # fmt: skip


# An integrator's OAuth client is made by integrator_create and renamed by integrator_update;
# edited here on its own (its secret, grant or client type) it would cut the integrator off.
# Its tokens likewise: a scope or expiry edited here would pass IntegratorScopes and the token
# lifetime by. Revoking is the integrator's (`/oauth/revoke_token/`) or a disable's.
admin.site.unregister(Application)
admin.site.unregister(AccessToken)


@admin.register(Application)
class ApplicationAdmin(ReadOnly, oauth2_admin.ApplicationAdmin):
    pass


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnly, oauth2_admin.AccessTokenAdmin):
    pass


class MaintenanceForm(forms.Form):
    # Only the shape: the limits are the service's (maintenance_set), shown on their field.
    message = forms.CharField(
        label=gettext_lazy("Message"),
        required=False,
        widget=forms.TextInput(attrs={"class": "vLargeTextField"}),
        help_text=gettext_lazy("What integrators read in the 503 answer (in English: it is the API's)."),
    )
    retry_after = forms.IntegerField(
        label=gettext_lazy("Retry-After (seconds)"),
        help_text=gettext_lazy("Sent as the Retry-After header: when clients should try again."),
    )


@admin.register(MaintenanceMode)
class MaintenanceModeAdmin(admin.ModelAdmin):
    """One page, one switch: the state, its message and Retry-After, and a button that flips it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        return HttpResponseRedirect(reverse("admin:fulfillment_maintenancemode_changelist"))

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        switch = maintenance_switch()
        form = MaintenanceForm(initial={"message": switch.message, "retry_after": switch.retry_after})
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            form = MaintenanceForm(request.POST)
            turn = {"on": True, "off": False}.get(request.POST.get("turn"), switch.enabled)
            if form.is_valid():
                try:
                    switch = maintenance_set(
                        enabled=turn, message=form.cleaned_data["message"], retry_after=form.cleaned_data["retry_after"]
                    )
                except DomainError as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                else:
                    self.message_user(request, self._state_text(switch), messages.SUCCESS)
                    return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Maintenance mode"),
            "opts": self.opts,
            "switch": switch,
            "state": self._state_text(switch),
            "form": form,
            "can_change": self.has_change_permission(request),
            "forced_by_setting": settings.MAINTENANCE_MODE,
            "seconds": MAINTENANCE_CACHE_SECONDS,
        }
        return TemplateResponse(request, "admin/fulfillment/maintenancemode/switch.html", context)

    @staticmethod
    def _state_text(switch: MaintenanceMode) -> str:
        if switch.enabled:
            return _(
                "Maintenance mode is on: the API and the token endpoint answer 503 with Retry-After %(seconds)s s."
            ) % {"seconds": switch.retry_after}
        return _("Maintenance mode is off: the API answers as usual.")
