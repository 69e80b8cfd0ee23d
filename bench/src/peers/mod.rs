//! `skygroup-bench peers`: skygroup side by side with ractor, kameo, actix and the tokio
//! mpsc+oneshot baseline, each written as its docs show, in one process. Each workload warms
//! every side up once, then runs 5 rounds of every side (`compare`); the table shows medians
//! and skygroup's ratio to each peer (median over rounds of the ratio within a round).
//!
//! skygroup runs each workload with handlers in both forms, `command` (async) and
//! `command_sync`, as two sides of the same rounds; the table has a line per form. Workloads
//! with no user handler in the timed path (spawn+stop, the storm) run once and say so.
//!
//! Every multi-threaded runtime has 2 workers (skygroup's threaded backend; tokio's for ractor,
//! kameo and the baseline); actix runs on one thread (its `System`).

mod actix_peer;
mod compare;
mod kameo_peer;
mod memory;
mod ractor_peer;
mod sky;
mod table;
mod tokio_peer;
mod workloads;

use std::process::ExitCode;

use crate::skygroup_side::workers;
use compare::Peer;

/// Measured rounds per workload, after one warm-up run of each side.
pub const ROUNDS: usize = 5;

const USAGE: &str = "usage: skygroup-bench peers [--quick] [--only IMPL] [FILTER]
  --quick      small sizes, for a smoke test (figures not comparable)
  --only IMPL  run one implementation's side only (for profiling):
               skygroup, ractor, kameo, actix, tokio
  FILTER       run only workloads whose key contains it:
               memory, calls, sends, fan-in, spawn, storm, group-call";

/// How much work each workload does per run.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub calls: u64,
    pub sends: u64,
    pub producers: u64,
    pub each: u64,
    pub services: u64,
    pub requesters: u64,
    pub idle: u64,
}

impl Sizes {
    /// The sizes the targets are stated for.
    pub fn full() -> Sizes {
        Sizes {
            calls: 200_000,
            sends: 2_000_000,
            producers: 4,
            each: 500_000,
            services: 10_000,
            requesters: 1_000,
            idle: 10_000,
        }
    }

    pub fn quick() -> Sizes {
        Sizes {
            calls: 10_000,
            sends: 100_000,
            producers: 4,
            each: 25_000,
            services: 1_000,
            requesters: 1_000,
            idle: 1_000,
        }
    }
}

fn header(quick: bool) {
    let command: Vec<String> = std::env::args().collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("# skygroup-bench peers");
    println!();
    println!("- command: `{}`", command.join(" "));
    println!("- skygroup: {}", revision());
    println!("- rustc: {}", env!("BENCH_RUSTC_VERSION"));
    println!("- peers: {}", env!("BENCH_PEER_VERSIONS"));
    println!("- cores: {cores}; workers: {} (skygroup; tokio for ractor, kameo, baseline); actix: 1 thread", workers());
    let sizes = if quick { "quick (smoke test, not comparable)" } else { "full" };
    println!("- sizes: {sizes}; one warm-up run per side, then {ROUNDS} rounds of every side (first side rotates)");
    println!("- figures: medians; in brackets: how many times faster skygroup is than that peer (median of the");
    println!("  per-round ratios; for \"storm minus harness\", the ratio of the medians)");
    if cfg!(debug_assertions) {
        println!("- WARNING: debug build; figures mean nothing (use --release)");
    }
    println!();
}

/// The commit measured, and whether the working tree differed from it in what is built.
fn revision() -> String {
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").arg("-C").arg(repo).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else { return "unknown commit".to_owned() };
    match git(&["status", "--porcelain", "--", "src", "Cargo.toml"]) {
        Some(changes) if !changes.is_empty() => {
            format!("commit {head} + uncommitted changes in src/ ({} files)", changes.lines().count())
        }
        _ => format!("commit {head}"),
    }
}

/// Runs the peers comparison with `args` (after `peers`).
pub fn main(args: &[String]) -> ExitCode {
    let (mut quick, mut filter, mut only) = (false, None, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--only" => match args.next().and_then(|name| Peer::ALL.into_iter().find(|p| p.name() == name)) {
                Some(peer) => only = Some(peer),
                None => {
                    eprintln!("skygroup-bench peers: --only needs one of skygroup, ractor, kameo, actix, tokio");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            flag if flag.starts_with('-') || filter.is_some() => {
                eprintln!("skygroup-bench peers: unexpected `{flag}`\n{USAGE}");
                return ExitCode::from(2);
            }
            word => filter = Some(word.to_owned()),
        }
    }
    let sizes = if quick { Sizes::quick() } else { Sizes::full() };
    let wanted = |key: &str| filter.as_deref().is_none_or(|f| key.contains(f));
    header(quick);
    if wanted("memory") {
        workloads::memory(sizes, only);
    }
    let mut selected: Vec<_> = workloads::all(sizes).into_iter().filter(|w| wanted(w.key)).collect();
    if let Some(peer) = only {
        // `--only skygroup` keeps both handler forms.
        let keep = |p: Peer| p == peer || (peer == Peer::Skygroup && p == Peer::SkygroupAsync);
        selected.iter_mut().for_each(|w| w.sides.retain(|s| keep(s.peer)));
    }
    if selected.is_empty() {
        return ExitCode::SUCCESS;
    }
    println!("```");
    let rows: Vec<table::Row> = selected.iter().flat_map(workloads::measure).collect();
    println!("```");
    println!();
    print!("{}", table::figures(&rows));
    println!();
    print!("{}", table::targets(&workloads::targets(), &rows));
    ExitCode::SUCCESS
}
