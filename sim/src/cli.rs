//! The `skygroup-sim` command line. It lives in the library so tests drive it with
//! [`run`]; `main.rs` only parses and exits with the status it returns.
//!
//! Status: 0 when everything passed, 1 when a run failed (a violation), 2 for bad input.

use std::io::Write;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::chooser::DecisionKind;
use crate::explore::{ExploreConfig, explore, log_of, replay_run};
use crate::log::{DecisionLog, Tail};
use crate::render::{self, Format};
use crate::report::{FailureReport, replay_command};
use crate::scenario::{self, RunConfig, Scenario, run_once};
use crate::shrink::shrink;
use crate::strategy::{StrategyKind, exhaustive, pct};

/// Exit status when a run failed.
pub const STATUS_VIOLATION: i32 = 1;
/// Exit status for bad input (unknown scenario, unreadable log).
pub const STATUS_USAGE: i32 = 2;

/// The parsed command line.
#[derive(Debug, Parser)]
#[command(name = "skygroup-sim", about = "Explore, replay, shrink and draw simulated skygroup runs")]
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// A subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the built-in scenarios.
    List,
    /// Run a scenario many times under a strategy; print a summary.
    Explore(ExploreArgs),
    /// Re-run one run from its seed or its decision log.
    Replay(ReplayArgs),
    /// Shrink a failing decision log to fewer deviations.
    Shrink(ShrinkArgs),
    /// Draw one run as a sequence diagram.
    Trace(TraceArgs),
    /// Runs/s and messages/s per scenario, single-threaded.
    Bench(BenchArgs),
}

/// The `--strategy` of `explore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// Random walk: each seed's own choices.
    Random,
    /// PCT: priority change points at bug depth `--depth`.
    Pct,
    /// Bounded exhaustive search, at most `--cap` deviations.
    Exhaustive,
}

/// The `--format` of `trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Plain text, one event per line.
    Text,
    /// A Mermaid sequence diagram.
    Mermaid,
    /// An SVG sequence diagram.
    Svg,
}

/// Arguments of `explore`.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// The scenario (see `list`).
    #[arg(long)]
    pub scenario: String,
    /// Runs to make (exhaustive stops earlier once every schedule within the cap has run).
    #[arg(long, default_value_t = 1000)]
    pub seeds: u64,
    /// How to pick schedules.
    #[arg(long, value_enum, default_value_t = StrategyArg::Random)]
    pub strategy: StrategyArg,
    /// Virtual workers: services run "at once" per step.
    #[arg(long, default_value_t = crate::WORKERS_DEFAULT)]
    pub workers: usize,
    /// Inject faults (init failures, handler panics, crashes, late timers).
    #[arg(long)]
    pub faults: bool,
    /// The first seed (random and PCT use consecutive seeds from it).
    #[arg(long, default_value_t = 0)]
    pub first_seed: u64,
    /// PCT: the bug depth d (d - 1 priority change points).
    #[arg(long, default_value_t = pct::DEPTH_DEFAULT)]
    pub depth: usize,
    /// Exhaustive: at most this many deviations from the default order per schedule.
    #[arg(long, default_value_t = exhaustive::CAP_DEFAULT)]
    pub cap: usize,
    /// Stop at the first failing run.
    #[arg(long)]
    pub stop: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Which run to re-run: a seed (with the workers and faults it ran with), or a decision log
/// (which carries its own).
#[derive(Debug, Args)]
pub struct RunSource {
    /// The seed or the log.
    #[command(flatten)]
    pub origin: Origin,
    /// Virtual workers (with --seed; a log carries its own).
    #[arg(long, default_value_t = crate::WORKERS_DEFAULT, conflicts_with = "log")]
    pub workers: usize,
    /// Inject faults (with --seed; a log carries its own).
    #[arg(long, conflicts_with = "log")]
    pub faults: bool,
}

