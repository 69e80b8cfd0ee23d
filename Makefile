# Everyday commands. `make ARGS="--seed 7" sim` passes ARGS to the simulator CLI.

ARGS ?=

.PHONY: run test stest bench bench-peers sim lint mutants

run: ## run the main example (three groups, threaded backend)
	cargo run --example groupmain

test: ## all tests, both backends (default members: the benchmark crate is not built)
	cargo test

stest: ## simulator-side tests only (test names containing "sim")
	cargo test sim

bench: ## throughput benchmarks (release build)
	cargo run --release -p skygroup-bench

bench-peers: ## skygroup side by side with ractor, kameo, actix and tokio, one process (BENCHMARKS.md "Against peers")
	cargo run --release -p skygroup-bench -- peers

sim: ## the simulator CLI (skygroup-sim), with $(ARGS)
	cargo run -p skygroup-sim -- $(ARGS)

lint: ## formatting and clippy, as CI runs them
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

mutants: ## the mutation score: each known bug class must be caught by the explorer (prints the table)
	RUSTFLAGS="--cfg skygroup_mutants" CARGO_TARGET_DIR=target/mutants cargo test -p skygroup-sim --test mutants -- --nocapture
