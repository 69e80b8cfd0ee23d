//! Cluster-wide names (K6) on threaded nodes over `Loopback`: exactly one instance however many
//! nodes race (G2), a fresh one after its node dies or it exits (G9), sends by cluster name in
//! order (G6) or counted (G7). Bounded in time.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use skygroup::cluster::{ClusterConfig, Loopback, Node};
use skygroup::{Address, CallErrorKind, Ctx, Runtime, ServiceKind, Value};

/// `center` counts its starts in `starts` and answers `who` with its address; `log` records
/// what it is sent.
fn node(net: &Loopback, name: &str, starts: &'static AtomicU64) -> (Runtime, Node) {
    let rt = common::threaded(2);
    let node =
        rt.join_cluster(ClusterConfig::new(name).call_timeout(Duration::from_secs(10)), net.transport()).unwrap();
    rt.define(
        ServiceKind::new("center", move |ctx: Ctx, (): ()| async move {
            starts.fetch_add(1, Ordering::SeqCst);
            ctx.sleep(Duration::from_millis(5)).await; // a slow start: racers find it "starting"
            Ok(())
        })
        .command("who", |ctx, _v: Value| async move { Ok(ctx.address()) }),
    )
    .unwrap();
    common::define_log(&rt);
    (rt, node)
}

/// Calls `center` from `rt` until a live instance answers (calls meanwhile may only find its old
/// node down), within 5 s; the instance's address.
fn fresh_instance_after_node_down(rt: &Runtime) -> Address {
    let started = Instant::now();
    loop {
        let answer = rt.block_on(|ctx| async move { ctx.cluster_call("center", "who", ()).await });
        match answer {
            Ok(v) => return Address::try_from(v).unwrap(),
            Err(e) => assert!(matches!(e.kind(), CallErrorKind::NodeDown { .. }), "{e}"),
        }
        assert!(started.elapsed() < Duration::from_secs(5), "no fresh instance after {:?}", started.elapsed());
    }
}

fn who(rt: &Runtime, callers: usize) -> Vec<Address> {
    rt.block_on(move |ctx| async move {
        let calls = (0..callers).map(|_| ctx.cluster_call("center", "who", ()));
        futures::future::join_all(calls).await.into_iter().map(|r| Address::try_from(r.unwrap()).unwrap()).collect()
    })
}

// checks G2 across nodes (K6): two nodes racing to start one cluster name start exactly one
// instance, and every caller on both gets its address.
#[test]
fn two_nodes_racing_start_one_instance() {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let net = Loopback::new("g2");
    let (a, _) = node(&net, "a", &STARTS);
    let (b, _) = node(&net, "b", &STARTS);
    let (from_a, from_b) = std::thread::scope(|s| {
        let from_a = s.spawn(|| who(&a, 8));
        let from_b = s.spawn(|| who(&b, 8));
        (from_a.join().unwrap(), from_b.join().unwrap())
    });
    let first = from_a[0];
    assert!(from_a.iter().chain(&from_b).all(|&x| x == first), "{from_a:?} {from_b:?}");
    assert_eq!(STARTS.load(Ordering::SeqCst), 1);
}

// checks G9 across nodes (K6): when the owner's node dies, its binding is released once its
// liveness key expires, and the next use starts a fresh instance on a live node.
#[test]
fn a_dead_owners_name_starts_afresh_elsewhere() {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let net = Loopback::with_ttl("g9", Duration::from_millis(150));
    let (a, node_a) = node(&net, "a", &STARTS);
    let (b, node_b) = node(&net, "b", &STARTS);
    let old = who(&b, 1)[0];
    assert_eq!(old.node(), node_b.id());
    assert_eq!(who(&a, 1)[0], old);
    net.crash(node_b.id());
    let fresh = fresh_instance_after_node_down(&a);
    assert_eq!(fresh.node(), node_a.id());
    assert_eq!(STARTS.load(Ordering::SeqCst), 2);
    drop(b);
}

