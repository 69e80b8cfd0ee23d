//! The dynamic-style example shown in README.md, kept here so it is compiled: `cargo run --example readme_dynamic`.

use skygroup::{Ctx, Runtime, ServiceKind, Value, anyhow};

/// A command handler: gets the service's context and the message args; its result is the reply.
async fn add(ctx: Ctx<i64>, by: Value) -> anyhow::Result<i64> {
    let by = i64::try_from(by)?;
    Ok(ctx.with_state(|n| {
        *n += by;
        *n
    }))
}

fn main() {
    let rt = Runtime::threaded(2); // or: skygroup_sim::Sim::new(seed).runtime()
    // A kind: an init that builds the state from the spawn args, plus named commands.
    let kind = ServiceKind::new("counter", |_ctx, start: i64| async move { Ok(start) });
    rt.define(kind.command("add", add)).unwrap();

    let counter = rt.spawn("counter", 10i64).unwrap();
    // block_on runs a task as a "main" service and waits for its result.
    let total = rt.block_on(move |ctx| async move {
        ctx.send(counter, "add", 1); // one-way, never blocks
        ctx.call(counter, "add", 2).await // request/response, handled after the send
    });
    assert_eq!(total.unwrap(), Value::from(13));
    println!("counter is 13");
}
