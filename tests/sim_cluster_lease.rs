//! The liveness lease (K9) on simulated nodes: a node cut off from the store fences itself
//! before its liveness key can expire (its cluster-name instances stop), so there is never a
//! moment with two live owners of one name (G2 across nodes); one whose key expired stays out
//! of the cluster; one back in time owns names again. Each seed's trace goes to the oracle.

use std::time::Duration;

use skygroup::cluster::{Bucket, ClusterConfig};
use skygroup::{Address, CallErrorKind, ServiceKind, Value};
use skygroup_sim::Sim;
use skygroup_sim::cluster::{SimCluster, SimNode};

const SEEDS: std::ops::Range<u64> = 0..16;
const TTL: Duration = Duration::from_millis(300);

/// `center` answers `who` with its address.
fn join(cluster: &SimCluster, name: &str) -> SimNode {
    let node = cluster.node_with(ClusterConfig::new(name).call_timeout(Duration::from_secs(5)));
    node.define(ServiceKind::stateless("center").command("who", |ctx, _v: Value| async move { Ok(ctx.address()) }))
        .unwrap();
    node
}

/// A service of `node` asks the cluster name `center` for its address.
fn who(node: &SimNode) -> Result<Address, skygroup::CallError> {
    node.block_on(|ctx| async move { Ok(Address::try_from(ctx.cluster_call("center", "who", ()).await?).unwrap()) })
}

fn alive(node: &SimNode, address: Address) -> bool {
    node.services().iter().any(|s| s.address == address)
}

/// Lets `ticks` of virtual time pass (on `node`'s runtime; every node shares the clock).
fn wait(node: &SimNode, ticks: Duration) {
    node.block_on(move |ctx| async move { ctx.sleep(ticks).await });
}

/// Waits until `node`'s liveness key has just been rewritten, then cuts it off: its lease then
/// runs a whole TTL from about now.
fn disconnect_after_a_refresh(cluster: &SimCluster, node: &SimNode) {
    let key = format!("node.{}", node.id().0);
    let revision = |c: &SimCluster| c.peek(Bucket::Liveness, &key).map(|e| e.revision);
    let before = revision(cluster);
    while revision(cluster) == before {
        wait(node, Duration::from_micros(50));
    }
    assert!(cluster.disconnect(node.name()));
}

fn oracle_clean(sim: &Sim) {
    let violations = skygroup_sim::oracle::check(&sim.records());
    assert!(violations.is_empty(), "the oracle found: {violations:#?}");
}

// checks G2 across nodes (K9, K6): the owner of a cluster name is cut off from the store longer
// than the liveness TTL. It stops its instance before its key can expire, so when another node
// starts a fresh one the old one is gone; once back, its refresh finds its key expired and it
// stays out of the cluster (its key is never written again, its own cluster calls fail as
// values). Failed before K9: the old instance lived on and the node rewrote its key.
#[test]
fn an_owner_cut_off_past_its_ttl_fences_itself_and_stays_out() {
    skygroup_sim::check("sim_cluster_lease::past_ttl", SEEDS, |sim| {
        let cluster = sim.cluster("lease");
        cluster.set_liveness_ttl(TTL);
        let [a, b] = ["a", "b"].map(|n| join(&cluster, n));
        let first = who(&a).unwrap();
        assert_eq!(first.node(), a.id());
        disconnect_after_a_refresh(&cluster, &a);
        wait(&b, TTL * 5 / 6);
        assert!(!alive(&a, first), "fenced before its key can expire: {first} stopped");
        wait(&b, TTL);
        let fresh = who(&b).unwrap();
        assert_eq!(fresh.node(), b.id(), "a fresh instance on the live node");
        assert!(cluster.reconnect("a"));
        wait(&b, TTL);
        let key = format!("node.{}", a.id().0);
        assert_eq!(cluster.peek(Bucket::Liveness, &key), None, "a node whose key expired never writes it again");
        let out = who(&a).unwrap_err();
        assert!(matches!(out.kind(), CallErrorKind::ClusterUnreachable { .. }), "{out}");
        assert_eq!(who(&b).unwrap(), fresh);
        oracle_clean(sim);
    });
}

// checks K9 and G9: an owner cut off long enough to fence itself, but back before its key
// expired, is still a live node: its old instance is gone and its binding released, and the name
// starts afresh at the next use.
#[test]
fn an_owner_back_before_its_key_expired_is_unfenced() {
    skygroup_sim::check("sim_cluster_lease::back_in_time", SEEDS, |sim| {
        let cluster = sim.cluster("lease");
        cluster.set_liveness_ttl(TTL);
        let [a, b] = ["a", "b"].map(|n| join(&cluster, n));
        let first = who(&a).unwrap();
        disconnect_after_a_refresh(&cluster, &a);
        wait(&a, TTL * 5 / 6);
        assert!(!alive(&a, first), "fenced: {first} stopped");
        assert!(cluster.reconnect("a"));
        wait(&a, TTL / 6 + TTL / 3);
        let key = format!("node.{}", a.id().0);
        assert!(cluster.peek(Bucket::Liveness, &key).is_some(), "back in time: its key lives on");
        let fresh = who(&b).unwrap();
        assert_ne!(fresh, first);
        assert_eq!(who(&a).unwrap(), fresh, "a is in the cluster again");
        oracle_clean(sim);
    });
}

// checks K9: a short cut (less than the fence limit) changes nothing: the owner keeps its
// instance.
#[test]
fn a_short_cut_does_not_fence() {
    skygroup_sim::check("sim_cluster_lease::short_cut", SEEDS, |sim| {
        let cluster = sim.cluster("lease");
        cluster.set_liveness_ttl(TTL);
        let [a, b] = ["a", "b"].map(|n| join(&cluster, n));
        let first = who(&a).unwrap();
        disconnect_after_a_refresh(&cluster, &a);
        wait(&a, TTL / 2);
        assert!(cluster.reconnect("a"));
        wait(&a, TTL);
        assert!(alive(&a, first));
        assert_eq!(who(&b).unwrap(), first);
        oracle_clean(sim);
    });
}
