//! The threaded backend's run queues under load (threaded only: the races need worker threads).
//!
//! Many pairs of services ping-pong with calls while every pinger also sends one-way ticks to
//! the pongers of other pairs, so runnables keep moving between workers' own queues, the
//! injector (answers to the test's `block_on` caller) and steals. Each handler checks that no
//! other handler of its service runs at the same instant; each answer is checked against its
//! request, and the ticks sent are counted against the ticks received. Every call has a
//! timeout, so a lost wake-up fails the test instead of hanging it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use skygroup::{Address, Ctx, Runtime, ServiceKind, Value, anyhow};

const PAIRS: usize = 64;
const ROUNDS: i64 = 600;

/// A flag a handler raises for its whole run: finding it raised means two handlers of one
/// service run at once.
#[derive(Default, Clone)]
struct Busy(Arc<AtomicBool>);

impl Busy {
    fn enter(&self) -> anyhow::Result<BusyGuard<'_>> {
        anyhow::ensure!(!self.0.swap(true, Ordering::AcqRel), "two handlers of one service at once");
        Ok(BusyGuard(self))
    }
}

struct BusyGuard<'a>(&'a Busy);

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.0.store(false, Ordering::Release);
    }
}

#[derive(Default)]
struct Ponger {
    busy: Busy,
    ticks: i64,
}

struct Pinger {
    pongers: Vec<Address>,
    index: usize,
}

fn define(rt: &Runtime) {
    rt.define(
        ServiceKind::new("ponger", |_ctx, (): ()| async { Ok(Ponger::default()) })
            .command_sync("ping", |p: &mut Ponger, _ctx, v: Value| {
                let _busy = p.busy.enter()?;
                Ok(i64::try_from(v)? + 1)
            })
            .command_sync("tick", |p: &mut Ponger, _ctx, _v: Value| {
                let _busy = p.busy.enter()?;
                p.ticks += 1;
                Ok(())
            })
            .command_sync("ticks", |p: &mut Ponger, _ctx, _v: Value| Ok(p.ticks)),
    )
    .unwrap();
    rt.define(
        ServiceKind::new("pinger", |_ctx, (pongers, index): (Vec<Address>, i64)| async move {
            Ok(Pinger { pongers, index: usize::try_from(index)? })
        })
        .command("run", |ctx: Ctx<Pinger>, _v: Value| async move {
            let (pongers, index) = ctx.with_state(|p| (p.pongers.clone(), p.index));
            for i in 0..ROUNDS {
                let other = pongers[(index + 1 + i as usize) % pongers.len()];
                ctx.send(other, "tick", ());
                let answer =
                    i64::try_from(ctx.call_timeout(pongers[index], "ping", i, Duration::from_secs(10)).await?)?;
                anyhow::ensure!(answer == i + 1, "ping {i} answered {answer}");
            }
            Ok(())
        }),
    )
    .unwrap();
}

fn ping_pong_across_workers(workers: usize) {
    let rt = common::threaded(workers);
    define(&rt);
    let pongers: Vec<Address> = (0..PAIRS).map(|_| rt.spawn("ponger", ()).unwrap()).collect();
    let pingers: Vec<Address> = (0..PAIRS).map(|i| rt.spawn("pinger", (pongers.clone(), i as i64)).unwrap()).collect();
    let started = Instant::now();
    let results = rt.block_on(move |ctx| async move {
        let runs = pingers.iter().map(|&p| ctx.call_timeout(p, "run", (), Duration::from_secs(20)));
        futures::future::join_all(runs).await
    });
    for (i, result) in results.into_iter().enumerate() {
        result.unwrap_or_else(|err| panic!("pinger {i}, {workers} workers: {err}"));
    }
    let ticks = rt.block_on(move |ctx| async move {
        let counts = pongers.iter().map(|&p| ctx.call(p, "ticks", ()));
        futures::future::join_all(counts).await
    });
    let ticks: i64 = ticks.into_iter().map(|t| i64::try_from(t.unwrap()).unwrap()).sum();
    assert_eq!(ticks, PAIRS as i64 * ROUNDS, "{workers} workers: ticks lost or doubled");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    rt.shutdown();
}

// checks G12 (no two handlers of a service at once, so the queues never hand a service out
// twice) and G7 (no send or call vanishes between workers' queues, the injector and steals).
#[test]
fn ping_pong_across_two_workers_loses_nothing() {
    ping_pong_across_workers(2);
}

// The same with more workers than cores: more steals, more sleeps and wake-ups.
// checks G12, G7
#[test]
fn ping_pong_across_four_workers_loses_nothing() {
    ping_pong_across_workers(4);
}