/// Exactly one of a seed or a log. Its own group, so that the options that go with a seed
/// (`--workers`, `--faults`) are not taken for a third way to name the run.
#[derive(Debug, Args)]
#[group(id = "source", required = true, multiple = false)]
pub struct Origin {
    /// The seed's own choices.
    #[arg(long)]
    pub seed: Option<u64>,
    /// A decision log (`v2:...`), as a failure printed it.
    #[arg(long)]
    pub log: Option<String>,
}

impl RunSource {
    /// The seed, if the run is named by one.
    pub fn seed(&self) -> Option<u64> {
        self.origin.seed
    }

    /// The decision log's text, if the run is named by one.
    pub fn log(&self) -> Option<&str> {
        self.origin.log.as_deref()
    }
}

/// Arguments of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The scenario (see `list`).
    #[arg(long)]
    pub scenario: String,
    /// The run to replay.
    #[command(flatten)]
    pub source: RunSource,
    /// Print the whole trace, not only its end.
    #[arg(long)]
    pub full: bool,
}

/// Arguments of `shrink`.
#[derive(Debug, Args)]
pub struct ShrinkArgs {
    /// The scenario (see `list`).
    #[arg(long)]
    pub scenario: String,
    /// The failing decision log (`v2:...`) to shrink.
    #[arg(long)]
    pub log: String,
    /// Give up after this many runs.
    #[arg(long, default_value_t = 2000)]
    pub runs_max: usize,
}

/// Arguments of `trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The scenario (see `list`).
    #[arg(long)]
    pub scenario: String,
    /// The run to draw.
    #[command(flatten)]
    pub source: RunSource,
    /// The output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Runs per scenario.
    #[arg(long, default_value_t = 5000)]
    pub runs: u64,
    /// Only this scenario.
    #[arg(long)]
    pub scenario: Option<String>,
}

/// Parses `args` (program name first) and runs the command, printing to `out`.
pub fn run_from<I: IntoIterator<Item = String>>(args: I, out: &mut dyn Write) -> i32 {
    match Cli::try_parse_from(args) {
        Ok(cli) => run(cli, out),
        Err(e) => {
            let _ = write!(out, "{e}");
            if e.use_stderr() { STATUS_USAGE } else { 0 }
        }
    }
}

/// Runs one command, printing to `out`; returns the exit status.
pub fn run(cli: Cli, out: &mut dyn Write) -> i32 {
    let result = match cli.command {
        Command::List => list(out),
        Command::Explore(args) => explore_cmd(&args, out),
        Command::Replay(args) => replay_cmd(&args, out),
        Command::Shrink(args) => shrink_cmd(&args, out),
        Command::Trace(args) => trace_cmd(&args, out),
        Command::Bench(args) => bench_cmd(&args, out),
    };
    result.unwrap_or_else(|message| {
        let _ = writeln!(out, "error: {message}");
        STATUS_USAGE
    })
}

type Status = Result<i32, String>;

fn find(name: &str) -> Result<Box<dyn Scenario>, String> {
    scenario::by_name(name).ok_or_else(|| {
        let names: Vec<String> = every_scenario().iter().map(|s| s.name().to_owned()).collect();
        format!("no scenario `{name}`; there are: {}", names.join(", "))
    })
}

/// Every scenario the CLI knows: the built-ins, then the ones run by name only.
fn every_scenario() -> Vec<Box<dyn Scenario>> {
    scenario::builtin().into_iter().chain(scenario::more()).collect()
}

fn list(out: &mut dyn Write) -> Status {
    for s in every_scenario() {
        let faults = if s.faults() { " [faults on]" } else { "" };
        writeln!(out, "{:<14} {}{faults}", s.name(), s.description()).map_err(|e| e.to_string())?;
    }
    Ok(0)
}

