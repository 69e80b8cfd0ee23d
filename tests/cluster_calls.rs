//! Calls and sends between two threaded nodes over the in-process `Loopback` transport: what
//! crosses nodes and how (K1-K3). The simulator's versions live in `skygroup-sim`, the real
//! NATS ones in `skygroup-nats`.

mod common;

use std::time::Duration;

use skygroup::cluster::{ClusterConfig, Loopback, Node, NodeId};
use skygroup::{Address, CallErrorKind, Runtime, ServiceKind, Value};

/// Two nodes of one loopback cluster, each with `echo`, `log` (records what it is sent, in
/// order) and `fail` (its handler errs).
fn two_nodes(net: &Loopback) -> ((Runtime, Node), (Runtime, Node)) {
    let mut nodes = ["a", "b"].map(|name| {
        let rt = common::threaded(2);
        let node = rt.join_cluster(ClusterConfig::new(name), net.transport()).unwrap();
        define_kinds(&rt);
        Some((rt, node))
    });
    (nodes[0].take().unwrap(), nodes[1].take().unwrap())
}

fn define_kinds(rt: &Runtime) {
    common::define_echo_and_log(rt);
    rt.define(
        ServiceKind::stateless("fail")
            .command("fail", |_ctx, _v: Value| async move { Err::<(), _>(skygroup::anyhow::anyhow!("disk full")) }),
    )
    .unwrap();
    rt.define(
        ServiceKind::stateless("opaque").command("give", |_ctx, _v: Value| async move { Ok(Value::opaque(7u8)) }),
    )
    .unwrap();
}

// checks K1: a node's addresses carry its node; node numbers are claimed smallest first.
#[test]
fn addresses_carry_their_node() {
    let net = Loopback::new("k1");
    let ((a, node_a), (b, node_b)) = two_nodes(&net);
    assert_eq!((node_a.id(), node_b.id()), (NodeId(1), NodeId(2)));
    let echo = b.spawn("echo", ()).unwrap();
    assert_eq!(echo.node(), NodeId(2));
    assert!(echo.to_string().starts_with(":0002."), "{echo}");
    assert!(a.services().iter().any(|s| s.address == Address::cluster_agent(NodeId(1)) && s.kind == "_cluster"));
    // A runtime not in a cluster is node 0, printed as before.
    let plain = Runtime::threaded(1);
    plain.define(ServiceKind::stateless("echo")).unwrap();
    assert_eq!(plain.spawn("echo", ()).unwrap().to_string(), ":00000001");
}

// checks K1: joining after the runtime started services is refused.
#[test]
fn joining_after_a_spawn_is_refused() {
    let net = Loopback::new("late");
    let rt = Runtime::threaded(1);
    define_kinds(&rt);
    rt.spawn("echo", ()).unwrap();
    let err = rt.join_cluster(ClusterConfig::new("late"), net.transport()).unwrap_err();
    assert!(err.to_string().contains("already started"), "{err}");
}

// checks K2: a call to another node's address is answered, values (addresses included) cross.
#[test]
fn a_call_crosses_nodes_and_back() {
    let net = Loopback::new("k2");
    let ((a, _), (b, _)) = two_nodes(&net);
    let echo = b.spawn("echo", ()).unwrap();
    let answer = a.block_on(move |ctx| async move {
        let me = ctx.address();
        ctx.call(echo, "echo", Value::map([("from", Value::Address(me)), ("n", 3.into())])).await
    });
    let answer = answer.unwrap();
    let Value::Map(map) = answer else { panic!("{answer}") };
    assert_eq!(map["n"], Value::Int(3));
    assert!(matches!(map["from"], Value::Address(a) if a.node() == NodeId(1)));
}

// checks K2 at its cost: a call to a node whose workers all sleep has its turn run by the thread
// that brought its frame in (`Executor::help`), not by a worker woken for it, and is answered.
#[test]
fn a_call_to_a_sleeping_node_runs_on_the_transport_thread() {
    let net = Loopback::new("help");
    let ((a, _), (b, _)) = two_nodes(&net);
    b.define(ServiceKind::stateless("where").command("where", |_ctx, _v: Value| async move {
        Ok(Value::Str(std::thread::current().name().unwrap_or("?").to_owned()))
    }))
    .unwrap();
    let here = b.spawn("where", ()).unwrap();
    // A worker may be up now and then (the agent's liveness tick): ask until one sleeps.
    let threads: Vec<Value> = a.block_on(move |ctx| async move {
        let mut threads = Vec::new();
        for _ in 0..50 {
            ctx.sleep(Duration::from_millis(20)).await;
            let thread = ctx.call(here, "where", ()).await.unwrap();
            let done = thread.as_str() == Some("loopback-node#2");
            threads.push(thread);
            if done {
                break;
            }
        }
        threads
    });
    assert_eq!(threads.last().and_then(Value::as_str), Some("loopback-node#2"), "{threads:?}");
}

