//! First uses finished on one thread. On the threaded backend a member's query of a name that is
//! not started runs the registry's turn, the start and the new service's init right there when
//! all are idle, so the query is ready before it is awaited. These tests hold that path to the
//! same contract as a first use through the run queue (G2, G3, G5, G12), and check that inits
//! nested deeper than the inline limit, and an init that calls back into its spawner, still
//! finish on both backends.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::backend_test;
use common::groups::define_flaky;
use futures::FutureExt;
use skygroup::{Address, Ctx, Runtime, ServiceKind, Value, anyhow};

/// Kinds for the group tests: `db` counts its starts, `flaky` fails its first start, and a
/// `member` asks for names.
fn define_kinds(rt: &Runtime) -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let db_starts = Arc::new(AtomicUsize::new(0));
    rt.define(ServiceKind::stateless("boot")).unwrap();
    let counted = db_starts.clone();
    rt.define(ServiceKind::new("db", move |_ctx, (): ()| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Ok(()) }
    }))
    .unwrap();
    let flaky_starts = define_flaky(rt);
    rt.define(
        ServiceKind::stateless("member")
            // 100 queries of one name, each polled once before the next is made: how many were
            // ready at once, and how many distinct addresses all answers gave.
            .command("at_once", |ctx, name: Value| async move {
                let name = String::try_from(name)?;
                let (mut ready, mut addresses) = (0i64, Vec::new());
                for _ in 0..100 {
                    let mut query = ctx.query(&name).boxed();
                    let answer = match (&mut query).now_or_never() {
                        Some(answer) => {
                            ready += 1;
                            answer
                        }
                        None => query.await,
                    };
                    addresses.push(answer?);
                }
                addresses.dedup();
                Ok((ready, addresses.len() as i64))
            })
            // Queries `name` until it answers; how many queries that took.
            .command("until_up", |ctx, name: Value| async move {
                let name = String::try_from(name)?;
                for attempt in 1..=10i64 {
                    if ctx.query(&name).await.is_ok() {
                        return Ok(attempt);
                    }
                }
                anyhow::bail!("`{name}` never started")
            }),
    )
    .unwrap();
    (db_starts, flaky_starts)
}

fn member(rt: &Runtime) -> Address {
    let group = rt.newgroup("G", "boot", ()).unwrap();
    rt.block_on(move |ctx| async move { group.query(&ctx, "member").await }).unwrap()
}

fn call(rt: &Runtime, to: Address, command: &'static str, args: impl Into<Value>) -> Value {
    let args = args.into();
    rt.block_on(move |ctx| async move { ctx.call(to, command, args).await }).unwrap()
}

// checks G2 on the threaded backend's inline path: a member's query of a name not started yet is
// answered before it is awaited (registry turn, start and init all on the member's thread), it
// starts the kind once, and every later query agrees. The registry may still be busy with the
// member's own start when the first name is asked for, so fresh names are tried until one finds
// every service on the way idle (the first normally does).
#[test]
fn first_use_is_answered_before_it_is_awaited() {
    let rt = Runtime::threaded(2);
    let (db_starts, _) = define_kinds(&rt);
    let member = member(&rt);
    let mut all_ready = false;
    for attempt in 0..10 {
        let kind = format!("db{attempt}");
        rt.define(ServiceKind::new(kind.clone(), |_ctx, (): ()| async { Ok(()) })).unwrap();
        let (ready, distinct): (i64, i64) = call(&rt, member, "at_once", kind).try_into().unwrap();
        assert_eq!(distinct, 1, "100 queries of one name got different addresses");
        if ready == 100 {
            all_ready = true;
            break;
        }
    }
    assert!(all_ready, "no first use was answered at once in 10 tries");
    let (ready, distinct): (i64, i64) = call(&rt, member, "at_once", "db").try_into().unwrap();
    assert_eq!((distinct, db_starts.load(Ordering::SeqCst)), (1, 1));
    assert!(ready >= 99, "a bound name is answered at once ({ready} of 100)");
}

/// Polls `query` once; true if it was answered then.
fn ready_at_once(query: impl std::future::Future<Output = Result<Address, skygroup::CallError>>) -> bool {
    matches!(query.now_or_never(), Some(Ok(_)))
}