fn explore_cmd(args: &ExploreArgs, out: &mut dyn Write) -> Status {
    let scenario = find(&args.scenario)?;
    let strategy = match args.strategy {
        StrategyArg::Random => StrategyKind::Random,
        StrategyArg::Pct => StrategyKind::Pct { depth: args.depth },
        StrategyArg::Exhaustive => StrategyKind::Exhaustive { cap: args.cap },
    };
    let config = ExploreConfig {
        strategy,
        runs: args.seeds,
        workers: args.workers,
        faults: args.faults,
        first_seed: args.first_seed,
        stop_at_first: args.stop,
    };
    let bar = progress_bar(args.seeds, args.quiet);
    let summary = explore(&*scenario, &config, &mut |done, failed| {
        bar.set_position(done);
        bar.set_message(format!("{failed} failing"));
    });
    bar.finish_and_clear();
    let failed = summary.failed_runs > 0;
    writeln!(out, "{summary}").map_err(|e| e.to_string())?;
    if let Some((run, report)) = &summary.first_failure {
        writeln!(out, "\nfirst failure at run {run}:\n{report}").map_err(|e| e.to_string())?;
    }
    Ok(if failed { STATUS_VIOLATION } else { 0 })
}

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} runs · {per_sec} · {msg} · eta {eta}") {
        bar.set_style(style);
    }
    bar
}

/// The log a `--seed` or `--log` source names.
fn source_log(source: &RunSource) -> Result<DecisionLog, String> {
    match (source.log(), source.seed()) {
        (Some(text), _) => DecisionLog::decode(text).map_err(|e| e.to_string()),
        (None, Some(seed)) => {
            let (workers, faults) = (source.workers, source.faults);
            Ok(DecisionLog { seed, workers, faults, tail: Tail::Seed, decisions: Vec::new() })
        }
        (None, None) => Err("give --seed or --log".to_owned()),
    }
}

/// A run made from a `--seed` or `--log` source, with its complete log.
struct Sourced {
    run: crate::scenario::RunReport,
    log: DecisionLog,
    divergence: Option<crate::replay::Divergence>,
    origin: String,
}

/// Runs a source: a seed runs with its own chooser, a log through the replayer.
fn run_source(scenario: &dyn Scenario, source: &RunSource) -> Result<Sourced, String> {
    let log = source_log(source)?;
    if source.log().is_none() {
        let config = RunConfig { workers: log.workers, faults: log.faults, ..RunConfig::seed(log.seed) };
        let run = run_once(scenario, config);
        let full = log_of(&run, log.workers, log.faults, Tail::Seed);
        return Ok(Sourced { run, log: full, divergence: None, origin: format!("seed {}", log.seed) });
    }
    let (run, replayer) = replay_run(scenario, &log);
    let divergence = replayer.divergence();
    // A log that still matches reproduces the run as given (and may be the compact shrunk
    // form); one that diverged is replaced by what this run actually chose.
    let log = if divergence.is_some() { DecisionLog { decisions: run.decisions.clone(), ..log } } else { log };
    Ok(Sourced { run, log, divergence, origin: "replayed log".to_owned() })
}

fn replay_cmd(args: &ReplayArgs, out: &mut dyn Write) -> Status {
    let scenario = find(&args.scenario)?;
    let Sourced { run, log, divergence, origin } = run_source(&*scenario, &args.source)?;
    let io = |e: std::io::Error| e.to_string();
    if args.full {
        for line in &run.trace {
            writeln!(out, "{line}").map_err(io)?;
        }
    }
    if run.outcome.is_err() {
        let report = FailureReport::new(scenario.name(), origin, log, run, divergence);
        writeln!(out, "{report}").map_err(io)?;
        return Ok(STATUS_VIOLATION);
    }
    if let Some(divergence) = &divergence {
        writeln!(out, "replay: {divergence}; continued with the log's tail choices").map_err(io)?;
    }
    let (name, lines, decisions) = (scenario.name(), run.trace.len(), log.decisions.len());
    writeln!(out, "scenario {name} passed ({origin}): {lines} trace lines, {decisions} decisions").map_err(io)?;
    writeln!(out, "log:    {log}").map_err(io)?;
    writeln!(out, "replay: {}", replay_command(name, &log)).map_err(io)?;
    Ok(0)
}

