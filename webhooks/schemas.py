"""A JSON Schema (2020-12) per event type: the event as webhooks carry it and the feed returns it
(API.md §6), served at GET /api/events/schemas and checked against real events by
tests/webhooks/test_event_schemas.py.

Open to additions, as the contract is (docs/versioning.md: a new field is not a breaking
change): no `additionalProperties: false`, so a consumer validating with these keeps working
when a field is added. The test checks the other direction, that every field an event carries
is described here.
"""

from typing import Any

from webhooks import catalogue

_ID = {"type": "integer"}
_TIME = {"type": "string", "format": "date-time"}


def _object(properties: dict[str, Any], *, nullable: bool = False, description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["object", "null"] if nullable else "object", "properties": properties,
                              "required": list(properties)}  # fmt: skip
    if description:
        schema["description"] = description
    return schema


def _string(nullable: bool = False, **more: Any) -> dict[str, Any]:
    return {"type": ["string", "null"] if nullable else "string", **more}


def _nullable_id() -> dict[str, Any]:
    return {"type": ["integer", "null"]}


_TRANSITION = _object({
    "id": _ID, "name": _string(), "description": _string(), "from_step_id": _ID, "to_step_id": _ID,
})  # fmt: skip
_STEP = _object({
    "id": _ID, "name": _string(), "value": _string(), "description": _string(),
    "category": {"enum": ["TO_DO", "IN_PROGRESS", "DONE"]},
    "name_frontend": _string(), "description_frontend": _string(),
    "color": _string(pattern="^#[0-9A-Fa-f]{6}$"),
    "transitions": {"type": "array", "items": {"$ref": "#/$defs/transition"}},
})  # fmt: skip


def _issue_properties(children: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _ID, "client_issue_id": _string(), "workflow_id": _ID, "parent_issue_id": _nullable_id(),
        "step_id": _ID, "step": {"$ref": "#/$defs/step"}, "webhook_url": _string(nullable=True),
        "children": children, "details": {"type": "object"}, "version": _ID,
        "created_at": _TIME, "updated_at": _TIME,
    }  # fmt: skip


_CHILD = _object(_issue_properties({"type": "array", "maxItems": 0}), description="A child issue: no children.")
_ISSUE = _object(
    _issue_properties({"type": "array", "items": {"$ref": "#/$defs/child"}}),
    description="The issue as GET /api/issues/{client_issue_id} shows it.",
)
_FILE = _object({
    "id": _ID, "issue_id": _ID, "name": _string(), "content_type": _string(), "size": _ID,
    "sha256": _string(pattern="^[0-9a-f]{64}$"), "kind": _string(), "created_at": _TIME,
    "download_url": _string(format="uri"),
})  # fmt: skip
_ERROR = _object({"code": _string(), "message": _string(), "field": _string(nullable=True)})
_COMMAND_ID = _string(nullable=True, description="The command that caused the change; null over REST or by staff.")

_ISSUE_REF = {"$ref": "#/$defs/issue"}

# Each type's `data`.
DATA: dict[str, dict[str, Any]] = {
    catalogue.ISSUE_CREATED: _object({"issue": _ISSUE_REF, "command_id": _COMMAND_ID}),
    catalogue.ISSUE_STATUS_CHANGED: _object(
        {
            "issue": _ISSUE_REF,
            "previous_step": {"$ref": "#/$defs/step"},
            "transition": {"$ref": "#/$defs/transition"},
            "command_id": _COMMAND_ID,
        }
    ),
    catalogue.ISSUE_UPDATED: _object(
        {
            "issue": _ISSUE_REF,
            "changed": {"type": "array", "items": {"enum": ["details", "webhook_url"]}, "minItems": 1},
            "command_id": _COMMAND_ID,
        }
    ),
    catalogue.ISSUE_NOTE_ADDED: _object(
        {
            "issue": _ISSUE_REF,
            "note": _object({"id": _ID, "text": _string(), "at": _TIME}),
            "command_id": _COMMAND_ID,
        }
    ),
    catalogue.ISSUE_FILE_ATTACHED: _object(
        {"issue": _ISSUE_REF, "file": {"$ref": "#/$defs/file"}, "command_id": _COMMAND_ID}
    ),
    catalogue.COMMAND_FAILED: _object(
        {
            "command_id": _string(),
            "command_type": _string(),
            "client_issue_id": _string(nullable=True),
            "error": {"$ref": "#/$defs/error"},
        }
    ),
    catalogue.WEBHOOK_TEST: _object({"webhook_id": _ID, "message": _string()}),
    catalogue.WEBHOOK_ENDPOINT_DISABLED: _object(
        {
            "endpoint_id": _ID,
            "url": _string(format="uri"),
            "reason": {"enum": ["gone", "failing"]},
        }
    ),
    catalogue.WEBHOOK_DELIVERY_EXHAUSTED: _object(
        {
            "endpoint_id": _nullable_id(),
            "delivery_id": _ID,
            "event_id": _string(pattern="^evt_"),
            "event_type": {"enum": list(catalogue.EVENT_TYPES)},
            "attempts": {"type": "integer", "minimum": 1},
        }
    ),
}

_DEFS = {"transition": _TRANSITION, "step": _STEP, "child": _CHILD, "issue": _ISSUE, "file": _FILE, "error": _ERROR}


def event_schema(event_type: str) -> dict[str, Any]:
    """The schema of one event type: the event (API.md §6) with that type's `data`."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:getitdone:event:{event_type}",
        "title": event_type,
        "type": "object",
        "properties": {
            "id": _string(pattern="^evt_[0-9A-HJKMNP-TV-Z]{26}$"),
            "type": {"const": event_type},
            "timestamp": _TIME,
            "sequence": {"type": "integer", "minimum": 1},
            "api_version": _string(),
            "data": DATA[event_type],
        },
        "required": ["id", "type", "timestamp", "sequence", "api_version", "data"],
        "$defs": _DEFS,
    }


def event_schemas() -> dict[str, dict[str, Any]]:
    """Every event type's schema, by type."""
    return {event_type: event_schema(event_type) for event_type in catalogue.EVENT_TYPES}
