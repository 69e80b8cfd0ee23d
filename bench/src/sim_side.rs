//! The simulator workloads: one thread, no trace, a fresh `Sim` per seed.

use std::time::{Duration, Instant};

use skygroup_sim::Sim;

use crate::kinds;
use crate::measure::Sample;

/// Runs the echo ping-pong of `calls` calls under `seed`; returns the time spent in
/// `block_on` and the messages the simulator delivered meanwhile.
fn ping_pong(seed: u64, calls: u64) -> (Duration, u64) {
    let sim = Sim::builder(seed).trace(false).build();
    let rt = sim.runtime();
    rt.define(kinds::echo()).expect("define echo");
    let echo = rt.spawn("echo", ()).expect("spawn echo");
    let before = sim.stats().delivered;
    let start = Instant::now();
    rt.block_on(move |ctx| kinds::ping_pong(ctx, echo, calls));
    let elapsed = start.elapsed();
    (elapsed, sim.stats().delivered - before)
}

/// Delivered messages per second of simulated work: `seeds` runs of a `calls`-call scenario
/// (seeds differ between measured runs).
pub fn delivered(run: usize, seeds: u64, calls: u64) -> Sample {
    let (mut elapsed, mut delivered) = (Duration::ZERO, 0);
    for s in 0..seeds {
        let (time, messages) = ping_pong(run as u64 * seeds + s, calls);
        elapsed += time;
        delivered += messages;
    }
    Sample::new(delivered, elapsed)
}

/// Seeds per second: whole runs (build the sim, define, spawn, `calls` calls, tear down).
pub fn seeds(run: usize, seeds: u64, calls: u64) -> Sample {
    let start = Instant::now();
    for s in 0..seeds {
        ping_pong(run as u64 * seeds + s, calls);
    }
    Sample::new(seeds, start.elapsed())
}
