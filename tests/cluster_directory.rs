//! The cluster's directory of groups (K7) on threaded nodes over `Loopback`: every group of
//! every live node listed from any node, sorted (G11), and a name looked up inside a group on
//! another node (G2 holds there: one instance).

mod common;

use std::time::Duration;

use skygroup::cluster::{ClusterConfig, ClusterGroup, Loopback, Node};
use skygroup::{Runtime, ServiceKind};

fn node(net: &Loopback, name: &str) -> (Runtime, Node) {
    let rt = common::threaded(2);
    let node = rt.join_cluster(ClusterConfig::new(name), net.transport()).unwrap();
    rt.define(ServiceKind::stateless("boot")).unwrap();
    rt.define(ServiceKind::stateless("db")).unwrap();
    (rt, node)
}

fn groups(rt: &Runtime, node: &Node) -> Vec<ClusterGroup> {
    let node = node.clone();
    rt.block_on(move |_ctx| async move { node.groups().await.unwrap() })
}

fn labels(groups: &[ClusterGroup]) -> Vec<(u16, &str)> {
    groups.iter().map(|g| (g.node.0, g.label.as_str())).collect()
}

// checks G11 across nodes (K7): a node lists every group of the cluster, sorted by node and id;
// a group shut down leaves the listing.
#[test]
fn every_group_of_the_cluster_is_listed() {
    let net = Loopback::new("g11");
    let (a, node_a) = node(&net, "a");
    let (b, node_b) = node(&net, "b");
    a.newgroup("server-2", "boot", ()).unwrap();
    a.newgroup("server-1", "boot", ()).unwrap();
    let gone = b.newgroup("server-3", "boot", ()).unwrap();
    groups(&b, &node_b); // b's listing brings b's own entries up to date
    assert_eq!(labels(&groups(&a, &node_a)), [(1, "server-2"), (1, "server-1"), (2, "server-3")]);
    b.shutdown_group(&gone);
    groups(&b, &node_b);
    assert_eq!(labels(&groups(&a, &node_a)), [(1, "server-2"), (1, "server-1")]);
}

// checks K7: the agent keeps its node's entries fresh by itself (at each liveness tick).
#[test]
fn the_agent_lists_its_nodes_groups_by_itself() {
    let net = Loopback::with_ttl("tick", Duration::from_millis(60));
    let (a, node_a) = node(&net, "a");
    let (b, _node_b) = node(&net, "b");
    b.newgroup("far", "boot", ()).unwrap();
    let started = std::time::Instant::now();
    while labels(&groups(&a, &node_a)) != [(2, "far")] {
        assert!(started.elapsed() < Duration::from_secs(5), "b's group was never listed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

// checks G2 across nodes (K7): a name queried in another node's group starts there, once.
#[test]
fn a_name_in_another_nodes_group() {
    let net = Loopback::new("query");
    let (a, node_a) = node(&net, "a");
    let (b, node_b) = node(&net, "b");
    let server = b.newgroup("server-1", "boot", ()).unwrap();
    groups(&b, &node_b);
    let far = groups(&a, &node_a).into_iter().find(|g| g.label == "server-1").unwrap();
    assert_eq!((far.node, far.id), (node_b.id(), server.id()));
    let (first, second) = a.block_on(move |ctx| async move {
        let (x, y) = futures::join!(far.query(&ctx, "db"), far.query(&ctx, "db"));
        (x.unwrap(), y.unwrap())
    });
    assert_eq!(first, second);
    assert_eq!(first.node(), node_b.id());
    assert!(server.services().iter().any(|m| m.address == first && m.bound));
    let err = a.block_on(move |ctx| async move {
        ClusterGroup { node: node_b.id(), id: 99, label: "none".into() }.query(&ctx, "db").await
    });
    assert!(err.unwrap_err().to_string().contains("no group 99"));
}
