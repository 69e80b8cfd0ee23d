//! The service kinds programs of group operations use. Tests, proptest and the `group_ops`
//! fuzzer define the same ones, so a failure found by one replays in the others.
//!
//! Every user kind answers `echo`, `push`, `seen` and `quit`, so any op can target any name;
//! they differ in how they start: `counter` at once, `slow` after sleeping, `bad` never,
//! `flaky` only from its second init, `needs_slow` / `needs_bad` after a dependency, `cyc_a` /
//! `cyc_b` never (a start-up cycle).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::join_all;
use skygroup::{CallError, Ctx, Runtime, ServiceKind, Value, anyhow};

/// Names ops pick from (`dragon` is no kind at all).
pub const NAMES: [&str; 8] = ["counter", "slow", "bad", "flaky", "needs_slow", "needs_bad", "cyc_a", "dragon"];
/// Kinds `newservice` ops pick from.
pub const NEW_KINDS: [&str; 4] = ["counter", "slow", "bad", "flaky"];
/// Commands `call` ops pick from: two real ones, an unknown one and a reserved one (G8).
pub const COMMANDS: [&str; 4] = ["echo", "seen", "bogus", "_link"];

/// An error as a value, so drivers can return outcomes.
pub fn outcome(r: Result<Value, CallError>) -> Value {
    r.unwrap_or_else(|e| Value::Str(format!("error: {e}")))
}

fn user_kind(name: &str) -> ServiceKind<Vec<Value>> {
    ServiceKind::new(name, |_ctx, (): ()| async { Ok(Vec::<Value>::new()) }).with_user_commands()
}

trait UserCommands {
    fn with_user_commands(self) -> Self;
}

impl UserCommands for ServiceKind<Vec<Value>> {
    fn with_user_commands(self) -> Self {
        self.command("echo", |_ctx, v: Value| async move { Ok(v) })
            .command("push", |ctx: Ctx<Vec<Value>>, v: Value| async move {
                ctx.with_state(|s| s.push(v));
                Ok(())
            })
            .command("seen", |ctx: Ctx<Vec<Value>>, _v: Value| async move { Ok(ctx.with_state(|s| s.clone())) })
            .command("quit", |ctx, _v: Value| async move {
                ctx.exit();
                Ok(())
            })
    }
}

/// Defines every kind the test programs use on `rt`.
pub fn define_kinds(rt: &Runtime) {
    rt.define(ServiceKind::stateless("boot")).unwrap();
    rt.define(driver()).unwrap();
    rt.define(user_kind("counter")).unwrap();
    rt.define(
        ServiceKind::new("slow", |ctx, (): ()| async move {
            ctx.sleep(Duration::from_millis(1)).await;
            Ok(Vec::<Value>::new())
        })
        .with_user_commands(),
    )
    .unwrap();
    rt.define(ServiceKind::new("bad", |_ctx, (): ()| async {
        anyhow::bail!("disk full") as anyhow::Result<Vec<Value>>
    }))
    .unwrap();
    let inits = Arc::new(AtomicUsize::new(0));
    rt.define(
        ServiceKind::new("flaky", move |_ctx, (): ()| {
            let n = inits.fetch_add(1, Ordering::SeqCst);
            async move {
                anyhow::ensure!(n > 0, "first start always fails");
                Ok(Vec::<Value>::new())
            }
        })
        .with_user_commands(),
    )
    .unwrap();
    rt.define(user_kind("needs_slow").depends_on(["slow"])).unwrap();
    rt.define(user_kind("needs_bad").depends_on(["bad"])).unwrap();
    rt.define(user_kind("cyc_a").depends_on(["cyc_b"])).unwrap();
    rt.define(user_kind("cyc_b").depends_on(["cyc_a"])).unwrap();
    define_groupmain_kinds(rt);
}

/// The seed's example: `group_start` boots a group, starts `echoserver` with its arg and
/// calls it by name.
fn define_groupmain_kinds(rt: &Runtime) {
    rt.define(ServiceKind::new("echoserver", |_ctx, arg: i64| async move { Ok(arg) }).command(
        "echo",
        |ctx: Ctx<i64>, v: Value| async move {
            let arg = ctx.with_state(|a| *a);
            Ok((ctx.group_name().unwrap_or("-").to_owned(), arg, v))
        },
    ))
    .unwrap();
    rt.define(ServiceKind::new("group_start", |ctx, arg: i64| async move {
        ctx.newservice("echoserver", arg).await?;
        ctx.call("echoserver", "echo", "hello").await?;
        Ok(())
    }))
    .unwrap();
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
            let (name, base, n): (String, i64, i64) = v.try_into()?;
            for i in 0..n {
                ctx.send(&name, "push", base + i);
            }
            Ok(outcome(ctx.call(&name, "seen", ()).await))
        })
        .command(
            "newservice",
            |ctx, v: Value| async move { Ok(outcome(ctx.newservice(&String::try_from(v)?, ()).await)) },
        )
}
