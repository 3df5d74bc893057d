#!/usr/bin/env bash
# The Python SDK (sdks/python): its packaging, and its tests against a real `latchkey serve`
# (debug build, SQLite in a temp dir; the tests start and stop their own servers).
#
#   1. a venv at ${CARGO_TARGET_DIR:-target}/sdk-python-venv with pinned tools, and the SDK
#      installed from the tree (pip install ./sdks/python, again every run: it is quick);
#   2. cargo build -p server --bin latchkey;
#   3. python -m build of sdks/python into a temp dir (sdist and wheel, with py.typed);
#   4. mypy --strict of the package, then pytest on sdks/python/tests with LATCHKEY_BIN set.
#
# Extra arguments go to pytest, e.g. scripts/sdk-python.sh -k signing -x
set -euo pipefail

PYTEST_VERSION=9.2.0
BUILD_VERSION=1.6.1
MYPY_VERSION=1.20.2
HTTPX_VERSION=0.29.0
CRYPTOGRAPHY_VERSION=51.0.1
HATCHLING_VERSION=1.33.0

root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
case $target_dir in /*) ;; *) target_dir=$root/$target_dir ;; esac
venv=$target_dir/sdk-python-venv
python=$venv/bin/python

log() { printf 'sdk-python: %s\n' "$*" >&2; }

work=$(mktemp -d)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The venv and its pinned tools; the SDK's own dependencies are pinned here too, so a run
# does not change with the registry.
stamp=$venv/.pins
pins="pytest==$PYTEST_VERSION build==$BUILD_VERSION mypy==$MYPY_VERSION httpx==$HTTPX_VERSION cryptography==$CRYPTOGRAPHY_VERSION hatchling==$HATCHLING_VERSION"
if [ ! -x "$python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$pins" ]; then
  log "making $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$python" -m pip install --quiet --disable-pip-version-check $pins
  printf '%s' "$pins" > "$stamp"
fi
"$python" -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps \
  --force-reinstall "$root/sdks/python"

# 2. The server.
(cd "$root" && cargo build --quiet -p server --bin latchkey)
# A copy, so that a concurrent build cannot swap the binary in the middle of the run.
cp "$target_dir/debug/latchkey" "$work/latchkey"

# 3. Packaging: sdist, and a wheel built from it.
log "python -m build"
"$python" -m build --no-isolation --outdir "$work/dist" "$root/sdks/python" > "$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; exit 1; }
wheel=$(ls "$work"/dist/latchkey-*.whl)
"$python" -m zipfile -l "$wheel" | grep -q 'latchkey/py.typed' \
  || { log "the wheel has no py.typed"; exit 1; }

# 4. Types, then the tests.
log "mypy --strict"
(cd "$root/sdks/python" && "$python" -m mypy --strict --cache-dir "$work/mypy-cache" src/latchkey)
log "pytest"
cd "$root/sdks/python"
LATCHKEY_BIN="$work/latchkey" "$python" -m pytest -q -p no:cacheprovider tests "$@"
