//! One cluster node as a process, driven line by line on stdin: what the multi-process tests
//! (`tests/processes.rs`) start three of against one nats-server, and a way to poke a cluster by
//! hand.
//!
//! ```text
//! skygroup-nats-node URL CLUSTER NODE_NAME [LIVENESS_TTL_MS] [CALL_TIMEOUT_MS]
//! ```
//!
//! It joins the cluster, defines `echo` (commands `echo` and `slow`, which answers after its
//! argument in milliseconds) and `login-center` (command `login`: counts logins, answers a map
//! of its node, address, count and the player), starts a group `server-<NODE_NAME>`,
//! spawns one `echo`, and prints `ready <node number> <echo's address>` (an address prints as
//! `:0002.0000000a` and reads back the same). Then each stdin line `<id> <verb> ...` runs on its
//! own thread, and its answer is one line `<id> ok <value>` or `<id> err <kind> <message>`:
//! - `<id> call <address> <command> <int>`: a call to any node's address;
//! - `<id> cluster-call <name> <command> <word>`: a call to a cluster-wide name (K6);
//! - `<id> groups`: every group of the cluster, `node.id=label` separated by spaces (K7);
//! - `<id> stats`: the node's counters;
//! - `<id> quit`: leaves the cluster (K8) and exits.

use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use skygroup::cluster::{ClusterConfig, Node};
use skygroup::{Address, CallError, Ctx, Runtime, ServiceKind, Value};
use skygroup_nats::{NatsOptions, NatsTransport};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: skygroup-nats-node URL CLUSTER NODE_NAME [LIVENESS_TTL_MS] [CALL_TIMEOUT_MS]");
        std::process::exit(2);
    }
    let millis =
        |i: usize, default: u64| Duration::from_millis(args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default));
    let options = NatsOptions::default().liveness_ttl(millis(3, 10_000));
    let transport = NatsTransport::connect(&args[0], &args[1], options).unwrap_or_else(|err| {
        eprintln!("{err}");
        std::process::exit(1);
    });
    let runtime = Arc::new(Runtime::threaded(2));
    let config = ClusterConfig::new(args[2].clone()).call_timeout(millis(4, 5_000));
    let node = runtime.join_cluster(config, transport).unwrap_or_else(|err| {
        eprintln!("{err}");
        std::process::exit(1);
    });
    define_kinds(&runtime);
    runtime.newgroup(&format!("server-{}", args[2]), "boot", ()).expect("start the game-server group");
    let echo = runtime.spawn("echo", ()).expect("spawn echo");
    println!("ready {} {echo}", node.id().0);

    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        if words.get(1).map(String::as_str) == Some("quit") {
            let leaving = node.clone();
            if let Err(err) = runtime.block_on(move |_ctx| async move { leaving.leave().await }) {
                eprintln!("{err}");
            }
            break;
        }
        let (runtime, node) = (runtime.clone(), node.clone());
        std::thread::spawn(move || {
            let id = words.first().cloned().unwrap_or_default();
            match run(&runtime, &node, &words[1.min(words.len())..]) {
                Ok(value) => println!("{id} ok {value}"),
                Err(Failure(kind, message)) => println!("{id} err {kind} {message}"),
            }
        });
    }
}

/// Why a stdin command failed: the error kind's name (e.g. `NodeDown`) and its message.
struct Failure(String, String);

impl From<CallError> for Failure {
    fn from(err: CallError) -> Self {
        let kind = format!("{:?}", err.kind());
        let name = kind.split([' ', '{', '(']).next().unwrap_or_default().to_owned();
        Failure(name, err.to_string())
    }
}

fn usage(what: &str) -> Failure {
    Failure("Usage".into(), what.into())
}

fn run(runtime: &Runtime, node: &Node, words: &[String]) -> Result<Value, Failure> {
    match words {
        [verb, address, command, arg] if verb == "call" => {
            let to: Address = address.parse().map_err(|_| usage("bad address"))?;
            let arg: i64 = arg.parse().map_err(|_| usage("the argument is an integer"))?;
            let command = command.clone();
            let answer = runtime.block_on(move |ctx| async move { ctx.call(to, command, arg).await });
            Ok(answer?)
        }
        [verb, name, command, arg] if verb == "cluster-call" => {
            let (name, command, arg) = (name.clone(), command.clone(), arg.clone());
            let answer = runtime.block_on(move |ctx| async move { ctx.cluster_call(&name, command, arg).await });
            Ok(answer?)
        }
        [verb] if verb == "groups" => {
            let node = node.clone();
            let groups = runtime.block_on(move |_ctx| async move { node.groups().await });
            let groups = groups.map_err(|err| Failure("Cluster".into(), err.to_string()))?;
            let listed: Vec<String> = groups.iter().map(|g| format!("{}.{}={}", g.node.0, g.id, g.label)).collect();
            Ok(Value::from(listed.join(" ")))
        }
        [verb] if verb == "stats" => {
            let stats = node.stats();
            Ok(Value::from(format!("{stats:?}")))
        }
        _ => Err(usage("verbs: call ADDRESS COMMAND INT | cluster-call NAME COMMAND WORD | groups | stats | quit")),
    }
}

fn define_kinds(runtime: &Runtime) {
    runtime.define(ServiceKind::stateless("boot")).expect("define boot");
    runtime
        .define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) }).command(
            "slow",
            |ctx: Ctx, ms: Value| async move {
                let ms = match ms {
                    Value::Int(ms) => ms.max(0),
                    _ => 0,
                };
                ctx.sleep(Duration::from_millis(ms as u64)).await;
                Ok(ms)
            },
        ))
        .expect("define echo");
    runtime
        .define(ServiceKind::new("login-center", |_ctx, (): ()| async { Ok(0i64) }).command(
            "login",
            |ctx: Ctx<i64>, player: Value| async move {
                let logins = ctx.with_state(|n| {
                    *n += 1;
                    *n
                });
                Ok(Value::map([
                    ("player", player),
                    ("node", Value::Int(i64::from(ctx.address().node().0))),
                    ("at", Value::Address(ctx.address())),
                    ("logins", Value::Int(logins)),
                ]))
            },
        ))
        .expect("define login-center");
}
