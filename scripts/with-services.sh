#!/usr/bin/env bash
# Runs a command with the services the tests need.
#
# REDIS_URL: $REDIS_URL, else Redis on 127.0.0.1:6379, else a throwaway redis-server on a
# free port, else it fails saying what to install.
#
# DATABASE_URL, naming a reachable PostgreSQL server (an admin URL; each test creates its
# own database on it):
#   1. $DATABASE_URL, when set;
#   2. else the server on 127.0.0.1:${PGPORT_DEFAULT:-5432} (user postgres, trust auth);
#   3. else a throwaway cluster started from the installed PostgreSQL binaries on a free
#      port, stopped and deleted on exit;
#   4. else it fails, saying what to install.
# Test databases (latchkey_test_*) are dropped afterwards.
#
# LATCHKEY_TEST_S3_ENDPOINT, an S3-compatible server for the blob store's tests (any bucket
# name, any credentials): $LATCHKEY_TEST_S3_ENDPOINT, else a moto server on a free port of
# 127.0.0.1, stopped on exit. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION default
# to test values, for the servers the end-to-end tests start against it.
# LATCHKEY_TEST_PYTHON, a Python with `cryptography`, for tests that check our output against
# an independent implementation: $LATCHKEY_TEST_PYTHON, else the venv's.
# moto and cryptography are pinned, in a venv kept between runs under
# ${CARGO_TARGET_DIR:-target}/test-venv (installed again when a pinned version is missing).
set -euo pipefail

MOTO_VERSION=5.2.6
CRYPTOGRAPHY_VERSION=51.0.1

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${CARGO_TARGET_DIR:-$root/target}/test-venv

log() { printf 'with-services: %s\n' "$*" >&2; }

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

find_bin() {
  command -v "$1" 2>/dev/null && return
  ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}

cluster_dir=""
redis_dir=""
moto_pid=""
moto_log=""
cleanup() {
  local status=$?
  if [ -n "$moto_pid" ]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
  if [ -n "$moto_log" ]; then
    # A failing run shows what the S3 server said: its errors (a full disk, say) are ours to read.
    if [ "$status" -ne 0 ] && grep -q ' 500 \|Traceback' "$moto_log"; then
      log "moto_server's log (last 40 lines):"; tail -n 40 "$moto_log" >&2
    fi
    rm -f "$moto_log"
  fi
  if [ -n "$redis_dir" ]; then
    redis-cli -u "$REDIS_URL" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$redis_dir"
  fi
  if [ -n "${DATABASE_URL:-}" ] && command -v psql >/dev/null 2>&1; then
    psql "$DATABASE_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'latchkey\_test\_%'" 2>/dev/null |
      while read -r name; do psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$name\"" >/dev/null 2>&1 || true; done
  fi
  if [ -n "$cluster_dir" ]; then
    as_postgres "$pg_ctl" -D "$cluster_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$cluster_dir"
  fi
  exit "$status"
}
trap cleanup EXIT

# initdb and postgres refuse to run as root: run them as the postgres user then.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_throwaway_cluster() {
  local initdb pg_ctl_bin port
  initdb=$(find_bin initdb || true)
  pg_ctl_bin=$(find_bin pg_ctl || true)
  if [ -z "$initdb" ] || [ -z "$pg_ctl_bin" ]; then
    log "no PostgreSQL is reachable and none is installed."
    log "Install it (Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL=postgres://user@host:port/postgres."
    exit 1
  fi
  pg_ctl="$pg_ctl_bin"
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    log "running as root needs a 'postgres' user to own the throwaway cluster"; exit 1
  fi
  cluster_dir=$(mktemp -d /tmp/latchkey-pg.XXXXXX)
  chmod 755 "$cluster_dir"
  [ "$(id -u)" = 0 ] && chown postgres "$cluster_dir"
  port=55432
  while tcp_open 127.0.0.1 "$port"; do port=$((port + 1)); done
  log "starting a throwaway PostgreSQL cluster on 127.0.0.1:$port"
  as_postgres "$initdb" -D "$cluster_dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
  as_postgres "$pg_ctl" -D "$cluster_dir/data" -l "$cluster_dir/log" -w \
    -o "-p $port -k $cluster_dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

