"""The results of the calls, as frozen dataclasses built from the server's JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, List, Mapping, Optional

_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$"
)


def parse_time(text: str) -> datetime:
    """An RFC 3339 time (any number of fraction digits, ``Z`` or an offset) as aware UTC."""
    match = _TIME.match(text)
    if match is None:
        raise ValueError("not an RFC 3339 time: %r" % text)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    offset = timezone.utc
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        offset = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro,
                     tzinfo=offset)
    return value.astimezone(timezone.utc)


def _optional_time(value: Any) -> Optional[datetime]:
    return None if value is None else parse_time(value)


@dataclass(frozen=True)
class Membership:
    """A user's membership: active now, for life, and until when (``None`` if never or for life)."""

    is_active: bool
    is_lifetime: bool = False
    active_until: Optional[datetime] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Membership":
        """Build from the server's ``membership`` object."""
        return cls(
            is_active=bool(data["is_active"]),
            is_lifetime=bool(data.get("is_lifetime", False)),
            active_until=_optional_time(data.get("active_until")),
        )


@dataclass(frozen=True)
class User:
    """A user of the application (the answer to both sign-ups; also in ``AppContext``)."""

    id: str
    username: str
    membership: Membership

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "User":
        """Build from the server's user object."""
        return cls(
            id=str(data["id"]),
            username=str(data["username"]),
            membership=Membership.from_json(data["membership"]),
        )


@dataclass(frozen=True)
class Session:
    """A sign-in session. ``token`` is a secret: it is left out of ``repr``."""

    token: str = field(repr=False)
    expires_at: datetime

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Session":
        """Build from the answer to ``auth/login``."""
        return cls(token=str(data["session_token"]), expires_at=parse_time(data["expires_at"]))


@dataclass(frozen=True)
class Adjustment:
    """One row of the membership ledger: what ``activate_license`` added."""

    id: str
    type: str
    occurred_at: datetime
    minutes: int
    grants_lifetime_access: bool
    revokes_lifetime_access: bool
    license_id: Optional[str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Adjustment":
        """Build from the answer to ``activate_license``."""
        license_id = data.get("license_id")
        return cls(
            id=str(data["id"]),
            type=str(data["type"]),
            occurred_at=parse_time(data["occurred_at"]),
            minutes=int(data["minutes"]),
            grants_lifetime_access=bool(data.get("grants_lifetime_access", False)),
            revokes_lifetime_access=bool(data.get("revokes_lifetime_access", False)),
            license_id=None if license_id is None else str(license_id),
        )


@dataclass(frozen=True)
class Variable:
    """An application variable, set by the vendor (``PUT /api/admin/variables/{name}``)."""

    name: str
    value: str
    is_public: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Variable":
        """Build from one entry of ``application.variables``."""
        return cls(name=str(data["name"]), value=str(data["value"]),
                   is_public=bool(data.get("is_public", False)))


@dataclass(frozen=True)
class FileInfo:
    """A file the caller may download (listed in ``application.files``)."""

    id: str
    name: str
    mime_type: str
    is_encrypted: bool
    size_bytes: int
    sha256: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "FileInfo":
        """Build from one entry of ``application.files``."""
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            mime_type=str(data.get("mime_type", "")),
            is_encrypted=bool(data.get("is_encrypted", False)),
            size_bytes=int(data.get("size_bytes", 0)),
            sha256=str(data.get("sha256", "")),
        )


@dataclass(frozen=True)
class Application:
    """The application as ``app_context`` shows it."""

    id: str
    name: str
    variables: List[Variable]
    files: List[FileInfo]

    def variable(self, name: str) -> Optional[str]:
        """The value of the variable ``name``, or ``None``."""
        return next((v.value for v in self.variables if v.name == name), None)


@dataclass(frozen=True)
class AppContext:
    """The answer to ``app_context``: the application, the signed-in user, the server's clock."""

    application: Application
    user: Optional[User]
    server_time: datetime

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "AppContext":
        """Build from the answer to ``app_context``."""
        app = data["application"]
        user = data.get("user")
        return cls(
            application=Application(
                id=str(app["id"]),
                name=str(app["name"]),
                variables=[Variable.from_json(v) for v in app.get("variables", [])],
                files=[FileInfo.from_json(f) for f in app.get("files", [])],
            ),
            user=None if user is None else User.from_json(user),
            server_time=parse_time(data["server_time"]),
        )


@dataclass(frozen=True)
class UserVariable:
    """One of the signed-in user's own variables."""

    name: str
    value: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "UserVariable":
        """Build from the server's user variable object."""
        return cls(name=str(data["name"]), value=str(data["value"]))