fn shrink_cmd(args: &ShrinkArgs, out: &mut dyn Write) -> Status {
    let scenario = find(&args.scenario)?;
    let log = DecisionLog::decode(&args.log).map_err(|e| e.to_string())?;
    let shrunk = shrink(&*scenario, &log, args.runs_max).map_err(|e| e.to_string())?;
    let io = |e: std::io::Error| e.to_string();
    writeln!(
        out,
        "shrunk in {} runs: {} -> {} deviations, {} -> {} decisions logged, log {} -> {} characters",
        shrunk.runs,
        shrunk.deviations_before,
        shrunk.deviations_after,
        log.decisions.len(),
        shrunk.log.decisions.len(),
        args.log.trim().len(),
        shrunk.log.encode().len()
    )
    .map_err(io)?;
    let (report, replayer) = replay_run(&*scenario, &shrunk.log);
    write_deviations(out, &shrunk.log, &replayer.kinds()).map_err(io)?;
    let end = report.program_end.min(report.trace.len());
    writeln!(out, "shrunk trace ({end} lines, up to the runtime's shutdown):").map_err(io)?;
    for line in &report.trace[..end] {
        writeln!(out, "  {line}").map_err(io)?;
    }
    let mut failure = FailureReport::new(scenario.name(), "shrunk".to_owned(), shrunk.log.clone(), report, None);
    failure.trace.clear(); // printed in full above
    writeln!(out, "{failure}").map_err(io)?;
    Ok(STATUS_VIOLATION)
}

/// Each non-default choice of `log`, with what the decision was about.
fn write_deviations(out: &mut dyn Write, log: &DecisionLog, kinds: &[DecisionKind]) -> std::io::Result<()> {
    writeln!(out, "deviations from the default order:")?;
    for (step, (n, c)) in log.decisions.iter().enumerate().filter(|(_, (_, c))| *c != 0) {
        let kind = kinds.get(step).map_or("?".to_owned(), |k| format!("{k:?}"));
        writeln!(out, "  step {step:>4} {kind:<10} chose option {c} of {n}")?;
    }
    Ok(())
}

fn trace_cmd(args: &TraceArgs, out: &mut dyn Write) -> Status {
    let scenario = find(&args.scenario)?;
    let log = source_log(&args.source)?;
    let report = if args.source.log().is_some() {
        replay_run(&*scenario, &log).0
    } else {
        run_once(&*scenario, RunConfig { workers: log.workers, faults: log.faults, ..RunConfig::seed(log.seed) })
    };
    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Mermaid => Format::Mermaid,
        FormatArg::Svg => Format::Svg,
    };
    let verdict = match &report.outcome {
        Ok(()) => "passed".to_owned(),
        Err(f) => format!("FAILED: {}", f.to_string().lines().next().unwrap_or_default()),
    };
    let title = format!("{} · seed {} · {verdict}", scenario.name(), log.seed);
    let picture = render::render(format, &title, &report.records, &report.trace);
    match &args.out {
        Some(path) => std::fs::write(path, picture).map_err(|e| format!("{}: {e}", path.display()))?,
        None => out.write_all(picture.as_bytes()).map_err(|e| e.to_string())?,
    }
    Ok(if report.outcome.is_ok() { 0 } else { STATUS_VIOLATION })
}

fn bench_cmd(args: &BenchArgs, out: &mut dyn Write) -> Status {
    let scenarios = match &args.scenario {
        Some(name) => vec![find(name)?],
        None => every_scenario(),
    };
    let rows = crate::bench::bench(&scenarios, args.runs);
    write!(out, "{}", crate::bench::table(&rows)).map_err(|e| e.to_string())?;
    Ok(0)
}
