//! Smoke tests of the `skygroup-sim` command line through its library entry point.

use clap::Parser;
use skygroup_sim::cli::{Cli, Command, STATUS_USAGE, run_from};

fn cli(args: &str) -> (i32, String) {
    let mut out = Vec::new();
    let args = std::iter::once("skygroup-sim".to_owned()).chain(args.split_whitespace().map(str::to_owned));
    let status = run_from(args, &mut out);
    (status, String::from_utf8(out).unwrap())
}

#[test]
fn list_names_every_builtin_scenario() {
    let (status, out) = cli("list");
    assert_eq!(status, 0);
    for name in ["lazy-query", "startup-race", "pending-flush", "groupmain"] {
        assert!(out.contains(name), "{out}");
    }
}

#[test]
fn explore_prints_a_summary() {
    for strategy in ["random", "pct", "exhaustive"] {
        let (status, out) = cli(&format!("explore --scenario groupmain --seeds 30 --quiet --strategy {strategy}"));
        assert_eq!(status, 0, "{out}");
        assert!(out.contains("runs:                   30"), "{out}");
        assert!(out.contains("distinct interleavings:") && out.contains("runs/s:") && out.contains("violations:"));
    }
}

#[test]
fn replay_by_seed_then_by_its_log() {
    let (status, out) = cli("replay --scenario pending-flush --seed 9");
    assert_eq!(status, 0, "{out}");
    let log = out.lines().find_map(|l| l.strip_prefix("log:    ")).unwrap().to_owned();
    let (status, again) = cli(&format!("replay --scenario pending-flush --log {log}"));
    assert_eq!(status, 0, "{again}");
    assert!(again.lines().last().unwrap().ends_with(&format!("replay --scenario pending-flush --log {log}")));
}

/// Every form of `replay` (and `trace`) a run is named by parses: a seed with its workers and
/// faults, or a log alone; never both, never neither.
#[test]
fn replay_and_trace_take_a_seed_with_its_options_or_a_log() {
    let parse = |args: &str| Cli::try_parse_from(std::iter::once("skygroup-sim").chain(args.split_whitespace()));
    let Command::Replay(replay) =
        parse("replay --scenario cluster-login --seed 639 --faults --workers 3").unwrap().command
    else {
        panic!("not a replay")
    };
    assert_eq!((replay.source.seed(), replay.source.faults, replay.source.workers), (Some(639), true, 3));
    let Command::Trace(trace) = parse("trace --scenario groupmain --seed 1 --faults").unwrap().command else {
        panic!("not a trace")
    };
    assert_eq!((trace.source.seed(), trace.source.faults), (Some(1), true));
    let Command::Replay(by_log) = parse("replay --scenario groupmain --log v2:AAIA --full").unwrap().command else {
        panic!("not a replay")
    };
    assert_eq!((by_log.source.log(), by_log.source.seed(), by_log.full), (Some("v2:AAIA"), None, true));
    for wrong in [
        "replay --scenario groupmain",
        "replay --scenario groupmain --faults",
        "replay --scenario groupmain --seed 1 --log v2:AAIA",
        "replay --scenario groupmain --log v2:AAIA --faults",
    ] {
        assert!(parse(wrong).is_err(), "`{wrong}` parsed");
    }
    let (status, out) = cli("replay --scenario pending-flush --seed 9 --faults");
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("passed (seed 9)"), "{out}");
}

#[test]
fn trace_draws_every_format() {
    let (status, text) = cli("trace --scenario groupmain --seed 1 --format text");
    assert_eq!(status, 0);
    assert!(text.lines().any(|l| l.contains("spawn") && l.contains("echoserver")), "{text}");
    let (_, mermaid) = cli("trace --scenario groupmain --seed 1 --format mermaid");
    assert!(mermaid.starts_with("sequenceDiagram") && mermaid.contains("participant") && mermaid.contains("->>"));
    let (_, svg) = cli("trace --scenario groupmain --seed 1 --format svg");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>") && svg.contains("echoserver"));
}

#[test]
fn bad_input_is_a_usage_error() {
    assert_eq!(cli("explore --scenario nope --seeds 1").0, STATUS_USAGE);
    assert_eq!(cli("replay --scenario groupmain --log v9:xyz").0, STATUS_USAGE);
    let (status, out) = cli("shrink --scenario groupmain --log v2:AAIA");
    assert_eq!(status, STATUS_USAGE);
    assert!(out.contains("does not fail"), "{out}");
}

#[test]
fn bench_prints_a_table() {
    let (status, out) = cli("bench --runs 20 --scenario groupmain");
    assert_eq!(status, 0);
    assert!(out.starts_with("| scenario | runs | runs/s |") && out.contains("| groupmain | 20 |"), "{out}");
}
