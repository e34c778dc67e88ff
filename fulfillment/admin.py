"""Admin for setup data: integrators (through their services, like the CLI), the maintenance
switch, and workflows with their steps and transitions (saved by the admin itself: setup data
with no events of its own)."""

from django.contrib import admin, messages
from django.http import HttpRequest
from oauth2_provider import admin as oauth2_admin
from oauth2_provider.models import AccessToken, Application

from fulfillment.graph import workflow_graph
from fulfillment.graph_html import workflow_graph_html
from fulfillment.models import Integrator, MaintenanceMode, Step, Transition, Workflow
from fulfillment.services import (
    integrator_create,
    integrator_disable,
    integrator_enable,
    integrator_rotate_webhook_secret,
    integrator_update,
)
from getitdone.admin import ReadOnly, ServiceAdmin


@admin.register(Integrator)
class IntegratorAdmin(ServiceAdmin):
    list_display = ("name", "client_id", "is_active", "scopes", "default_workflow", "created_at")
    list_filter = ("is_active", "created_at")
    search_fields = ("name", "application__client_id")
    actions = ("disable", "enable", "rotate_webhook_secret")

    def get_fields(self, request: HttpRequest, obj: Integrator | None = None) -> list[str]:
        if obj is None:  # the client and secrets are generated on save, and shown once then
            return ["name", "scopes", "is_active"]
        return ["name", "client_id", "scopes", "is_active", "default_workflow", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Integrator | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("client_id", "is_active", "created_at")  # is_active: the Disable and Enable actions

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("application")

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # its issues, events and OAuth client hang on it: disable it instead

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
        messages.warning(
            request,
            f"Credentials for {obj.name} — shown only now, store them: client_id {credentials.client_id} · "
            f"client_secret {credentials.client_secret} · webhook secret {credentials.webhook_secret}",
        )

    @admin.action(description="Disable selected integrators (their tokens get 403)")
    def disable(self, request: HttpRequest, queryset) -> None:
        integrators = list(queryset.filter(is_active=True))
        for integrator in integrators:
            integrator_disable(integrator=integrator)
        self.message_user(request, f"{len(integrators)} integrator(s) disabled.")

    @admin.action(description="Enable selected integrators")
    def enable(self, request: HttpRequest, queryset) -> None:
        integrators = list(queryset.filter(is_active=False))
        for integrator in integrators:
            integrator_enable(integrator=integrator)
        self.message_user(request, f"{len(integrators)} integrator(s) enabled.")

    @admin.action(description="Rotate the default webhook secret (shown once)")
    def rotate_webhook_secret(self, request: HttpRequest, queryset) -> None:
        for integrator in queryset:
            secret = integrator_rotate_webhook_secret(integrator=integrator)
            messages.warning(request, f"New webhook secret for {integrator.name} — shown only now: {secret}")


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


@admin.register(MaintenanceMode)
class MaintenanceModeAdmin(admin.ModelAdmin):
    list_display = ("__str__", "message", "retry_after", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not MaintenanceMode.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    fields = (
        "position", "name", "value", "category", "name_frontend", "description_frontend", "color", "description",
        "timeout_seconds", "timeout_transition",
    )  # fmt: skip

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "timeout_transition":
            kwargs["queryset"] = Transition.objects.filter(
                workflow_id=request.resolver_match.kwargs.get("object_id")
            ).select_related("from_step", "to_step")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TransitionInline(admin.TabularInline):
    model = Transition
    fk_name = "workflow"
    extra = 0
    fields = ("name", "from_step", "to_step", "description")

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        # Only this workflow's steps are offered (a transition never crosses workflows).
        if db_field.name in ("from_step", "to_step"):
            kwargs["queryset"] = Step.objects.filter(workflow_id=request.resolver_match.kwargs.get("object_id"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "initial_step", "open_to")
    search_fields = ("code", "name")
    filter_horizontal = ("integrators",)
    readonly_fields = ("graph",)
    fields = ("code", "name", "initial_step", "integrators", "graph")
    inlines = (StepInline, TransitionInline)

    @admin.display(description="Open to")
    def open_to(self, obj: Workflow) -> str:
        names = [i.name for i in obj.integrators.all()]
        return ", ".join(names) if names else "every integrator"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("initial_step").prefetch_related("integrators")

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "initial_step":
            kwargs["queryset"] = Step.objects.filter(workflow_id=request.resolver_match.kwargs.get("object_id"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Graph")
    def graph(self, obj: Workflow) -> str:
        if not obj.pk:
            return "Save the workflow and its steps first."
        return workflow_graph_html(workflow_graph(obj))
