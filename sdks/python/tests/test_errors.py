"""Every error class, raised by a real server's answer (one by a recorded answer, said why)."""

from __future__ import annotations

import secrets
import threading
from typing import List

import pytest

import latchkey
from conftest import App, Server
from latchkey._errors import error_from_answer


def _name() -> str:
    return "user_" + secrets.token_hex(5)


def test_a_taken_username(app: App) -> None:
    name = _name()
    with app.client() as client:
        client.sign_up(name, "secure_password123")
        with pytest.raises(latchkey.UsernameTaken) as raised:
            client.sign_up(name.upper(), "secure_password123")
    assert (raised.value.status, raised.value.code) == (422, "username_taken")


def test_a_short_password_fails_validation_naming_the_field(app: App) -> None:
    with app.client() as client, pytest.raises(latchkey.ValidationFailed) as raised:
        client.sign_up(_name(), "short")
    assert (raised.value.status, raised.value.field) == (422, "password")


def test_an_unknown_license_code_at_sign_up_and_at_activation(app: App) -> None:
    name = _name()
    with app.client() as client:
        with pytest.raises(latchkey.InvalidLicenseCode) as at_sign_up:
            client.sign_up_with_license_code("NOPE-NOPE-NOPE")
        client.sign_up(name, "secure_password123")
        with pytest.raises(latchkey.InvalidLicenseCode) as at_activation:
            client.activate_license("NOPE-NOPE-NOPE", name, "secure_password123")
    assert at_sign_up.value.status == 422 and at_activation.value.status == 401


def test_a_wrong_password(app: App) -> None:
    name = _name()
    with app.client() as client:
        client.sign_up(name, "secure_password123")
        with pytest.raises(latchkey.InvalidCredentials) as raised:
            client.login(username=name, password="wrong_password123")
    assert raised.value.code == "invalid_credentials"


def test_a_user_without_membership_cannot_sign_in(app: App) -> None:
    name = _name()
    with app.client() as client:
        client.sign_up(name, "secure_password123")
        with pytest.raises(latchkey.MembershipInactive) as raised:
            client.login(username=name, password="secure_password123")
    assert raised.value.status == 403


def test_a_banned_device(app: App) -> None:
    app.settings(cross_banning=False)
    app.admin("POST", "/api/admin/bans",
              {"type": "hardware_id", "value": "stolen-device", "reason": "test"})
    with app.client(hardware_id="stolen-device") as client, pytest.raises(latchkey.Banned) as raised:
        client.sign_up(_name(), "secure_password123")
    assert (raised.value.status, raised.value.code) == (403, "banned")


def test_a_second_device_over_the_limit(app: App) -> None:
    code = app.license()
    with app.client() as first:
        first.sign_up_with_license_code(code)
    with app.client() as second, pytest.raises(latchkey.DeviceLimitReached) as raised:
        second.login(code=code)
    assert raised.value.status == 401


def test_a_second_session_over_the_limit(app: App) -> None:
    app.settings(allowed_number_of_devices=2, allowed_number_of_simultaneous_sessions=1)
    code = app.license()
    with app.client() as first, app.client() as second:
        first.sign_up_with_license_code(code)
        first.login(code=code)
        with pytest.raises(latchkey.SessionLimitReached) as raised:
            second.login(code=code)
    assert raised.value.code == "maximum_number_of_simultaneous_sessions_reached"


def test_wrong_application_credentials_unsigned_client(app: App) -> None:
    app.data = dict(app.data, api_secret="lk_sec_wrong")
    with app.client(signed=False) as client, \
            pytest.raises(latchkey.InvalidApplicationCredentials) as raised:
        client.sign_up(_name(), "secure_password123")
    assert raised.value.status == 401


def test_wrong_application_credentials_are_an_unsigned_answer_for_a_verifying_client(app: App) -> None:
    app.data = dict(app.data, api_secret="lk_sec_wrong")
    with app.client() as client, pytest.raises(latchkey.SignatureError) as raised:
        client.sign_up(_name(), "secure_password123")
    assert raised.value.status == 401


def test_too_many_failed_attempts_are_rate_limited(limited_server: Server) -> None:
    app = limited_server.create_app()
    with app.client() as client:
        with pytest.raises(latchkey.RateLimited) as raised:
            for _ in range(10):
                try:
                    client.login(code="NOPE-NOPE-NOPE")
                except latchkey.InvalidCredentials:
                    pass
    assert raised.value.status == 429
    assert raised.value.retry_after is not None and raised.value.retry_after > 0


def test_hashing_overload_is_service_unavailable(starved_server: Server) -> None:
    # One hashing slot and no waiting: concurrent password sign-ups overflow it. The first
    # 503 ends the test; the loop is bounded.
    app = starved_server.create_app()
    errors: List[latchkey.LatchkeyError] = []

    def sign_up(client: latchkey.Client, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            client.sign_up(_name(), "secure_password123")
        except latchkey.LatchkeyError as error:
            errors.append(error)

    clients = [app.client() for _ in range(6)]
    for _ in range(10):
        barrier = threading.Barrier(len(clients))
        threads = [threading.Thread(target=sign_up, args=(c, barrier)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            break
    for client in clients:
        client.close()
    assert errors, "no 503 in 10 rounds of 6 concurrent sign-ups"
    assert all(isinstance(e, latchkey.ServiceUnavailable) for e in errors), errors
    assert errors[0].status == 503 and errors[0].retry_after is not None


def test_codes_without_a_server_answer_here_map_as_documented() -> None:
    # device_authentication_required needs a request without hardware_id, which this client
    # never sends; this is the server's recorded answer (README, "What the answers mean").
    cases = {
        (401, "device_authentication_required"): latchkey.DeviceAuthenticationRequired,
        (401, "invalid_session"): latchkey.InvalidSession,
        (422, "invalid_json"): latchkey.ValidationFailed,
        (415, "unsupported_media_type"): latchkey.ValidationFailed,
        (413, "payload_too_large"): latchkey.ValidationFailed,
        (401, "replayed_request"): latchkey.RequestSignatureRejected,
        (409, "too_many_variables"): latchkey.LatchkeyError,
        (503, "something_new"): latchkey.ServiceUnavailable,
        (500, "internal_error"): latchkey.LatchkeyError,
    }
    for (status, code), cls in cases.items():
        error = error_from_answer(status, {"detail": "d", "code": code}, "3")
        assert type(error) is cls, code
        assert (error.status, error.code, error.detail) == (status, code, "d")
    assert error_from_answer(429, None, "7").retry_after == 7  # type: ignore[attr-defined]


def test_every_class_is_a_latchkey_error() -> None:
    for name in latchkey.__all__:
        value = getattr(latchkey, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, latchkey.LatchkeyError), name


def test_a_server_that_is_not_there_is_a_network_error() -> None:
    with latchkey.Client("http://127.0.0.1:9", "k", "s", hardware_id="h", timeout=2) as client:
        with pytest.raises(latchkey.NetworkError):
            client.sign_up("someone", "secure_password123")
