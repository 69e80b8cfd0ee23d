//! `cluster-login`: three simulated nodes; two of them (`gate-a`, `gate-b`) each log players in
//! through the cluster-wide name `login-center`, which neither has started: both make its first
//! use at once, while a partition between them heals at a seeded moment. The third node
//! (`world`) drives the run and asks the centre at the end.
//!
//! Checks: exactly one instance of `login-center` is started cluster-wide (G2 across nodes);
//! every login is answered (`welcome`/`taken`) or fails clearly (an error naming the node: a
//! call lost across the partition times out, K5), nothing hangs; an account is welcomed at most
//! once; after the heal the centre answers every node and knows every welcomed account. The
//! oracle checks the rest on the trace, bindings across nodes included.
//!
//! With faults, besides the runtime's injected faults, `gate-b` is cut off the messaging
//! engine for a seeded while (long enough, on some seeds, for its liveness key to expire and
//! its binding to be taken over): only the oracle's checks and "nothing hangs" apply then.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use skygroup::cluster::ClusterConfig;
use skygroup::{Address, Ctx, Runtime, ServiceKind, Value};

use super::kit::{Journal, define, ensure};
use super::{Marks, Scenario};
use crate::Sim;
use crate::chooser::data_rng;
use crate::cluster::{SimCluster, SimNode};

/// The accounts each gate logs in (`ana` at both: one of them must be told `taken`).
const ACCOUNTS: [[&str; 3]; 2] = [["ana", "bob", "cy"], ["ana", "dan", "eve"]];
/// How long a gate's cross-node call waits for its answer.
const CALL_TIMEOUT: Duration = Duration::from_millis(400);
/// How long `world`'s calls to the gates wait: longer than a gate's own calls may take.
const WORLD_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The liveness keys' time to live.
const TTL: Duration = Duration::from_millis(300);
/// The partition heals at a seeded moment below this.
const HEAL_BY_US: u64 = 600;
/// With faults, `gate-b` is cut off at a seeded moment below this, for a seeded while below
/// twice the liveness TTL.
const CUT_BY_US: u64 = 2_000;

/// Three nodes, one lazily started login centre, a healing partition.
pub struct ClusterLogin;

impl Scenario for ClusterLogin {
    fn name(&self) -> &str {
        "cluster-login"
    }

    fn description(&self) -> &str {
        "three nodes; two start the cluster-wide login-center at once while a partition heals: one instance"
    }

    fn steps_max(&self) -> u64 {
        200_000
    }

    fn run(&self, _rt: &Runtime, _marks: &mut Marks) -> Result<(), String> {
        Err("cluster-login needs simulated nodes: run it with scenario::run_once".into())
    }

    fn run_in(&self, sim: &Sim, _rt: &Runtime, marks: &mut Marks, faults: bool) -> Result<(), String> {
        let cluster = Arc::new(sim.cluster("cluster-login"));
        cluster.set_liveness_ttl(TTL);
        let starts = Journal::default();
        let mut nodes = Vec::new();
        for (name, timeout) in [("gate-a", CALL_TIMEOUT), ("gate-b", CALL_TIMEOUT), ("world", WORLD_CALL_TIMEOUT)] {
            let node = cluster.node_with(ClusterConfig::new(name).call_timeout(timeout));
            define_kinds(&node, &starts)?;
            nodes.push(node);
        }
        let mut rng = data_rng(sim.seed());
        let heal_at = Duration::from_micros(rng.random_range(0..HEAL_BY_US));
        let cut = faults.then(|| {
            let at = Duration::from_micros(rng.random_range(0..CUT_BY_US));
            (at, Duration::from_micros(rng.random_range(0..2 * TTL.as_micros() as u64)))
        });
        cluster.partition("gate-a", "gate-b");
        let gates = [nodes[0].spawn("gate", ()), nodes[1].spawn("gate", ())];
        let gates = [gates[0].clone().map_err(|e| e.to_string())?, gates[1].clone().map_err(|e| e.to_string())?];
        let healer = cluster.clone();
        let faults_at = Faults { heal_at, cut };
        let outcome = nodes[2].block_on(move |ctx| async move { drive(ctx, gates, healer, faults_at).await });
        let starts = starts.items();
        drop(nodes);
        drop(cluster);
        if faults {
            return Ok(()); // injected faults may fail any step; the oracle still checks the trace
        }
        let (answers, center, known) = outcome?;
        check(&answers, center, &known, &starts, marks)
    }
}

/// What the run saw: each gate's answers, the centre's address as `world` found it after the
/// heal, and the accounts it knows then.
type Outcome = Result<([Vec<String>; 2], Address, Vec<String>), String>;

/// When the network changes: the partition's heal, and with faults `gate-b`'s cut (when, how
/// long).
struct Faults {
    heal_at: Duration,
    cut: Option<(Duration, Duration)>,
}

