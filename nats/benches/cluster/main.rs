//! `make bench-cluster`: what a cluster over NATS costs, on loopback (BENCHMARKS.md "Cluster").
//!
//! - cross-node call round trips/s and p50/p99 between two nodes (one caller waiting at a time,
//!   and 32 at once), beside a raw async-nats request/reply loop with the same 64-byte payload
//!   against the same server in the same run (target: at least 0.8x);
//! - a local call's cost on a runtime joined to a cluster against one that is not (target: at
//!   most 5 % slower);
//! - the time from a node process's death (SIGKILL) until the other nodes know it is gone and its
//!   names can start elsewhere (the liveness TTL at work).
//!
//! Every figure is a median over interleaved rounds (ours, then the baseline), because this
//! machine is shared. `-- --quick` runs fewer calls; `-- --local off|on CALLS` runs only local
//! calls, `-- --rt ours|raw CALLS` only cross-node round trips, for `valgrind --tool=callgrind`.

mod failover;
mod local;
mod round_trip;

use std::time::Duration;

use skygroup_nats::LocalServer;

/// Latencies of one run, summarised.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl Figures {
    /// From each call's latency and the run's wall time.
    pub fn of(mut latencies: Vec<Duration>, elapsed: Duration) -> Figures {
        latencies.sort();
        let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        Figures { per_second: latencies.len() as f64 / elapsed.as_secs_f64(), p50: at(0.50), p99: at(0.99) }
    }
}

/// The run whose rate is the median of `runs`.
pub fn median(mut runs: Vec<Figures>) -> Figures {
    runs.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    runs[runs.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let server = LocalServer::start().expect("start nats-server (apt-get install nats-server)");
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--rt") {
        let ours = args.get(at + 1).is_some_and(|a| a == "ours");
        let calls = args.get(at + 2).and_then(|c| c.parse().ok()).unwrap_or(10_000);
        round_trip::only(&server, ours, calls);
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--local") {
        let on = args.get(at + 1).is_some_and(|a| a == "on");
        let calls = args.get(at + 2).and_then(|c| c.parse().ok()).unwrap_or(100_000);
        local::only(&server, on, calls);
        return;
    }
    let calls = if quick { 2_000 } else { 20_000 };
    let rounds = if quick { 3 } else { 5 };
    println!("skygroup cluster over NATS (nats-server on 127.0.0.1, {rounds} interleaved rounds, medians)\n");

    for concurrency in [1usize, 32] {
        let (ours, raw, split) = round_trip::compare(&server, calls, concurrency, rounds);
        println!("cross-node call, {concurrency} in flight, 64-byte payload:");
        row("  skygroup call over NATS", ours);
        row("  raw async-nats request/reply", raw);
        row("  raw, one runtime per client", split);
        println!(
            "  ratio (rate): {:.2}x (target >= 0.8x); against one runtime per client {:.2}x\n",
            ours.per_second / raw.per_second,
            ours.per_second / split.per_second
        );
    }

    let (off, on) = local::compare(&server, if quick { 50_000 } else { 400_000 }, rounds);
    println!("local call (same node), ns per call: cluster off {off:.0}, cluster on {on:.0}");
    println!("  on/off: {:+.1} % (target <= +5 %)\n", (on / off - 1.0) * 100.0);

    let ttl = Duration::from_millis(1500);
    let failover = failover::measure(&server, ttl, if quick { 1 } else { 3 });
    println!("node death (SIGKILL) with a liveness TTL of {ttl:?}:");
    for (i, f) in failover.iter().enumerate() {
        println!(
            "  run {}: liveness key gone after {:.0} ms, a call waiting on it failed after {:.0} ms, \
             its name answered from a fresh instance elsewhere after {:.0} ms",
            i + 1,
            f.liveness_gone.as_secs_f64() * 1e3,
            f.waiter_failed.as_secs_f64() * 1e3,
            f.name_restarted.as_secs_f64() * 1e3
        );
    }
}

fn row(label: &str, f: Figures) {
    println!(
        "{label:<34} {:>9.0} calls/s   p50 {:>7.1} us   p99 {:>7.1} us",
        f.per_second,
        f.p50.as_secs_f64() * 1e6,
        f.p99.as_secs_f64() * 1e6
    );
}
