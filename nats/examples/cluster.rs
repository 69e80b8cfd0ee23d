//! Three nodes of one cluster, a game-server group on each, and one `login-center` for the
//! whole cluster.
//!
//! Every node hosts its own game server (a group, `server-<node>`, whose `room` starts lazily)
//! and a `gate` where players arrive. Six players arrive at the three gates at once: each gate
//! logs its player in at the cluster-wide `login-center` (the three gates race its first use;
//! exactly one instance starts, on one node: G2 across nodes), then seats the player in a room of
//! a game server picked from the cluster's directory of groups, usually on another node (a
//! cross-node call to a service found with `ClusterGroup::query`). Every answer says which node
//! did what.
//!
//! ```text
//! cargo run -p skygroup-nats --example cluster                 # real NATS: starts its own nats-server
//! cargo run -p skygroup-nats --example cluster -- --url URL    # real NATS at URL (JetStream on)
//! cargo run -p skygroup-nats --example cluster -- --sim 7      # simulated nodes, seed 7
//! ```
//!
//! On real NATS the three nodes are three runtimes of this process, each with its own
//! connection (the multi-process run is `tests/processes.rs`); in the simulator they share one
//! seeded run, and the oracle checks the trace afterwards.

use std::time::Duration;

use skygroup::cluster::{ClusterConfig, ClusterGroup, Node, NodeId};
use skygroup::{Ctx, Runtime, ServiceKind, Value, anyhow};
use skygroup_nats::{LocalServer, NatsOptions, NatsTransport};
use skygroup_sim::Sim;

const NODES: [&str; 3] = ["east", "west", "north"];

fn define(rt: &Runtime) -> anyhow::Result<()> {
    // The game server's boot (the group's first service) and its room, started on first use.
    rt.define(ServiceKind::stateless("server_boot"))?;
    rt.define(ServiceKind::new("room", |_ctx, (): ()| async { Ok(Vec::<String>::new()) }).command(
        "seat",
        |ctx: Ctx<Vec<String>>, player: Value| async move {
            let player = String::try_from(player)?;
            let seated = ctx.with_state(|room| {
                room.push(player.clone());
                room.len()
            });
            let server = ctx.group_name().unwrap_or("?").to_owned();
            Ok(format!("{player} seated in {server}'s room (node {}, {seated} seated)", ctx.address().node().0))
        },
    ))?;
    // The cluster-wide login centre: counts logins, wherever it runs.
    rt.define(ServiceKind::new("login-center", |_ctx, (): ()| async { Ok(0i64) }).command(
        "login",
        |ctx: Ctx<i64>, player: Value| async move {
            let n = ctx.with_state(|n| {
                *n += 1;
                *n
            });
            Ok(Value::List(vec![player, Value::Int(n), Value::Address(ctx.address())]))
        },
    ))?;
    // A node's gate: logs a player in, then seats them on the game server it was given.
    rt.define(ServiceKind::stateless("gate").command("arrive", |ctx, args: Value| async move {
        let (player, node, group): (String, i64, i64) = args.try_into()?;
        let login = ctx.cluster_call("login-center", "login", player.clone()).await?;
        let (_, n, center): (Value, i64, Value) = login.try_into()?;
        let server = ClusterGroup { node: NodeId(node as u16), id: group as u64, label: String::new() };
        let room = server.query(&ctx, "room").await?;
        let seated = ctx.call(room, "seat", player).await?;
        let gate = ctx.address().node().0;
        Ok(format!("gate on node {gate}: login #{n} at {center}; {}", String::try_from(seated)?))
    }))?;
    Ok(())
}

/// Sets each node up (kinds, its game server, its gate), then lets six players arrive at the
/// three gates at once. Returns every line it printed.
fn play(nodes: &[(&Runtime, &Node)]) -> anyhow::Result<Vec<String>> {
    let mut gates = Vec::new();
    for (rt, node) in nodes {
        define(rt)?;
        rt.newgroup(&format!("server-{}", node.name()), "server_boot", ())?;
        gates.push(rt.spawn("gate", ())?);
    }
    let (first, node) = (nodes[0].0, nodes[0].1.clone());
    let lines = first.block_on(move |ctx| async move {
        // The directory lists another node's group as of that node's last liveness tick.
        let mut servers = Vec::new();
        for _ in 0..100 {
            servers = node.groups().await?;
            if servers.len() == NODES.len() {
                break;
            }
            ctx.sleep(Duration::from_millis(100)).await;
        }
        let mut lines = vec![format!(
            "game servers: {}",
            servers.iter().map(|g| format!("{} on node {}", g.label, g.node.0)).collect::<Vec<_>>().join(", ")
        )];
        let arrivals = (0..6).map(|i| {
            let (gate, server) = (gates[i % gates.len()], &servers[(i + 1) % servers.len()]);
            let args = Value::List(vec![
                format!("player{i}").into(),
                Value::Int(i64::from(server.node.0)),
                Value::Int(server.id as i64),
            ]);
            ctx.call(gate, "arrive", args)
        });
        for answer in futures::future::join_all(arrivals).await {
            lines.push(String::try_from(answer?)?);
        }
        Ok::<_, anyhow::Error>(lines)
    })?;
    for line in &lines {
        println!("  {line}");
    }
    Ok(lines)
}

fn on_nats(url: Option<String>) -> anyhow::Result<()> {
    let server = match url {
        Some(_) => None,
        None => Some(LocalServer::start()?),
    };
    let url = url.unwrap_or_else(|| server.as_ref().map(LocalServer::url).unwrap_or_default());
    println!("cluster `example` over NATS at {url}: three nodes in this process");
    let mut nodes = Vec::new();
    for name in NODES {
        let transport =
            NatsTransport::connect(&url, "example", NatsOptions::default().liveness_ttl(Duration::from_secs(3)))?;
        let rt = Runtime::threaded(2);
        let node = rt.join_cluster(ClusterConfig::new(name), transport)?;
        println!("  {name} joined as {}", node.id());
        nodes.push((rt, node));
    }
    let refs: Vec<(&Runtime, &Node)> = nodes.iter().map(|(rt, node)| (rt, node)).collect();
    play(&refs)?;
    for (_, node) in &nodes {
        let leaving = node.clone();
        nodes[0].0.block_on(move |_ctx| async move { leaving.leave().await })?;
    }
    Ok(())
}

fn on_sim(seed: u64) -> anyhow::Result<()> {
    println!("cluster `example` on simulated nodes, seed {seed}");
    let sim = Sim::new(seed);
    let cluster = sim.cluster("example");
    let nodes: Vec<_> = NODES.iter().map(|name| cluster.node(name)).collect();
    let refs: Vec<(&Runtime, &Node)> = nodes.iter().map(|n| (n.runtime(), n.node())).collect();
    play(&refs)?;
    let violations = skygroup_sim::oracle::check(&sim.records());
    println!("oracle: {} violations; {} frames delivered", violations.len(), cluster.stats().delivered);
    anyhow::ensure!(violations.is_empty(), "{violations:?}");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value_of = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    match value_of("--sim") {
        Some(seed) => on_sim(seed.parse()?),
        None => on_nats(value_of("--url")),
    }
}
