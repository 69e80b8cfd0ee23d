//! The `sim-msgs` benchmark's workload without the benchmark crate (its peers take long to
//! build): an echo ping-pong of `CALLS` calls per seed, trace off, on one thread. Prints
//! delivered messages, seconds in `block_on` and messages/s; run it under callgrind to count
//! instructions per delivered message.
//!
//! `cargo run --release -p skygroup-sim --example sim_msgs -- [seeds] [calls]`

use std::time::{Duration, Instant};

use skygroup::{Address, Ctx, ServiceKind, Value};
use skygroup_sim::Sim;

fn echo() -> ServiceKind {
    ServiceKind::stateless("echo").command_sync("echo", |_state, _ctx, v: Value| Ok(v))
}

async fn ping_pong(ctx: Ctx, echo: Address, calls: u64) {
    for i in 0..calls as i64 {
        let reply = ctx.call(echo, "echo", i).await.expect("echo answers");
        assert_eq!(reply.as_int(), Some(i), "echo answered the wrong value");
    }
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().expect("a number"));
    let seeds = args.next().unwrap_or(20);
    let calls = args.next().unwrap_or(1_000);
    let (mut elapsed, mut delivered, mut steps, mut decisions) = (Duration::ZERO, 0, 0, 0);
    let mut replay = 0u64; // the seeds' fingerprints and decisions folded: equal runs, equal value
    let mut shortcuts = [0; skygroup::executor::Shortcut::ALL.len()];
    for seed in 0..seeds {
        let sim = Sim::builder(seed).trace(false).build();
        let rt = sim.runtime();
        rt.define(echo()).expect("define echo");
        let echo = rt.spawn("echo", ()).expect("spawn echo");
        let before = sim.stats().delivered;
        let start = Instant::now();
        rt.block_on(move |ctx| ping_pong(ctx, echo, calls));
        elapsed += start.elapsed();
        let stats = sim.stats();
        let run =
            sim.decisions().iter().fold(sim.interleaving(), |h, &(n, c)| fold(h, u64::from(n) << 32 | u64::from(c)));
        replay = fold(replay, run);
        delivered += stats.delivered - before;
        steps += stats.steps;
        decisions += stats.decisions;
        shortcuts.iter_mut().zip(stats.shortcuts).for_each(|(total, n)| *total += n);
    }
    let rate = delivered as f64 / elapsed.as_secs_f64();
    println!("delivered {delivered} in {:.4} s: {rate:.0} msgs/s", elapsed.as_secs_f64());
    println!(
        "replay {replay:016x}: steps {steps}, decisions {decisions}, shortcuts {shortcuts:?} (Shortcut::ALL order)"
    );
}

fn fold(h: u64, word: u64) -> u64 {
    let x = (h ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^ (x >> 29)
}
