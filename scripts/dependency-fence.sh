#!/usr/bin/env bash
# Dependencies point inward only: server → adapters-* → domain. The domain carries no web
# framework, database, configuration or logging-backend crate, and adapters never depend on
# each other (http, postgres, blobs, console). `-e normal` leaves dev-dependencies (mockall's users) out.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
deps() { cargo tree -p "$1" -e normal --prefix none --format '{p}'; }

if forbidden=$(deps domain | grep -E '^(actix|sea-orm|sea-query|sqlx|config |tracing-subscriber|utoipa)'); then
  echo "dependency fence: the domain crate depends on adapter-level crates:"; echo "$forbidden" | sort -u
  fail=1
fi
if deps domain | grep -qE '^mockall '; then
  echo "dependency fence: mockall is a normal dependency of domain (it belongs behind the mocks feature)"
  fail=1
fi
if deps adapters-http | grep -qE '^adapters-postgres '; then
  echo "dependency fence: adapters-http depends on adapters-postgres"; fail=1
fi
if deps adapters-postgres | grep -qE '^adapters-http '; then
  echo "dependency fence: adapters-postgres depends on adapters-http"; fail=1
fi
for adapter in adapters-http adapters-postgres; do
  if deps adapters-blobs | grep -qE "^$adapter "; then
    echo "dependency fence: adapters-blobs depends on $adapter"; fail=1
  fi
  if deps "$adapter" | grep -qE '^adapters-blobs '; then
    echo "dependency fence: $adapter depends on adapters-blobs"; fail=1
  fi
done
for adapter in adapters-http adapters-postgres adapters-blobs; do
  if deps adapters-console | grep -qE "^$adapter "; then
    echo "dependency fence: adapters-console depends on $adapter"; fail=1
  fi
  if deps "$adapter" | grep -qE '^adapters-console '; then
    echo "dependency fence: $adapter depends on adapters-console"; fail=1
  fi
done
[ "$fail" = 0 ] && echo "dependency fence: ok"
exit "$fail"