// checks G2 on the inline path, first uses back to back: a first use answered at once leaves the
// registry idle (nothing of that start left in its mailbox), so the next first use made in the
// same turn is answered at once too, from a member (`ctx.query`) and from a manager outside the
// group (`Group::query`). The registry may still be busy with earlier work when a pair starts,
// so pairs of fresh names are tried until the first of a pair is answered at once.
#[test]
fn a_first_use_answered_at_once_leaves_the_registry_idle() {
    let rt = Runtime::threaded(2);
    define_kinds(&rt);
    rt.define(ServiceKind::stateless("pair").command("first_uses", |ctx, n: Value| async move {
        let n = i64::try_from(n)?;
        let first = ready_at_once(ctx.query(&format!("m{n}a")));
        Ok((first, first && ready_at_once(ctx.query(&format!("m{n}b")))))
    }))
    .unwrap();
    for n in 0..10 {
        for side in ["a", "b"] {
            rt.define(ServiceKind::new(format!("m{n}{side}"), |_ctx, (): ()| async { Ok(()) })).unwrap();
            rt.define(ServiceKind::new(format!("g{n}{side}"), |_ctx, (): ()| async { Ok(()) })).unwrap();
        }
    }
    let group = rt.newgroup("G", "boot", ()).unwrap();
    let g = group.clone();
    let pair = rt.block_on(move |ctx| async move { g.query(&ctx, "pair").await }).unwrap();
    let (mut member_pairs, mut manager_pairs) = (0, 0);
    for n in 0..10i64 {
        let (first, second): (bool, bool) = call(&rt, pair, "first_uses", n).try_into().unwrap();
        if first {
            assert!(second, "a member's second first use in one turn waited (pair {n})");
            member_pairs += 1;
        }
        let g = group.clone();
        let (first, second) = rt.block_on(move |ctx| async move {
            let first = ready_at_once(g.query(&ctx, &format!("g{n}a")));
            (first, first && ready_at_once(g.query(&ctx, &format!("g{n}b"))))
        });
        if first {
            assert!(second, "a manager's second first use in one turn waited (pair {n})");
            manager_pairs += 1;
        }
    }
    assert!(member_pairs > 0 && manager_pairs > 0, "no first use was answered at once in 10 tries");
}

backend_test! {
    // checks G2, G3: the same queries on both backends agree (one start, one address); a start
    // that fails is a failed first use, and the next query is a later first use that starts it
    // again (also when the failure was met inline, where it is settled one poll later).
    fn inline_first_uses_keep_the_start_rules(rt) {
        let (db_starts, flaky_starts) = define_kinds(&rt);
        let member = member(&rt);
        let (_, distinct): (i64, i64) = call(&rt, member, "at_once", "db").try_into().unwrap();
        assert_eq!((distinct, db_starts.load(Ordering::SeqCst)), (1, 1));
        assert_eq!(call(&rt, member, "until_up", "flaky"), Value::from(2));
        assert_eq!(flaky_starts.load(Ordering::SeqCst), 2);
    }
}

/// `link n` starts `link n-1` in its init (down to 0) and records when its init ends.
fn define_link(rt: &Runtime) -> Arc<Mutex<Vec<i64>>> {
    let ended = Arc::new(Mutex::new(Vec::new()));
    let record = ended.clone();
    rt.define(ServiceKind::new("link", move |ctx: Ctx<i64>, n: i64| {
        let record = record.clone();
        async move {
            if n > 0 {
                ctx.newservice("link", n - 1).await?;
            }
            record.lock().unwrap().push(n);
            Ok(n)
        }
    }))
    .unwrap();
    ended
}

backend_test! {
    // checks G5 with nesting deeper than the inline limit: each init returns only after the
    // init it started, so they end innermost first.
    fn nested_inits_end_innermost_first(rt) {
        let ended = define_link(&rt);
        let top = rt.block_on(|ctx| async move { ctx.newservice("link", 8i64).await });
        assert!(matches!(top, Ok(Value::Address(_))), "{top:?}");
        assert_eq!(*ended.lock().unwrap(), (0..=8).collect::<Vec<i64>>());
    }
}

backend_test! {
    // checks G12 and reentrancy: a new service whose init calls back into the service that
    // started it (still inside the handler that awaits that start) gets its answer; the
    // spawner's handler then finishes. Nothing deadlocks when the init runs inline.
    fn init_may_call_its_spawner(rt) {
        rt.define(
            ServiceKind::new("child", |ctx: Ctx<String>, parent: Address| async move {
                let hello = ctx.call(parent, "hello", ()).await?;
                Ok(String::try_from(hello)?)
            })
            .command("greeting", |ctx: Ctx<String>, _v: Value| async move { Ok(ctx.with_state(|s| s.clone())) }),
        )
        .unwrap();
        rt.define(
            ServiceKind::stateless("parent")
                .command_sync("hello", |_state: &mut (), _ctx, _v: Value| Ok("hi from parent"))
                .command("spawn_child", |ctx, _v: Value| async move {
                    let child = Address::try_from(ctx.newservice("child", ctx.address()).await?)?;
                    Ok(ctx.call(child, "greeting", ()).await?)
                }),
        )
        .unwrap();
        let parent = rt.spawn("parent", ()).unwrap();
        assert_eq!(call(&rt, parent, "spawn_child", ()), Value::from("hi from parent"));
    }
}
