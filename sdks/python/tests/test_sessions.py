"""Session renewal and sharing one Client between threads."""

from __future__ import annotations

import threading
from typing import Any, List

import pytest

import latchkey
from conftest import App


def test_a_revoked_session_is_renewed_once_transparently(app: App, monkeypatch: Any) -> None:
    code = app.license()
    with app.client(hardware_id="the-device") as client, \
            app.client(hardware_id="the-device") as elsewhere:
        client.sign_up_with_license_code(code)
        first = client.login(code=code)
        elsewhere.login(code=code)  # same device: replaces the first session
        logins: List[Any] = []
        original = client._login
        monkeypatch.setattr(client, "_login", lambda c: logins.append(c) or original(c))
        context = client.app_context()
        assert context.user is not None
        assert len(logins) == 1
        assert client.session is not None and client.session.token != first.token
        client.set_user_variable("after", "renewal")  # the renewed session works on
        assert len(logins) == 1


def test_renewal_that_fails_raises_its_own_error(app: App, monkeypatch: Any) -> None:
    code = app.license()
    with app.client(hardware_id="dev") as client, app.client(hardware_id="dev") as elsewhere:
        client.sign_up_with_license_code(code)
        client.login(code=code)
        elsewhere.login(code=code)
        logins: List[Any] = []
        original = client._login
        monkeypatch.setattr(client, "_login", lambda c: logins.append(c) or original(c))
        app.settings(cross_banning=False)
        app.admin("POST", "/api/admin/bans", {"type": "license", "value": code, "reason": "t"})
        with pytest.raises(latchkey.LatchkeyError) as raised:
            client.app_context()
    # The session was revoked, so app_context said invalid_session; the one renewal was
    # refused for the ban, and that refusal is what the caller gets.
    assert type(raised.value) is latchkey.Banned
    assert len(logins) == 1


def test_one_client_shared_by_threads(app: App) -> None:
    code = app.license()
    client = app.client()
    client.sign_up_with_license_code(code)
    client.login(code=code)
    failures: List[BaseException] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        try:
            for _ in range(5):
                assert client.app_context().user is not None
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    assert failures == []


def test_threads_share_one_renewal(app: App, monkeypatch: Any) -> None:
    code = app.license()
    with app.client(hardware_id="dev") as client, app.client(hardware_id="dev") as elsewhere:
        client.sign_up_with_license_code(code)
        client.login(code=code)
        elsewhere.login(code=code)
        logins: List[Any] = []
        original = client._login
        monkeypatch.setattr(client, "_login", lambda c: logins.append(c) or original(c))
        failures: List[BaseException] = []
        barrier = threading.Barrier(6)

        def work() -> None:
            barrier.wait()
            try:
                client.app_context()
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert len(logins) == 1  # one renewal, used by every thread
