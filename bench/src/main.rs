//! skygroup-bench: throughput of skygroup's threaded backend against an idiomatic tokio
//! baseline, and of the simulator. Prints a markdown table of medians.
//!
//! Usage: `skygroup-bench [--quick] [FILTER]`. FILTER runs only the workloads whose key
//! contains it (calls, sends, fan-in, spawn, sim-msgs, sim-seeds, typed-calls, typed-sends,
//! codec).
//!
//! `skygroup-bench peers [--quick] [FILTER]` compares skygroup with ractor, kameo, actix and
//! the tokio baseline instead (see `peers/mod.rs`); `skygroup-bench gate` benchmarks the gate
//! (see `gate/mod.rs`).

mod gate;
mod kinds;
mod measure;
mod peers;
mod report;
mod sim_side;
mod skygroup_side;
mod tokio_side;
mod typed_side;
mod workloads;

use std::process::ExitCode;

use report::Row;
use workloads::{Sizes, Workload};

/// Measured runs per side, after one warm-up run.
const RUNS: usize = 5;

const USAGE: &str = "usage: skygroup-bench [--quick] [--no-baseline] [FILTER]
       skygroup-bench peers [--quick] [FILTER]   (against ractor, kameo, actix; see --help there)
       skygroup-bench gate                       (the gate against tokio on loopback; make bench-gate)
  --quick        small sizes, for a smoke test
  --no-baseline  skip the tokio runs (to profile skygroup alone)
  FILTER         run only workloads whose key contains it:
                 calls, sends, fan-in, spawn, sim-msgs, sim-seeds,
                 typed-calls, typed-sends (typed vs dynamic), codec (payload formats)";

struct Options {
    quick: bool,
    baseline: bool,
    filter: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options { quick: false, baseline: true, filter: None };
    for arg in args {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--no-baseline" => options.baseline = false,
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
            _ if options.filter.is_some() => return Err("at most one filter".to_owned()),
            word => options.filter = Some(word.to_owned()),
        }
    }
    Ok(options)
}

fn header(options: &Options) {
    let command: Vec<String> = std::env::args().collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("# skygroup-bench");
    println!();
    println!("- command: `{}`", command.join(" "));
    println!("- rustc: {}", env!("BENCH_RUSTC_VERSION"));
    println!("- cores: {cores}; workers: {} (skygroup and tokio)", skygroup_side::workers());
    println!("- sizes: {}; one warm-up run, then {RUNS} runs per side, interleaved", size_name(options));
    println!("- figures: median ops/s; ratio: median over rounds of skygroup/tokio in the same round");
    if cfg!(debug_assertions) {
        println!("- WARNING: debug build; figures mean nothing (use --release)");
    }
    println!();
}

fn size_name(options: &Options) -> &'static str {
    if options.quick { "quick (smoke test, not comparable)" } else { "full" }
}

fn measure(workload: &Workload, with_baseline: bool) -> Row {
    let baseline = workload.baseline.as_deref().filter(|_| with_baseline);
    let (ours, theirs) = measure::compare(RUNS, &*workload.skygroup, baseline);
    println!("{}", report::runs_line(workload.key, "skygroup", &ours));
    if let Some(theirs) = &theirs {
        let side = if let report::Target::RatioTo(_, name) = workload.target { name } else { "tokio" };
        println!("{}", report::runs_line(workload.key, side, theirs));
    }
    let ratio = theirs.as_ref().map(|t| measure::ratio(&ours, t));
    Row { label: workload.label.clone(), ours, theirs, ratio, target: workload.target }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("peers") {
        return peers::main(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("gate") {
        return gate::main(&args[1..]);
    }
    let options = match parse(&args) {
        Ok(options) => options,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("skygroup-bench: {problem}");
            }
            eprintln!("{USAGE}");
            return if problem.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    let sizes = if options.quick { Sizes::quick() } else { Sizes::full() };
    let selected: Vec<Workload> = workloads::all(sizes)
        .into_iter()
        .filter(|w| options.filter.as_deref().is_none_or(|f| w.key.contains(f)))
        .collect();
    if selected.is_empty() {
        eprintln!("skygroup-bench: no workload matches `{}`\n{USAGE}", options.filter.unwrap_or_default());
        return ExitCode::from(2);
    }
    header(&options);
    println!("```");
    let rows: Vec<Row> = selected.iter().map(|w| measure(w, options.baseline)).collect();
    println!("```");
    println!();
    print!("{}", report::table(&rows));
    ExitCode::SUCCESS
}
