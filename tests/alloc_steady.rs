//! Allocations per message on the steady path, counted by a global allocator of this test binary
//! alone: an async `command` handler that does not await costs what a `command_sync` one does,
//! nothing (its future runs in a recycled slot, `core/slot.rs`), whether it runs directly on
//! the sender's thread (shortcuts on) or in its own turn (shortcuts off). Not timed.

use std::alloc::System;

use skygroup::{Address, Command, Ctx, NoError, Runtime, ServiceKind, Threaded, Value};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Messages before counting (buffers grow to their steady size), then counted.
const WARM: i64 = 2_000;
const COUNTED: i64 = 20_000;

#[derive(Clone, Copy, Debug)]
enum Form {
    Async,
    Sync,
    /// `on` handlers, asked and told (`ask`/`tell`).
    TypedAsync,
    /// `on_sync` handlers, asked and told.
    TypedSync,
}

struct Add;
impl Command for Add {
    const NAME: &'static str = "add";
    type Args = i64;
    type Reply = i64;
    type Error = NoError;
}

fn counter(form: Form) -> ServiceKind<i64> {
    let kind = ServiceKind::new("counter", |_ctx, (): ()| async { Ok(0i64) });
    match form {
        Form::Async => kind
            .command("add", |ctx: Ctx<i64>, by: Value| async move {
                let by = i64::try_from(by)?;
                Ok(ctx.with_state(|n| {
                    *n += by;
                    *n
                }))
            })
            .command("get", |ctx: Ctx<i64>, _v: Value| async move { Ok(ctx.with_state(|n| *n)) }),
        Form::Sync => kind
            .command_sync("add", |n: &mut i64, _ctx, by: Value| {
                *n += i64::try_from(by)?;
                Ok(*n)
            })
            .command_sync("get", |n: &mut i64, _ctx, _v: Value| Ok(*n)),
        Form::TypedAsync => kind
            .on(Add, |ctx: Ctx<i64>, by| async move {
                Ok(ctx.with_state(|n| {
                    *n += by;
                    *n
                }))
            })
            .command("get", |ctx: Ctx<i64>, _v: Value| async move { Ok(ctx.with_state(|n| *n)) }),
        Form::TypedSync => kind
            .on_sync(Add, |n: &mut i64, _ctx, by| {
                *n += by;
                Ok(*n)
            })
            .command_sync("get", |n: &mut i64, _ctx, _v: Value| Ok(*n)),
    }
}

async fn messages(ctx: &Ctx, counter: Address, typed: bool, calls: bool, n: i64) {
    for _ in 0..n {
        match (typed, calls) {
            (false, true) => drop(ctx.call(counter, "add", 1).await.expect("the counter answers")),
            (false, false) => ctx.send(counter, "add", 1),
            (true, true) => drop(ctx.ask::<Add>(counter, 1).await.expect("the counter answers")),
            (true, false) => ctx.tell::<Add>(counter, 1).expect("an int converts"),
        }
    }
    ctx.call(counter, "get", ()).await.expect("the counter answers");
}

/// Allocations (and reallocations) of the whole process while `COUNTED` calls or sends go to
/// a counter whose handlers have the form `form`.
fn allocations(form: Form, calls: bool, shortcuts: bool) -> usize {
    let rt = Runtime::new(Threaded::builder().workers(2).shortcuts(shortcuts).build());
    rt.define(counter(form)).unwrap();
    let counter = rt.spawn("counter", ()).unwrap();
    let typed = matches!(form, Form::TypedAsync | Form::TypedSync);
    let allocations = rt.block_on(move |ctx| async move {
        messages(&ctx, counter, typed, calls, WARM).await;
        let region = Region::new(GLOBAL);
        messages(&ctx, counter, typed, calls, COUNTED).await;
        let change = region.change();
        change.allocations + change.reallocations
    });
    let total = rt.block_on(move |ctx| async move { ctx.call(counter, "get", ()).await.unwrap() });
    assert_eq!(total, Value::from(WARM + COUNTED), "the counter missed messages");
    allocations
}

/// The counter is the whole process's: the tests of this binary count one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn check(form: Form, calls: bool, shortcuts: bool) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let what = if calls { "calls" } else { "sends" };
    let allocated = allocations(form, calls, shortcuts);
    println!("{form:?} {what}, shortcuts {shortcuts}: {allocated} allocations for {COUNTED} messages");
    // Nothing per message: a few at most (a mailbox buffer reaching a new length under a flood
    // that queues, ~15; a worker parking). One per message would be 20,000.
    assert!(
        allocated < COUNTED as usize / 100,
        "{form:?} {what} (shortcuts {shortcuts}) made {allocated} allocations for {COUNTED} messages"
    );
}

#[test]
// A non-awaiting async handler allocates nothing per message, on the direct path and in turns.
fn async_handler_steady_path_allocates_nothing() {
    for (calls, shortcuts) in [(true, true), (false, true), (true, false), (false, false)] {
        check(Form::Async, calls, shortcuts);
    }
}

#[test]
// The synchronous form, for comparison: nothing either.
fn sync_handler_steady_path_allocates_nothing() {
    for (calls, shortcuts) in [(true, true), (false, true), (true, false), (false, false)] {
        check(Form::Sync, calls, shortcuts);
    }
}

#[test]
// Typed commands (`ask`/`tell` of an `i64`, `on`/`on_sync` handlers): nothing either, the
// payload converting without serde's machinery (`core/typed_payload.rs`).
fn typed_handlers_steady_path_allocates_nothing() {
    for form in [Form::TypedAsync, Form::TypedSync] {
        for (calls, shortcuts) in [(true, true), (false, true), (true, false), (false, false)] {
            check(form, calls, shortcuts);
        }
    }
}
