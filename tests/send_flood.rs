//! A flood of sends to one service that turns busy midway: the first sends may run directly
//! (`core/direct.rs`), the rest queue once the receiver is claimed (the sender's busy path,
//! `push_send`), and none is lost, doubled or reordered (G6, G7). Both backends (S4).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::backend_test;
use skygroup::{Ctx, Runtime, ServiceKind, Value};

/// Notes sent per flood.
const FLOOD: i64 = 3_000;

/// `rec` records notes (`note`, async; `note_sync`, synchronous), turns busy on `poke`,
/// answers what it saw on `seen`, and
/// exits after handling the note `quit_at` (its init argument; -1: never). `handled` counts
/// the notes it handled.
fn define_rec(rt: &Runtime, handled: Arc<AtomicU64>) {
    let (async_count, sync_count) = (handled.clone(), handled);
    let kind = ServiceKind::new("rec", |_ctx, quit_at: i64| async move { Ok((quit_at, Vec::<i64>::new())) })
        .command("note", move |ctx: Ctx<(i64, Vec<i64>)>, v: Value| {
            let count = async_count.clone();
            async move {
                let n = i64::try_from(v)?;
                count.fetch_add(1, Ordering::Relaxed);
                let quit = ctx.with_state(|(quit_at, seen)| {
                    seen.push(n);
                    *quit_at == n
                });
                if quit {
                    ctx.exit();
                }
                Ok(())
            }
        })
        .command_sync("note_sync", move |(quit_at, seen): &mut (i64, Vec<i64>), ctx, v: Value| {
            let n = i64::try_from(v)?;
            sync_count.fetch_add(1, Ordering::Relaxed);
            seen.push(n);
            if *quit_at == n {
                ctx.exit();
            }
            Ok(())
        })
        // Forks a task (its envelope goes to its own mailbox) from inside its own handler: run
        // directly, it stays claimed (mail came in during the run) and is scheduled, so every
        // later note queues. An unhandled fork is no dead letter.
        .command("poke", |ctx: Ctx<(i64, Vec<i64>)>, _v: Value| async move {
            ctx.fork(async {});
            Ok(())
        })
        .command("seen", |ctx: Ctx<(i64, Vec<i64>)>, _v: Value| async move { Ok(ctx.with_state(|(_, s)| s.clone())) });
    rt.define(kind).unwrap();
}

/// Floods `rec` with `FLOOD` notes, alternating the async and the synchronous handler, with a
/// `poke` before the note `poke_at` (none if it is `FLOOD` or more).
async fn flood(ctx: &Ctx, rec: skygroup::Address, poke_at: i64) {
    for n in 0..FLOOD {
        if n == poke_at {
            ctx.send(rec, "poke", ());
        }
        ctx.send(rec, if n % 2 == 0 { "note" } else { "note_sync" }, n);
    }
}

backend_test! {
    // checks G6, G7: the notes of a flood that starts directly and turns queued when the
    // receiver's wake-up claims it are all handled, once each, in the order sent.
    fn a_flood_that_turns_queued_keeps_order(rt) {
        let handled = Arc::new(AtomicU64::new(0));
        define_rec(&rt, handled.clone());
        let seen = rt.block_on(|ctx| async move {
            let rec = ctx.newservice("rec", -1_i64).await?;
            let rec = skygroup::Address::try_from(rec)?;
            ctx.call(rec, "seen", ()).await?;
            flood(&ctx, rec, FLOOD / 2).await;
            Ok::<_, skygroup::anyhow::Error>(ctx.call(rec, "seen", ()).await?)
        });
        let want: Vec<i64> = (0..FLOOD).collect();
        assert_eq!(seen.unwrap(), Value::from(want));
        assert_eq!(handled.load(Ordering::Relaxed), FLOOD as u64);
    }
}

backend_test! {
    // checks G7: a flood to a receiver that exits partway (after the note `FLOOD / 2`): the
    // notes up to that one are handled, every later one is a dead letter (queued when it
    // exited, or bounced off its closed mailbox), none is handled after its exit or lost.
    fn a_flood_to_a_receiver_that_exits_counts_the_rest_as_dead_letters(rt) {
        let handled = Arc::new(AtomicU64::new(0));
        define_rec(&rt, handled.clone());
        // Poked before its exit (the rest queue, and are rejected when it exits), and not
        // poked (it exits in a note run directly; the rest bounce off its closed mailbox).
        for poke_at in [FLOOD / 4, FLOOD] {
            let (before, handled_before) = (rt.dead_letters(), handled.load(Ordering::Relaxed));
            rt.block_on(move |ctx| async move {
                let rec = ctx.newservice("rec", FLOOD / 2).await.unwrap();
                let rec = skygroup::Address::try_from(rec).unwrap();
                ctx.call(rec, "seen", ()).await.unwrap();
                let gone = ctx.monitor(rec);
                flood(&ctx, rec, poke_at).await;
                gone.await;
            });
            let kept = (FLOOD / 2 + 1) as u64;
            assert_eq!(handled.load(Ordering::Relaxed) - handled_before, kept, "poked at {poke_at}");
            assert_eq!(rt.dead_letters() - before, FLOOD as u64 - kept, "poked at {poke_at}");
        }
    }
}

