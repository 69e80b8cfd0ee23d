//! Threaded nodes of one cluster over a real nats-server, in one process: the cluster rules
//! that cross nodes (K.. in SEMANTICS.md) on the real transport. The simulator's versions live
//! in `skygroup-sim`, the in-process `Loopback` ones in `skygroup`'s tests.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use skygroup::cluster::{ClusterConfig, Node};
use skygroup::{Address, CallErrorKind, Ctx, Runtime, ServiceKind, Value};
use skygroup_nats::{LocalServer, NatsOptions, NatsTransport};

/// A node of `cluster` on `server`, with `echo` and `log` (records what it is sent, in order).
fn node(server: &LocalServer, cluster: &str, name: &str) -> (Runtime, Node) {
    let options = NatsOptions::default().liveness_ttl(Duration::from_millis(1500));
    let transport = NatsTransport::connect(&server.url(), cluster, options).unwrap();
    let runtime = Runtime::threaded(2);
    let config = ClusterConfig::new(name).call_timeout(Duration::from_secs(5));
    let node = runtime.join_cluster(config, transport).unwrap();
    common::define_echo_and_log(&runtime);
    runtime
        .define(
            ServiceKind::stateless("opaque").command("give", |_ctx, _v: Value| async move { Ok(Value::opaque(7u8)) }),
        )
        .unwrap();
    (runtime, node)
}

// checks K2: a call crosses nodes over NATS and back; an address handed across still names its
// service.
#[test]
fn a_call_crosses_nodes_over_nats() {
    let server = common::server();
    let (a, node_a) = node(&server, "calls", "a");
    let (b, node_b) = node(&server, "calls", "b");
    assert_ne!(node_a.id(), node_b.id());
    let echo = b.spawn("echo", ()).unwrap();
    let (answer, me) =
        a.block_on(move |ctx| async move { (ctx.call(echo, "echo", ctx.address()).await, ctx.address()) });
    assert_eq!(answer.unwrap(), Value::Address(me), "an address crosses and comes back as itself");
    assert_eq!(me.node(), node_a.id());
}

// checks G6 across nodes: 2,000 sends from one service to a service on another node, then a
// call, arrive in order over NATS; nothing is counted lost.
#[test]
fn sends_across_nodes_keep_their_order_over_nats() {
    let server = common::server();
    let (a, node_a) = node(&server, "order", "a");
    let (b, node_b) = node(&server, "order", "b");
    let log = b.spawn("log", ()).unwrap();
    let seen = a.block_on(move |ctx| async move {
        for i in 0..2_000i64 {
            ctx.send(log, "note", i);
        }
        ctx.call(log, "seen", ()).await
    });
    let expected: Vec<Value> = (0..2_000i64).map(Value::Int).collect();
    assert_eq!(seen.unwrap(), Value::List(expected));
    assert_eq!((node_a.stats().lost, node_b.stats().lost), (0, 0));
}

// checks K4's wire rule over NATS: a value that cannot cross (opaque) fails the call clearly,
// naming the command; the connection goes on.
#[test]
fn an_opaque_answer_fails_the_call_clearly() {
    let server = common::server();
    let (a, _) = node(&server, "opaque", "a");
    let (b, _) = node(&server, "opaque", "b");
    let opaque = b.spawn("opaque", ()).unwrap();
    let echo = b.spawn("echo", ()).unwrap();
    let (err, after) = a.block_on(move |ctx| async move {
        (ctx.call(opaque, "give", ()).await.unwrap_err(), ctx.call(echo, "echo", 1).await)
    });
    assert!(err.to_string().contains("give"), "{err}");
    assert!(!matches!(err.kind(), CallErrorKind::RemoteTimeout { .. }), "fails at once: {err}");
    assert_eq!(after.unwrap(), Value::Int(1));
}

/// `center` (counts its starts in `starts`, answers `who` with its address, `quit` exits) on
/// `rt`.
fn define_center(rt: &Runtime, starts: &'static AtomicU64) {
    rt.define(
        ServiceKind::new("center", move |ctx: Ctx, (): ()| async move {
            starts.fetch_add(1, Ordering::SeqCst);
            ctx.sleep(Duration::from_millis(20)).await; // a slow start: racers find it starting
            Ok(())
        })
        .command("who", |ctx, _v: Value| async move { Ok(ctx.address()) })
        .command("quit", |ctx, _v: Value| async move {
            ctx.exit();
            Ok(())
        }),
    )
    .unwrap();
}

fn who(rt: &Runtime, callers: usize) -> Vec<Address> {
    rt.block_on(move |ctx| async move {
        let calls = (0..callers).map(|_| ctx.cluster_call("center", "who", ()));
        futures::future::join_all(calls).await.into_iter().map(|r| Address::try_from(r.unwrap()).unwrap()).collect()
    })
}

