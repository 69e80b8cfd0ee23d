//! The simulator's echo scenario: the same gate and echo watchdog as the threaded run, over the
//! virtual network, with simulated clients ping-ponging 64-byte frames; frames echoed per
//! second of wall time (no trace, as exploration runs).

use std::time::{Duration, Instant};

use futures::future::join_all;
use skygroup::Address;
use skygroup::gate::GateRef;
use skygroup_sim::Sim;

use super::load::PAYLOAD;

const SEEDS: u64 = 20;
const CLIENTS: usize = 10;
const FRAMES_EACH: usize = 200;

/// Simulated frames per second over `SEEDS` seeds (setup untimed).
pub fn frames_per_sec() -> f64 {
    let mut elapsed = Duration::ZERO;
    for seed in 0..SEEDS {
        elapsed += run(seed);
    }
    (SEEDS as usize * CLIENTS * FRAMES_EACH) as f64 / elapsed.as_secs_f64()
}

fn run(seed: u64) -> Duration {
    let sim = Sim::builder(seed).trace(false).build();
    let rt = sim.runtime();
    rt.define(skygroup::gate::kind()).expect("define gate");
    rt.define(super::servers::echo_watchdog()).expect("define the echo watchdog");
    let watchdog = rt.spawn("echo_watchdog", ()).expect("spawn the echo watchdog");
    let addr = rt.block_on(move |ctx| async move {
        let gate = GateRef(Address::try_from(ctx.call(watchdog, "gate", ()).await.expect("gate")).expect("addr"));
        String::try_from(gate.local_addr(&ctx).await.expect("local addr")).expect("text")
    });
    let connects: Vec<_> = (0..CLIENTS).map(|_| sim.connect(&addr)).collect();
    let start = Instant::now();
    rt.block_on(move |_ctx| async move {
        let clients = join_all(connects.into_iter().map(|c| async move {
            let client = c.await.expect("connect");
            let payload = [7u8; PAYLOAD];
            for _ in 0..FRAMES_EACH {
                client.write_frame(&payload);
                assert_eq!(client.read_frame().await.expect("an echo"), payload);
            }
            client
        }))
        .await;
        clients.into_iter().for_each(|c| c.close());
    });
    start.elapsed()
}
