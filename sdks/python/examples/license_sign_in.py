"""Sign in with a license code, print the membership, and read one application variable.

    python license_sign_in.py --code ABCD-EFGH-... [--variable motd]

Settings come from arguments or the environment:

    LATCHKEY_URL         --url         the server (default http://127.0.0.1:8080)
    LATCHKEY_API_KEY     --api-key     the application's api_key
    LATCHKEY_API_SECRET  --api-secret  the application's api_secret
    LATCHKEY_PUBLIC_KEY  --public-key  response_signing_public_key (a real program builds it in)
    LATCHKEY_CODE        --code        the license code

The first run signs the user up with the code; later runs sign in with it.
"""

from __future__ import annotations

import argparse
import os
import sys

import latchkey


def main() -> int:
    """Run the example; the exit status is 0 on success, 1 on a Latchkey error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument("--url", default=env("LATCHKEY_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--api-key", default=env("LATCHKEY_API_KEY"))
    parser.add_argument("--api-secret", default=env("LATCHKEY_API_SECRET"))
    parser.add_argument("--public-key", default=env("LATCHKEY_PUBLIC_KEY"))
    parser.add_argument("--code", default=env("LATCHKEY_CODE"))
    parser.add_argument("--variable", default="motd", help="the variable to read")
    args = parser.parse_args()
    missing = [name for name in ("api_key", "api_secret", "public_key", "code")
               if not getattr(args, name)]
    if missing:
        parser.error("missing: " + ", ".join("--" + m.replace("_", "-") for m in missing))

    with latchkey.Client(args.url, args.api_key, args.api_secret,
                         response_signing_public_key=args.public_key) as client:
        try:
            try:
                client.login(code=args.code)
            except latchkey.InvalidCredentials:
                # Nobody has used this code yet: sign up with it, then sign in.
                client.sign_up_with_license_code(args.code)
                client.login(code=args.code)
            context = client.app_context()
        except latchkey.SignatureError:
            print("cannot reach the licensing server (the answer did not verify)", file=sys.stderr)
            return 1
        except latchkey.LatchkeyError as error:
            print(f"sign-in failed: {error.code}: {error.detail}", file=sys.stderr)
            return 1

    assert context.user is not None
    membership = context.user.membership
    print(f"signed in as {context.user.username}")
    if membership.is_lifetime:
        print("membership: active for life")
    elif membership.is_active:
        print(f"membership: active until {membership.active_until:%Y-%m-%d %H:%M} UTC")
    else:
        print("membership: inactive")
    value = context.application.variable(args.variable)
    print(f"{args.variable} = {value!r}" if value is not None else f"{args.variable} is not set")
    return 0


if __name__ == "__main__":
    sys.exit(main())
