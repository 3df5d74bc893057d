"""RFC 9421 signatures as Latchkey uses them (docs/signing.md): verifying signed answers,
signing requests, key ids and nonces. No I/O here, so the shared test vectors can drive it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

RESPONSE_TAG = "latchkey-response-v1"
REQUEST_TAG = "latchkey-request-v1"
LABEL = "latchkey"
DEFAULT_TOLERANCE_SECONDS = 300

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


class VerificationFailed(Exception):
    """Internal: why an answer did not verify (turned into ``SignatureError``)."""


def content_digest(body: bytes) -> str:
    """``sha-256=:<base64>:`` of ``body`` (RFC 9530)."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def key_id(public_key_raw: bytes) -> str:
    """``lk_key_`` + the first 80 bits of SHA-256(public key), lower-case Crockford base32."""
    number = int.from_bytes(hashlib.sha256(public_key_raw).digest()[:10], "big")
    chars = [_CROCKFORD[(number >> shift) & 31] for shift in range(75, -1, -5)]
    return "lk_key_" + "".join(chars)


def new_nonce() -> str:
    """A fresh nonce: 24 random bytes as unpadded base64url (32 characters)."""
    return secrets.token_urlsafe(24)


def _b64decode_strict(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def load_public_key(text: str) -> Tuple[Ed25519PublicKey, str]:
    """The pinned key (standard base64 of 32 raw bytes) and its key id."""
    try:
        raw = _b64decode_strict(text)
    except (binascii.Error, ValueError) as error:
        raise ValueError("response_signing_public_key is not standard base64") from error
    if len(raw) != 32:
        raise ValueError("response_signing_public_key must be 32 bytes of Ed25519 key")
    return Ed25519PublicKey.from_public_bytes(raw), key_id(raw)


def load_private_key(text: str) -> Tuple[Ed25519PrivateKey, str]:
    """The request-signing key (standard base64 of the 32-byte seed) and its public key id."""
    try:
        seed = _b64decode_strict(text)
    except (binascii.Error, ValueError) as error:
        raise ValueError("request_signing_private_key is not standard base64") from error
    if len(seed) != 32:
        raise ValueError("request_signing_private_key must be a 32-byte Ed25519 seed")
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return private, key_id(public_raw)


def _members(header: str) -> Dict[str, str]:
    """Split a Signature / Signature-Input dictionary in the shape Latchkey writes it."""
    members: Dict[str, str] = {}
    for member in header.split(", "):
        label, sep, value = member.partition("=")
        if not sep:
            raise VerificationFailed("malformed signature header")
        members[label.strip()] = value
    return members


@dataclass(frozen=True)
class RequestBinding:
    """What an answer must be bound to: taken from the request as sent, never from the answer."""

    method: str
    path: str
    nonce: Optional[str]
    #: The request's own ``latchkey`` Signature member (``:base64:``), when it was signed.
    request_signature: Optional[str] = None


def response_components(binding: RequestBinding, status: int, digest: str) -> List[Tuple[str, str]]:
    """The covered components of an answer to ``binding``, in order, with their values."""
    components = [
        ('"@status"', str(status)),
        ('"content-digest"', digest),
        ('"@method";req', binding.method),
        ('"@path";req', binding.path),
    ]
    if binding.nonce is not None:
        components.append(('"latchkey-nonce";req', binding.nonce))
    if binding.request_signature is not None:
        components.append(('"signature";req;key="latchkey"', binding.request_signature))
    return components


def signature_base(components: List[Tuple[str, str]], params: str) -> bytes:
    """RFC 9421 section 2.5: one line per component, then ``"@signature-params"``, no final LF."""
    lines = [f"{name}: {value}" for name, value in components]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode("ascii")


def response_signature_base(
    binding: RequestBinding, status: int, digest: str, created: int, pinned_key_id: str
) -> Tuple[bytes, str]:
    """The base an answer's signature must cover, and the Signature-Input member expected."""
    components = response_components(binding, status, digest)
    covered = " ".join(name for name, _ in components)
    params = (
        f'({covered});created={created};keyid="{pinned_key_id}"'
        f';alg="ed25519";tag="{RESPONSE_TAG}"'
    )
    return signature_base(components, params), params


def verify_response(
    public_key: Ed25519PublicKey,
    pinned_key_id: str,
    binding: RequestBinding,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check an answer as docs/signing.md "Verifying an answer" says; raise on any failure.

    ``headers`` must look names up case-insensitively (httpx.Headers does) or use lower case.
    """
    digest = content_digest(body)
    received_digest = headers.get("content-digest")
    if received_digest is None:
        raise VerificationFailed("the answer is not signed (no Content-Digest)")
    if received_digest != digest:
        raise VerificationFailed("content-digest does not match the body")
    signature_input = headers.get("signature-input")
    signature_header = headers.get("signature")
    if signature_input is None or signature_header is None:
        raise VerificationFailed("the answer is not signed")
    inputs = _members(signature_input)
    signatures = _members(signature_header)
    marker = f';keyid="{pinned_key_id}";'
    label = next((name for name, value in inputs.items() if marker in value), None)
    if label is None:
        raise VerificationFailed("not signed by the pinned key")
    match = re.search(r";created=(\d+);", inputs[label])
    if match is None:
        raise VerificationFailed("the signature has no created time")
    created = int(match.group(1))
    base, expected = response_signature_base(binding, status, digest, created, pinned_key_id)
    if inputs[label] != expected:
        raise VerificationFailed("the signature covers the wrong components")
    if abs(now - created) > tolerance_seconds:
        raise VerificationFailed("the signature's created time is too far from this clock")
    encoded = signatures.get(label)
    if encoded is None or len(encoded) < 2 or not (encoded.startswith(":") and encoded.endswith(":")):
        raise VerificationFailed("no signature for the pinned key")
    try:
        signature = _b64decode_strict(encoded[1:-1])
        public_key.verify(signature, base)
    except (binascii.Error, ValueError, InvalidSignature) as error:
        raise VerificationFailed("the signature does not verify") from error


def request_signature_headers(
    private_key: Ed25519PrivateKey,
    private_key_id: str,
    api_key: str,
    method: str,
    path: str,
    query: str,
    body: bytes,
    created: int,
    nonce: str,
) -> Dict[str, str]:
    """Headers signing one request (docs/signing.md "Signed requests").

    ``query`` is the query with its ``?``, or ``?`` alone. The digest is always covered, also
    of an empty body, which the server accepts.
    """
    digest = content_digest(body)
    params = (
        '("@method" "@path" "@query" "content-digest" "x-api-key")'
        f';created={created};nonce="{nonce}";keyid="{private_key_id}"'
        f';alg="ed25519";tag="{REQUEST_TAG}"'
    )
    components = [
        ('"@method"', method),
        ('"@path"', path),
        ('"@query"', query),
        ('"content-digest"', digest),
        ('"x-api-key"', api_key),
    ]
    signature = base64.b64encode(private_key.sign(signature_base(components, params))).decode("ascii")
    return {
        "Content-Digest": digest,
        "Signature-Input": f"{LABEL}={params}",
        "Signature": f"{LABEL}=:{signature}:",
    }
