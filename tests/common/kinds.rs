//! Kinds the cluster tests define on every node, threaded or simulated.

use skygroup::{Ctx, Runtime, ServiceKind, Value};

/// `log`: keeps what it is sent (`note`), in order; `seen` answers the list.
pub fn define_log(rt: &Runtime) {
    rt.define(
        ServiceKind::new("log", |_ctx, (): ()| async { Ok(Vec::<Value>::new()) })
            .command("note", |ctx: Ctx<Vec<Value>>, v: Value| async move {
                ctx.with_state(|s| s.push(v));
                Ok(())
            })
            .command("seen", |ctx: Ctx<Vec<Value>>, _v: Value| async move { Ok(ctx.with_state(|s| s.clone())) }),
    )
    .unwrap();
}

/// `echo` (answers its argument) and `log` (see [`define_log`]).
pub fn define_echo_and_log(rt: &Runtime) {
    rt.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) })).unwrap();
    define_log(rt);
}

/// `tally`: its state starts as its init's argument (an `i64`); `add` (synchronous) adds and
/// answers the sum, `peek` (async) answers it.
pub fn define_tally(rt: &Runtime) {
    rt.define(
        ServiceKind::new("tally", |_ctx, start: i64| async move { Ok(start) })
            .command_sync("add", |n: &mut i64, _ctx, v: Value| {
                *n += i64::try_from(v)?;
                Ok(Value::from(*n))
            })
            .command("peek", |ctx: Ctx<i64>, _v: Value| async move { Ok(ctx.with_state(|n| *n)) }),
    )
    .unwrap();
}
