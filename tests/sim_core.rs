//! The simulator's own promises: same seed same trace (S1), virtual time, deadlock reports,
//! and that it explores more than one order.

use std::collections::BTreeSet;
use std::time::Duration;

use skygroup::{Address, ServiceKind, Value};
use skygroup_sim::{Sim, check_determinism};

fn ping_pong(sim: &Sim) -> Vec<Value> {
    let rt = sim.runtime();
    rt.define(ServiceKind::stateless("echo").command("echo", |_c, v: Value| async move { Ok(v) })).unwrap();
    rt.define(
        ServiceKind::new("log", |_c, (): ()| async { Ok(Vec::<Value>::new()) })
            .command("add", |ctx: skygroup::Ctx<Vec<Value>>, v: Value| async move {
                ctx.with_state(|l| l.push(v));
                Ok(())
            })
            .command(
                "all",
                |ctx: skygroup::Ctx<Vec<Value>>, _v: Value| async move { Ok(ctx.with_state(|l| l.clone())) },
            ),
    )
    .unwrap();
    rt.define(ServiceKind::stateless("writer").command("go", |ctx, v: Value| async move {
        let (log, tag): (Address, i64) = v.try_into()?;
        for i in 0..3 {
            ctx.send(log, "add", tag * 10 + i);
        }
        Ok(())
    }))
    .unwrap();
    let log = rt.spawn("log", ()).unwrap();
    let writers = [rt.spawn("writer", ()).unwrap(), rt.spawn("writer", ()).unwrap()];
    rt.block_on(move |ctx| async move {
        let a = ctx.call(writers[0], "go", (log, 1));
        let b = ctx.call(writers[1], "go", (log, 2));
        a.await.unwrap();
        b.await.unwrap();
        ctx.call(log, "all", ()).await.unwrap().try_into().unwrap()
    })
}

#[test]
// checks S1: one program and one seed give the same trace, byte for byte.
fn same_seed_same_trace() {
    for seed in 0..50 {
        check_determinism(seed, |sim| {
            ping_pong(sim);
        });
    }
}

#[test]
// checks S3, G6: two writers running "at once" interleave their sends, but each writer's own
// sends stay in order; more than one interleaving is reachable.
fn interleavings_keep_per_sender_order() {
    let mut seen = BTreeSet::new();
    for seed in 0..200 {
        let sim = Sim::new(seed);
        let log: Vec<i64> = ping_pong(&sim).into_iter().map(|v| i64::try_from(v).unwrap()).collect();
        for tag in [1, 2] {
            let mine: Vec<i64> = log.iter().copied().filter(|v| v / 10 == tag).collect();
            assert_eq!(mine, vec![tag * 10, tag * 10 + 1, tag * 10 + 2], "seed {seed}: {log:?}");
        }
        seen.insert(log);
    }
    assert!(seen.len() >= 3, "only {} interleavings in 200 seeds: {seen:?}", seen.len());
}

#[test]
// An hour of sleeps takes no real time: virtual time only. Each step of work also takes a
// virtual microsecond (time passes under load, S3), so the hour is a little more.
fn virtual_time_jumps() {
    let sim = Sim::new(1);
    let rt = sim.runtime();
    let started = std::time::Instant::now();
    let now = rt.block_on(|ctx| async move {
        for _ in 0..60 {
            ctx.sleep(Duration::from_secs(60)).await;
        }
        ctx.now()
    });
    let hour = Duration::from_secs(3600);
    assert!(now >= hour && now < hour + Duration::from_millis(1), "{now:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
// A call cycle with no timer pending is reported as a deadlock naming who waits on whom:
// `a`'s init calls `b`, whose handler calls back `a`, which handles nothing before its init
// has returned (G5).
fn deadlock_is_reported() {
    let sim = Sim::new(3);
    let rt = sim.runtime();
    rt.define(
        ServiceKind::new("a", |ctx, b: Address| async move {
            ctx.call(b, "go", ctx.address()).await?;
            Ok(())
        })
        .command("ping", |_c, _v: Value| async move { Ok(()) }),
    )
    .unwrap();
    rt.define(
        ServiceKind::stateless("b")
            .command("go", |ctx, a: Value| async move { Ok(ctx.call(Address::try_from(a)?, "ping", ()).await?) }),
    )
    .unwrap();
    let b = rt.spawn("b", ()).unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(move |ctx| async move { ctx.newservice("a", b).await })
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.starts_with("deadlock"), "{message}");
    assert!(message.contains(&format!("a :00000003 waits on b {b} for `go`")), "{message}");
    assert!(message.contains(&format!("b {b} waits on a :00000003 for `ping`")), "{message}");
    assert!(message.contains("_main :00000002 waits on a :00000003 for `_init`"), "{message}");
}

#[test]
// Injected faults (init failures, handler panics, crashes, late timers) turn into errors for
// the callers, never into hangs; the same seed injects the same faults (S1).
fn injected_faults_become_errors() {
    let (mut faulted_runs, mut failed_calls) = (0, 0);
    for seed in 0..100 {
        let run = || {
            let sim = Sim::builder(seed).faults(true).build();
            let rt = sim.runtime();
            rt.define(ServiceKind::stateless("echo").command("echo", |ctx, v: Value| async move {
                ctx.sleep(Duration::from_millis(1)).await;
                Ok(v)
            }))
            .unwrap();
            let results = rt.block_on(|ctx| async move {
                let mut results = Vec::new();
                for i in 0..10 {
                    let echo = ctx.newservice("echo", ()).await;
                    let reply = match echo {
                        Ok(v) => ctx.call(Address::try_from(v).unwrap(), "echo", i).await,
                        Err(e) => Err(e),
                    };
                    results.push(reply.is_ok());
                }
                results
            });
            (results, sim.trace())
        };
        let (results, trace) = run();
        assert_eq!((results.clone(), trace.clone()), run(), "seed {seed} is not deterministic with faults");
        faulted_runs += usize::from(trace.iter().any(|l| l.contains("fault ")));
        failed_calls += results.iter().filter(|ok| !**ok).count();
    }
    assert!(faulted_runs >= 10, "only {faulted_runs} of 100 runs injected a fault");
    assert!(failed_calls > 0, "faults never reached a caller as an error");
}
