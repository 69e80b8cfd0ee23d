//! skygroup next to tokio: examples only (see `examples/`). This crate is a workspace member
//! but not a default one, so the root `cargo test` does not build tokio; run them with
//! `cargo run -p skygroup-examples-tokio --example tokio_driver` and `--example offload`.
#![forbid(unsafe_code)]
