"""The example program runs against a real server: sign-up on the first run, sign-in after."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import App

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "license_sign_in.py"


def test_the_example_signs_in_with_a_license_code_and_reads_a_variable(app: App) -> None:
    app.admin("PUT", "/api/admin/variables/motd", {"value": "welcome", "is_public": False})
    env = dict(os.environ, LATCHKEY_URL=app.server.url, LATCHKEY_API_KEY=app.api_key,
               LATCHKEY_API_SECRET=app.data["api_secret"], LATCHKEY_PUBLIC_KEY=app.public_key,
               LATCHKEY_CODE=app.license(minutes=None))
    for _ in range(2):  # the first run signs up, the second signs in
        run = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert "membership: active for life" in run.stdout
        assert "motd = 'welcome'" in run.stdout
    wrong = dict(env, LATCHKEY_PUBLIC_KEY=app.server.create_app().public_key)
    run = subprocess.run([sys.executable, str(EXAMPLE)], env=wrong, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 1 and "did not verify" in run.stderr
