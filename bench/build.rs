//! Records the version of the compiler that builds the benchmark, and the versions of the
//! peers it is compared with (from the workspace's Cargo.lock), for the report header.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |v| v.trim().to_owned());
    println!("cargo:rustc-env=BENCH_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rustc-env=BENCH_PEER_VERSIONS={}", peer_versions("../Cargo.lock"));
    println!("cargo:rerun-if-changed=../Cargo.lock");
}

/// `ractor 0.16.5, kameo ...` as locked, for the crates the peers comparison uses.
fn peer_versions(lockfile: &str) -> String {
    let lock = std::fs::read_to_string(lockfile).unwrap_or_default();
    let mut found = Vec::new();
    for name in ["ractor", "kameo", "actix", "actix-rt", "tokio"] {
        let needle = format!("name = \"{name}\"\nversion = \"");
        let versions: Vec<&str> =
            lock.match_indices(&needle).filter_map(|(at, _)| lock[at + needle.len()..].split('"').next()).collect();
        let versions = if versions.is_empty() { "?".to_owned() } else { versions.join("/") };
        found.push(format!("{name} {versions}"));
    }
    found.join(", ")
}
