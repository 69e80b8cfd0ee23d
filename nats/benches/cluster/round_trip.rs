//! Cross-node call round trips: skygroup's call between two nodes over NATS against a raw
//! async-nats request/reply loop with the same payload, on the same server.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use futures::future::join_all;
use skygroup::cluster::{ClusterConfig, Node};
use skygroup::{Runtime, ServiceKind, Value};
use skygroup_nats::{LocalServer, NatsOptions, NatsTransport};

use crate::{Figures, median};

const PAYLOAD: usize = 64;

/// Medians of `rounds` runs of `calls` calls with `concurrency` in flight: (skygroup, raw,
/// raw with one runtime per client).
pub fn compare(server: &LocalServer, calls: usize, concurrency: usize, rounds: usize) -> (Figures, Figures, Figures) {
    let nodes = Nodes::start(server, &format!("rt{concurrency}"));
    let raw = Raw::start(server, false);
    let split = Raw::start(server, true);
    nodes.run(calls / 10, concurrency);
    raw.run(calls / 10, concurrency);
    split.run(calls / 10, concurrency);
    let (mut ours, mut theirs, mut split_runs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(nodes.run(calls, concurrency));
        theirs.push(raw.run(calls, concurrency));
        split_runs.push(split.run(calls, concurrency));
    }
    (median(ours), median(theirs), median(split_runs))
}

/// `-- --rt ours|raw CALLS`: only `CALLS` sequential round trips of one side, for
/// `valgrind --tool=callgrind` (instructions per round trip = the difference of two such runs
/// divided by the difference of their calls).
pub fn only(server: &LocalServer, ours: bool, calls: usize) {
    let figures =
        if ours { Nodes::start(server, "only").run(calls, 1) } else { Raw::start(server, false).run(calls, 1) };
    println!("{calls} round trips, {}: {:.0} per second", if ours { "skygroup" } else { "raw" }, figures.per_second);
}

/// Two nodes of one cluster; the caller on `a`, `echo` on `b`.
struct Nodes {
    a: Runtime,
    _b: Runtime,
    _nodes: (Node, Node),
    echo: skygroup::Address,
}

impl Nodes {
    fn start(server: &LocalServer, cluster: &str) -> Nodes {
        let join = |name: &str| {
            let transport = NatsTransport::connect(&server.url(), cluster, NatsOptions::default()).unwrap();
            let runtime = Runtime::threaded(1);
            let node = runtime.join_cluster(ClusterConfig::new(name), transport).unwrap();
            runtime
                .define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) }))
                .unwrap();
            (runtime, node)
        };
        let ((a, node_a), (b, node_b)) = (join("a"), join("b"));
        let echo = b.spawn("echo", ()).unwrap();
        Nodes { a, _b: b, _nodes: (node_a, node_b), echo }
    }

    fn run(&self, calls: usize, concurrency: usize) -> Figures {
        let echo = self.echo;
        let payload = Value::from(Bytes::from(vec![7u8; PAYLOAD]));
        let (latencies, elapsed) = self.a.block_on(move |ctx| async move {
            let started = Instant::now();
            let lanes = (0..concurrency).map(|_| {
                let (ctx, payload) = (ctx.clone(), payload.clone());
                async move {
                    let mut latencies = Vec::with_capacity(calls / concurrency);
                    for _ in 0..calls / concurrency {
                        let sent = Instant::now();
                        ctx.call(echo, "echo", payload.clone()).await.expect("echo answers");
                        latencies.push(sent.elapsed());
                    }
                    latencies
                }
            });
            let latencies: Vec<Duration> = join_all(lanes).await.into_iter().flatten().collect();
            (latencies, started.elapsed())
        });
        Figures::of(latencies, elapsed)
    }
}

/// Two async-nats clients: a responder echoing on a subject, a requester. Both on one 2-worker
/// tokio runtime (the baseline of record: the raw loop at its best, a reply read and answered
/// on one thread), or (`split`) each on its own 1-worker runtime, as two processes (or two
/// skygroup nodes, each with its transport's thread) would be.
struct Raw {
    runtime: tokio::runtime::Runtime,
    _responder_runtime: Option<tokio::runtime::Runtime>,
    requester: async_nats::Client,
    subject: String,
}

impl Raw {
    fn start(server: &LocalServer, split: bool) -> Raw {
        let build = |workers| tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build();
        let runtime = build(if split { 1 } else { 2 }).unwrap();
        let responder_runtime = split.then(|| build(1).unwrap());
        let url = server.url();
        let subject = format!("bench.echo.{}", if split { "split" } else { "shared" });
        let on = responder_runtime.as_ref().unwrap_or(&runtime);
        on.block_on({
            let (url, subject) = (url.clone(), subject.clone());
            async move {
                let responder = async_nats::connect(&url).await.unwrap();
                let mut requests = responder.subscribe(subject).await.unwrap();
                responder.flush().await.unwrap();
                tokio::spawn(async move {
                    while let Some(request) = requests.next().await {
                        if let Some(reply) = request.reply {
                            let _ = responder.publish(reply, request.payload).await;
                        }
                    }
                });
            }
        });
        let requester = runtime.block_on(async move { async_nats::connect(&url).await.unwrap() });
        Raw { runtime, _responder_runtime: responder_runtime, requester, subject }
    }

    fn run(&self, calls: usize, concurrency: usize) -> Figures {
        let (requester, subject) = (self.requester.clone(), self.subject.clone());
        let payload = Bytes::from(vec![7u8; PAYLOAD]);
        let (latencies, elapsed) = self.runtime.block_on(async move {
            let started = Instant::now();
            let lanes = (0..concurrency).map(|_| {
                let (requester, payload, subject) = (requester.clone(), payload.clone(), subject.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(calls / concurrency);
                    for _ in 0..calls / concurrency {
                        let sent = Instant::now();
                        requester.request(subject.clone(), payload.clone()).await.expect("echo answers");
                        latencies.push(sent.elapsed());
                    }
                    latencies
                })
            });
            let latencies: Vec<Duration> = join_all(lanes).await.into_iter().flat_map(Result::unwrap).collect();
            (latencies, started.elapsed())
        });
        Figures::of(latencies, elapsed)
    }
}