/// `ans` answers each form of result from both handler forms: `()` (a unit answer, which the
/// direct path carries without a payload), a value, an error, a panic.
fn define_ans(rt: &Runtime) {
    let kind = ServiceKind::new("ans", |_ctx, ()| async move { Ok(0_i64) })
        .command("unit", |ctx: Ctx<i64>, _v: Value| async move {
            ctx.with_state(|n| *n += 1);
            Ok(())
        })
        .command("value", |ctx: Ctx<i64>, v: Value| async move { Ok(ctx.with_state(|n| *n) + i64::try_from(v)?) })
        .command("fail", |_ctx: Ctx<i64>, _v: Value| async move { Err::<(), _>(skygroup::anyhow::anyhow!("no")) })
        .command("boom", |_ctx: Ctx<i64>, _v: Value| async move {
            if true {
                panic!("boom");
            }
            Ok(())
        })
        .command_sync("unit_sync", |n: &mut i64, _ctx, _v: Value| {
            *n += 1;
            Ok(())
        })
        .command_sync("value_sync", |n: &mut i64, _ctx, v: Value| Ok(*n + i64::try_from(v)?))
        .command_sync("fail_sync", |_n: &mut i64, _ctx, _v: Value| Err::<(), _>(skygroup::anyhow::anyhow!("no")))
        .command_sync("boom_sync", |_n: &mut i64, _ctx, _v: Value| -> skygroup::anyhow::Result<()> { panic!("boom") });
    rt.define(kind).unwrap();
}

backend_test! {
    // checks G8: calls and sends to an idle service (run directly on the threaded backend,
    // where the simulator's seed says so in it) answer `()`, a value, an error and a panic as
    // the queued path would, for both handler forms; every message run to the end counts once
    // as handled, and every error or panic once as an error, whether its answer is kept or
    // dropped.
    fn direct_answers_of_every_kind_count_once(rt) {
        define_ans(&rt);
        let ans = rt.block_on(|ctx| async move {
            let ans = ctx.newservice("ans", ()).await.unwrap();
            let ans = skygroup::Address::try_from(ans).unwrap();
            for (round, suffix) in [(1_i64, ""), (2, "_sync")] {
                let name = |n: &str| format!("{n}{suffix}");
                assert_eq!(ctx.call(ans, name("unit"), ()).await.unwrap(), Value::Nil, "{suffix}");
                ctx.send(ans, name("unit"), ());
                // Two units a round so far, each counted in the state.
                let value = ctx.call(ans, name("value"), 40_i64).await.unwrap();
                assert_eq!(value, Value::from(40 + 2 * round), "{suffix}");
                ctx.send(ans, name("value"), 1_i64);
                assert!(ctx.call(ans, name("fail"), ()).await.is_err(), "{suffix}");
                ctx.send(ans, name("fail"), ());
                assert!(ctx.call(ans, name("boom"), ()).await.is_err(), "{suffix}");
                ctx.send(ans, name("boom"), ());
            }
            // Behind every send above: the sends are all handled once this answers.
            assert_eq!(ctx.call(ans, "value", 0_i64).await.unwrap(), Value::from(4_i64));
            ans
        });
        let stats = rt.services().into_iter().find(|s| s.address == ans).expect("ans lives").stats;
        // Run to the end: all but the panics (two a round).
        assert_eq!(stats.handled, 2 * (8 - 2) + 1);
        assert_eq!(stats.errors, 2 * 4);
    }
}

/// Sends each flood of [`a_flooded_service_runs_on_the_idle_worker_while_its_flood_goes_on`]
/// makes before it waits for the receiver.
const SPREAD_FLOOD: i64 = 2_000;

// checks G7 (threaded only: it is about which worker runs a service): a service that is
// scheduled from inside a turn that goes on flooding it (its direct run found mail of its own,
// or, without shortcuts, the flood's first push claimed it) is taken up by the idle worker,
// not left behind that turn until it ends. The sender's turn here never ends before the
// receiver has handled `mark` (sent by its first `add`), so left behind, it waits forever.
#[test]
fn a_flooded_service_runs_on_the_idle_worker_while_its_flood_goes_on() {
    let rt = common::threaded(2);
    let marked = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = marked.clone();
    let kind = ServiceKind::new("ctr", |_ctx, _args: ()| async { Ok(0_i64) })
        .command_sync("add", |count: &mut i64, ctx, _v: Value| {
            if *count == 0 {
                ctx.send(ctx.address(), "mark", ()); // mail of its own, during its own run
            }
            *count += 1;
            Ok(())
        })
        .command_sync("mark", move |_count: &mut i64, _ctx, _v: Value| {
            seen.store(true, Ordering::Release);
            Ok(())
        })
        .command_sync("get", |count: &mut i64, _ctx, _v: Value| Ok(*count));
    rt.define(kind).unwrap();
    let ctr = rt.spawn("ctr", ()).unwrap();
    let (waited, count) = rt.block_on(move |ctx| async move {
        ctx.call(ctr, "get", ()).await.unwrap();
        for _ in 0..SPREAD_FLOOD {
            ctx.send(ctr, "add", ());
        }
        // This turn goes on (no await) until the other worker has run `ctr`.
        let start = std::time::Instant::now();
        while !marked.load(Ordering::Acquire) && start.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::yield_now();
        }
        let waited = start.elapsed();
        (waited, ctx.call(ctr, "get", ()).await.unwrap())
    });
    assert!(waited < std::time::Duration::from_secs(10), "ctr waited behind its sender's turn");
    assert_eq!(count.as_int(), Some(SPREAD_FLOOD), "a send was lost");
}