// checks G2 across nodes (K6) over NATS: three nodes racing the first use of one cluster name,
// eight callers each, start exactly one instance, and every caller gets its address.
#[test]
fn three_nodes_racing_start_one_instance_over_nats() {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let server = common::server();
    let nodes: Vec<(Runtime, Node)> = ["a", "b", "c"].iter().map(|n| node(&server, "g2", n)).collect();
    for (rt, _) in &nodes {
        define_center(rt, &STARTS);
    }
    let answers: Vec<Vec<Address>> = std::thread::scope(|s| {
        let racers: Vec<_> = nodes.iter().map(|(rt, _)| s.spawn(move || who(rt, 8))).collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let first = answers[0][0];
    assert!(answers.iter().flatten().all(|a| *a == first), "one instance: {answers:?}");
    assert_eq!(STARTS.load(Ordering::SeqCst), 1, "started exactly once in the cluster");
}

// checks G9 across nodes (K6) over NATS: the instance's exit releases its name; the next use
// starts a fresh one.
#[test]
fn an_exited_instance_releases_its_name_over_nats() {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let server = common::server();
    let (a, _) = node(&server, "g9", "a");
    let (b, _) = node(&server, "g9", "b");
    define_center(&a, &STARTS);
    define_center(&b, &STARTS);
    let first = who(&a, 1)[0];
    b.block_on(move |ctx| async move { ctx.call(first, "quit", ()).await }).unwrap();
    let started = Instant::now();
    let fresh = loop {
        let answer = b.block_on(|ctx| async move { ctx.cluster_call("center", "who", ()).await });
        match answer {
            Ok(address) => break Address::try_from(address).unwrap(),
            Err(err) => assert!(started.elapsed() < Duration::from_secs(5), "no fresh instance: {err}"),
        }
    };
    assert_ne!(fresh, first, "a fresh instance");
    assert_eq!(STARTS.load(Ordering::SeqCst), 2);
}

// checks K8 over NATS: a node that leaves tells the others (their calls to it fail with
// NodeDown at once, long before the TTL) and releases its names, which start afresh elsewhere.
#[test]
fn a_node_that_leaves_is_down_at_once_and_its_names_move_over_nats() {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let server = common::server();
    let (a, _) = node(&server, "k8", "a");
    let (b, node_b) = node(&server, "k8", "b");
    define_center(&a, &STARTS);
    define_center(&b, &STARTS);
    let on_b = who(&b, 1)[0];
    assert_eq!(on_b.node(), node_b.id());
    let echo = b.spawn("echo", ()).unwrap();
    let leaving = node_b.clone();
    b.block_on(move |_ctx| async move { leaving.leave().await }).unwrap();
    let started = Instant::now();
    let call = a.block_on(move |ctx| async move { ctx.call(echo, "echo", 1).await });
    assert!(matches!(call.unwrap_err().kind(), CallErrorKind::NodeDown { .. }));
    let moved = who(&a, 1)[0];
    assert_ne!(moved, on_b);
    assert_eq!(moved.node(), a.block_on(|ctx| async move { ctx.address().node() }));
    assert!(started.elapsed() < Duration::from_millis(1500), "no wait for the TTL: {:?}", started.elapsed());
}

/// Polls `done` until it holds or `limit` passes; whether it held.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    done()
}

// checks G7 across nodes over NATS: a send nobody can handle is counted, never silently lost.
// Sends to an exited service of a live node are dead letters on that node; sends to a node that
// left are dead letters on the sender's node.
#[test]
fn undeliverable_sends_are_dead_letters_over_nats() {
    let server = common::server();
    let (a, _) = node(&server, "g7", "a");
    let (b, node_b) = node(&server, "g7", "b");
    let gone = b.spawn("echo", ()).unwrap();
    let echo = b.spawn("echo", ()).unwrap();
    assert!(b.kill(gone));
    assert!(eventually(Duration::from_secs(5), || b.services().iter().all(|s| s.address != gone)));
    let before_b = b.dead_letters();
    let answered = a.block_on(move |ctx| async move {
        for i in 0..5i64 {
            ctx.send(gone, "echo", i);
        }
        ctx.call(echo, "echo", 1).await // behind the sends on the same pair (G6)
    });
    assert_eq!(answered.unwrap(), Value::Int(1));
    assert!(
        eventually(Duration::from_secs(5), || b.dead_letters() == before_b + 5),
        "b counted {}",
        b.dead_letters() - before_b
    );

    let leaving = node_b.clone();
    b.block_on(move |_ctx| async move { leaving.leave().await }).unwrap();
    let before_a = a.dead_letters();
    let call = a.block_on(move |ctx| async move {
        let call = ctx.call(echo, "echo", 2).await;
        for i in 0..5i64 {
            ctx.send(echo, "echo", i);
        }
        call
    });
    assert!(matches!(call.unwrap_err().kind(), CallErrorKind::NodeDown { .. }));
    assert!(
        eventually(Duration::from_secs(5), || a.dead_letters() == before_a + 5),
        "a counted {}",
        a.dead_letters() - before_a
    );
}

// checks G3 across nodes (K6) over NATS: a cluster name whose init fails is not left bound; the
// starter gets the init's error naming the service, and the next use, from another node, tries
// afresh and fails the same clear way.
#[test]
fn a_failed_start_leaves_the_name_free_over_nats() {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let server = common::server();
    let (a, _) = node(&server, "g3", "a");
    let (b, _) = node(&server, "g3", "b");
    for rt in [&a, &b] {
        rt.define(ServiceKind::new("broken", |_ctx: Ctx, (): ()| async move {
            STARTS.fetch_add(1, Ordering::SeqCst);
            skygroup::anyhow::bail!("no database")
        }))
        .unwrap();
    }
    let first = a.block_on(|ctx| async move { ctx.cluster_query("broken").await });
    let second = b.block_on(|ctx| async move { ctx.cluster_query("broken").await });
    for answer in [first, second] {
        let err = answer.unwrap_err();
        assert!(matches!(err.kind(), CallErrorKind::Init { service, .. } if service == "broken"), "{err}");
        assert!(err.to_string().contains("no database"), "{err}");
    }
    assert_eq!(STARTS.load(Ordering::SeqCst), 2, "each use tried a start; none was left bound");
}
