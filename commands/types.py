"""The five command types of API.md §8, and the registry of them by `type`."""

from typing import Any

from commands.base import BaseCommand
from commands.models import Command
from getitdone import limits
from getitdone.api.fields import (
    ClientIssueIdField,
    DetailsField,
    NonBlankCharField,
    OptionalWebhookUrlField,
    StrictSerializer,
)
from orders import services
from orders.api.serializers import IssueCreateInputSerializer, StatusChangeInputSerializer
from webhooks.models import Event


def _issue(command: Command, client_issue_id: str) -> services.IssueRef:
    # The service locks and reads the issue; a missing one is NotFound on client_issue_id.
    return services.IssueRef(integrator=command.integrator, client_issue_id=client_issue_id)


def _actor(command: Command) -> services.Actor:
    return services.Actor.command(command.command_id)


class ClientIssueIdSerializer(StrictSerializer):
    client_issue_id = ClientIssueIdField()


class CreateIssue(BaseCommand):
    type = "CreateIssue"
    serializer_class = IssueCreateInputSerializer
    description = "Create an issue (with children), as POST /api/issues."

    def handle(self, command: Command, data: dict[str, Any]) -> list[Event]:
        result = services.issue_create(
            integrator=command.integrator,
            actor=_actor(command),
            client_issue_id=data["client_issue_id"],
            workflow=data.get("workflow"),
            status=data.get("status"),
            webhook_url=data.get("webhook_url", ""),
            details=data.get("details") or {},
            children=[services.ChildSpec(**child) for child in data.get("children", [])],
            command_id=command.command_id,
        )
        return result.events


class ChangeStatusSerializer(ClientIssueIdSerializer, StatusChangeInputSerializer):
    pass


class ChangeStatus(BaseCommand):
    type = "ChangeStatus"
    serializer_class = ChangeStatusSerializer
    description = "Move an issue to a step, as PUT /api/issues/status/{client_issue_id}."

    def handle(self, command: Command, data: dict[str, Any]) -> list[Event]:
        result = services.issue_change_status(
            issue=_issue(command, data["client_issue_id"]),
            status=data["status"],
            note=data.get("note", ""),
            expected_version=data.get("expected_version"),
            actor=_actor(command),
            command_id=command.command_id,
        )
        return result.events


class UpdateIssueDetailsSerializer(ClientIssueIdSerializer):
    details = DetailsField(help_text="A JSON merge patch (RFC 7396) applied to details; {} changes nothing.")
    webhook_url = OptionalWebhookUrlField(required=False)


class UpdateIssueDetails(BaseCommand):
    type = "UpdateIssueDetails"
    serializer_class = UpdateIssueDetailsSerializer
    description = "Merge-patch an issue's details (RFC 7396) and set its webhook_url if given."

    def handle(self, command: Command, data: dict[str, Any]) -> list[Event]:
        result = services.issue_update_details(
            issue=_issue(command, data["client_issue_id"]),
            details_patch=data["details"],
            webhook_url=data.get("webhook_url"),
            actor=_actor(command),
            command_id=command.command_id,
        )
        return result.events


class CancelIssueSerializer(ClientIssueIdSerializer):
    reason = NonBlankCharField(max_length=limits.TEXT_MAX_LENGTH)


class CancelIssue(BaseCommand):
    type = "CancelIssue"
    serializer_class = CancelIssueSerializer
    description = "Move an issue to its workflow's CANCELLED step, if a transition allows it."

    def handle(self, command: Command, data: dict[str, Any]) -> list[Event]:
        result = services.issue_cancel(
            issue=_issue(command, data["client_issue_id"]),
            reason=data["reason"],
            actor=_actor(command),
            command_id=command.command_id,
        )
        return result.events


class AddNoteSerializer(ClientIssueIdSerializer):
    text = NonBlankCharField(max_length=limits.TEXT_MAX_LENGTH)


class AddNote(BaseCommand):
    type = "AddNote"
    serializer_class = AddNoteSerializer
    description = "Add a note (at most 2,000 characters) to an issue."

    def handle(self, command: Command, data: dict[str, Any]) -> list[Event]:
        result = services.issue_add_note(
            issue=_issue(command, data["client_issue_id"]),
            text=data["text"],
            actor=_actor(command),
            command_id=command.command_id,
        )
        return result.events


# Built here, from the classes above: a new type is registered by being written in this module.
REGISTRY: dict[str, type[BaseCommand]] = {cls.type: cls for cls in BaseCommand.__subclasses__()}


def command_class(type_name: str) -> type[BaseCommand] | None:
    return REGISTRY.get(type_name)


def command_types() -> list[str]:
    return sorted(REGISTRY)
