//! Core runtime behaviour on both backends: call/send, errors, reentrancy, deferred replies,
//! timeouts, exits. Each test names the contract rules it checks.

mod common;

use std::time::Duration;

use common::backend_test;
use skygroup::{Address, CallError, CallErrorKind, Ctx, ExitReason, Responder, Runtime, ServiceKind, Value, anyhow};

#[derive(Default)]
struct Counter {
    seen: Vec<i64>,
}

/// Parked deferred replies, answered by `release`.
#[derive(Default)]
struct Gate {
    parked: Vec<Responder>,
}

fn define_kinds(rt: &Runtime) {
    rt.define(
        ServiceKind::stateless("echo")
            .command("echo", |_ctx, v: Value| async move { Ok(v) })
            .command("fail", |_ctx, _v: Value| async move { anyhow::bail!("no such player") as anyhow::Result<()> })
            .command("boom", |_ctx, _v: Value| async move {
                panic!("handler exploded");
                #[allow(unreachable_code)]
                Ok(())
            })
            .command("slow", |ctx, ms: Value| async move {
                ctx.sleep(Duration::from_millis(i64::try_from(ms)? as u64)).await;
                Ok("slept")
            })
            .command("quit", |ctx, _v: Value| async move {
                ctx.exit();
                Ok(())
            }),
    )
    .unwrap();
    rt.define(
        ServiceKind::new("counter", |_ctx, (): ()| async { Ok(Counter::default()) })
            .command("push", |ctx: Ctx<Counter>, v: Value| async move {
                let n = i64::try_from(v)?;
                ctx.with_state(|c| c.seen.push(n));
                Ok(())
            })
            .command("seen", |ctx: Ctx<Counter>, _v: Value| async move { Ok(ctx.with_state(|c| c.seen.clone())) }),
    )
    .unwrap();
    rt.define(
        ServiceKind::new("gate", |_ctx, (): ()| async { Ok(Gate::default()) })
            .command_deferred("wait", |ctx: Ctx<Gate>, _v, responder| async move {
                ctx.with_state(|g| g.parked.push(responder));
            })
            .command("release", |ctx: Ctx<Gate>, v: Value| async move {
                let parked = ctx.with_state(|g| std::mem::take(&mut g.parked));
                let n = parked.len() as i64;
                for r in parked {
                    r.ok(v.clone());
                }
                Ok(n)
            })
            .command_deferred("forget", |_ctx, _v, responder| async move { drop(responder) }),
    )
    .unwrap();
    rt.define(ServiceKind::new("picky", |_ctx, level: u32| async move {
        match level {
            0 => anyhow::bail!("level 0 is not allowed"),
            1 => panic!("init exploded"),
            n => Ok(n),
        }
    }))
    .unwrap();
}

fn call(rt: &Runtime, to: Address, command: &'static str, args: impl Into<Value>) -> Result<Value, CallError> {
    let args = args.into();
    rt.block_on(move |ctx| async move { ctx.call(to, command, args).await })
}

backend_test! {
    // checks G8, S4: a call returns the handler's result; like every `backend_test!`, the same
    // service code runs unchanged on the threaded backend and in the simulator.
    fn call_returns_handler_result(rt) {
        define_kinds(&rt);
        let echo = rt.spawn("echo", ()).unwrap();
        assert_eq!(call(&rt, echo, "echo", ("hi", 2)).unwrap(), Value::from(("hi", 2)));
    }
}

backend_test! {
    // checks G6, G8: sends from one sender arrive in order; their results are dropped; a call
    // issued after them is handled after them.
    fn sends_then_call_keep_order(rt) {
        define_kinds(&rt);
        let counter = rt.spawn("counter", ()).unwrap();
        let seen = rt.block_on(move |ctx| async move {
            for i in 0..20 {
                ctx.send(counter, "push", i);
            }
            ctx.call(counter, "seen", ()).await
        });
        assert_eq!(seen.unwrap(), Value::from((0..20).collect::<Vec<i64>>()));
    }
}

backend_test! {
    // checks G8: unknown and reserved commands are error replies naming service and command;
    // the service keeps running.
    fn unknown_and_reserved_commands_are_errors(rt) {
        define_kinds(&rt);
        let echo = rt.spawn("echo", ()).unwrap();
        let err = call(&rt, echo, "nope", ()).unwrap_err();
        assert!(matches!(err.kind(), CallErrorKind::UnknownCommand { command, .. } if command == "nope"), "{err}");
        assert_eq!(err.to_string(), format!("service echo ({echo}) has no command `nope`"));
        let err = call(&rt, echo, "_link", ()).unwrap_err();
        assert!(matches!(err.kind(), CallErrorKind::ReservedCommand { .. }), "{err}");
        assert_eq!(call(&rt, echo, "echo", 1).unwrap(), Value::from(1));
        let stats = rt.services().into_iter().find(|s| s.address == echo).unwrap().stats;
        assert_eq!(stats.errors, 2);
    }
}

