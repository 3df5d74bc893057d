# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test lint fmt bench test-api-fuzz fuzz

## Serve on 127.0.0.1:8080 from an SQLite file under ./data/ (created on first run).
run:
	cargo run -p server --bin latchkey -- serve

## The whole suite: unit, storage (PostgreSQL and SQLite) and end-to-end tests; benchmarks
## are not tests (an unoptimised run of them would print meaningless figures): `make bench`.
## Uses $$DATABASE_URL, else PostgreSQL on 127.0.0.1:5432, else a throwaway cluster;
## an S3 server (moto, in a venv under target/ with cryptography for the format checks);
## likewise $$REDIS_URL, else Redis on 127.0.0.1:6379, else a throwaway redis-server.
## Then the Python SDK's packaging, type and pytest checks against a real debug server, and
## the Rust SDK's packaging (its tests against the server are in the end-to-end suite).
## The console's browser tests drive Debian's chromium and chromedriver, installed when missing.
test:
	scripts/ensure-browser.sh
	scripts/with-services.sh cargo test --workspace --lib --bins --tests --all-features
	scripts/sdk-python.sh
	cargo package -p latchkey-client --allow-dirty --quiet

## Formatting, clippy with warnings as errors, and the dependency fence.
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	scripts/dependency-fence.sh

fmt:
	cargo fmt --all

## Benchmarks on a release build; they print their numbers (see docs/benchmarks.md).
## throughput, scale and signing need PostgreSQL ($$BENCH_PGHOST/$$BENCH_PGPORT/$$BENCH_PGUSER,
## default 127.0.0.1:5432, postgres, trust), pgbench and psql; after the build, about 1.5
## minutes for hash_storm and throughput, 1.5 more for scale, 0.5 for signing, 0.5 for
## webhooks, 1 for files (SQLite; 1 GiB moved about ten times, 5 GiB free disk) and 1 for sdk
## (SQLite; the Python SDK's venv from scripts/sdk-python.sh), and 2 for console (PostgreSQL:
## every console page on a million users).
bench:
	cargo bench -p server --no-fail-fast --bench hash_storm --bench throughput --bench scale \
		--bench signing --bench webhooks --bench files --bench sdk --bench console

## OpenAPI-driven fuzzing: schemathesis (in a venv under target/) against a debug server;
## no 5xx, every response as documented. Bounded; CI runs it (see docs/fuzzing.md).
test-api-fuzz:
	scripts/api-fuzz.sh

## cargo-fuzz over the parsers for $(FUZZ_SECONDS)s (installs cargo-fuzz when missing). Not in
## `make test` or CI. cargo-fuzz needs nightly flags: RUSTC_BOOTSTRAP=1 lets stable take them.
FUZZ_SECONDS ?= 60
fuzz:
	cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run parsers -- \
		-max_total_time=$(FUZZ_SECONDS) -dict=$(CURDIR)/fuzz/parsers.dict
