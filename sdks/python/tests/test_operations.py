"""Every operation of the Client against a real server, answers verified."""

from __future__ import annotations

import secrets
from datetime import datetime

import pytest

import latchkey
from conftest import App


def _name() -> str:
    return "user_" + secrets.token_hex(5)


def test_a_password_sign_up_returns_the_user_without_membership(app: App) -> None:
    with app.client() as client:
        user = client.sign_up(_name(), "secure_password123")
    assert user.membership == latchkey.Membership(is_active=False, is_lifetime=False,
                                                  active_until=None)
    assert len(user.id) == 36


def test_a_license_sign_up_then_login_with_the_code_reads_the_context(app: App) -> None:
    code = app.license(minutes=60)
    app.admin("PUT", "/api/admin/variables/motd", {"value": "hello", "is_public": False})
    with app.client() as client:
        user = client.sign_up_with_license_code(code)
        assert user.membership.is_active and isinstance(user.membership.active_until, datetime)
        session = client.login(code=code)
        assert "token" not in repr(session) and session.token not in repr(session)
        context = client.app_context()
    assert context.user is not None and context.user.id == user.id
    assert context.application.variable("motd") == "hello"
    assert context.application.variables == [latchkey.Variable("motd", "hello", False)]
    assert context.server_time.tzinfo is not None


def test_activation_adds_the_license_and_lets_a_password_user_sign_in(app: App) -> None:
    username = _name()
    code = app.license(minutes=None)
    with app.client() as client:
        client.sign_up(username, "secure_password123")
        adjustment = client.activate_license(code, username, "secure_password123")
        assert adjustment.type == "license" and adjustment.grants_lifetime_access
        client.login(username=username, password="secure_password123")
        membership = client.app_context().user.membership  # type: ignore[union-attr]
    assert membership.is_active and membership.is_lifetime


def test_user_variables_are_set_listed_and_deleted(app: App) -> None:
    code = app.license()
    with app.client() as client:
        client.sign_up_with_license_code(code)
        client.login(code=code)
        assert client.user_variables() == []
        assert client.set_user_variable("theme", "dark") == latchkey.UserVariable("theme", "dark")
        client.set_user_variable("a.b-c_d", "1")
        assert [v.name for v in client.user_variables()] == ["a.b-c_d", "theme"]
        client.delete_user_variable("theme")
        assert client.user_variables() == [latchkey.UserVariable("a.b-c_d", "1")]
        with pytest.raises(latchkey.LatchkeyError) as raised:
            client.delete_user_variable("theme")
    assert raised.value.status == 404 and raised.value.code == "not_found"


def test_login_needs_one_kind_of_credentials(app: App) -> None:
    with app.client() as client:
        with pytest.raises(ValueError):
            client.login(username="x")
        with pytest.raises(ValueError):
            client.login(username="x", password="y", code="z")


def test_calls_needing_a_session_refuse_before_login(app: App) -> None:
    with app.client() as client, pytest.raises(latchkey.InvalidSession):
        client.app_context()


def test_the_default_hardware_id_is_this_machines_for_this_api_key(app: App) -> None:
    with app.client(hardware_id=None) as client:
        assert client.hardware_id == latchkey.hardware_id(app.api_key)
        user = client.sign_up(_name(), "secure_password123")
    devices = app.admin("GET", f"/api/admin/user/{user.username}")["registered_devices"]
    assert [d["hardware_id"] for d in devices] == [client.hardware_id]


def test_hardware_ids_differ_between_api_keys_and_hide_the_machine_id() -> None:
    first, second = latchkey.hardware_id("lk_app_a"), latchkey.hardware_id("lk_app_b")
    assert first != second and len(first) == 64
    assert first == latchkey.hardware_id("lk_app_a")
    with open("/etc/machine-id") as handle:
        assert handle.read().strip() not in first


def test_the_client_never_shows_its_secrets(app: App) -> None:
    with app.client() as client:
        client.sign_up_with_license_code(code := app.license())
        client.login(code=code)
        text = repr(client) + repr(client.session) + repr(client._credentials)
    for secret in (app.data["api_secret"], app.data["api_key"], code):
        assert secret not in text
