//! The example shown in README.md, kept here so it is compiled: `cargo run --example readme`.

use serde::{Deserialize, Serialize};
use skygroup::{AskError, Command, Ctx, Runtime, ServiceKind, anyhow};

/// A command, declared once: its name, what it takes, what it answers, how it refuses.
struct Add;
impl Command for Add {
    const NAME: &'static str = "add";
    type Args = i64;
    type Reply = i64;
    type Error = TooMuch;
}

/// Add's domain error: the caller gets it back as this type.
#[derive(Debug, Serialize, Deserialize, thiserror::Error)]
#[error("adding {by} would pass the limit {limit}")]
struct TooMuch {
    by: i64,
    limit: i64,
}

/// A command handler: gets the service's context and the typed args; its result is the reply.
async fn add(ctx: Ctx<i64>, by: i64) -> anyhow::Result<i64> {
    if by > 100 {
        Err(TooMuch { by, limit: 100 })?
    }
    Ok(ctx.with_state(|n| {
        *n += by;
        *n
    }))
}

fn main() {
    let rt = Runtime::threaded(2); // or: skygroup_sim::Sim::new(seed).runtime()
    // A kind: an init that builds the state from the spawn args, plus commands.
    let kind = ServiceKind::new("counter", |_ctx, start: i64| async move { Ok(start) });
    rt.define(kind.on(Add, add)).unwrap();

    let counter = rt.spawn("counter", 10i64).unwrap();
    // block_on runs a task as a "main" service and waits for its result.
    let (total, refused) = rt.block_on(move |ctx| async move {
        ctx.tell::<Add>(counter, 1).unwrap(); // one-way, never blocks
        let total = ctx.ask::<Add>(counter, 2).await; // request/response, handled after the send
        (total, ctx.ask::<Add>(counter, 1000).await)
    });
    assert_eq!(total.unwrap(), 13); // an i64, checked by the compiler
    assert!(matches!(refused, Err(AskError::Rejected { error: TooMuch { by: 1000, .. }, .. })));
    println!("counter is 13");
}
