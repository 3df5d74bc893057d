"""``Client``: the integration API, with verified answers, signed requests and a session that
renews itself once."""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from . import _signing
from ._errors import (
    InvalidSession,
    LatchkeyError,
    NetworkError,
    SignatureError,
    error_from_answer,
)
from ._hardware import hardware_id as _hardware_id
from ._models import Adjustment, AppContext, Session, User, UserVariable

# Only methods, paths and statuses are logged, at DEBUG; never keys, secrets, passwords,
# codes, tokens or bodies.
_log = logging.getLogger("latchkey")

_INTEGRATION = "/api/integration"

T = TypeVar("T")


def _parse(build: Callable[[Any], T], payload: Any) -> T:
    """A result from a 2xx answer's JSON; a body of the wrong shape is ``invalid_response``."""
    try:
        return build(payload)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise LatchkeyError(
            "the answer does not have the expected shape", code="invalid_response"
        ) from None


@dataclass(frozen=True)
class _Credentials:
    """What ``login`` was called with, kept to renew the session. Never printed."""

    username: Optional[str] = field(default=None, repr=False)
    password: Optional[str] = field(default=None, repr=False)
    code: Optional[str] = field(default=None, repr=False)

    def as_json(self) -> Dict[str, str]:
        if self.code is not None:
            return {"code": self.code}
        assert self.username is not None and self.password is not None
        return {"username": self.username, "password": self.password}


