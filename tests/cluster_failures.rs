//! Failures across nodes are values (K4, K5): a lost frame is counted, a lost call times out,
//! a dead node's calls fail with `NodeDown`, a publish that fails gives `ClusterUnreachable`, a
//! send that cannot leave is a dead letter on its sender's node. Threaded nodes over `Loopback`,
//! each test bounded in time (nothing waits forever).

mod common;

use std::time::{Duration, Instant};

use skygroup::cluster::{ClusterConfig, Loopback, Node};
use skygroup::{CallErrorKind, Runtime, ServiceKind, Value};

fn node(net: &Loopback, name: &str, call_timeout: Duration) -> (Runtime, Node) {
    let rt = common::threaded(2);
    let node = rt.join_cluster(ClusterConfig::new(name).call_timeout(call_timeout), net.transport()).unwrap();
    rt.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) })).unwrap();
    (rt, node)
}

// checks K4: frames lost between two nodes are counted on the receiver (with both node ids in
// the log); the calls among them fail with `RemoteTimeout`, later traffic goes on.
#[test]
fn lost_frames_are_counted_and_lost_calls_time_out() {
    let net = Loopback::new("loss");
    let (a, node_a) = node(&net, "a", Duration::from_millis(200));
    let (b, node_b) = node(&net, "b", Duration::from_millis(200));
    let echo = b.spawn("echo", ()).unwrap();
    net.lose_next(node_a.id(), node_b.id(), 3);
    let started = Instant::now();
    let (lost_call, later) = a.block_on(move |ctx| async move {
        ctx.send(echo, "echo", 1);
        ctx.send(echo, "echo", 2);
        let lost = ctx.call(echo, "echo", 3).await;
        (lost, ctx.call(echo, "echo", 4).await)
    });
    let err = lost_call.unwrap_err();
    match err.kind() {
        CallErrorKind::RemoteTimeout { node, address, command, after } => {
            assert_eq!(
                (*node, *address, command.as_str(), *after),
                (node_b.id(), echo, "echo", Duration::from_millis(200))
            );
        }
        other => panic!("{other}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(later.unwrap(), Value::Int(4));
    assert_eq!(node_b.stats().lost, 3);
    assert_eq!(node_a.stats().timeouts, 1);
}

// checks K5: a call to a node that crashed fails with `NodeDown` once its liveness key expires,
// well before the call timeout; later calls to it fail at once.
#[test]
fn a_dead_nodes_calls_fail_with_node_down() {
    let net = Loopback::with_ttl("down", Duration::from_millis(150));
    let (a, node_a) = node(&net, "a", Duration::from_secs(30));
    let (b, node_b) = node(&net, "b", Duration::from_secs(30));
    let echo = b.spawn("echo", ()).unwrap();
    net.crash(node_b.id());
    let started = Instant::now();
    let (first, second) = a.block_on(move |ctx| async move {
        let first = ctx.call(echo, "echo", 1).await;
        (first, ctx.call(echo, "echo", 2).await)
    });
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    for err in [first.unwrap_err(), second.unwrap_err()] {
        assert!(
            matches!(err.kind(), CallErrorKind::NodeDown { node, address, command } if *node == node_b.id() && *address == echo && command == "echo"),
            "{err}"
        );
    }
    assert_eq!(node_a.stats().node_down, 1);
    drop(b);
}

// checks K5 and G7: when the messaging engine cannot be reached, a call fails at once with
// `ClusterUnreachable`, and a send is a dead letter counted on the sender's node.
#[test]
fn an_unreachable_engine_fails_calls_and_counts_sends() {
    let net = Loopback::new("unreachable");
    let (a, node_a) = node(&net, "a", Duration::from_secs(30));
    let (b, _node_b) = node(&net, "b", Duration::from_secs(30));
    let echo = b.spawn("echo", ()).unwrap();
    net.set_unreachable(node_a.id(), true);
    let call = a.block_on(move |ctx| async move {
        ctx.send(echo, "echo", 1);
        ctx.call(echo, "echo", 2).await
    });
    let err = call.unwrap_err();
    assert!(matches!(err.kind(), CallErrorKind::ClusterUnreachable { address, .. } if *address == echo), "{err}");
    assert!(err.to_string().contains("cut off"), "{err}");
    assert_eq!(a.dead_letters(), 1);
    assert_eq!(node_a.stats().dead_letters, 1);
    net.set_unreachable(node_a.id(), false);
    let again = a.block_on(move |ctx| async move { ctx.call(echo, "echo", 3).await });
    assert_eq!(again.unwrap(), Value::Int(3));
}

// checks K8 (and K5, G9): a node that leaves is gone at once for the others: calls to it fail with
// `NodeDown` (before any liveness expiry), the names it owned start afresh elsewhere.
#[test]
fn a_node_that_leaves_is_down_for_the_others() {
    let net = Loopback::with_ttl("leave", Duration::from_secs(30));
    let (a, node_a) = node(&net, "a", Duration::from_secs(30));
    let (b, node_b) = node(&net, "b", Duration::from_secs(30));
    let echo = b.block_on(|ctx| async move { ctx.cluster_query("echo").await.unwrap() });
    assert_eq!(echo.node(), node_b.id());
    let leaving = node_b.clone();
    b.block_on(move |_ctx| async move { leaving.leave().await.unwrap() });
    let started = Instant::now();
    let (call, fresh) =
        a.block_on(
            move |ctx| async move { (ctx.call(echo, "echo", 1).await, ctx.cluster_query("echo").await.unwrap()) },
        );
    let err = call.unwrap_err();
    assert!(matches!(err.kind(), CallErrorKind::NodeDown { node, .. } if *node == node_b.id()), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_eq!(fresh.node(), node_a.id());
}

// checks K8: a node whose runtime shuts down without leaving tells the nodes it talked with;
// their calls to it fail with `NodeDown` at once, long before its liveness key expires.
#[test]
fn a_runtime_shut_down_is_down_for_its_peers() {
    let net = Loopback::with_ttl("shutdown", Duration::from_secs(30));
    let (a, node_a) = node(&net, "a", Duration::from_secs(30));
    let (b, node_b) = node(&net, "b", Duration::from_secs(30));
    let echo = b.spawn("echo", ()).unwrap();
    assert_eq!(a.block_on(move |ctx| async move { ctx.call(echo, "echo", 1).await }).unwrap(), Value::Int(1));
    drop(b);
    let started = Instant::now();
    // The leaving frame travels on the transport's thread: the call may still go out before it
    // lands, and then fails when it does.
    let err = a.block_on(move |ctx| async move { ctx.call(echo, "echo", 2).await }).unwrap_err();
    assert!(matches!(err.kind(), CallErrorKind::NodeDown { node, .. } if *node == node_b.id()), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_eq!(node_a.stats().timeouts, 0);
}
