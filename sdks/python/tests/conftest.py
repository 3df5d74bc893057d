"""Fixtures: a real `latchkey serve` on SQLite in a temp dir, seeded through the operator and
admin APIs, and a small in-process proxy that can tamper with or replay answers."""

from __future__ import annotations

import base64
import http.server
import itertools
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import httpx
import pytest

import latchkey


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_names = itertools.count()


@dataclass
class App:
    """An application created through the operator API, as its creation answered."""

    server: "Server"
    data: Dict[str, Any]

    @property
    def api_key(self) -> str:
        return str(self.data["api_key"])

    @property
    def public_key(self) -> str:
        return str(self.data["response_signing_public_key"])

    def admin(self, method: str, path: str, body: Any = None, expect: int = 0) -> Any:
        """Call the admin API with this application's admin key."""
        response = httpx.request(
            method, self.server.url + path, json=body, timeout=30,
            headers={"authorization": "Bearer " + self.data["admin_api_key"]},
        )
        assert response.status_code < 300 or response.status_code == expect, response.text
        return response.json() if response.content else None

    def settings(self, **changes: Any) -> Dict[str, Any]:
        """PATCH /api/admin/settings."""
        return self.admin("PATCH", "/api/admin/settings", changes)  # type: ignore[no-any-return]

    def license(self, minutes: Optional[int] = 43200) -> str:
        """Mint one license code."""
        answer = self.admin("POST", "/api/admin/licenses", {"count": 1, "minutes": minutes})
        return str(answer["licenses"][0]["code"])

    def client(self, url: Optional[str] = None, signed: bool = True, **kwargs: Any) -> latchkey.Client:
        """A client of this application; answers verified with its key unless signed=False."""
        kwargs.setdefault("hardware_id", "device-" + secrets.token_hex(6))
        if signed:
            kwargs.setdefault("response_signing_public_key", self.public_key)
        return latchkey.Client(url or self.server.url, self.data["api_key"],
                               self.data["api_secret"], **kwargs)


class Server:
    """`latchkey serve` as a subprocess, on a free port, with its own SQLite file."""

    def __init__(self, binary: str, extra_env: Dict[str, str]) -> None:
        self.workdir = tempfile.mkdtemp(prefix="latchkey-sdk-python-")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.operator_token = secrets.token_urlsafe(24)
        env = dict(os.environ)
        env.update({
            "LATCHKEY__HTTP__BIND": f"127.0.0.1:{self.port}",
            "LATCHKEY__OPERATOR__TOKEN": self.operator_token,
            "LATCHKEY__SECRETS__MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "LATCHKEY__LIMITS__ENABLED": "false",
        })
        env.update(extra_env)
        self.log_path = os.path.join(self.workdir, "server.log")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen([binary, "serve"], cwd=self.workdir, env=env,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("latchkey exited at start:\n" + self.log_tail())
            try:
                if httpx.get(self.url + "/livez", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("latchkey did not answer /livez in 60 s:\n" + self.log_tail())
            time.sleep(0.1)

    def log_tail(self) -> str:
        with open(self.log_path, "rb") as handle:
            return handle.read()[-4000:].decode("utf-8", "replace")

    def create_app(self, **fields: Any) -> App:
        fields.setdefault("name", f"SDK test {next(_names)}")
        response = httpx.post(self.url + "/api/operator/applications", json=fields, timeout=30,
                              headers={"authorization": "Bearer " + self.operator_token})
        assert response.status_code == 201, response.text
        return App(self, response.json())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _binary() -> str:
    binary = os.environ.get("LATCHKEY_BIN")
    if not binary:
        pytest.skip("LATCHKEY_BIN is not set (run scripts/sdk-python.sh)")
    return os.path.abspath(binary)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """The main server: rate limits off."""
    running = Server(_binary(), {})
    yield running
    running.stop()


@pytest.fixture(scope="session")
def limited_server() -> Iterator[Server]:
    """A server with rate limits on and low: two failed attempts a minute."""
    running = Server(_binary(), {
        "LATCHKEY__LIMITS__ENABLED": "true",
        "LATCHKEY__LIMITS__FAILED_ATTEMPTS_PER_MINUTE": "2",
    })
    yield running
    running.stop()


@pytest.fixture(scope="session")
def starved_server() -> Iterator[Server]:
    """A server that hashes one password at a time and lets nobody wait for it."""
    running = Server(_binary(), {
        "LATCHKEY__HASHING__MAX_CONCURRENT": "1",
        "LATCHKEY__HASHING__MAX_WAIT_MS": "0",
    })
    yield running
    running.stop()


@pytest.fixture
def app(server: Server) -> App:
    """A fresh application on the main server (bans and limits stay within it)."""
    return server.create_app()


# --- a proxy in the test process ---

Rewrite = Callable[[str, int, List[Tuple[str, str]], bytes], Tuple[int, List[Tuple[str, str]], bytes]]


class Proxy:
    """Forwards every request to `upstream`, passing each answer through `rewrite`."""

    def __init__(self, upstream: str, rewrite: Rewrite) -> None:
        proxy = self
        self.upstream = upstream
        self.rewrite = rewrite

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                answer = httpx.request(self.command, proxy.upstream + self.path, headers=headers,
                                       content=body or None, timeout=30)
                answer_headers = [(k, v) for k, v in answer.headers.multi_items()
                                  if k.lower() not in ("content-length", "transfer-encoding",
                                                       "connection", "content-encoding")]
                status, answer_headers, content = proxy.rewrite(
                    self.path, answer.status_code, answer_headers, answer.content)
                self.send_response(status)
                for key, value in answer_headers:
                    self.send_header(key, value)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def make_proxy() -> Iterator[Callable[[str, Rewrite], Proxy]]:
    """Start proxies for a test; they are stopped after it."""
    started: List[Proxy] = []

    def make(upstream: str, rewrite: Rewrite) -> Proxy:
        proxy = Proxy(upstream, rewrite)
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.close()
