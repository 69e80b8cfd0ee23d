//! The threaded-backend workloads. Each builds a fresh `Runtime::threaded(2)`, sets up its
//! services untimed, and times only the work inside `block_on`.

use std::time::Instant;

use futures::future::join_all;
use skygroup::{Address, ExitReason, Runtime};

use crate::kinds;
use crate::measure::Sample;
use crate::typed_side::Form;

/// Worker threads, the same as the tokio baseline's: 2, or `SKYGROUP_BENCH_WORKERS` (to compare
/// 1 worker with 2, BENCHMARKS.md "Run queue").
pub fn workers() -> usize {
    static WORKERS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *WORKERS.get_or_init(|| {
        std::env::var("SKYGROUP_BENCH_WORKERS").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(2)
    })
}

fn runtime() -> Runtime {
    Runtime::threaded(workers())
}

/// Workload 1: `n` sequential calls from the main service to an echo service whose handler
/// has the given form.
pub fn calls(n: u64, form: Form) -> Sample {
    let rt = runtime();
    rt.define(kinds::echo_in(form)).expect("define echo");
    let echo = rt.spawn("echo", ()).expect("spawn echo");
    let elapsed = rt.block_on(move |ctx| async move {
        let start = Instant::now();
        kinds::ping_pong(ctx, echo, n).await;
        start.elapsed()
    });
    Sample::new(n, elapsed)
}

/// Workload 2: `n` sends to a counter (handlers of the given form), then one call `get`
/// (ordered after them).
pub fn sends(n: u64, form: Form) -> Sample {
    let rt = runtime();
    rt.define(kinds::counter_in(form)).expect("define counter");
    let counter = rt.spawn("counter", ()).expect("spawn counter");
    let elapsed = rt.block_on(move |ctx| async move {
        // Untimed: the counter's init has returned. A flood that begins while the counter's
        // init still runs on the other worker queues behind it and stays queued (the counter
        // never drains its mailbox while the producer keeps pushing): see BENCHMARKS.md.
        ctx.call(counter, "get", ()).await.expect("counter answers");
        timed_flood(&ctx, counter, n).await
    });
    Sample::new(n, elapsed)
}

/// The timed part of a sends workload: `n` sends of `add` to `counter`, then a `get` that
/// checks every one was counted (per-sender order: they are all handled before it).
async fn timed_flood(ctx: &skygroup::Ctx, counter: Address, n: u64) -> std::time::Duration {
    let start = Instant::now();
    for _ in 0..n {
        ctx.send(counter, "add", ());
    }
    let count = ctx.call(counter, "get", ()).await.expect("counter answers");
    assert_eq!(count.as_int(), Some(n as i64), "the counter missed sends");
    start.elapsed()
}

/// The flood that starts queued: `n` sends to a counter (handlers of the given form) whose
/// task sleeps 1 ms as the flood begins. The first sends run directly; the timer's wake-up
/// claims the counter and schedules it on the other worker, and every send from then on
/// queues behind the ones before it (G6) while the counter drains its mailbox there.
pub fn sends_queued(n: u64, form: Form) -> Sample {
    let rt = runtime();
    let napping =
        kinds::counter_in(form).command("nap", |ctx: skygroup::Ctx<kinds::Counter>, _v: skygroup::Value| async move {
            ctx.sleep(std::time::Duration::from_millis(1)).await;
            Ok(())
        });
    rt.define(napping).expect("define counter");
    let counter = rt.spawn("counter", ()).expect("spawn counter");
    let elapsed = rt.block_on(move |ctx| async move {
        ctx.call(counter, "get", ()).await.expect("counter answers");
        ctx.send(counter, "nap", ());
        timed_flood(&ctx, counter, n).await
    });
    Sample::new(n, elapsed)
}

/// Workload 3: `producers` services each send `each` messages to one counter (handlers of the
/// given form), concurrently.
pub fn fan_in(producers: u64, each: u64, form: Form) -> Sample {
    let rt = runtime();
    rt.define(kinds::counter_in(form)).expect("define counter");
    rt.define(kinds::producer()).expect("define producer");
    let counter = rt.spawn("counter", ()).expect("spawn counter");
    let senders: Vec<Address> = (0..producers).map(|_| rt.spawn("producer", ()).expect("spawn producer")).collect();
    let total = producers * each;
    let elapsed = rt.block_on(move |ctx| async move {
        let start = Instant::now();
        let runs: Vec<_> = senders.iter().map(|&p| ctx.call(p, "run", (counter, each as i64))).collect();
        for done in join_all(runs).await {
            done.expect("a producer failed");
        }
        // Every producer saw its own adds handled before replying, so all are counted now.
        let count = ctx.call(counter, "get", ()).await.expect("counter answers");
        assert_eq!(count.as_int(), Some(total as i64), "the counter missed sends");
        start.elapsed()
    });
    Sample::new(total, elapsed)
}

/// Workload 4: start `n` services concurrently (each `newservice` returns after its init),
/// then kill them all and wait, through monitors, until every one has exited.
///
/// All starts (and all monitors) are issued before the first await, so awaiting them one
/// after another keeps them all in flight (as `join_all` would, without its per-future
/// bookkeeping).
pub fn spawn_stop(n: u64) -> Sample {
    let rt = runtime();
    rt.define(kinds::noop()).expect("define noop");
    let elapsed = rt.block_on(move |ctx| async move {
        let start = Instant::now();
        let starting: Vec<_> = (0..n).map(|_| ctx.newservice("noop", ())).collect();
        let mut addresses = Vec::with_capacity(starting.len());
        for started in starting {
            addresses.push(Address::try_from(started.await.expect("newservice")).expect("an address"));
        }
        let exits: Vec<_> = addresses.iter().map(|&a| ctx.monitor(a)).collect();
        for &address in &addresses {
            assert!(ctx.kill(address), "service {address} vanished before it was killed");
        }
        for exit in exits {
            assert_eq!(exit.await, ExitReason::Killed);
        }
        start.elapsed()
    });
    assert_eq!(rt.services().iter().filter(|s| s.kind == "noop").count(), 0, "noop services left");
    Sample::new(n, elapsed)
}
