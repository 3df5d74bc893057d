#!/usr/bin/env bash
# OpenAPI-driven fuzzing (schemathesis) of a real `latchkey serve`: every operation in
# /api/openapi.json gets generated valid and invalid requests, and every response must be
# no 5xx and match the documented schema (status, body). See docs/fuzzing.md.
#
#   API_FUZZ_EXAMPLES   test cases per operation and phase (default 50)
#   API_FUZZ_SECONDS    wall-clock budget for all schemathesis runs (default 240)
#   API_FUZZ_SEED       fixed seed, to replay a run (default: random, printed)
#   API_FUZZ_CHECKS     schemathesis checks (default `all`; scripts/schemathesis.toml lists
#                       the answers that depend on state, and why)
#
# Exits non-zero on any failure, or when the budget runs out.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
examples=${API_FUZZ_EXAMPLES:-50}
budget=${API_FUZZ_SECONDS:-240}
seed=${API_FUZZ_SEED:-$((RANDOM * 32768 + RANDOM))}
checks=${API_FUZZ_CHECKS:-all}

root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
venv=$target_dir/api-fuzz-venv

log() { printf 'api-fuzz: %s\n' "$*" >&2; }

work=$(mktemp -d)
server_pid=""
cleanup() {
  local status=$?
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$work/server.log" ]; then
    log "last lines of the server log:"
    tail -n 40 "$work/server.log" >&2 || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. schemathesis, in a venv that is kept between runs.
if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
python=$venv/bin/python

# 2. The server: a debug build, copied so a concurrent build cannot swap it mid-run, serving
# from a fresh SQLite file on a port the kernel picks. Every request comes from 127.0.0.1, so
# the rate limits are raised out of the way (they stay on; their 429s are tested elsewhere),
# or most integration calls would be answered 429 and never reach the code behind them.
(cd "$root" && cargo build --quiet -p server --bin latchkey)
cp "$target_dir/debug/latchkey" "$work/latchkey"
operator_token=$("$python" -c 'import secrets; print(secrets.token_urlsafe(24))')
(
  cd "$work"
  LATCHKEY__DATABASE__URL="sqlite://latchkey.db?mode=rwc" \
    LATCHKEY__HTTP__BIND=127.0.0.1:0 \
    LATCHKEY__OPERATOR__TOKEN="$operator_token" \
    LATCHKEY__LIMITS__REQUESTS_PER_SECOND=100000 \
    LATCHKEY__LIMITS__SIGN_UPS_PER_HOUR=1000000 \
    LATCHKEY__LIMITS__FAILED_ATTEMPTS_PER_MINUTE=1000000 \
    LATCHKEY__LOG__FORMAT=json \
    LATCHKEY__LOG__LEVEL=info \
    exec ./latchkey serve >"$work/server.log" 2>&1
) &
server_pid=$!

port=""
for _ in $(seq 1 300); do
  port=$(grep -o '"port":[0-9]*' "$work/server.log" 2>/dev/null | head -n 1 | cut -d: -f2 || true)
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { log "the server exited before serving"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { log "the server did not start within 30 s"; exit 1; }
base=http://127.0.0.1:$port
log "server on $base; seed $seed; $examples examples per operation; budget ${budget}s"

# 3. An application, through the operator API, for its credentials.
app_json=$("$python" - "$base" "$operator_token" <<'EOF'
import json, sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
request = urllib.request.Request(
    f"{base}/api/operator/applications",
    data=json.dumps({"name": "api-fuzz", "device_authentication": False}).encode(),
    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    method="POST",
)
with urllib.request.urlopen(request, timeout=10) as response:
    print(response.read().decode())
EOF
)
field() { "$python" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$app_json" "$1"; }
api_key=$(field api_key)
api_secret=$(field api_secret)
admin_api_key=$(field admin_api_key)

# 4. One schemathesis run per tag, since each tag has its own credentials. One worker: with
# two, schemathesis runs hypothesis in threads, and CPython 3.11's `ast` module is not
# thread-safe (cpython#106905: "AST constructor recursion depth mismatch" from hypothesis's
# lambda descriptions failed a CI run); generation is bound by the GIL anyway.
deadline=$((SECONDS + budget))
: >"$work/schemathesis.log"
failed=()
run_tag() {
  local tag=$1
  shift
  local remaining=$((deadline - SECONDS))
  if [ "$remaining" -le 0 ]; then
    log "$tag: no time left in the ${budget}s budget"
    failed+=("$tag (out of time)")
    return
  fi
  log "$tag: schemathesis, at most ${remaining}s"
  local status=0
  set +e
  (
    cd "$work"
    timeout --kill-after=10 "$remaining" "$venv/bin/schemathesis" \
      --config-file "$root/scripts/schemathesis.toml" \
      run "$base/api/openapi.json" \
      --include-tag "$tag" \
      --checks "$checks" \
      --max-examples "$examples" \
      --seed "$seed" \
      --workers 1 \
      --request-timeout 20 \
      --generation-database none \
      --no-color \
      "$@"
  ) 2>&1 | tee -a "$work/schemathesis.log"
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    log "$tag: out of time"
    failed+=("$tag (out of time)")
  elif [ "$status" -ne 0 ]; then
    failed+=("$tag")
  fi
}

run_tag integration -H "x-api-key: $api_key" -H "x-api-secret: $api_secret"
run_tag admin -H "Authorization: Bearer $admin_api_key"
run_tag webhooks -H "Authorization: Bearer $admin_api_key"
run_tag files -H "Authorization: Bearer $admin_api_key"
run_tag operator -H "Authorization: Bearer $operator_token"
run_tag service

# schemathesis ends each run with "N generated, N passed" or "N generated, K found K unique
# failures"; one plain total line for whoever reads the log.
generated=$({ grep -Eo '[0-9]+ generated' "$work/schemathesis.log" || true; } | awk '{ n += $1 } END { print n + 0 }')
failures=$({ grep -Eo 'found [0-9]+ unique failure' "$work/schemathesis.log" || true; } | awk '{ n += $2 } END { print n + 0 }')
echo "api-fuzz: $((generated - failures)) passed, $failures failed"

if ! kill -0 "$server_pid" 2>/dev/null; then
  log "the server died during the run"
  failed+=("server")
fi
if [ "${#failed[@]}" -ne 0 ]; then
  log "FAILED: ${failed[*]} (seed $seed; API_FUZZ_SEED=$seed replays it)"
  exit 1
fi
log "passed in ${SECONDS}s (seed $seed)"
