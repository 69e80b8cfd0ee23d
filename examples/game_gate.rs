//! Three game servers in one process, each a group with its own gate on its own port, a
//! watchdog, an agent per connection and a lazy `login` and `db`; players connect over TCP.
//!
//! The watchdog starts the gate at boot. For each new connection it starts an `agent` and
//! forwards the connection to it (the gate then sends that connection's frames straight to the
//! agent). The agent greets the client; a `login NAME` frame makes the first use of `login` in
//! that server, which starts `login` and its dependency `db` lazily; `say TEXT` is echoed. When
//! the client leaves, the agent exits. The example starts two clients per server, prints what
//! each server saw, and exits.
//!
//! ```text
//! cargo run --example game_gate             # threaded backend, real TCP on 127.0.0.1
//! cargo run --example game_gate -- --sim 3  # simulator, seed 3, simulated clients
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use skygroup::executor::ConnId;
use skygroup::gate::{Closed, Frame, GateConfig, GateRef, Opened};
use skygroup::{Address, Ctx, Group, Runtime, ServiceKind, Value, anyhow};

/// What each server saw, by server label.
type Seen = Arc<Mutex<BTreeMap<String, Vec<String>>>>;

fn note(seen: &Seen, server: &str, line: String) {
    seen.lock().unwrap().entry(server.to_owned()).or_default().push(line);
}

fn define(rt: &Runtime, seen: &Seen) -> anyhow::Result<()> {
    rt.define(skygroup::gate::kind())?;
    rt.define(ServiceKind::new("db", |_ctx, (): ()| async { Ok(BTreeMap::<String, i64>::new()) }).command(
        "load",
        |ctx: Ctx<BTreeMap<String, i64>>, name: Value| async move {
            let name = String::try_from(name)?;
            Ok(ctx.with_state(|db| *db.entry(name).or_insert(1)))
        },
    ))?;
    rt.define(
        ServiceKind::stateless("login")
            .depends_on(["db"])
            .command("login", |ctx, name: Value| async move { Ok(ctx.call("db", "load", name).await?) }),
    )?;
    rt.define(ServiceKind::new("boot", |ctx, listen: String| async move {
        ctx.newservice("watchdog", listen).await?;
        Ok(())
    }))?;
    rt.define(watchdog(seen.clone()))?;
    rt.define(agent(seen.clone()))?;
    Ok(())
}

/// Starts the gate; gives each connection an agent.
fn watchdog(seen: Seen) -> ServiceKind<Option<GateRef>> {
    ServiceKind::new("watchdog", |ctx: Ctx<Option<GateRef>>, listen: String| async move {
        let gate = ctx.newservice("gate", GateConfig::new(listen, ctx.address())).await?;
        Ok(Some(GateRef(Address::try_from(gate)?)))
    })
    .command("open", |ctx: Ctx<Option<GateRef>>, v: Value| async move {
        let open = Opened::try_from(v)?;
        let gate = ctx.with_state(|g| g.expect("started"));
        let agent = Address::try_from(ctx.newservice("agent", (gate, open.conn)).await?)?;
        gate.forward(&ctx, open.conn, agent).await?;
        ctx.send(agent, "start", ());
        Ok(())
    })
    .command("close", move |ctx: Ctx<Option<GateRef>>, v: Value| {
        let seen = seen.clone();
        async move {
            let closed = Closed::try_from(v)?;
            let server = ctx.group_name().unwrap_or("-").to_owned();
            note(&seen, &server, format!("watchdog: conn {} closed ({})", closed.conn.0, closed.reason));
            Ok(())
        }
    })
    .command("address", |ctx: Ctx<Option<GateRef>>, _v: Value| async move {
        let gate = ctx.with_state(|g| g.expect("started"));
        Ok(gate.local_addr(&ctx).await?)
    })
}

/// One player's connection: greets, logs in through the lazy `login`, echoes chat.
fn agent(seen: Seen) -> ServiceKind<(GateRef, ConnId, String)> {
    let seen2 = seen.clone();
    ServiceKind::new("agent", |_ctx, (gate, conn): (GateRef, ConnId)| async move { Ok((gate, conn, String::new())) })
        .command("start", |ctx: Ctx<(GateRef, ConnId, String)>, _v: Value| async move {
            let (gate, conn, _) = ctx.with_state(|s| s.clone());
            gate.write(&ctx, conn, b"hello".to_vec());
            Ok(())
        })
        .command("data", move |ctx: Ctx<(GateRef, ConnId, String)>, v: Value| {
            let seen = seen.clone();
            async move {
                let frame = Frame::try_from(v)?;
                let text = String::from_utf8_lossy(&frame.bytes).into_owned();
                let (gate, conn, name) = ctx.with_state(|s| s.clone());
                let server = ctx.group_name().unwrap_or("-").to_owned();
                let reply = if let Some(who) = text.strip_prefix("login ") {
                    let level = ctx.call("login", "login", who).await?;
                    ctx.with_state(|s| s.2 = who.to_owned());
                    note(&seen, &server, format!("{who} logged in (level {level})"));
                    format!("welcome {who}")
                } else if let Some(said) = text.strip_prefix("say ") {
                    note(&seen, &server, format!("{name}: {said}"));
                    format!("{name} says {said}")
                } else {
                    format!("unknown: {text}")
                };
                gate.write(&ctx, conn, reply.into_bytes());
                Ok(())
            }
        })
        .command("close", move |ctx: Ctx<(GateRef, ConnId, String)>, v: Value| {
            let seen = seen2.clone();
            async move {
                let closed = Closed::try_from(v)?;
                let name = ctx.with_state(|s| s.2.clone());
                note(&seen, ctx.group_name().unwrap_or("-"), format!("{name} left ({})", closed.reason));
                ctx.exit();
                Ok(())
            }
        })
}