if [ -n "${REDIS_URL:-}" ]; then
  log "using REDIS_URL"
elif tcp_open 127.0.0.1 6379; then
  export REDIS_URL="redis://127.0.0.1:6379"
  log "using Redis on 127.0.0.1:6379"
elif command -v redis-server >/dev/null 2>&1; then
  redis_dir=$(mktemp -d /tmp/latchkey-redis.XXXXXX)
  redis_port=56379
  while tcp_open 127.0.0.1 "$redis_port"; do redis_port=$((redis_port + 1)); done
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$redis_dir" --daemonize yes --logfile "$redis_dir/log" >/dev/null
  export REDIS_URL="redis://127.0.0.1:$redis_port"
  until tcp_open 127.0.0.1 "$redis_port"; do sleep 0.1; done
  log "started a throwaway Redis on 127.0.0.1:$redis_port"
else
  log "no Redis is reachable and none is installed."
  log "Install it (Debian/Ubuntu: apt-get install redis-server) or set REDIS_URL=redis://host:port."
  exit 1
fi

pg_ctl=""
if [ -n "${DATABASE_URL:-}" ]; then
  log "using DATABASE_URL"
elif tcp_open 127.0.0.1 "${PGPORT_DEFAULT:-5432}"; then
  export DATABASE_URL="postgres://postgres@127.0.0.1:${PGPORT_DEFAULT:-5432}/postgres"
  log "using PostgreSQL on 127.0.0.1:${PGPORT_DEFAULT:-5432}"
else
  start_throwaway_cluster
fi

# The pinned versions, as `pip freeze` would print them; a venv without them is made anew.
ensure_test_venv() {
  local want="cryptography==$CRYPTOGRAPHY_VERSION moto==$MOTO_VERSION" have
  have=$("$venv/bin/python" - 2>/dev/null <<'EOF' || true
from importlib.metadata import version
print(f"cryptography=={version('cryptography')} moto=={version('moto')}")
EOF
)
  [ "$have" = "$want" ] && return
  log "installing moto $MOTO_VERSION and cryptography $CRYPTOGRAPHY_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "cryptography==$CRYPTOGRAPHY_VERSION"
}

if [ -z "${LATCHKEY_TEST_S3_ENDPOINT:-}" ] || [ -z "${LATCHKEY_TEST_PYTHON:-}" ]; then
  ensure_test_venv
fi
if [ -n "${LATCHKEY_TEST_PYTHON:-}" ]; then
  log "using LATCHKEY_TEST_PYTHON"
else
  export LATCHKEY_TEST_PYTHON="$venv/bin/python"
fi

if [ -n "${LATCHKEY_TEST_S3_ENDPOINT:-}" ]; then
  log "using LATCHKEY_TEST_S3_ENDPOINT"
else
  moto_port=55000
  while tcp_open 127.0.0.1 "$moto_port"; do moto_port=$((moto_port + 1)); done
  moto_log=$(mktemp /tmp/latchkey-moto.XXXXXX)
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$moto_log" 2>&1 &
  moto_pid=$!
  # Startup, not a test: up to 30 s for the server to listen.
  for _ in $(seq 1 300); do
    tcp_open 127.0.0.1 "$moto_port" && break
    if ! kill -0 "$moto_pid" 2>/dev/null; then
      log "moto_server exited before listening:"; tail -n 20 "$moto_log" >&2; exit 1
    fi
    sleep 0.1
  done
  if ! tcp_open 127.0.0.1 "$moto_port"; then
    log "moto_server did not listen within 30 s:"; tail -n 20 "$moto_log" >&2; exit 1
  fi
  export LATCHKEY_TEST_S3_ENDPOINT="http://127.0.0.1:$moto_port"
  log "started moto (S3) on $LATCHKEY_TEST_S3_ENDPOINT"
fi
# The servers the end-to-end tests start read their S3 credentials from the environment, as
# in production; moto takes any.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-latchkey-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-latchkey-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"

"$@"