class Client:
    """A client of one Latchkey application's integration API.

    Args:
        base_url: the server, e.g. ``"https://licensing.example.com"``. A path prefix is
            kept; the server must see the same path (no rewriting proxy) for answers to verify.
        api_key: the application's ``api_key``.
        api_secret: the application's ``api_secret``.
        response_signing_public_key: the application's ``response_signing_public_key``
            (standard base64), pinned at build time. When given, every answer must verify
            (``SignatureError`` otherwise) and each request sends a fresh ``Latchkey-Nonce``.
            Unsigned answers, such as ``invalid_application_credentials``, then raise
            ``SignatureError``: an unverifiable answer is never trusted.
        request_signing_private_key: the application's ``request_signing_private_key``
            (standard base64 of the seed). When given, every request is signed.
        hardware_id: this device's id, sent at sign-up and sign-in. ``None`` (the default)
            uses ``latchkey.hardware_id(api_key)``; pass a string to use your own.
        timeout: seconds for connecting and for each read and write.
        ca_bundle: a PEM file of CA certificates to trust instead of the system's (for a
            private CA). TLS verification cannot be turned off.

    Raises:
        ValueError: a key is malformed.
        RuntimeError: ``hardware_id`` is ``None`` and this machine's id cannot be read.

    The client is safe to share between threads. Close it with ``close()`` or use it as a
    context manager.
    """

    #: How far an answer's ``created`` may be from this machine's clock, either way.
    signature_tolerance_seconds: int = _signing.DEFAULT_TOLERANCE_SECONDS

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        response_signing_public_key: Optional[str] = None,
        request_signing_private_key: Optional[str] = None,
        hardware_id: Optional[str] = None,
        timeout: float = 10.0,
        ca_bundle: Optional[str] = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must be an http:// or https:// URL")
        self._base_url = base_url.rstrip("/")
        self._path_prefix = parts.path.rstrip("/")
        self._api_key = api_key
        self._api_secret = api_secret
        self._public_key = None
        self._public_key_id = ""
        if response_signing_public_key is not None:
            self._public_key, self._public_key_id = _signing.load_public_key(
                response_signing_public_key
            )
        self._private_key = None
        self._private_key_id = ""
        if request_signing_private_key is not None:
            self._private_key, self._private_key_id = _signing.load_private_key(
                request_signing_private_key
            )
        self._hardware_id = hardware_id if hardware_id is not None else _hardware_id(api_key)
        verify: Any = True
        if ca_bundle is not None:
            verify = ssl.create_default_context(cafile=ca_bundle)
        self._http = httpx.Client(timeout=timeout, verify=verify, follow_redirects=False)
        self._lock = threading.Lock()  # guards _session and _credentials
        self._renew_lock = threading.Lock()  # one renewal at a time
        self._session: Optional[Session] = None
        self._credentials: Optional[_Credentials] = None

    def __repr__(self) -> str:
        return f"latchkey.Client({self._base_url!r})"

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    @property
    def hardware_id(self) -> str:
        """The hardware id this client sends."""
        return self._hardware_id

    @property
    def session(self) -> Optional[Session]:
        """The current session, or ``None`` before ``login``."""
        with self._lock:
            return self._session

    # --- the calls ---

    def sign_up(self, username: str, password: str) -> User:
        """Create a user with a username and password (no membership yet).

        Raises ``UsernameTaken``, ``ValidationFailed``, ``Banned``, ``RateLimited``,
        ``ServiceUnavailable``, ``SignatureError`` or another ``LatchkeyError``.
        """
        body = {"username": username, "password": password, "hardware_id": self._hardware_id}
        return _parse(User.from_json, self._call("POST", "/sign_up", body))

    def sign_up_with_license_code(self, code: str) -> User:
        """Create a user from an unused license code; the username is generated.

        Raises ``InvalidLicenseCode``, ``Banned``, ``ValidationFailed``, ... .
        """
        body = {"code": code, "hardware_id": self._hardware_id}
        return _parse(User.from_json, self._call("POST", "/sign_up_with_license_code", body))

    def login(
        self,
        username: Optional[str] = None,
        password: Optional[str] = None,
        code: Optional[str] = None,
    ) -> Session:
        """Sign in with ``username`` and ``password``, or with the license ``code`` the user
        signed up with. The session and the credentials are kept in memory so that
        ``app_context`` and the variable calls can renew an expired session once.

        Raises ``InvalidCredentials``, ``MembershipInactive``, ``Banned``,
        ``DeviceLimitReached``, ``SessionLimitReached``, ``DeviceAuthenticationRequired``, ... .
        ``ValueError`` when neither or both kinds of credentials are given.
        """
        if code is not None and username is None and password is None:
            credentials = _Credentials(code=code)
        elif code is None and username is not None and password is not None:
            credentials = _Credentials(username=username, password=password)
        else:
            raise ValueError("give username and password, or code")
        return self._login(credentials)

    def activate_license(self, code: str, username: str, password: str) -> Adjustment:
        """Add a license's time to a password user's membership.

        Raises ``InvalidLicenseCode``, ``InvalidCredentials``, ``Banned``, ... .
        """
        body = {"code": code, "username": username, "password": password}
        return _parse(Adjustment.from_json, self._call("POST", "/activate_license", body))

    def app_context(self) -> AppContext:
        """The application (variables, files), the signed-in user and the server's time.

        Needs ``login`` first; renews an expired session once. Raises ``InvalidSession``.
        """
        return _parse(AppContext.from_json, self._with_session("GET", "/app_context", None))

    def user_variables(self) -> List[UserVariable]:
        """The signed-in user's own variables, sorted by name."""
        answer = self._with_session("GET", "/user/variables", None)
        return _parse(lambda a: [UserVariable.from_json(v) for v in a["variables"]], answer)

    def set_user_variable(self, name: str, value: str) -> UserVariable:
        """Create or replace one of the signed-in user's variables."""
        path = "/user/variables/" + quote(name, safe="")
        return _parse(UserVariable.from_json, self._with_session("PUT", path, {"value": value}))

    def delete_user_variable(self, name: str) -> None:
        """Delete one of the signed-in user's variables (404 ``not_found`` if it has none)."""
        self._with_session("DELETE", "/user/variables/" + quote(name, safe=""), None)

    # --- the machinery ---

    def _login(self, credentials: _Credentials) -> Session:
        body: Dict[str, Any] = {
            "credentials": credentials.as_json(),
            "hardware_id": self._hardware_id,
        }
        session = _parse(Session.from_json, self._call("POST", "/auth/login", body))
        with self._lock:
            self._session = session
            self._credentials = credentials
        return session

    def _with_session(self, method: str, path: str, body: Optional[Dict[str, Any]]) -> Any:
        with self._lock:
            session, credentials = self._session, self._credentials
        if session is None:
            raise InvalidSession("not signed in: call login first", code="invalid_session")
        try:
            return self._call(method, path, body, token=session.token)
        except InvalidSession:
            if credentials is None:
                raise
        with self._renew_lock:
            with self._lock:
                current = self._session
            # Another thread may have renewed it meanwhile: then use its session.
            if current is None or current.token == session.token:
                _log.debug("latchkey: session expired, signing in again")
                current = self._login(credentials)
        return self._call(method, path, body, token=current.token)

    def _call(
        self,
        method: str,
        path: str,
        body: Optional[Dict[str, Any]],
        token: Optional[str] = None,
    ) -> Any:
        status, payload, headers = self._send(method, _INTEGRATION + path, body, token)
        if 200 <= status < 300:
            return payload
        raise error_from_answer(status, payload, headers.get("retry-after"))

    def _send(
        self,
        method: str,
        path: str,
        body: Optional[Dict[str, Any]],
        token: Optional[str],
    ) -> Tuple[int, Any, httpx.Headers]:
        content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        full_path = self._path_prefix + path
        headers = {"x-api-key": self._api_key, "x-api-secret": self._api_secret}
        if body is not None:
            headers["content-type"] = "application/json"
        if token is not None:
            headers["authorization"] = "Bearer " + token
        nonce: Optional[str] = None
        if self._public_key is not None:
            nonce = _signing.new_nonce()
            headers["latchkey-nonce"] = nonce
        request_signature: Optional[str] = None
        if self._private_key is not None:
            signed = _signing.request_signature_headers(
                self._private_key, self._private_key_id, self._api_key, method, full_path,
                "?", content, int(time.time()), _signing.new_nonce(),
            )
            headers.update(signed)
            request_signature = signed["Signature"][len(_signing.LABEL) + 1:]
        try:
            response = self._http.request(
                method, self._base_url + path, content=content or None, headers=headers
            )
        except httpx.HTTPError as error:
            # The exception's text names the URL only; no header is in it.
            raise NetworkError(f"{type(error).__name__}: {error}", code="network_error") from None
        _log.debug("latchkey: %s %s -> %d", method, full_path, response.status_code)
        raw = response.content
        if self._public_key is not None:
            binding = _signing.RequestBinding(method, full_path, nonce, request_signature)
            try:
                _signing.verify_response(
                    self._public_key, self._public_key_id, binding, response.status_code,
                    response.headers, raw, time.time(), self.signature_tolerance_seconds,
                )
            except _signing.VerificationFailed as error:
                raise SignatureError(
                    f"the answer did not verify: {error}",
                    status=response.status_code, code="signature_error",
                ) from None
        if not raw:
            return response.status_code, None, response.headers
        try:
            payload = json.loads(raw)
        except ValueError:
            if 200 <= response.status_code < 300:
                raise LatchkeyError(
                    "the answer is not JSON", status=response.status_code,
                    code="invalid_response",
                ) from None
            payload = None
        return response.status_code, payload, response.headers
