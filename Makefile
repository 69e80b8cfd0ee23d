# Everyday commands. `make ARGS="--seed 7" sim` passes ARGS to the simulator CLI.

ARGS ?=

.PHONY: run test stest bench bench-peers bench-gate bench-cluster example-cluster sim lint mutants loom examples-tokio

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

examples-tokio: ## the tokio examples (Handle): a tokio task driving a service, offloading work from a handler
	cargo run -p skygroup-examples-tokio --example tokio_driver
	cargo run -p skygroup-examples-tokio --example offload

bench-gate: ## the gate's echo on loopback beside tokio + LengthDelimitedCodec, idle memory, simulated frames/s (BENCHMARKS.md "Gate")
	cargo run --release -p skygroup-bench -- gate

example-cluster: ## three nodes, a game server on each, one login-center: over a nats-server it starts itself, then on simulated nodes (seed 7)
	cargo run -p skygroup-nats --example cluster
	cargo run -p skygroup-nats --example cluster -- --sim 7

bench-cluster: ## cross-node calls over NATS beside raw async-nats, a local call with the cluster on and off, a node's death to its names free (BENCHMARKS.md "Cluster")
	cargo bench -p skygroup-nats --bench cluster

sim: ## the simulator CLI (skygroup-sim), with $(ARGS)
	cargo run -p skygroup-sim -- $(ARGS)

lint: ## formatting and clippy, as CI runs them
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

loom: ## loom models of the scheduling state, the threaded run queue and the service table's count (every interleaving, bounded preemptions)
	RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=$${LOOM_MAX_PREEMPTIONS:-3} CARGO_TARGET_DIR=target/loom cargo test --release -p skygroup --lib loom

mutants: ## the mutation score: each known bug class must be caught by the explorer (prints the table)
	RUSTFLAGS="--cfg skygroup_mutants" CARGO_TARGET_DIR=target/mutants cargo test -p skygroup-sim --test mutants -- --nocapture

.PHONY: fuzz fuzz-corpus fuzz-mutants

fuzz: ## every cargo-fuzz target for $(FUZZ_SECONDS) s each (default 60; installs cargo-fuzz if missing; see fuzz/README.md)
	fuzz/fuzz.sh run $(FUZZ_TARGETS)

fuzz-corpus: ## minimise what `make fuzz` found into the committed corpus, fuzz/corpus/<target>
	fuzz/fuzz.sh corpus $(FUZZ_TARGETS)

fuzz-mutants: ## executions the schedule fuzzer needs to catch each mutant (BENCHMARKS.md "Mutation score")
	fuzz/fuzz.sh mutants
