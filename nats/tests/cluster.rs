//! Threaded nodes of one cluster over a real nats-server, in one process: the cluster rules
//! that cross nodes (K.. in SEMANTICS.md) on the real transport. The simulator's versions live
//! in `skygroup-sim`, the in-process `Loopback` ones in `skygroup`'s tests.

mod common;

use std::time::Duration;

use skygroup::cluster::{ClusterConfig, Node};
use skygroup::{CallErrorKind, Ctx, Runtime, ServiceKind, Value};
use skygroup_nats::{LocalServer, NatsOptions, NatsTransport};

/// A node of `cluster` on `server`, with `echo` and `log` (records what it is sent, in order).
fn node(server: &LocalServer, cluster: &str, name: &str) -> (Runtime, Node) {
    let options = NatsOptions::default().liveness_ttl(Duration::from_millis(1500));
    let transport = NatsTransport::connect(&server.url(), cluster, options).unwrap();
    let runtime = Runtime::threaded(2);
    let config = ClusterConfig::new(name).call_timeout(Duration::from_secs(5));
    let node = runtime.join_cluster(config, transport).unwrap();
    runtime.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) })).unwrap();
    runtime
        .define(
            ServiceKind::new("log", |_ctx, (): ()| async { Ok(Vec::<Value>::new()) })
                .command("note", |ctx: Ctx<Vec<Value>>, v: Value| async move {
                    ctx.with_state(|s| s.push(v));
                    Ok(())
                })
                .command("seen", |ctx: Ctx<Vec<Value>>, _v: Value| async move { Ok(ctx.with_state(|s| s.clone())) }),
        )
        .unwrap();
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
