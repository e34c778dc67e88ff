"""Schemathesis hooks for the Get It Done API.

Some operations refuse schema-valid data by business rule, by design (API.md): an unknown step
or workflow name, a duplicate client_issue_id, a move no transition allows, the 20-endpoint
limit, an Idempotency-Key reused with another body, a recover window older than the events
kept or ending before it starts. schemathesis.toml lets those operations answer 400/422 to
valid data; this check makes sure such an answer is one of those rules and nothing else (a 422
for any other field is still a failure)."""

import json

import schemathesis

# operation label -> {status: {warning.code of the first error, ...}}
BUSINESS_RULES = {
    "POST /api/issues": {422: {"unique", "unknown_workflow", "unknown_status"}},
    "PUT /api/issues/status/{client_issue_id}": {400: {"transition_not_allowed"}, 422: {"unknown_status"}},
    "POST /api/commands": {422: {"idempotency_key_reused"}},
    "POST /api/webhooks": {422: {"limit_reached"}},
    "POST /api/webhooks/{webhook_id}/recover": {422: {"out_of_retention", "invalid_window"}},
}


@schemathesis.check
def business_rule_rejections_only(ctx, response, case):
    rules = BUSINESS_RULES.get(case.operation.label)
    meta = case.meta
    if not rules or meta is None or not meta.generation.mode.is_positive:
        return None
    allowed = rules.get(response.status_code)
    if allowed is None:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = {}
    codes = {e.get("code") for e in body.get("error") or [] if isinstance(e, dict)}
    if not codes or not codes <= allowed:
        raise AssertionError(
            f"{case.operation.label} refused schema-valid data with {response.status_code} for a reason "
            f"that is not a business rule: {sorted(c for c in codes if c)}; allowed: {sorted(allowed)}"
        )
    return None


@schemathesis.hook("filter_body").apply_to(operation_id="issues_files_upload")
def no_arrays_in_multipart_fields(ctx, body):
    """A multipart body cannot carry an array for a plain field: schemathesis sends `[]` as no
    part at all and `["other"]` as one ordinary part, so such a "negative" case is a valid
    request on the wire. Leave those out rather than report them as accepted bad data."""
    return not (isinstance(body, dict) and any(isinstance(body.get(k), list) for k in ("file", "kind")))


_N = iter(range(10**9))


@schemathesis.hook("map_body").apply_to(operation_id="issues_create")
def fresh_client_issue_id(ctx, body):
    """Generated ids repeat ("0", "00", …) and a repeated one is refused as a duplicate by
    design; make a valid one unique (it stays valid: ≤ 100 characters, same characters), and
    leave an invalid one as it is."""
    if isinstance(body, dict):
        value = body.get("client_issue_id")
        if isinstance(value, str) and 0 < len(value) <= 90 and value.strip() == value and value.isprintable():
            body["client_issue_id"] = f"{value}~{next(_N)}"
    return body
