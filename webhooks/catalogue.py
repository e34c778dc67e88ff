"""Every event type integrators can receive (docs/events.md describes each payload)."""

ISSUE_CREATED = "issue.created"
ISSUE_STATUS_CHANGED = "issue.status_changed"
ISSUE_UPDATED = "issue.updated"
ISSUE_NOTE_ADDED = "issue.note_added"
ISSUE_FILE_ATTACHED = "issue.file_attached"
COMMAND_FAILED = "command.failed"
WEBHOOK_TEST = "webhook.test"
# Operational events: about the integrator's own endpoints, never sent to the one they are about.
WEBHOOK_ENDPOINT_DISABLED = "webhook.endpoint.disabled"
WEBHOOK_DELIVERY_EXHAUSTED = "webhook.delivery.exhausted"

EVENT_TYPES = (
    ISSUE_CREATED,
    ISSUE_STATUS_CHANGED,
    ISSUE_UPDATED,
    ISSUE_NOTE_ADDED,
    ISSUE_FILE_ATTACHED,
    COMMAND_FAILED,
    WEBHOOK_TEST,
    WEBHOOK_ENDPOINT_DISABLED,
    WEBHOOK_DELIVERY_EXHAUSTED,
)
