//! A local call's cost with the cluster on (the runtime joined over NATS) against off (a plain
//! runtime): the price of addresses that carry their node.

use std::time::Instant;

use skygroup::cluster::ClusterConfig;
use skygroup::{Runtime, ServiceKind, Value};
use skygroup_nats::{LocalServer, NatsOptions, NatsTransport};

fn runtime() -> Runtime {
    let runtime = Runtime::threaded(1);
    runtime.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) })).unwrap();
    runtime
}

/// `-- --local off|on CALLS`: only `CALLS` local calls on one runtime, for
/// `valgrind --tool=callgrind` (instructions per call = the difference of two such runs divided
/// by the difference of their calls).
pub fn only(server: &LocalServer, on: bool, calls: usize) {
    let runtime = if on {
        let runtime = Runtime::threaded(1);
        let transport = NatsTransport::connect(&server.url(), "local", NatsOptions::default()).unwrap();
        std::mem::forget(runtime.join_cluster(ClusterConfig::new("on"), transport).unwrap());
        runtime.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) })).unwrap();
        runtime
    } else {
        self::runtime()
    };
    let nanos = run(&runtime, calls);
    println!("{calls} local calls, cluster {}: {:.0} ns per call", if on { "on" } else { "off" }, nanos / calls as f64);
}

/// ns per local call, off then on: medians of `rounds` interleaved runs of `calls` calls.
pub fn compare(server: &LocalServer, calls: usize, rounds: usize) -> (f64, f64) {
    let off = runtime();
    let on = Runtime::threaded(1);
    let transport = NatsTransport::connect(&server.url(), "local", NatsOptions::default()).unwrap();
    let _node = on.join_cluster(ClusterConfig::new("on"), transport).unwrap();
    on.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) })).unwrap();
    run(&off, calls / 10);
    run(&on, calls / 10);
    let (mut offs, mut ons) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        offs.push(run(&off, calls) / calls as f64);
        ons.push(run(&on, calls) / calls as f64);
    }
    (median(offs), median(ons))
}

/// Nanoseconds for `calls` sequential local calls.
fn run(runtime: &Runtime, calls: usize) -> f64 {
    let echo = runtime.spawn("echo", ()).unwrap();
    runtime.block_on(move |ctx| async move {
        let started = Instant::now();
        for i in 0..calls as i64 {
            ctx.call(echo, "echo", i).await.unwrap();
        }
        started.elapsed().as_nanos() as f64
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