async fn drive(ctx: Ctx, gates: [Address; 2], cluster: Arc<SimCluster>, faults: Faults) -> Outcome {
    let login = |i: usize| {
        let accounts: Vec<Value> = ACCOUNTS[i].iter().map(|a| Value::from(*a)).collect();
        ctx.call(gates[i], "login", accounts)
    };
    let heal = async {
        ctx.sleep(faults.heal_at).await;
        cluster.heal();
    };
    let cut = async {
        let Some((at, lasting)) = faults.cut else { return };
        ctx.sleep(at).await;
        cluster.disconnect("gate-b");
        ctx.sleep(lasting).await;
        cluster.reconnect("gate-b");
    };
    let (a, b, (), ()) = futures::join!(login(0), login(1), heal, cut);
    let answers = |r: Result<Value, skygroup::CallError>| -> Result<Vec<String>, String> {
        let list = Vec::<Value>::try_from(r.map_err(|e| format!("a gate failed: {e}"))?).map_err(|e| e.to_string())?;
        Ok(list.into_iter().map(|v| v.as_str().unwrap_or("?").to_owned()).collect())
    };
    let answers = [answers(a)?, answers(b)?];
    let center = ctx.cluster_query("login-center").await.map_err(|e| format!("world's query after the heal: {e}"))?;
    let known = ctx.call(center, "known", ()).await.map_err(|e| format!("the centre after the heal: {e}"))?;
    let known = Vec::<Value>::try_from(known).map_err(|e| e.to_string())?;
    Ok((answers, center, known.into_iter().map(|v| v.as_str().unwrap_or("?").to_owned()).collect()))
}

fn check(
    answers: &[Vec<String>; 2],
    center: Address,
    known: &[String],
    starts: &[Address],
    marks: &mut Marks,
) -> Result<(), String> {
    ensure(starts.len() == 1, || format!("one login-center cluster-wide, started {}: {starts:?}", starts.len()))?;
    ensure(starts[0] == center, || format!("world finds {center}, the one started was {}", starts[0]))?;
    let mut welcomed = BTreeSet::new();
    for (gate, list) in answers.iter().enumerate() {
        ensure(list.len() == ACCOUNTS[gate].len(), || format!("gate {gate} answered {list:?}"))?;
        for (account, answer) in ACCOUNTS[gate].iter().zip(list) {
            let clear =
                answer == "welcome" || answer == "taken" || answer.starts_with("error: ") && answer.contains("node#");
            ensure(clear, || {
                format!("login of {account} at gate {gate}: `{answer}` is neither an answer nor a clear error")
            })?;
            if answer == "welcome" {
                ensure(welcomed.insert(*account), || format!("{account} welcomed twice: {answers:?}"))?;
                ensure(known.iter().any(|k| k == account), || format!("{account} welcomed but unknown: {known:?}"))?;
            }
        }
    }
    let errors = answers.iter().flatten().filter(|a| a.starts_with("error: ")).count();
    marks.sometimes("the centre started on gate-a", center.node().0 == 1);
    marks.sometimes("the centre started on gate-b", center.node().0 == 2);
    marks.sometimes("a login failed across the partition", errors > 0);
    marks.sometimes("every login answered", errors == 0);
    Ok(())
}

/// `login-center` (journals its starts; `login acct` answers `welcome` once per account, then
/// `taken`; `known` lists the accounts) and `gate` (`login [acct..]` logs them all in at once
/// through the cluster name, and answers each outcome in the accounts' order, an error as its
/// text).
fn define_kinds(node: &SimNode, starts: &Journal<Address>) -> Result<(), String> {
    let starts = starts.clone();
    define(
        node,
        ServiceKind::new("login-center", move |ctx: Ctx<BTreeSet<String>>, (): ()| {
            starts.push(ctx.address());
            async { Ok(BTreeSet::new()) }
        })
        .command("login", |ctx: Ctx<BTreeSet<String>>, account: Value| async move {
            let account = String::try_from(account)?;
            Ok(if ctx.with_state(|known| known.insert(account)) { "welcome" } else { "taken" })
        })
        .command("known", |ctx: Ctx<BTreeSet<String>>, _v: Value| async move {
            Ok(ctx.with_state(|known| known.iter().cloned().map(Value::from).collect::<Vec<_>>()))
        }),
    )?;
    define(
        node,
        ServiceKind::stateless("gate").command("login", |ctx, accounts: Value| async move {
            let logins = Vec::<Value>::try_from(accounts)?.into_iter().map(|account| {
                let call = ctx.cluster_call("login-center", "login", account);
                async move {
                    match call.await {
                        Ok(v) => Value::from(v.as_str().unwrap_or("?")),
                        Err(e) => Value::from(format!("error: {e}")),
                    }
                }
            });
            Ok(futures::future::join_all(logins).await)
        }),
    )
}