// checks K2 at its cost: a helped turn that runs long (a heavy handler) pauses the helping, so
// the next calls go to the node's workers (in parallel) instead of queueing on the transport's
// thread.
#[test]
fn a_long_turn_leaves_the_next_calls_to_the_workers() {
    let net = Loopback::new("help-slow");
    let ((a, _), (b, _)) = two_nodes(&net);
    b.define(ServiceKind::stateless("heavy").command("spin", |_ctx, _v: Value| async move {
        let until = std::time::Instant::now() + Duration::from_millis(1);
        while std::time::Instant::now() < until {
            std::hint::spin_loop();
        }
        Ok(Value::Str(std::thread::current().name().unwrap_or("?").to_owned()))
    }))
    .unwrap();
    let heavy = b.spawn("heavy", ()).unwrap();
    // Bursts of calls, until one starts on the transport's thread and ends on a worker.
    let bursts: Vec<Vec<Value>> = a.block_on(move |ctx| async move {
        let mut bursts = Vec::new();
        for _ in 0..30 {
            ctx.sleep(Duration::from_millis(20)).await;
            let mut burst = Vec::new();
            for _ in 0..6 {
                burst.push(ctx.call(heavy, "spin", ()).await.unwrap());
            }
            let done = burst[0].as_str() == Some("loopback-node#2")
                && burst[5].as_str().is_some_and(|t| t.starts_with("skygroup-worker-"));
            bursts.push(burst);
            if done {
                break;
            }
        }
        bursts
    });
    let burst = bursts.last().unwrap();
    assert_eq!(burst[0].as_str(), Some("loopback-node#2"), "{bursts:?}");
    assert!(burst[5].as_str().is_some_and(|t| t.starts_with("skygroup-worker-")), "{bursts:?}");
}

// checks K2: a handler's error comes back with its kind, naming the remote service.
#[test]
fn a_remote_error_keeps_its_kind() {
    let net = Loopback::new("k2err");
    let ((a, _), (b, _)) = two_nodes(&net);
    let fail = b.spawn("fail", ()).unwrap();
    let err = a.block_on(move |ctx| async move { ctx.call(fail, "fail", ()).await }).unwrap_err();
    match err.kind() {
        CallErrorKind::Handler { service, address, command, message } => {
            assert_eq!((service.as_str(), *address, command.as_str()), ("fail", fail, "fail"));
            assert!(message.contains("disk full"), "{message}");
        }
        other => panic!("{other}"),
    }
    let err = a.block_on(move |ctx| async move { ctx.call(fail, "nope", ()).await }).unwrap_err();
    assert!(matches!(err.kind(), CallErrorKind::UnknownCommand { .. }), "{err}");
}

// checks K2: an opaque value cannot cross, either way; the call fails clearly.
#[test]
fn an_opaque_value_fails_the_call() {
    let net = Loopback::new("opaque");
    let ((a, _), (b, _)) = two_nodes(&net);
    let (echo, opaque) = (b.spawn("echo", ()).unwrap(), b.spawn("opaque", ()).unwrap());
    let (there, back) = a.block_on(move |ctx| async move {
        (ctx.call(echo, "echo", Value::opaque(1u8)).await, ctx.call(opaque, "give", ()).await)
    });
    for err in [there.unwrap_err(), back.unwrap_err()] {
        assert!(matches!(err.kind(), CallErrorKind::NotSerializable { node: NodeId(2), .. }), "{err}");
        assert!(err.to_string().contains("u8"), "{err}");
    }
}

// checks G6 across nodes (K3): one sender's sends and calls to one remote service arrive in
// issue order.
#[test]
fn sends_keep_their_order_across_nodes() {
    let net = Loopback::new("g6");
    let ((a, _), (b, _)) = two_nodes(&net);
    let log = b.spawn("log", ()).unwrap();
    let seen = a.block_on(move |ctx| async move {
        for i in 0..200 {
            ctx.send(log, "note", i);
            if i % 50 == 0 {
                ctx.call(log, "note", -i).await.unwrap();
            }
        }
        ctx.call(log, "seen", ()).await.unwrap()
    });
    let expected: Vec<Value> = (0..200)
        .flat_map(|i| if i % 50 == 0 { vec![Value::Int(i), Value::Int(-i)] } else { vec![Value::Int(i)] })
        .collect();
    assert_eq!(seen, Value::List(expected));
}

// checks K2: a call to a remote address that has no service fails as a local one would.
#[test]
fn a_call_to_a_dead_remote_address_fails() {
    let net = Loopback::new("dead");
    let ((a, _), (b, _)) = two_nodes(&net);
    let echo = b.spawn("echo", ()).unwrap();
    assert!(b.kill(echo));
    std::thread::sleep(Duration::from_millis(20));
    let err = a.block_on(move |ctx| async move { ctx.call(echo, "echo", ()).await }).unwrap_err();
    assert!(matches!(err.kind(), CallErrorKind::UnknownAddress { address, .. } if *address == echo), "{err}");
}
