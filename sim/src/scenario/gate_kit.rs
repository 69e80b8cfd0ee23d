//! What the gate scenarios share: a game server in a group (a gate on a virtual address, a
//! watchdog that gives each connection an agent, a lazy `login` that admits one connection per
//! account, a lazy `db` whose start takes a while) and simulated players with bounded reads.

use std::time::Duration;

use skygroup::executor::ConnId;
use skygroup::gate::{Closed, Frame, GateConfig, GateRef, Opened};
use skygroup::{Address, Ctx, Runtime, ServiceKind, Value};

use super::kit::{Journal, define};
use crate::net::SimClient;

/// Where the server listens (a virtual address).
pub(crate) const LISTEN: &str = "10.0.0.1:7000";
/// How long a player waits for a reply before giving up (virtual time).
const READ_WAIT: Duration = Duration::from_millis(20);
/// How long the `db` init takes (virtual time), so a start is pending a while.
pub(crate) const DB_START: Duration = Duration::from_micros(200);

/// Defines the server's kinds; `journal` gets `agent N start`, `agent N exit`,
/// `login NAME by N ok|taken`, `db start`, `db ready`, `agent N got close`.
pub(crate) fn define_server(rt: &Runtime, journal: &Journal<String>) -> Result<(), String> {
    define(rt, skygroup::gate::kind())?;
    define(
        rt,
        ServiceKind::new("boot", |ctx, (): ()| async move {
            ctx.newservice("watchdog", ()).await?;
            Ok(())
        }),
    )?;
    define(rt, watchdog())?;
    define(rt, agent(journal.clone()))?;
    let j = journal.clone();
    define(
        rt,
        ServiceKind::new("login", |_ctx, (): ()| async { Ok(std::collections::BTreeMap::<String, i64>::new()) })
            .command("login", move |ctx: Ctx<std::collections::BTreeMap<String, i64>>, v: Value| {
                let journal = j.clone();
                async move {
                    let (name, conn): (String, i64) = v.try_into()?;
                    let won = ctx.with_state(|accounts| match accounts.get(&name) {
                        Some(_) => false,
                        None => {
                            accounts.insert(name.clone(), conn);
                            true
                        }
                    });
                    journal.push(format!("login {name} by {conn} {}", if won { "ok" } else { "taken" }));
                    Ok(won)
                }
            })
            .command("logout", |ctx: Ctx<std::collections::BTreeMap<String, i64>>, v: Value| async move {
                let (name, conn): (String, i64) = v.try_into()?;
                ctx.with_state(|accounts| {
                    if accounts.get(&name) == Some(&conn) {
                        accounts.remove(&name);
                    }
                });
                Ok(())
            }),
    )?;
    let j = journal.clone();
    define(
        rt,
        ServiceKind::new("db", move |ctx, (): ()| {
            let journal = j.clone();
            async move {
                journal.push("db start".into());
                ctx.sleep(DB_START).await;
                journal.push("db ready".into());
                Ok(())
            }
        })
        .command("load", |_ctx, name: Value| async move { Ok((name, 1)) }),
    )
}

fn watchdog() -> ServiceKind<Option<GateRef>> {
    ServiceKind::new("watchdog", |ctx: Ctx<Option<GateRef>>, (): ()| async move {
        let gate = ctx.newservice("gate", GateConfig::new(LISTEN, ctx.address())).await?;
        Ok(Some(GateRef(Address::try_from(gate)?)))
    })
    .command("open", |ctx: Ctx<Option<GateRef>>, v: Value| async move {
        let open = Opened::try_from(v)?;
        let gate = ctx.with_state(|g| g.expect("started"));
        let agent = Address::try_from(ctx.newservice("agent", (gate, open.conn)).await?)?;
        if gate.forward(&ctx, open.conn, agent).await? == Value::Bool(true) {
            ctx.send(agent, "start", ());
        } else {
            ctx.kill(agent); // the connection closed before it was forwarded
        }
        Ok(())
    })
    .command("data", |_ctx, _v: Value| async move { Ok(()) })
    .command("close", |_ctx, _v: Value| async move { Ok(()) })
    .command("error", |_ctx, _v: Value| async move { Ok(()) })
}

/// An agent's state: its gate, its connection, its account once logged in.
type AgentState = (GateRef, ConnId, Option<String>);

fn agent(journal: Journal<String>) -> ServiceKind<AgentState> {
    let (j1, j2) = (journal.clone(), journal.clone());
    ServiceKind::new("agent", move |ctx: Ctx<AgentState>, (gate, conn): (GateRef, ConnId)| {
        let journal = journal.clone();
        async move {
            journal.push(format!("agent {} start {}", conn.0, ctx.address()));
            Ok((gate, conn, None))
        }
    })
    .command("start", |ctx: Ctx<AgentState>, _v: Value| async move {
        let (gate, conn, _) = ctx.with_state(|s| s.clone());
        gate.write(&ctx, conn, b"hello".to_vec());
        Ok(())
    })
    .command("data", move |ctx: Ctx<AgentState>, v: Value| {
        let journal = j1.clone();
        async move {
            let frame = Frame::try_from(v)?;
            let (gate, conn, _) = ctx.with_state(|s| s.clone());
            let text = String::from_utf8_lossy(&frame.bytes).into_owned();
            let reply = if let Some(name) = text.strip_prefix("login ") {
                let won = ctx.call("login", "login", (name, conn.0 as i64)).await? == Value::Bool(true);
                if won {
                    ctx.with_state(|s| s.2 = Some(name.to_owned()));
                    "welcome".to_owned()
                } else {
                    "taken".to_owned()
                }
            } else if let Some(name) = text.strip_prefix("load ") {
                ctx.call("db", "load", name).await?;
                journal.push(format!("agent {} loaded", conn.0));
                "loaded".to_owned()
            } else {
                format!("unknown {text}")
            };
            gate.write(&ctx, conn, reply.into_bytes());
            Ok(())
        }
    })
    .command("close", move |ctx: Ctx<AgentState>, v: Value| {
        let journal = j2.clone();
        async move {
            let closed = Closed::try_from(v)?;
            journal.push(format!("agent {} got close", closed.conn.0));
            if let Some(name) = ctx.with_state(|s| s.2.clone()) {
                ctx.send("login", "logout", (name, closed.conn.0 as i64));
            }
            journal.push(format!("agent {} exit", closed.conn.0));
            ctx.exit();
            Ok(())
        }
    })
}

/// The next frame, or `None` if the server closed or nothing came in [`READ_WAIT`].
pub(crate) async fn read(ctx: &Ctx, client: &SimClient) -> Option<Vec<u8>> {
    let read = Box::pin(client.read_frame());
    match futures::future::select(read, ctx.sleep(READ_WAIT)).await {
        futures::future::Either::Left((frame, _)) => frame.ok(),
        futures::future::Either::Right(_) => None,
    }
}
