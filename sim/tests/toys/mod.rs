//! Small scenarios for the explorer's own tests: one whose outcome depends on the
//! interleaving (so some runs fail), one small enough to enumerate, one that deadlocks.

#![allow(dead_code)]

use futures::join;
use skygroup::{Address, Ctx, Runtime, ServiceKind, Value};
use skygroup_sim::scenario::{Marks, Scenario};

/// Two services race to mark a recorder; the scenario insists `a` is always first, which
/// only some interleavings satisfy.
pub struct FirstWins;

impl Scenario for FirstWins {
    fn name(&self) -> &str {
        "first-wins"
    }

    fn description(&self) -> &str {
        "a and b race to mark a recorder; asserts a is first (false in some interleavings)"
    }

    fn run(&self, rt: &Runtime, marks: &mut Marks) -> Result<(), String> {
        rt.define(
            ServiceKind::new("recorder", |_c, (): ()| async { Ok(Vec::<Value>::new()) })
                .command("mark", |ctx: Ctx<Vec<Value>>, v: Value| async move {
                    ctx.with_state(|s| s.push(v));
                    Ok(())
                })
                .command("first", |ctx: Ctx<Vec<Value>>, _v: Value| async move {
                    Ok(ctx.with_state(|s| s.first().cloned()))
                }),
        )
        .map_err(|e| e.to_string())?;
        rt.define(
            ServiceKind::new("racer", |_c, (name, recorder): (String, Address)| async move { Ok((name, recorder)) })
                .command("go", |ctx: Ctx<(String, Address)>, _v: Value| async move {
                    let (name, recorder) = ctx.with_state(|s| s.clone());
                    Ok(ctx.call(recorder, "mark", name).await?)
                }),
        )
        .map_err(|e| e.to_string())?;
        let recorder = rt.spawn("recorder", ()).map_err(|e| e.to_string())?;
        let a = rt.spawn("racer", ("a".to_owned(), recorder)).map_err(|e| e.to_string())?;
        let b = rt.spawn("racer", ("b".to_owned(), recorder)).map_err(|e| e.to_string())?;
        let first = rt.block_on(move |ctx| async move {
            let _ = join!(ctx.call(a, "go", ()), ctx.call(b, "go", ()));
            ctx.call(recorder, "first", ()).await
        });
        let first = first.map_err(|e| e.to_string())?;
        marks.sometimes("b marked first", first == Value::from("b"));
        if first == Value::from("a") { Ok(()) } else { Err(format!("race: {first} marked first")) }
    }
}

/// One service, two messages: small enough to enumerate every schedule.
pub struct Tiny;

impl Scenario for Tiny {
    fn name(&self) -> &str {
        "tiny"
    }

    fn description(&self) -> &str {
        "main sends twice to an echo service and calls it"
    }

    fn run(&self, rt: &Runtime, _marks: &mut Marks) -> Result<(), String> {
        rt.define(ServiceKind::stateless("echo").command("echo", |_c, v: Value| async move { Ok(v) }))
            .map_err(|e| e.to_string())?;
        let echo = rt.spawn("echo", ()).map_err(|e| e.to_string())?;
        let reply = rt.block_on(move |ctx| async move {
            ctx.send(echo, "echo", 1);
            ctx.call(echo, "echo", 2).await
        });
        if reply == Ok(Value::from(2)) { Ok(()) } else { Err(format!("echo answered {reply:?}")) }
    }
}

/// `login`'s init calls `db`, whose handler calls back `login`, which handles nothing before
/// its init returns (G5): a deadlock.
pub struct InitDeadlock;

impl Scenario for InitDeadlock {
    fn name(&self) -> &str {
        "init-deadlock"
    }

    fn description(&self) -> &str {
        "login's init calls db, db calls login back: deadlock"
    }

    fn run(&self, rt: &Runtime, _marks: &mut Marks) -> Result<(), String> {
        rt.define(ServiceKind::stateless("db").command("get", |ctx, login: Value| async move {
            Ok(ctx.call(Address::try_from(login)?, "auth", ()).await?)
        }))
        .map_err(|e| e.to_string())?;
        rt.define(
            ServiceKind::new("login", |ctx, db: Address| async move {
                ctx.call(db, "get", ctx.address()).await?;
                Ok(())
            })
            .command("auth", |_c, _v: Value| async move { Ok(()) }),
        )
        .map_err(|e| e.to_string())?;
        let db = rt.spawn("db", ()).map_err(|e| e.to_string())?;
        let login = rt.spawn("login", db).map_err(|e| e.to_string())?;
        let _ = rt.block_on(move |ctx| async move { ctx.call(login, "auth", ()).await });
        Ok(())
    }
}
