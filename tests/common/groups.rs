//! Kinds and helpers for group tests: a `driver` service placed inside a group does the group
//! calls a test asks for, so a test can act as a member of any group.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::join_all;
use skygroup::{Address, CallError, Ctx, Group, Runtime, ServiceKind, Value, anyhow};

/// An error as a value, so drivers can return lists of outcomes.
pub fn outcome(r: Result<Value, CallError>) -> Value {
    r.unwrap_or_else(|e| Value::Str(format!("error: {e}")))
}

/// Defines every kind the group tests use. `failures` counts inits of `flaky`: the first one
/// fails, later ones succeed.
pub fn define_group_kinds(rt: &Runtime) -> Arc<AtomicUsize> {
    rt.define(ServiceKind::stateless("boot")).unwrap();
    rt.define(driver()).unwrap();
    rt.define(
        ServiceKind::new("echoserver", |_ctx, arg: i64| async move { Ok(arg) })
            .command("echo", |ctx: Ctx<i64>, v: Value| async move {
                let arg = ctx.with_state(|a| *a);
                Ok((ctx.group_name().unwrap_or("-").to_owned(), arg, v))
            })
            .command("quit", |ctx, _v: Value| async move {
                ctx.exit();
                Ok(())
            }),
    )
    .unwrap();
    rt.define(ServiceKind::new("db", |_ctx, (): ()| async { Ok(()) }).command("whoami", |ctx, _v: Value| async move {
        Ok((ctx.group_name().unwrap_or("-").to_owned(), ctx.address()))
    }))
    .unwrap();
    rt.define(ServiceKind::new("slowstart", |ctx, (): ()| async move {
        ctx.sleep(Duration::from_millis(2)).await;
        Ok(())
    }))
    .unwrap();
    rt.define(
        ServiceKind::new("counter", |_ctx, (): ()| async { Ok(Vec::<i64>::new()) })
            .command("push", |ctx: Ctx<Vec<i64>>, v: Value| async move {
                let n = i64::try_from(v)?;
                ctx.with_state(|s| s.push(n));
                Ok(())
            })
            .command("seen", |ctx: Ctx<Vec<i64>>, _v: Value| async move { Ok(ctx.with_state(|s| s.clone())) }),
    )
    .unwrap();
    rt.define(ServiceKind::new("bad", |_ctx, (): ()| async { anyhow::bail!("disk full") as anyhow::Result<()> }))
        .unwrap();
    rt.define(ServiceKind::stateless("needs_bad").depends_on(["bad"])).unwrap();
    rt.define(
        ServiceKind::new("login", |ctx, (): ()| async move {
            // Dependencies are resolved before init (G5): db is bound and answering.
            let db = ctx.call("db", "whoami", ()).await?;
            Ok(db)
        })
        .depends_on(["db"])
        .command("db_seen_at_init", |ctx: Ctx<Value>, _v: Value| async move { Ok(ctx.with_state(|v| v.clone())) }),
    )
    .unwrap();
    rt.define(ServiceKind::stateless("gate").depends_on(["login"])).unwrap();
    rt.define(ServiceKind::stateless("cyc_a").depends_on(["cyc_b"])).unwrap();
    rt.define(ServiceKind::stateless("cyc_b").depends_on(["cyc_a"])).unwrap();
    rt.define(ServiceKind::stateless("ring1").depends_on(["ring2"])).unwrap();
    rt.define(ServiceKind::stateless("ring2").depends_on(["ring3"])).unwrap();
    rt.define(ServiceKind::stateless("ring3").depends_on(["ring1"])).unwrap();
    define_flaky(rt)
}

/// Defines `flaky`, whose first init fails and later ones succeed; returns its init count.
pub fn define_flaky(rt: &Runtime) -> Arc<AtomicUsize> {
    let inits = Arc::new(AtomicUsize::new(0));
    let counted = inits.clone();
    rt.define(ServiceKind::new("flaky", move |_ctx, (): ()| {
        let n = counted.fetch_add(1, Ordering::SeqCst);
        async move {
            anyhow::ensure!(n > 0, "first start always fails");
            Ok(())
        }
    }))
    .unwrap();
    inits
}

fn driver() -> ServiceKind<()> {
    ServiceKind::stateless("driver")
        .command("race", |ctx, v: Value| async move {
            let (name, n): (String, i64) = v.try_into()?;
            let results = join_all((0..n).map(|_| ctx.query(&name))).await;
            Ok(results.into_iter().map(|r| outcome(r.map(Value::Address))).collect::<Vec<_>>())
        })
        .command("query", |ctx, v: Value| async move {
            Ok(outcome(ctx.query(&String::try_from(v)?).await.map(Value::Address)))
        })
        .command("call", |ctx, v: Value| async move {
            let (name, command, args): (String, String, Value) = v.try_into()?;
            Ok(outcome(ctx.call(&name, command, args).await))
        })
        .command("send", |ctx, v: Value| async move {
            let (name, command, args): (String, String, Value) = v.try_into()?;
            ctx.send(&name, command, args);
            Ok(())
        })
        .command("send_then_call", |ctx, v: Value| async move {
            let (name, n): (String, i64) = v.try_into()?;
            for i in 0..n {
                ctx.send(&name, "push", i);
            }
            Ok(outcome(ctx.call(&name, "seen", ()).await))
        })
        .command("newservice", |ctx, v: Value| async move {
            let (kind, arg): (String, i64) = v.try_into()?;
            Ok(outcome(ctx.newservice(&kind, arg).await))
        })
        .command("newservice_unit", |ctx, v: Value| async move {
            Ok(outcome(ctx.newservice(&String::try_from(v)?, ()).await))
        })
        .command("group_name", |ctx, _v: Value| async move { Ok(ctx.group_name().map(str::to_owned)) })
}

/// A new group labelled `label` and a driver inside it.
pub fn group_with_driver(rt: &Runtime, label: &str) -> (Group, Address) {
    let group = rt.newgroup(label, "boot", ()).unwrap();
    let g = group.clone();
    let driver = rt.block_on(move |ctx| async move { g.query(&ctx, "driver").await }).unwrap();
    (group, driver)
}

/// Calls `command` on the driver at `driver` from outside.
pub fn drive(rt: &Runtime, driver: Address, command: &'static str, args: impl Into<Value>) -> Value {
    let args = args.into();
    rt.block_on(move |ctx| async move { ctx.call(driver, command, args).await }).unwrap()
}

/// The names of a group's live services, sorted.
pub fn names(group: &Group) -> Vec<String> {
    let mut names: Vec<String> = group.services().into_iter().map(|m| m.name).collect();
    names.sort();
    names
}
