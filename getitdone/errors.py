"""Errors the services raise. They know nothing of HTTP: the API maps them to the envelope
(422/400/409/404) and the command runner to a failed command's `error`."""


class DomainError(Exception):
    status_code = 400
    default_code = "request_failed"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class InvalidInput(DomainError):
    """A field's value is not acceptable (422, naming the field)."""

    status_code = 422
    default_code = "invalid"


class NotAllowed(DomainError):
    """Valid data, but the request cannot be done now (400), e.g. no such transition."""

    status_code = 400
    default_code = "not_allowed"


class VersionConflict(DomainError):
    status_code = 409
    default_code = "version_conflict"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class PayloadTooLarge(DomainError):
    status_code = 413
    default_code = "payload_too_large"
