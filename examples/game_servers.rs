//! Two game servers in one process, each a group with its own `db`, `login` and `gate`.
//!
//! Each server's boot sends `announce` to `gate` before anything is started (the sends are
//! queued, G7), then players log in through `gate`: the first use starts `gate`, whose
//! dependency list starts `login`, whose list starts `db` (lazy starts, G2, G5). The queued
//! announcements arrive first and in order (G6). A manager then lists both servers, shuts
//! server-1 down, and server-2 keeps serving (G11, G14).
//!
//! ```text
//! cargo run --example game_servers             # threaded backend
//! cargo run --example game_servers -- --sim 3  # simulator, seed 3
//! ```

use std::collections::BTreeMap;

use skygroup::{Ctx, Group, Runtime, ServiceKind, Value, anyhow};
use skygroup_sim::Sim;

/// Accounts: player -> level.
type Db = BTreeMap<String, i64>;

fn define(rt: &Runtime) -> anyhow::Result<()> {
    rt.define(
        ServiceKind::new("db", |_ctx, (): ()| async { Ok(Db::new()) })
            .command("load", |ctx: Ctx<Db>, name: Value| async move {
                let name = String::try_from(name)?;
                Ok(ctx.with_state(|db| *db.entry(name).or_insert(1)))
            })
            .command("levelup", |ctx: Ctx<Db>, name: Value| async move {
                let name = String::try_from(name)?;
                Ok(ctx.with_state(|db| {
                    let level = db.entry(name).or_insert(1);
                    *level += 1;
                    *level
                }))
            }),
    )?;
    rt.define(ServiceKind::stateless("login").depends_on(["db"]).command("login", |ctx, name: Value| async move {
        let level = ctx.call("db", "load", name.clone()).await?;
        Ok((name, level))
    }))?;
    rt.define(
        ServiceKind::new("gate", |_ctx, (): ()| async { Ok(Vec::<String>::new()) })
            .depends_on(["login"])
            .command("announce", |ctx: Ctx<Vec<String>>, text: Value| async move {
                ctx.with_state(|log| log.push(String::try_from(text).unwrap_or_default()));
                Ok(())
            })
            .command("connect", |ctx: Ctx<Vec<String>>, name: Value| async move {
                let (name, level): (String, i64) = ctx.call("login", "login", name).await?.try_into()?;
                let news = ctx.with_state(|log| log.join(" / "));
                Ok(format!("{name} (level {level}) joined {}; news: {news}", ctx.group_name().unwrap_or("?")))
            }),
    )?;
    rt.define(ServiceKind::new("server_boot", |ctx, motd: String| async move {
        ctx.send("gate", "announce", motd);
        ctx.send("gate", "announce", "double xp tonight");
        for player in ["ana", "bo"] {
            let welcome = ctx.call("gate", "connect", player).await?;
            println!("  {welcome}");
        }
        ctx.call("db", "levelup", "ana").await?;
        Ok(())
    }))?;
    Ok(())
}

fn list(group: &Group) {
    println!("{}:", group.label());
    for m in group.services() {
        println!("  {} {:<6} handled {:>2} errors {}", m.address, m.name, m.stats.handled, m.stats.errors);
    }
}

fn run(rt: &Runtime) -> anyhow::Result<()> {
    define(rt)?;
    println!("booting server-1 and server-2");
    let one = rt.newgroup("server-1", "server_boot", "welcome to server 1".to_owned())?;
    let two = rt.newgroup("server-2", "server_boot", "welcome to server 2".to_owned())?;
    list(&one);
    list(&two);
    println!("manager: shutting server-1 down");
    rt.shutdown_group(&one);
    let still = rt.block_on(move |ctx| async move {
        let gate = two.query(&ctx, "gate").await?;
        anyhow::Ok(ctx.call(gate, "connect", "ana").await?)
    })?;
    println!("server-2 still serves: {still}");
    println!("groups left: {:?}", rt.groups().iter().map(|g| g.label().to_owned()).collect::<Vec<_>>());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().position(|a| a == "--sim") {
        Some(i) => {
            let seed = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(0);
            println!("simulator, seed {seed}");
            run(&Sim::new(seed).runtime())
        }
        None => run(&Runtime::threaded(2)),
    }
}
