# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test lint fmt bench

## Serve on 127.0.0.1:8080 from an SQLite file under ./data/ (created on first run).
run:
	cargo run -p server --bin latchkey -- serve

## The whole suite: unit, storage (PostgreSQL and SQLite) and end-to-end tests.
## Uses $$DATABASE_URL, else PostgreSQL on 127.0.0.1:5432, else a throwaway cluster;
## likewise $$REDIS_URL, else Redis on 127.0.0.1:6379, else a throwaway redis-server.
test:
	scripts/with-services.sh cargo test --workspace --all-targets --all-features

## Formatting, clippy with warnings as errors, and the dependency fence.
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	scripts/dependency-fence.sh

fmt:
	cargo fmt --all

## Benchmarks on a release build; they print their numbers (see docs/benchmarks.md).
bench:
	cargo bench -p server --bench hash_storm
