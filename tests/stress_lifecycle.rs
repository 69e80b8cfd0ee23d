//! Starts, exits and monitors racing on the threaded backend's workers (threaded only: the
//! races need worker threads).
//!
//! Spawners on both workers start and stop services in a loop, so the cells of exited services
//! are kept and reused (`kept_cells.rs`) by whichever worker starts next, while watchers watch
//! a target and give up watches as it is killed. Each new service must start afresh (its
//! state from its own init, its counters at zero); each watch either hears the exit or is given
//! up, and none outlives its watcher. Every wait has a timeout, so a lost answer fails the test
//! instead of hanging it.

mod common;

use std::time::Duration;

use skygroup::{Address, Ctx, ExitReason, Runtime, ServiceKind, Value, anyhow};

const SPAWNERS: i64 = 4;
const ROUNDS: i64 = 300;
const WATCHERS: usize = 8;
const LONG: Duration = Duration::from_secs(10);

fn define(rt: &Runtime) {
    common::define_tally(rt);
    // Starts a tally per round, checks it started afresh, kills it and hears its exit.
    rt.define(ServiceKind::stateless("spawner").command("churn", |ctx, v: Value| async move {
        let id = i64::try_from(v)?;
        let mut seen = Vec::new();
        for round in 0..ROUNDS {
            let start = id * 1_000_000 + round;
            let tally = Address::try_from(ctx.newservice("tally", start).await?)?;
            anyhow::ensure!(ctx.call(tally, "peek", ()).await? == Value::from(start), "a reused cell kept a state");
            anyhow::ensure!(ctx.call(tally, "add", 1).await? == Value::from(start + 1), "add");
            let exit = ctx.monitor(tally);
            anyhow::ensure!(ctx.kill(tally), "the tally vanished before its kill");
            anyhow::ensure!(exit.await == ExitReason::Killed, "the tally's monitor heard no kill");
            seen.push(tally.raw() as i64);
        }
        Ok(Value::from(seen))
    }))
    .unwrap();
    rt.define(ServiceKind::stateless("target")).unwrap();
    // Watches `target` and gives the watch up, again and again, then watches it to its end.
    // A long-lived room is watched too: those watches are all given up, so none may stay.
    rt.define(ServiceKind::stateless("watcher").command("watch", |ctx, v: Value| async move {
        let (target, room) = <(Address, Address)>::try_from(v)?;
        for _ in 0..50 {
            drop(ctx.monitor(target));
            let kept_a_while = ctx.monitor(room);
            yield_turn(&ctx).await;
            drop(kept_a_while);
        }
        let end = ctx.monitor(target);
        futures::pin_mut!(end);
        let timeout = ctx.sleep(LONG);
        futures::pin_mut!(timeout);
        match futures::future::select(end, timeout).await {
            futures::future::Either::Left((reason, _)) => Ok(Value::from(format!("{reason:?}"))),
            futures::future::Either::Right(_) => anyhow::bail!("the watch never heard the target's exit"),
        }
    }))
    .unwrap();
}

/// Lets the other services run between two watches (a zero-length sleep is a turn boundary).
async fn yield_turn(ctx: &Ctx) {
    ctx.sleep(Duration::ZERO).await;
}

#[test]
// checks G3, G9, G11 under load: services started on either worker after others exited (their
// cells reused) start afresh, with new addresses, and each exit is heard.
fn starts_and_exits_on_both_workers_reuse_cells_safely() {
    let rt = common::threaded(2);
    define(&rt);
    let spawners: Vec<Address> = (0..SPAWNERS).map(|_| rt.spawn("spawner", ()).unwrap()).collect();
    let results = rt.block_on(move |ctx| async move {
        let churns = spawners.iter().enumerate().map(|(i, &s)| ctx.call_timeout(s, "churn", i as i64, LONG));
        futures::future::join_all(churns).await
    });
    let mut addresses = Vec::new();
    for result in results {
        let Value::List(seen) = result.expect("a spawner's churn") else { panic!("a list of addresses") };
        addresses.extend(seen.iter().map(|a| a.as_int().expect("an address")));
    }
    let count = addresses.len();
    addresses.sort_unstable();
    addresses.dedup();
    assert_eq!(addresses.len(), count, "an address was handed out twice");
    assert_eq!(count as i64, SPAWNERS * ROUNDS);
    assert!(rt.services().iter().all(|s| s.kind != "tally"), "a tally outlived its kill");
    let fresh = rt.spawn("tally", 5i64).unwrap();
    assert_eq!(rt.block_on(move |ctx| async move { ctx.call(fresh, "peek", ()).await }).unwrap(), Value::from(5));
    let stats = rt.services().into_iter().find(|s| s.address == fresh).expect("listed").stats;
    assert_eq!((stats.handled, stats.errors, stats.dead_letters, stats.monitors), (1, 0, 0, 0), "its one peek only");
}

#[test]
// checks G9 under load: watches given up while the watched service is killed on the other
// worker neither hang nor stay on any list (a long-lived room's included); the last watch of
// each watcher hears the exit.
fn watches_given_up_while_the_target_exits() {
    let rt = common::threaded(2);
    define(&rt);
    let room = rt.spawn("target", ()).unwrap();
    for _ in 0..20 {
        let target = rt.spawn("target", ()).unwrap();
        let watchers: Vec<Address> = (0..WATCHERS).map(|_| rt.spawn("watcher", ()).unwrap()).collect();
        let heard = rt.block_on(move |ctx| async move {
            let watches = watchers.iter().map(|&w| ctx.call_timeout(w, "watch", (target, room), LONG));
            let all = futures::future::join_all(watches);
            futures::pin_mut!(all);
            let kill = async {
                ctx.sleep(Duration::from_micros(200)).await;
                assert!(ctx.kill(target), "the target vanished before its kill");
            };
            futures::join!(all, kill).0
        });
        for reason in heard {
            let reason = reason.expect("a watch ended");
            assert!(["Killed", "NoService"].contains(&reason.as_str().expect("a reason")), "{reason:?}");
        }
    }
    let left: usize = rt.services().iter().map(|s| s.stats.monitors).sum();
    assert_eq!(left, 0, "watches given up stayed on the room's list");
}