const SERVERS: [&str; 3] = ["server-1", "server-2", "server-3"];

/// Starts the servers; their listen addresses.
fn start(rt: &Runtime, listen: impl Fn(usize) -> String) -> anyhow::Result<Vec<(Group, String)>> {
    let mut servers = Vec::new();
    for (i, label) in SERVERS.iter().enumerate() {
        let group = rt.newgroup(label, "boot", listen(i))?;
        let g = group.clone();
        let addr = rt.block_on(move |ctx| async move {
            let watchdog = g.query(&ctx, "watchdog").await?;
            String::try_from(ctx.call(watchdog, "address", ()).await?).map_err(anyhow::Error::from)
        })?;
        servers.push((group, addr));
    }
    Ok(servers)
}

/// The script each client follows: (frame to send, reply expected).
fn script(player: &str) -> Vec<(String, String)> {
    vec![
        (format!("login {player}"), format!("welcome {player}")),
        ("say hi all".to_owned(), format!("{player} says hi all")),
    ]
}

fn players(server: usize) -> [String; 2] {
    [format!("ana{}", server + 1), format!("bo{}", server + 1)]
}

fn run_threaded(seen: &Seen) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let rt = Runtime::threaded(2);
    define(&rt, seen)?;
    let servers = start(&rt, |_| "127.0.0.1:0".to_owned())?;
    let mut clients = Vec::new();
    for (i, (_, addr)) in servers.iter().enumerate() {
        for player in players(i) {
            let addr = addr.clone();
            clients.push(std::thread::spawn(move || -> anyhow::Result<()> {
                let mut s = std::net::TcpStream::connect(&addr)?;
                s.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
                let read = |s: &mut std::net::TcpStream| -> anyhow::Result<String> {
                    let mut len = [0u8; 2];
                    s.read_exact(&mut len)?;
                    let mut body = vec![0; usize::from(u16::from_be_bytes(len))];
                    s.read_exact(&mut body)?;
                    Ok(String::from_utf8(body)?)
                };
                anyhow::ensure!(read(&mut s)? == "hello");
                for (say, expect) in script(&player) {
                    let mut bytes = (say.len() as u16).to_be_bytes().to_vec();
                    bytes.extend_from_slice(say.as_bytes());
                    s.write_all(&bytes)?;
                    anyhow::ensure!(read(&mut s)? == expect, "{player}: expected {expect}");
                }
                Ok(())
            }));
        }
    }
    for c in clients {
        c.join().expect("a client thread")?;
    }
    wait_for_leaves(seen, || std::thread::sleep(std::time::Duration::from_millis(5)));
    Ok(())
}

fn run_sim(seed: u64, seen: &Seen) -> anyhow::Result<()> {
    let sim = skygroup_sim::Sim::new(seed);
    let rt = sim.runtime();
    define(&rt, seen)?;
    let servers = start(&rt, |i| format!("10.0.0.{}:7000", i + 1))?;
    let mut clients = Vec::new();
    for (i, (_, addr)) in servers.iter().enumerate() {
        for player in players(i) {
            let connect = sim.connect(addr);
            clients.push(async move {
                let c = connect.await.map_err(anyhow::Error::msg)?;
                anyhow::ensure!(c.read_frame().await.map_err(anyhow::Error::msg)? == b"hello");
                for (say, expect) in script(&player) {
                    c.write_frame(say.as_bytes());
                    let reply = c.read_frame().await.map_err(anyhow::Error::msg)?;
                    anyhow::ensure!(reply == expect.as_bytes(), "{player}: expected {expect}");
                }
                c.close();
                Ok(())
            });
        }
    }
    let seen2 = seen.clone();
    rt.block_on(move |ctx| async move {
        for r in futures::future::join_all(clients).await {
            r?;
        }
        while left(&seen2) < 6 {
            ctx.sleep(std::time::Duration::from_millis(1)).await;
        }
        anyhow::Ok(())
    })?;
    println!("(simulated: {} trace lines, seed {seed})", sim.trace().len());
    Ok(())
}

fn left(seen: &Seen) -> usize {
    seen.lock().unwrap().values().flatten().filter(|l| l.contains(" left (")).count()
}

fn wait_for_leaves(seen: &Seen, pause: impl Fn()) {
    for _ in 0..2000 {
        if left(seen) >= 6 {
            return;
        }
        pause();
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let seen = Seen::default();
    match args.iter().position(|a| a == "--sim") {
        Some(i) => run_sim(args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(0), &seen)?,
        None => run_threaded(&seen)?,
    }
    for (server, lines) in seen.lock().unwrap().iter() {
        println!("{server}:");
        for line in lines {
            println!("  {line}");
        }
    }
    Ok(())
}
