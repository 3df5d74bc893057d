"""Latchkey: a client for the Latchkey licensing and user-authentication server.

>>> import latchkey
>>> client = latchkey.Client("https://licensing.example.com", API_KEY, API_SECRET,
...                          response_signing_public_key=PINNED_KEY)   # doctest: +SKIP
>>> client.login(code="ABCD-EFGH-...")                                 # doctest: +SKIP
>>> client.app_context().user.membership                               # doctest: +SKIP

See the package README for the error classes, signing and ``hardware_id``.
"""

from ._client import Client
from ._errors import (
    Banned,
    DeviceAuthenticationRequired,
    DeviceLimitReached,
    InvalidApplicationCredentials,
    InvalidCredentials,
    InvalidLicenseCode,
    InvalidSession,
    LatchkeyError,
    MembershipInactive,
    NetworkError,
    RateLimited,
    RequestSignatureRejected,
    ServiceUnavailable,
    SessionLimitReached,
    SignatureError,
    UsernameTaken,
    ValidationFailed,
)
from ._hardware import hardware_id
from ._models import (
    Adjustment,
    AppContext,
    Application,
    FileInfo,
    Membership,
    Session,
    User,
    UserVariable,
    Variable,
)

__version__ = "0.1.0"

__all__ = [
    "Adjustment",
    "AppContext",
    "Application",
    "Banned",
    "Client",
    "DeviceAuthenticationRequired",
    "DeviceLimitReached",
    "FileInfo",
    "InvalidApplicationCredentials",
    "InvalidCredentials",
    "InvalidLicenseCode",
    "InvalidSession",
    "LatchkeyError",
    "Membership",
    "MembershipInactive",
    "NetworkError",
    "RateLimited",
    "RequestSignatureRejected",
    "ServiceUnavailable",
    "Session",
    "SessionLimitReached",
    "SignatureError",
    "User",
    "UserVariable",
    "UsernameTaken",
    "ValidationFailed",
    "Variable",
    "hardware_id",
]
