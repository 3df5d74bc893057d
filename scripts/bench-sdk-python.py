"""The Python SDK's side of `cargo bench -p server --bench sdk` (crates/server/benches/sdk.rs).

Started by the bench with the venv of scripts/sdk-python.sh and PYTHONPATH set to the tree's
sdks/python/src, so that it measures the SDK as it is in the tree. It reads one JSON line on
stdin: {"base", "api_key", "api_secret", "public_key", "clients": [{"hardware_id", "codes"}]};
it makes one ``latchkey.Client`` per client (the public key pinned, its hardware id), signs
each of its users in once, and prints ``ready``. Then, one command a line, one JSON answer a
line:

- ``run SECONDS``: one thread per client, each signing its users in, one after the other
  (``login(code=...)``, verified), back to back until SECONDS have passed since they were
  released together;
  ``{"ok", "failed", "secs", "cpu"}`` (``cpu``: this process's CPU seconds, every thread);
- ``check``: a client with another key pinned must refuse the answer (``SignatureError``);
- ``parts SECONDS``: where one sign-in's time goes, on one thread: sequential sign-ins of the
  first client's users through the SDK and through httpx alone (no nonce, no verification), each for
  SECONDS, with their CPU; then the verification of one real answer and its pieces, timed in
  a loop (no HTTP);
- ``quit``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import timeit
from typing import Any, Callable, Dict, List

import httpx

import latchkey
from latchkey import _signing


def answer(value: Any) -> None:
    print(json.dumps(value), flush=True)


def run(clients: List[latchkey.Client], codes: List[List[str]], seconds: float) -> Dict[str, Any]:
    counts = [[0, 0] for _ in clients]
    errors: List[str] = []
    barrier = threading.Barrier(len(clients) + 1)
    deadline = [0.0]

    def work(index: int) -> None:
        client, mine, count = clients[index], codes[index], counts[index]
        barrier.wait()
        n = 0
        while time.monotonic() < deadline[0]:
            try:
                client.login(code=mine[n % len(mine)])
                n += 1
                count[0] += 1
            except latchkey.LatchkeyError as error:
                count[1] += 1
                if not errors:
                    errors.append(repr(error))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    started = time.monotonic()
    deadline[0] = started + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    secs = time.monotonic() - started
    return {
        "ok": sum(c[0] for c in counts),
        "failed": sum(c[1] for c in counts),
        "secs": secs,
        "cpu": time.process_time() - cpu,
        "error": errors[0] if errors else None,
    }


def check(config: Dict[str, Any]) -> Dict[str, Any]:
    """A wrong key pinned: the answer must not be trusted."""
    other = "yOwq5LOFc4lOmguxfIpgbUIn43+ZUFrgHH2YIuGcmjw="
    assert other != config["public_key"]
    first = config["clients"][0]
    with latchkey.Client(
        config["base"], config["api_key"], config["api_secret"],
        response_signing_public_key=other, hardware_id=first["hardware_id"],
    ) as client:
        try:
            client.login(code=first["codes"][0])
        except latchkey.SignatureError:
            return {"refused": True}
    return {"refused": False}


def sequential(sign_in: Callable[[str], Any], codes: List[str], seconds: float) -> Dict[str, float]:
    count = 0
    cpu = time.process_time()
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        sign_in(codes[count % len(codes)])
        count += 1
    secs = time.monotonic() - started
    return {"rate": count / secs, "cpu_ms": (time.process_time() - cpu) * 1000 / count}


def per_call_us(call: Callable[[], Any], number: int = 2000) -> float:
    """µs per call: the best of 5 loops of ``number`` calls."""
    return min(timeit.repeat(call, number=number, repeat=5)) * 1e6 / number


def parts(config: Dict[str, Any], client: latchkey.Client, seconds: float) -> Dict[str, Any]:
    first = config["clients"][0]
    codes, hardware_id = first["codes"], first["hardware_id"]
    url = config["base"] + "/api/integration/auth/login"
    headers = {"x-api-key": config["api_key"], "x-api-secret": config["api_secret"]}
    with httpx.Client() as http:

        def raw(code: str) -> None:
            body = {"credentials": {"code": code}, "hardware_id": hardware_id}
            content = json.dumps(body, separators=(",", ":")).encode("utf-8")
            response = http.post(
                url, content=content, headers={**headers, "content-type": "application/json"}
            )
            if response.status_code != 200:
                raise RuntimeError(f"raw sign-in answered {response.status_code}")
            json.loads(response.content)["session_token"]

        raw(codes[0])
        sdk = sequential(lambda code: client.login(code=code), codes, seconds)
        plain = sequential(raw, codes, seconds)

        # One real answer, to verify again and again.
        nonce = _signing.new_nonce()
        body = {"credentials": {"code": codes[0]}, "hardware_id": hardware_id}
        response = http.post(
            url, content=json.dumps(body).encode("utf-8"),
            headers={**headers, "content-type": "application/json", "latchkey-nonce": nonce},
        )
    public_key, key_id = _signing.load_public_key(config["public_key"])
    binding = _signing.RequestBinding("POST", "/api/integration/auth/login", nonce, None)
    status, answer_headers, raw_body = response.status_code, response.headers, response.content
    now = time.time()

    def verify() -> None:
        _signing.verify_response(
            public_key, key_id, binding, status, answer_headers, raw_body, now
        )

    verify()  # raises if the answer does not verify
    digest = _signing.content_digest(raw_body)
    label, _, encoded = answer_headers["signature"].partition("=")
    signature = _signing._b64decode_strict(encoded[1:-1])
    created = int(answer_headers["signature-input"].split(";created=")[1].split(";")[0])
    base, _ = _signing.response_signature_base(binding, status, digest, created, key_id)
    return {
        "sdk": sdk,
        "httpx": plain,
        "verify_us": per_call_us(verify),
        "ed25519_us": per_call_us(lambda: public_key.verify(signature, base)),
        "digest_us": per_call_us(lambda: _signing.content_digest(raw_body)),
        "nonce_us": per_call_us(_signing.new_nonce),
        "base_len": len(base),
        "body_len": len(raw_body),
    }


def main() -> None:
    config = json.loads(sys.stdin.readline())
    clients = [
        latchkey.Client(
            config["base"], config["api_key"], config["api_secret"],
            response_signing_public_key=config["public_key"],
            hardware_id=each["hardware_id"],
        )
        for each in config["clients"]
    ]
    codes = [each["codes"] for each in config["clients"]]
    for client, mine in zip(clients, codes):
        for code in mine:
            client.login(code=code)
    print("ready", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "run":
            answer(run(clients, codes, float(args[0])))
        elif command == "check":
            answer(check(config))
        elif command == "parts":
            answer(parts(config, clients[0], float(args[0])))
        elif command == "quit":
            break
        else:
            answer({"error": f"unknown command {command}"})
    for client in clients:
        client.close()


if __name__ == "__main__":
    main()
