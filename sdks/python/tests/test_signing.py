"""Signed answers (tampering, replay, wrong key), signed requests, and the shared vectors."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import latchkey
from conftest import App
from latchkey import _signing

VECTORS = Path(__file__).resolve().parents[2] / "test-vectors.json"

Headers = List[Tuple[str, str]]


def test_a_flipped_body_byte_is_a_signature_error(app: App, make_proxy: Any) -> None:
    def flip(path: str, status: int, headers: Headers, body: bytes) -> Tuple[int, Headers, bytes]:
        index = body.find(b"user_")
        tampered = body[:index] + b"U" + body[index + 1:] if index >= 0 else body
        return status, headers, tampered

    proxy = make_proxy(app.server.url, flip)
    with app.client(url=proxy.url) as client, pytest.raises(latchkey.SignatureError) as raised:
        client.sign_up("user_" + secrets.token_hex(4), "secure_password123")
    assert raised.value.status == 200 and "content-digest" in raised.value.detail


def test_a_replayed_answer_is_a_signature_error(app: App, make_proxy: Any) -> None:
    recorded: Dict[str, Tuple[int, Headers, bytes]] = {}

    def replay(path: str, status: int, headers: Headers, body: bytes) -> Tuple[int, Headers, bytes]:
        return recorded.setdefault(path, (status, headers, body))

    proxy = make_proxy(app.server.url, replay)
    code = app.license()
    with app.client(url=proxy.url) as client:
        client.sign_up_with_license_code(code)
        client.login(code=code)
        client.app_context()  # recorded
        with pytest.raises(latchkey.SignatureError) as raised:
            client.app_context()  # gets the recorded answer, bound to the first nonce
    assert "signature does not verify" in raised.value.detail


def test_an_answer_with_the_signature_headers_stripped_is_a_signature_error(
    app: App, make_proxy: Any
) -> None:
    def strip(path: str, status: int, headers: Headers, body: bytes) -> Tuple[int, Headers, bytes]:
        return status, [(k, v) for k, v in headers if not k.lower().startswith("signature")], body

    proxy = make_proxy(app.server.url, strip)
    with app.client(url=proxy.url) as client, pytest.raises(latchkey.SignatureError):
        client.sign_up("user_" + secrets.token_hex(4), "secure_password123")


def test_a_wrong_pinned_key_is_a_signature_error(app: App) -> None:
    other = app.server.create_app()
    with app.client(response_signing_public_key=other.public_key) as client:
        with pytest.raises(latchkey.SignatureError) as raised:
            client.sign_up("user_" + secrets.token_hex(4), "secure_password123")
    assert "not signed by the pinned key" in raised.value.detail


def test_refusals_are_verified_too(app: App) -> None:
    # A signed 422 verifies and is raised as what it is, not as a SignatureError.
    with app.client() as client, pytest.raises(latchkey.InvalidLicenseCode):
        client.sign_up_with_license_code("NOPE-NOPE-NOPE")


def test_signed_requests_pass_where_they_are_required(app: App) -> None:
    settings = app.settings(request_signing=True)
    private_key = settings["request_signing_private_key"]
    _, derived_key_id = _signing.load_private_key(private_key)
    assert derived_key_id == settings["request_signing_key_id"]
    code = app.license()
    with app.client(request_signing_private_key=private_key) as client:
        client.sign_up_with_license_code(code)
        client.login(code=code)
        client.set_user_variable("k", "v")
        assert client.app_context().user is not None
        client.delete_user_variable("k")
    with app.client() as unsigned, pytest.raises(latchkey.RequestSignatureRejected) as raised:
        unsigned.sign_up_with_license_code(app.license())
    assert (raised.value.status, raised.value.code) == (401, "missing_signature")


def test_a_request_signed_with_another_key_is_refused(app: App) -> None:
    app.settings(request_signing=True)
    wrong = base64.b64encode(os.urandom(32)).decode()
    with app.client(request_signing_private_key=wrong) as client:
        with pytest.raises(latchkey.RequestSignatureRejected) as raised:
            client.sign_up_with_license_code(app.license())
    assert raised.value.status == 401


def test_the_pinned_key_id_is_derived_from_the_key(app: App) -> None:
    _, derived = _signing.load_public_key(app.public_key)
    assert derived == app.data["response_signing_key_id"]


# --- the shared test vectors (sdks/test-vectors.json) ---

def _vectors() -> Dict[str, Any]:
    if not VECTORS.exists():
        pytest.skip(f"{VECTORS} does not exist yet")
    data = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert data["format"] == "latchkey-test-vectors-v1"
    return data  # type: ignore[no-any-return]


def _binding(vector: Dict[str, Any]) -> _signing.RequestBinding:
    request = vector["request"]
    headers = {k.lower(): v for k, v in request.get("headers", {}).items()}
    signature = None
    if "signature" in headers:
        member = next(m for m in headers["signature"].split(", ") if m.startswith("latchkey="))
        signature = member[len("latchkey="):]
    return _signing.RequestBinding(request["method"], request["path"],
                                   headers.get("latchkey-nonce"), signature)


def _check_response_vector(vector: Dict[str, Any]) -> None:
    response = vector["response"]
    headers = {k.lower(): v for k, v in response["headers"].items()}
    body = response["body"].encode("utf-8")
    binding = _binding(vector)
    public_key, key_id = _signing.load_public_key(vector["public_key"])
    assert key_id == vector["key_id"]
    digest = _signing.content_digest(body)
    created = int(headers["signature-input"].split(";created=")[1].split(";")[0])
    base, _ = _signing.response_signature_base(binding, response["status"], digest, created, key_id)
    assert base.decode("ascii") == vector["signature_base"]
    assert headers["signature"] == f"latchkey=:{vector['signature']}:" or \
        f"=:{vector['signature']}:" in headers["signature"]
    now = vector["now"]
    _signing.verify_response(public_key, key_id, binding, response["status"], headers, body, now)
    flipped = bytes([body[0] ^ 1]) + body[1:]
    with pytest.raises(_signing.VerificationFailed):
        _signing.verify_response(public_key, key_id, binding, response["status"], headers,
                                 flipped, now)
    with pytest.raises(_signing.VerificationFailed):  # the same answer for another nonce
        _signing.verify_response(public_key, key_id,
                                 _signing.RequestBinding(binding.method, binding.path,
                                                         "another-nonce-0123456789", None),
                                 response["status"], headers, body, now)
    with pytest.raises(_signing.VerificationFailed):  # ten minutes later
        _signing.verify_response(public_key, key_id, binding, response["status"], headers,
                                 body, now + 600)


def test_the_shared_response_vectors_verify() -> None:
    vectors = _vectors()["signed_responses"]
    assert vectors
    for vector in vectors:
        _check_response_vector(vector)


def test_the_shared_request_vectors_reproduce() -> None:
    vectors = _vectors().get("signed_requests") or []
    if not vectors:
        pytest.skip("sdks/test-vectors.json has no signed_requests yet")
    for vector in vectors:
        request = vector["request"]
        headers = {k.lower(): v for k, v in request["headers"].items()}
        private_key, key_id = _signing.load_private_key(vector["private_key"])
        assert key_id == vector["key_id"]
        body = request.get("body", "").encode("utf-8")
        produced = _signing.request_signature_headers(
            private_key, key_id, headers["x-api-key"], request["method"], request["path"],
            request.get("query", "?"), body, vector["created"], vector["nonce"])
        assert produced["Content-Digest"] == headers["content-digest"]
        assert produced["Signature-Input"] == headers["signature-input"]
        assert produced["Signature"] == headers["signature"]
        assert produced["Signature"] == f"latchkey=:{vector['signature']}:"
        params = produced["Signature-Input"][len("latchkey="):]
        components = [('"@method"', request["method"]), ('"@path"', request["path"]),
                      ('"@query"', request.get("query", "?")),
                      ('"content-digest"', produced["Content-Digest"]),
                      ('"x-api-key"', headers["x-api-key"])]
        base = _signing.signature_base(components, params)
        assert base.decode("ascii") == vector["signature_base"]
        public_key = private_key.public_key()
        public_key.verify(base64.b64decode(vector["signature"]), base)
        flipped = bytearray(base)
        flipped[0] ^= 1
        with pytest.raises(InvalidSignature):
            public_key.verify(base64.b64decode(vector["signature"]), bytes(flipped))


def test_the_worked_example_of_docs_signing_verifies() -> None:
    # The same answer as docs/signing.md, embedded, so this holds without the vectors file.
    headers = {
        "content-digest": "sha-256=:WsIjQd2B/ME81p1nGYP+hCAawbMz6nyDH7qV5IS2HaI=:",
        "signature": "latchkey=:VnrCGJ/Dw8WT0MlwEnl0O1QAJwZjibHLzECZUzQ0DztR4ScKsVjGC2ScpbIE7QHpZXZEYbYq5loHISgUHEx+CA==:",
        "signature-input": 'latchkey=("@status" "content-digest" "@method";req "@path";req "latchkey-nonce";req);created=1796221181;keyid="lk_key_mcxq0cak2q50x6jk";alg="ed25519";tag="latchkey-response-v1"',
    }
    body = b'{"id":"01a23720-1de8-7438-a1ce-00fbe5524602","username":"john_doe","membership":{"is_active":false,"is_lifetime":false,"active_until":null}}'
    key, key_id = _signing.load_public_key("yOwq5LOFc4lOmguxfIpgbUIn43+ZUFrgHH2YIuGcmjw=")
    binding = _signing.RequestBinding("POST", "/api/integration/sign_up",
                                      "zLkPwezMgY9aWcVBQ78B6z-6VJ_Fpxfd")
    _signing.verify_response(key, key_id, binding, 200, headers, body, 1796221181)
    with pytest.raises(_signing.VerificationFailed, match="content-digest"):
        _signing.verify_response(key, key_id, binding, 200, headers,
                                 body.replace(b"john_doe", b"john_dog"), 1796221181)


def test_a_request_signature_verifies_under_its_public_key() -> None:
    seed = os.urandom(32)
    private_key, key_id = _signing.load_private_key(base64.b64encode(seed).decode())
    headers = _signing.request_signature_headers(private_key, key_id, "lk_app_x", "POST",
                                                 "/api/integration/sign_up", "?", b"{}",
                                                 1764683000, "6f1c0e9d2b7a4c58")
    params = headers["Signature-Input"][len("latchkey="):]
    base = ('"@method": POST\n"@path": /api/integration/sign_up\n"@query": ?\n'
            f'"content-digest": {headers["Content-Digest"]}\n"x-api-key": lk_app_x\n'
            f'"@signature-params": {params}').encode()
    signature = base64.b64decode(headers["Signature"][len("latchkey=:"):-1])
    Ed25519PrivateKey.from_private_bytes(seed).public_key().verify(signature, base)


def test_each_request_sends_a_fresh_nonce(app: App, make_proxy: Any) -> None:
    seen: List[str] = []

    class Recording:
        def __call__(self, path: str, status: int, headers: Headers,
                     body: bytes) -> Tuple[int, Headers, bytes]:
            return status, headers, body

    proxy = make_proxy(app.server.url, Recording())
    original = proxy.httpd.RequestHandlerClass.parse_request

    def parse_request(handler: Any) -> bool:
        ok: bool = original(handler)
        seen.append(handler.headers.get("latchkey-nonce", ""))
        return ok

    proxy.httpd.RequestHandlerClass.parse_request = parse_request
    code = app.license()
    with app.client(url=proxy.url) as client:
        client.sign_up_with_license_code(code)
        client.login(code=code)
        for _ in range(3):
            client.app_context()
    assert len(seen) == 5 and len(set(seen)) == 5
    assert all(16 <= len(n) <= 128 and n.replace("-", "").replace("_", "").isalnum() for n in seen)