backend_test! {
    // checks G8: a handler error and a handler panic reach the caller; the service survives.
    fn handler_error_and_panic_are_caught(rt) {
        define_kinds(&rt);
        let echo = rt.spawn("echo", ()).unwrap();
        let err = call(&rt, echo, "fail", ()).unwrap_err();
        assert_eq!(err.to_string(), format!("service echo ({echo}) failed `fail`: no such player"));
        let err = call(&rt, echo, "boom", ()).unwrap_err();
        assert!(matches!(err.kind(), CallErrorKind::Panic { message, .. } if message == "handler exploded"), "{err}");
        assert_eq!(call(&rt, echo, "echo", "still here").unwrap(), Value::from("still here"));
    }
}

backend_test! {
    // checks G3, G5: init errors and panics fail the start with the cause; unknown kinds and
    // wrong argument types are refused; init receives any Rust type.
    fn init_failures_are_reported(rt) {
        define_kinds(&rt);
        let results = rt.block_on(|ctx| async move {
            let mut out = Vec::new();
            for level in [0u32, 1, 7] {
                out.push(ctx.newservice("picky", level).await.map(|_| ()));
            }
            out.push(ctx.newservice("picky", "wrong type").await.map(|_| ()));
            out.push(ctx.newservice("dragon", ()).await.map(|_| ()));
            out
        });
        let text: Vec<String> = results.iter().map(|r| r.as_ref().map_or_else(|e| e.to_string(), |_| "ok".into())).collect();
        assert!(text[0].contains("init of service picky") && text[0].contains("level 0 is not allowed"), "{}", text[0]);
        assert!(text[1].contains("panicked: init exploded"), "{}", text[1]);
        assert_eq!(text[2], "ok");
        assert!(text[3].contains("expects arguments of type `u32`, got `&str`"), "{}", text[3]);
        assert_eq!(text[4], "unknown service kind `dragon`");
        let picky: Vec<_> = rt.services().into_iter().filter(|s| s.kind == "picky").collect();
        assert_eq!(picky.len(), 1, "failed starts leave nothing running");
    }
}

backend_test! {
    // checks G5: messages sent before init returned wait for it.
    fn messages_wait_for_init(rt) {
        rt.define(
            ServiceKind::new("slowinit", |ctx: Ctx<i64>, start: i64| async move {
                ctx.sleep(Duration::from_millis(5)).await;
                Ok(start)
            })
            .command("get", |ctx: Ctx<i64>, _v: Value| async move { Ok(ctx.with_state(|s| *s)) }),
        )
        .unwrap();
        let svc = rt.spawn("slowinit", 41i64).unwrap();
        assert_eq!(call(&rt, svc, "get", ()).unwrap(), Value::from(41));
    }
}

backend_test! {
    // checks G9: calls pending when a service exits get an error; later calls to its address
    // fail; later sends are dead letters.
    fn exit_fails_pending_and_later_calls(rt) {
        define_kinds(&rt);
        let gate = rt.spawn("gate", ()).unwrap();
        let echo = rt.spawn("echo", ()).unwrap();
        let (pending, quit, after) = rt.block_on(move |ctx| async move {
            let pending = ctx.call(gate, "wait", ());
            ctx.sleep(Duration::from_millis(1)).await;
            ctx.kill(gate);
            let quit = ctx.call(echo, "quit", ()).await;
            let after = ctx.call(echo, "echo", 1).await;
            ctx.send(echo, "echo", 2);
            (pending.await, quit, after)
        });
        assert!(matches!(pending.as_ref().map_err(CallError::kind), Err(CallErrorKind::Exited { .. })), "{pending:?}");
        assert!(quit.is_ok());
        assert!(matches!(after.as_ref().map_err(CallError::kind), Err(CallErrorKind::UnknownAddress { .. })), "{after:?}");
        assert_eq!(rt.dead_letters(), 1);
    }
}

backend_test! {
    // checks G12: while one handler awaits, the service handles other messages (a callback
    // into it does not deadlock), and state is consistent across handlers.
    fn handlers_are_reentrant(rt) {
        rt.define(
            ServiceKind::new("ping", |_ctx, (): ()| async { Ok(0i64) })
                .command("ask", |ctx: Ctx<i64>, pong: Value| async move {
                    let pong = Address::try_from(pong)?;
                    ctx.with_state(|n| *n += 1);
                    let back = ctx.call(pong, "bounce", ctx.address()).await?;
                    Ok(ctx.with_state(|n| *n) + i64::try_from(back)?)
                })
                .command("inc", |ctx: Ctx<i64>, _v: Value| async move { Ok(ctx.with_state(|n| { *n += 10; *n })) }),
        )
        .unwrap();
        rt.define(ServiceKind::stateless("pong").command("bounce", |ctx, ping: Value| async move {
            Ok(ctx.call(Address::try_from(ping)?, "inc", ()).await?)
        }))
        .unwrap();
        let ping = rt.spawn("ping", ()).unwrap();
        let pong = rt.spawn("pong", ()).unwrap();
        assert_eq!(call(&rt, ping, "ask", pong).unwrap(), Value::from(22));
    }
}

