//! The simulator reaches the orders the threaded backend's shortcuts produce, runs the
//! shortcuts' own code, and lets time pass while work is pending (S3).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use skygroup::executor::Shortcut;
use skygroup::{Address, Ctx, Runtime, ServiceKind, Value};
use skygroup_sim::Sim;

/// A recorder of notes, in arrival order.
fn define_log(rt: &Runtime) {
    rt.define(
        ServiceKind::new("log", |_ctx, (): ()| async { Ok(Vec::<Value>::new()) })
            .command_sync("note", |log: &mut Vec<Value>, _ctx, v: Value| {
                log.push(v);
                Ok(())
            })
            .command_sync("all", |log: &mut Vec<Value>, _ctx, _v: Value| Ok(log.clone())),
    )
    .unwrap();
}

/// B: on `x`, sends `z` to the log it is given; synchronous or async.
fn define_relay(rt: &Runtime, sync: bool) {
    let kind = ServiceKind::new("relay", |_ctx, (): ()| async { Ok(()) });
    let kind = if sync {
        kind.command_sync("x", |_s: &mut (), ctx, log: Value| {
            ctx.send(Address::try_from(log)?, "note", "z");
            Ok(())
        })
    } else {
        kind.command("x", |ctx: Ctx<()>, log: Value| async move {
            ctx.send(Address::try_from(log)?, "note", "z");
            Ok(())
        })
    };
    rt.define(kind).unwrap();
}

/// A sends x to B, then y to C; B's handler for x sends z to C. The notes C got, in order.
fn triangle(rt: &Runtime, sync: bool) -> Vec<Value> {
    define_log(rt);
    define_relay(rt, sync);
    let c = rt.spawn("log", ()).unwrap();
    let b = rt.spawn("relay", ()).unwrap();
    rt.block_on(move |ctx| async move {
        // Both started (an init may not have returned yet: a call waits for it, G5).
        ctx.call(c, "all", ()).await.unwrap();
        ctx.call(b, "ping", ()).await.ok();
        ctx.send(b, "x", c);
        ctx.send(c, "note", "y");
        loop {
            let notes: Vec<Value> = ctx.call(c, "all", ()).await.unwrap().try_into().unwrap();
            if notes.len() == 2 {
                return notes;
            }
            ctx.sleep(Duration::from_micros(5)).await;
        }
    })
}

fn orders_over_seeds(sync: bool) -> BTreeSet<String> {
    let mut orders = BTreeSet::new();
    for seed in 0..200 {
        let sim = Sim::new(seed);
        let notes = triangle(&sim.runtime(), sync);
        let violations = skygroup_sim::oracle::check(&sim.records());
        assert!(violations.is_empty(), "seed {seed}: {violations:?}");
        orders.insert(notes.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" "));
        if orders.len() == 2 {
            break;
        }
    }
    orders
}

#[test]
// checks S3: with B an idle `command_sync` service, C may get z before y (B's handler runs on
// A's stack) or after; the simulator reaches both.
fn triangle_both_orders_with_a_sync_relay() {
    let orders = orders_over_seeds(true);
    assert_eq!(orders, BTreeSet::from(["\"y\" \"z\"".to_owned(), "\"z\" \"y\"".to_owned()]));
}

#[test]
// checks S3: with B an async service, C may get z before y (B runs on another worker at once)
// or after; the simulator reaches both.
fn triangle_both_orders_with_an_async_relay() {
    let orders = orders_over_seeds(false);
    assert_eq!(orders, BTreeSet::from(["\"y\" \"z\"".to_owned(), "\"z\" \"y\"".to_owned()]));
}

#[test]
// checks S3 on the threaded backend: with the shortcuts on, a sync relay found idle handles x on
// A's stack, so C gets z first (the relay may still be finishing its previous turn, so a few
// rounds are tried); off, the notes arrive in one of the two legal orders.
fn triangle_on_threads() {
    let z_first = (0..20).any(|_| {
        let on = Runtime::new(skygroup::Threaded::builder().workers(2).build());
        triangle(&on, true) == vec![Value::from("z"), Value::from("y")]
    });
    assert!(z_first, "with the shortcuts on, z never came first");
    let off = Runtime::new(skygroup::Threaded::builder().workers(2).shortcuts(false).build());
    let notes = triangle(&off, true);
    assert_eq!(notes.len(), 2);
}

/// A program that gives every shortcut a chance: sync and async calls and sends to idle
/// services, services started by a handler, and a group's first use of a name.
fn every_shortcut(rt: &Runtime) {
    define_log(rt);
    define_relay(rt, false);
    rt.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) })).unwrap();
    rt.define(ServiceKind::stateless("starter").command("start", |ctx, _v: Value| async move {
        let echo = ctx.newservice("echo", ()).await?;
        let back = ctx.call(Address::try_from(echo)?, "echo", 1).await?;
        Ok(back)
    }))
    .unwrap();
    common::groups::define_group_kinds(rt);
    let c = rt.spawn("log", ()).unwrap();
    let b = rt.spawn("relay", ()).unwrap();
    let starter = rt.spawn("starter", ()).unwrap();
    rt.block_on(move |ctx| async move {
        ctx.call(starter, "start", ()).await.unwrap();
        ctx.send(b, "x", c);
        ctx.call(c, "note", 1).await.unwrap();
        ctx.send(c, "note", 2);
        ctx.call(b, "x", c).await.unwrap();
    });
    // A group's first use of names: queries race the start (resolver polled in place).
    let (_group, driver) = common::groups::group_with_driver(rt, "fidelity");
    common::groups::drive(rt, driver, "race", ("db", 3));
    common::groups::drive(rt, driver, "send_then_call", ("counter", 3));
}

#[test]
// checks S3: the shortcuts' code runs in the simulator: over a few hundred seeds, every kind of
// shortcut ran at least once (the simulator's own counters), and the oracle saw no violation.
fn every_shortcut_runs_in_the_simulator() {
    let mut ran = [0u64; Shortcut::ALL.len()];
    for seed in 0..300 {
        let sim = Sim::new(seed);
        every_shortcut(&sim.runtime());
        let violations = skygroup_sim::oracle::check(&sim.records());
        assert!(violations.is_empty(), "seed {seed}: {violations:?}");
        for (total, n) in ran.iter_mut().zip(sim.stats().shortcuts) {
            *total += n;
        }
    }
    for at in Shortcut::ALL {
        assert!(ran[at.index()] > 0, "the {} shortcut never ran: {ran:?}", at.name());
    }
}

#[test]
// checks S3: a timer can fire while other work is runnable. A call with a short timeout to a
// service with work queued times out in some seeds and is answered in others.
fn a_due_timer_fires_while_work_is_pending() {
    let mut outcomes = BTreeSet::new();
    let mut under_load = 0;
    for seed in 0..100 {
        let sim = Sim::new(seed);
        let rt = sim.runtime();
        define_log(&rt);
        let c = rt.spawn("log", ()).unwrap();
        let timed_out = rt.block_on(move |ctx| async move {
            ctx.call(c, "all", ()).await.unwrap();
            for i in 0..20 {
                ctx.send(c, "note", i);
            }
            ctx.call_timeout(c, "all", (), Duration::from_micros(3)).await.is_err()
        });
        under_load += sim.stats().timers_under_load;
        outcomes.insert(timed_out);
        if outcomes.len() == 2 && under_load > 0 {
            break;
        }
    }
    assert_eq!(outcomes, BTreeSet::from([false, true]), "timeouts under load: {under_load}");
    assert!(under_load > 0);
}
