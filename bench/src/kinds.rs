//! The service kinds the skygroup workloads (threaded and simulated) are built from.

use skygroup::{Address, Ctx, ServiceKind, Value};

use crate::typed_side::Form;

/// Replies with its argument. Its handlers never await, so they are synchronous commands: the
/// idiom for such handlers (see `ServiceKind::command_sync`).
pub fn echo() -> ServiceKind {
    ServiceKind::stateless("echo").command_sync("echo", |_state, _ctx, v: Value| Ok(v))
}

/// `echo` with handlers of the given form: the peers benchmark measures both.
pub fn echo_in(form: Form) -> ServiceKind {
    match form {
        Form::Sync => echo(),
        Form::Async => ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) }),
    }
}

/// `counter` with handlers of the given form: the peers benchmark measures both.
pub fn counter_in(form: Form) -> ServiceKind<Counter> {
    match form {
        Form::Sync => counter(),
        Form::Async => ServiceKind::new("counter", |_ctx, _args: ()| async { Ok(Counter { n: 0 }) })
            .command("add", |ctx: Ctx<Counter>, _v: Value| async move {
                ctx.with_state(|c| c.n += 1);
                Ok(())
            })
            .command("get", |ctx: Ctx<Counter>, _v: Value| async move { Ok(ctx.with_state(|c| c.n)) }),
    }
}

/// The counter service's state.
pub struct Counter {
    n: i64,
}

/// Counts `add` messages; `get` answers the count.
pub fn counter() -> ServiceKind<Counter> {
    ServiceKind::new("counter", |_ctx, _args: ()| async { Ok(Counter { n: 0 }) })
        .command_sync("add", |c: &mut Counter, _ctx, _v: Value| {
            c.n += 1;
            Ok(())
        })
        .command_sync("get", |c: &mut Counter, _ctx, _v: Value| Ok(c.n))
}

/// `run (counter, n)` sends `add` to `counter` n times, then calls the counter's `get`
/// before replying: per-sender order means every one of its adds has been handled by then.
pub fn producer() -> ServiceKind {
    ServiceKind::stateless("producer").command("run", |ctx, args: Value| async move {
        let (counter, n): (Address, i64) = args.try_into()?;
        for _ in 0..n {
            ctx.send(counter, "add", ());
        }
        ctx.call(counter, "get", ()).await?;
        Ok(())
    })
}

/// No state, no commands: only spawned and stopped.
pub fn noop() -> ServiceKind {
    ServiceKind::stateless("noop")
}

/// Sequential calls to `echo`, checking each answer (the simulator scenario and workload 1).
pub async fn ping_pong(ctx: Ctx, echo: Address, calls: u64) {
    for i in 0..calls as i64 {
        let reply = ctx.call(echo, "echo", i).await.expect("echo answers");
        assert_eq!(reply.as_int(), Some(i), "echo answered the wrong value");
    }
}
