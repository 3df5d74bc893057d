"""The exceptions: one base class, ``LatchkeyError``, and one subclass per answer to branch on.

Every server refusal is raised, never returned as data. The mapping of the server's ``code``
to a class is in ``_BY_CODE`` below and in the README.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type


class LatchkeyError(Exception):
    """Any failure of a Latchkey call.

    Attributes:
        status: the HTTP status of the answer, or ``None`` when there was no usable answer
            (network failure).
        code: the server's stable ``code`` (``"banned"``, ``"invalid_session"``, ...), or one
            of the SDK's own: ``"signature_error"``, ``"network_error"``, ``"invalid_response"``.
        detail: the human-readable message. Branch on ``code`` or the class, not on this.
        field: the request field at fault, for validation errors; else ``None``.
    """

    def __init__(
        self,
        detail: str,
        *,
        status: Optional[int] = None,
        code: str = "unknown",
        field: Optional[str] = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"detail={self.detail!r}, field={self.field!r})"
        )

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        status = f"{self.status} " if self.status is not None else ""
        return f"{status}{self.code}{where}: {self.detail}"


class InvalidApplicationCredentials(LatchkeyError):
    """401 ``invalid_application_credentials``: the api key or secret is wrong. Not signed."""


class InvalidCredentials(LatchkeyError):
    """401 ``invalid_credentials``: unknown user, wrong password, or a code nobody used."""


class DeviceAuthenticationRequired(LatchkeyError):
    """401 ``device_authentication_required``: the application needs a hardware id."""


class DeviceLimitReached(LatchkeyError):
    """401 ``maximum_number_of_devices_reached``: sign-in from one device too many."""


class SessionLimitReached(LatchkeyError):
    """401 ``maximum_number_of_simultaneous_sessions_reached``."""


class InvalidSession(LatchkeyError):
    """401 ``invalid_session``: no session, or it expired or was revoked, and renewing it
    (once, with the stored credentials) did not help. Also raised before any request when
    ``login`` was never called."""


class RequestSignatureRejected(LatchkeyError):
    """401 ``missing_signature``, ``invalid_signature``, ``stale_signature`` or
    ``replayed_request``: the application requires signed requests and this one was not
    signed, or not acceptably (wrong key, clock off by more than the server's skew)."""


class Banned(LatchkeyError):
    """403 ``banned``: the IP, hardware id, license or user is banned."""


class MembershipInactive(LatchkeyError):
    """403 ``membership_inactive``: the user's membership was never activated or expired."""


class UsernameTaken(LatchkeyError):
    """422 ``username_taken``."""


class InvalidLicenseCode(LatchkeyError):
    """``invalid_license_code`` (422 at license sign-up, 401 at activation): unknown, used,
    or another application's code."""


class ValidationFailed(LatchkeyError):
    """422 ``validation_failed`` (``field`` names the field); also ``invalid_json``,
    ``unsupported_media_type`` (415) and ``payload_too_large`` (413): the request was
    refused for its shape."""


class RateLimited(LatchkeyError):
    """429 ``rate_limited``. ``retry_after`` is the server's ``Retry-After`` in seconds
    (``None`` when absent). Note that headers are not covered by the signature."""

    def __init__(self, detail: str, *, retry_after: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailable(LatchkeyError):
    """503 ``service_unavailable``: the database is unreachable or too many passwords wait
    to be hashed. ``retry_after`` as for ``RateLimited``."""

    def __init__(self, detail: str, *, retry_after: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class SignatureError(LatchkeyError):
    """An answer that should be signed did not verify: tampered with, replayed, unsigned,
    signed by another key, or ``created`` too far from this clock. Its body is never
    returned or parsed. ``status`` is the status the unverified answer claimed."""


class NetworkError(LatchkeyError):
    """No answer: connection refused, timeout, TLS failure (``code`` ``network_error``)."""


_BY_CODE: Dict[str, Type[LatchkeyError]] = {
    "invalid_application_credentials": InvalidApplicationCredentials,
    "invalid_credentials": InvalidCredentials,
    "device_authentication_required": DeviceAuthenticationRequired,
    "maximum_number_of_devices_reached": DeviceLimitReached,
    "maximum_number_of_simultaneous_sessions_reached": SessionLimitReached,
    "invalid_session": InvalidSession,
    "missing_signature": RequestSignatureRejected,
    "invalid_signature": RequestSignatureRejected,
    "stale_signature": RequestSignatureRejected,
    "replayed_request": RequestSignatureRejected,
    "banned": Banned,
    "membership_inactive": MembershipInactive,
    "username_taken": UsernameTaken,
    "invalid_license_code": InvalidLicenseCode,
    "validation_failed": ValidationFailed,
    "invalid_json": ValidationFailed,
    "unsupported_media_type": ValidationFailed,
    "payload_too_large": ValidationFailed,
    "rate_limited": RateLimited,
    "service_unavailable": ServiceUnavailable,
}


def error_from_answer(
    status: int, body: Any, retry_after_header: Optional[str]
) -> LatchkeyError:
    """The exception for a non-2xx answer: by ``code``, else by status (429, 503), else base."""
    detail = "HTTP %d" % status
    code = "unknown"
    field: Optional[str] = None
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            detail = body["detail"]
        if isinstance(body.get("code"), str):
            code = body["code"]
        if isinstance(body.get("field"), str):
            field = body["field"]
    cls: Type[LatchkeyError] = _BY_CODE.get(code, LatchkeyError)
    if cls is LatchkeyError and status == 429:
        cls = RateLimited
    elif cls is LatchkeyError and status == 503:
        cls = ServiceUnavailable
    retry_after: Optional[int] = None
    if retry_after_header is not None and retry_after_header.strip().isdigit():
        retry_after = int(retry_after_header.strip())
    if cls is RateLimited:
        return RateLimited(detail, status=status, code=code, field=field, retry_after=retry_after)
    if cls is ServiceUnavailable:
        return ServiceUnavailable(detail, status=status, code=code, field=field,
                                  retry_after=retry_after)
    return cls(detail, status=status, code=code, field=field)