// checks G2 across nodes (K9): a node cut off from the store (`Loopback::crash`: its runtime runs
// on) fences itself: its instance of a cluster name stops before its liveness key can expire, so
// when another node starts a fresh one, the old one is already gone.
#[test]
fn a_node_cut_off_from_the_store_stops_its_names_before_they_move() {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let net = Loopback::with_ttl("fence", Duration::from_millis(600));
    let (a, node_a) = node(&net, "a", &STARTS);
    let (b, node_b) = node(&net, "b", &STARTS);
    let old = who(&b, 1)[0];
    assert_eq!(old.node(), node_b.id());
    let alive = |address: Address| b.services().iter().any(|s| s.address == address);
    assert!(alive(old));
    net.crash(node_b.id());
    let fresh = fresh_instance_after_node_down(&a);
    assert!(!alive(old), "two live instances: {old} (cut off, not fenced) and {fresh}");
    assert_eq!(fresh.node(), node_a.id());
    assert_eq!(STARTS.load(Ordering::SeqCst), 2);
}

// checks G9 (K6): an instance's exit releases its binding; a call that finds it gone drops the
// cached address, and the next use starts a fresh instance.
#[test]
fn an_exited_instance_releases_its_name() {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let net = Loopback::new("exit");
    let (a, _) = node(&net, "a", &STARTS);
    let (b, _) = node(&net, "b", &STARTS);
    let old = who(&a, 1)[0];
    assert!(a.kill(old));
    let started = Instant::now();
    let fresh = loop {
        let answer = b.block_on(|ctx| async move { ctx.cluster_call("center", "who", ()).await });
        match answer {
            Ok(now) if now != Value::Address(old) => break Address::try_from(now).unwrap(),
            Ok(_) => {}
            // The cached address, or the binding not released yet: the call finds no one there.
            Err(e) => {
                assert!(matches!(e.kind(), CallErrorKind::UnknownAddress { .. } | CallErrorKind::Exited { .. }), "{e}")
            }
        }
        assert!(started.elapsed() < Duration::from_secs(5), "the binding was never released");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_ne!(fresh, old);
    assert_eq!(STARTS.load(Ordering::SeqCst), 2);
}

// checks G6 and G7 (K6): one service's sends to a cluster name arrive in order, even while the
// name is still being started; sends to a name whose kind does not exist are dead letters.
#[test]
fn sends_by_cluster_name_keep_order_or_are_counted() {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let net = Loopback::new("sends");
    let (a, _) = node(&net, "a", &STARTS);
    let (b, _) = node(&net, "b", &STARTS);
    b.block_on(|ctx| async move { ctx.cluster_query("log").await.unwrap() });
    let seen = a.block_on(|ctx| async move {
        for i in 0..50 {
            ctx.cluster_send("log", "note", i);
        }
        ctx.cluster_call("log", "seen", ()).await.unwrap()
    });
    assert_eq!(seen, Value::List((0..50).map(Value::Int).collect()));
    a.block_on(|ctx| async move {
        ctx.cluster_send("nobody", "note", 1);
        ctx.cluster_send("nobody", "note", 2);
        ctx.sleep(Duration::from_millis(50)).await;
    });
    assert_eq!(a.dead_letters(), 2);
}

// checks K6: a runtime not in a cluster gets a clear error for a cluster name.
#[test]
fn a_runtime_outside_a_cluster_cannot_use_cluster_names() {
    let rt = Runtime::threaded(1);
    let err = rt.block_on(|ctx| async move { ctx.cluster_query("center").await }).unwrap_err();
    assert!(err.to_string().contains("not joined a cluster"), "{err}");
}

// checks G3 across nodes (K6): a start whose instance exits right after its init has failed:
// the caller gets `Exited`, the name is not left bound to the dead instance, and the next use
// starts it again.
#[test]
fn an_instance_dead_before_it_is_bound_fails_the_start() {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let net = Loopback::new("g3");
    // One worker: the instance's init and its exit run in one turn, before the caller resumes.
    let rt = Runtime::threaded(1);
    let _node = rt.join_cluster(ClusterConfig::new("a"), net.transport()).unwrap();
    rt.define(ServiceKind::new("fleeting", |ctx: Ctx, (): ()| async move {
        STARTS.fetch_add(1, Ordering::SeqCst);
        ctx.exit();
        Ok(())
    }))
    .unwrap();
    let (first, second) = rt.block_on(|ctx| async move {
        let first = ctx.cluster_query("fleeting").await;
        (first, ctx.cluster_query("fleeting").await)
    });
    for answer in [first, second] {
        let err = answer.unwrap_err();
        assert!(matches!(err.kind(), CallErrorKind::Exited { service, .. } if service == "fleeting"), "{err}");
    }
    assert_eq!(STARTS.load(Ordering::SeqCst), 2);
}
