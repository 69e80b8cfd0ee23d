//! `skygroup-bench gate` (`make bench-gate`): echo through skygroup's gate on loopback against
//! a tokio echo server on the same framing, memory per idle connection, and the simulator's
//! simulated frames per second on an echo scenario. Targets and method: BENCHMARKS.md "Gate".
//!
//! Memory is measured in a child process per server (`gate-idle gate|tokio`), so neither
//! side's freed memory is reused by the other's figure.

mod load;
mod servers;
mod sim_echo;

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use servers::{EchoServer, GateServer, TokioServer};

/// Connection counts of the echo runs.
const CONNS: [usize; 2] = [100, 1000];
/// Measured time of one echo run (after the warm-up).
const MEASURED: Duration = Duration::from_secs(3);
/// Idle connections of the memory figure.
const IDLE: usize = 1000;
/// File descriptors the benchmark needs at most: both ends of the largest run, and spare.
const FDS_NEEDED: u64 = 2 * 1000 + 256;

pub fn main(args: &[String]) -> ExitCode {
    if let [what, side] = args
        && what == "gate-idle"
    {
        return idle_child(side);
    }
    if let Err(e) = raise_fd_limit() {
        eprintln!("skygroup-bench gate: {e}");
        return ExitCode::FAILURE;
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("# skygroup-bench gate");
    println!();
    println!("- cores: {cores}; servers: 2 workers each (skygroup: + its poller thread); clients: 2 tokio threads");
    println!("- frames: {} payload bytes + 2-byte prefix, one in flight per connection", load::PAYLOAD);
    println!("- each echo run: 0.5 s warm-up, {} s measured", MEASURED.as_secs());
    if cfg!(debug_assertions) {
        println!("- WARNING: debug build; figures mean nothing (use --release)");
    }
    println!();
    println!("| figure | skygroup gate | tokio + LengthDelimitedCodec | ratio | target |");
    println!("|---|---:|---:|---:|---|");
    for conns in CONNS {
        let ours = load::echo(&GateServer::start().addr(), conns, MEASURED);
        let theirs = load::echo(&TokioServer::start().addr(), conns, MEASURED);
        let target = if conns == 1000 { ">= 0.8x" } else { "-" };
        row(&format!("frames/s, {conns} conns"), ours.frames_per_sec, theirs.frames_per_sec, target);
        let target = if conns == 1000 { "<= 1.5x" } else { "-" };
        row(&format!("p50 round trip us, {conns} conns"), ours.p50_us.into(), theirs.p50_us.into(), "-");
        row(&format!("p99 round trip us, {conns} conns"), ours.p99_us.into(), theirs.p99_us.into(), target);
    }
    let (ours, theirs) = (idle_in_child("gate"), idle_in_child("tokio"));
    row(&format!("bytes per idle conn ({IDLE})"), ours, theirs, "skygroup <= 8192");
    let sim = sim_echo::frames_per_sec();
    println!("| simulated frames/s (echo scenario) | {sim:.0} | - | - | >= 200000 |");
    ExitCode::SUCCESS
}

fn row(label: &str, ours: f64, theirs: f64, target: &str) {
    let ratio = if theirs > 0.0 { format!("{:.2}", ours / theirs) } else { "-".into() };
    println!("| {label} | {ours:.0} | {theirs:.0} | {ratio} | {target} |");
}

/// Raises the soft limit on open files if it is under what the largest run needs.
fn raise_fd_limit() -> Result<(), String> {
    let (soft, hard) = rlimit::Resource::NOFILE.get().map_err(|e| format!("RLIMIT_NOFILE: {e}"))?;
    if soft >= FDS_NEEDED {
        return Ok(());
    }
    if hard < FDS_NEEDED {
        return Err(format!("needs {FDS_NEEDED} open files, the hard limit is {hard}"));
    }
    rlimit::Resource::NOFILE.set(FDS_NEEDED, hard).map_err(|e| format!("raise RLIMIT_NOFILE: {e}"))
}

/// Runs `gate-idle SIDE` in a child process; its bytes per idle connection.
fn idle_in_child(side: &str) -> f64 {
    let exe = std::env::current_exe().expect("the benchmark's path");
    let out = Command::new(exe).args(["gate", "gate-idle", side]).output().expect("run the idle child");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().unwrap_or_else(|_| panic!("idle child {side}: {text} {}", String::from_utf8_lossy(&out.stderr)))
}

/// In the child: start one server, open `IDLE` idle connections, print the RSS growth per
/// connection once the server holds them all.
fn idle_child(side: &str) -> ExitCode {
    if let Err(e) = raise_fd_limit() {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    let server: Box<dyn EchoServer> = match side {
        "gate" => Box::new(GateServer::start()),
        "tokio" => Box::new(TokioServer::start()),
        _ => return ExitCode::from(2),
    };
    // One connection first, so the first connection's one-off allocations are not counted.
    let warm = load::idle(&server.addr(), 1);
    wait_for_clients(&*server, 1);
    std::thread::sleep(Duration::from_millis(100));
    let before = rss_bytes();
    let clients = load::idle(&server.addr(), IDLE);
    wait_for_clients(&*server, IDLE + 1);
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_bytes();
    println!("{}", after.saturating_sub(before) as f64 / IDLE as f64);
    drop((clients, warm));
    ExitCode::SUCCESS
}

fn wait_for_clients(server: &dyn EchoServer, n: usize) {
    let start = Instant::now();
    while server.clients() < n {
        assert!(start.elapsed() < Duration::from_secs(20), "the server took {n} connections too slowly");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// This process's resident set, from /proc/self/status.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS in /proc/self/status");
    kb * 1024
}