backend_test! {
    // checks G8: deferred replies answer later from another handler; a dropped responder
    // still answers (with an error), so a call never hangs.
    fn deferred_replies(rt) {
        define_kinds(&rt);
        let gate = rt.spawn("gate", ()).unwrap();
        let (a, b, released, forgotten) = rt.block_on(move |ctx| async move {
            let a = ctx.call(gate, "wait", ());
            let b = ctx.call(gate, "wait", ());
            let released = ctx.call(gate, "release", "go").await;
            let forgotten = ctx.call(gate, "forget", ()).await;
            (a.await, b.await, released, forgotten)
        });
        assert_eq!(a.unwrap(), Value::from("go"));
        assert_eq!(b.unwrap(), Value::from("go"));
        assert_eq!(released.unwrap(), Value::from(2));
        assert!(matches!(forgotten.as_ref().map_err(CallError::kind), Err(CallErrorKind::NoReply { .. })), "{forgotten:?}");
    }
}

backend_test! {
    // checks G8: a timeout is a variant; the late answer is dropped and the service lives on.
    fn call_timeout(rt) {
        define_kinds(&rt);
        let echo = rt.spawn("echo", ()).unwrap();
        let (late, fine) = rt.block_on(move |ctx| async move {
            let late = ctx.call_timeout(echo, "slow", 200, Duration::from_millis(20)).await;
            let fine = ctx.call_timeout(echo, "slow", 1, Duration::from_secs(5)).await;
            (late, fine)
        });
        assert!(matches!(late.as_ref().map_err(CallError::kind), Err(CallErrorKind::Timeout { command, .. }) if command == "slow"), "{late:?}");
        assert_eq!(fine.unwrap(), Value::from("slept"));
    }
}

backend_test! {
    // checks G9: a monitor learns why a service exited; fork runs a task of the service.
    fn monitor_and_fork(rt) {
        define_kinds(&rt);
        let echo = rt.spawn("echo", ()).unwrap();
        let (reason, gone, forked) = rt.block_on(move |ctx| async move {
            let watch = ctx.monitor(echo);
            let (tx, rx) = futures::channel::oneshot::channel();
            ctx.fork(async move { let _ = tx.send(7); });
            let forked = rx.await.unwrap();
            ctx.call(echo, "quit", ()).await.unwrap();
            (watch.await, ctx.monitor(echo).await, forked)
        });
        assert_eq!(reason, ExitReason::Stopped);
        assert_eq!(gone, ExitReason::NoService);
        assert_eq!(forked, 7);
    }
}

#[test]
// checks G8: reserved and duplicate command names are refused when a kind is defined.
fn definitions_refuse_reserved_names() {
    let rt = common::threaded(1);
    let err = rt.define(ServiceKind::stateless("bad").command("_link", |_c, v: Value| async move { Ok(v) }));
    assert_eq!(
        err.unwrap_err().to_string(),
        "kind `bad` defines command `_link`: names starting with `_` are reserved for the runtime"
    );
    rt.define(ServiceKind::stateless("ok")).unwrap();
    assert!(rt.define(ServiceKind::stateless("ok")).is_err());
}

backend_test! {
    // checks G12: many calls in flight from one task, awaited through combinators that poll
    // their children selectively, all complete.
    fn calls_under_selective_combinators(rt) {
        define_kinds(&rt);
        let echo = rt.spawn("echo", ()).unwrap();
        let (sum, unordered) = rt.block_on(move |ctx| async move {
            let all = futures::future::join_all((0..100i64).map(|i| ctx.call(echo, "echo", i))).await;
            let sum: i64 = all.into_iter().map(|r| i64::try_from(r.unwrap()).unwrap()).sum();
            let mut pending: futures::stream::FuturesUnordered<_> = (0..50i64).map(|i| ctx.call(echo, "echo", i)).collect();
            let mut unordered = 0;
            while let Some(r) = futures::StreamExt::next(&mut pending).await {
                unordered += i64::try_from(r.unwrap()).unwrap();
            }
            (sum, unordered)
        });
        assert_eq!(sum, (0..100).sum::<i64>());
        assert_eq!(unordered, (0..50).sum::<i64>());
    }
}
