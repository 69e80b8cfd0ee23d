//! A service's creation and exit as a turn makes them: `newservice`, `monitor` and `kill` of
//! services that are idle when killed (whose exit may run at once, nested in the killer's turn,
//! `Shortcut::InlineExit`), on both backends (S4).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::backend_test;
use skygroup::{Address, CallError, ExitReason, Runtime, ServiceKind, Value};

/// A state that counts its drops, and panics in its drop if asked to.
struct Counted {
    drops: Arc<AtomicUsize>,
    panics: bool,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("the state's drop panicked");
        }
    }
}

/// Defines `idle` (state counted; `echo` answers its argument) and `fragile` (its state's drop
/// panics); returns the drop count.
fn define(rt: &Runtime) -> Arc<AtomicUsize> {
    let drops = Arc::new(AtomicUsize::new(0));
    for (name, panics) in [("idle", false), ("fragile", true)] {
        let drops = drops.clone();
        let kind = ServiceKind::new(name, move |_ctx, (): ()| {
            let drops = drops.clone();
            async move { Ok(Counted { drops, panics }) }
        })
        .command("echo", |_ctx, v: Value| async move { Ok(v) });
        rt.define(kind).unwrap();
    }
    drops
}

fn address(started: Result<Value, CallError>) -> Address {
    Address::try_from(started.expect("the service starts")).expect("an address")
}

backend_test! {
    // checks G9, G10, G7: a service a turn starts and kills while it is idle exits once: its
    // monitor hears `Killed`, its state is dropped once, it leaves the listing, a later call
    // fails and a later send is a dead letter.
    fn a_killed_idle_service_exits_once(rt) {
        let drops = define(&rt);
        let (reason, call) = rt.block_on(move |ctx| async move {
            let idle = address(ctx.newservice("idle", ()).await);
            assert_eq!(ctx.call(idle, "echo", 1).await.unwrap(), Value::from(1));
            let exit = ctx.monitor(idle);
            assert!(ctx.kill(idle), "a live service is killed");
            ctx.send(idle, "echo", 2);
            let call = ctx.call(idle, "echo", 3).await;
            (exit.await, call)
        });
        assert_eq!(reason, ExitReason::Killed);
        assert!(call.is_err(), "a call after the kill was answered: {call:?}");
        assert_eq!(rt.dead_letters(), 1);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert!(rt.services().iter().all(|s| s.kind != "idle"), "the killed service is still listed");
    }
}

backend_test! {
    // checks G9, G10, G14 (the spawn+stop benchmark's shape): a hundred services started, each
    // monitored and killed, all exit `Killed` and none is left.
    fn many_started_and_killed(rt) {
        let drops = define(&rt);
        let reasons = rt.block_on(move |ctx| async move {
            let starting: Vec<_> = (0..100).map(|_| ctx.newservice("idle", ())).collect();
            let mut addresses = Vec::new();
            for started in starting {
                addresses.push(address(started.await));
            }
            let exits: Vec<_> = addresses.iter().map(|&a| ctx.monitor(a)).collect();
            for &a in &addresses {
                assert!(ctx.kill(a));
            }
            let mut reasons = Vec::new();
            for exit in exits {
                reasons.push(exit.await);
            }
            reasons
        });
        assert!(reasons.iter().all(|r| *r == ExitReason::Killed), "{reasons:?}");
        assert_eq!(drops.load(Ordering::SeqCst), 100);
        assert!(rt.services().iter().all(|s| s.kind != "idle"));
    }
}

backend_test! {
    // checks G15, G9: a panic in the state's drop of a service killed by a turn is caught and
    // counted against that service; the killer's handler goes on and its monitor still hears.
    fn a_panicking_drop_at_a_kill_stays_with_its_service(rt) {
        let drops = define(&rt);
        let (reason, after) = rt.block_on(move |ctx| async move {
            let fragile = address(ctx.newservice("fragile", ()).await);
            let exit = ctx.monitor(fragile);
            ctx.kill(fragile);
            let reason = exit.await;
            let idle = address(ctx.newservice("idle", ()).await);
            (reason, ctx.call(idle, "echo", 4).await)
        });
        assert_eq!(reason, ExitReason::Killed);
        assert_eq!(after.unwrap(), Value::from(4));
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}

/// Defines `room` (long-lived, watched) and `player` (its `watch` command monitors the address
/// it is given, in a task of its own, until the player exits).
fn define_room(rt: &Runtime) {
    rt.define(ServiceKind::stateless("room")).unwrap();
    let player = ServiceKind::stateless("player").command("watch", |ctx, room: Value| async move {
        let room = Address::try_from(room)?;
        let exit = ctx.monitor(room);
        ctx.fork(async move {
            exit.await;
        });
        Ok(())
    });
    rt.define(player).unwrap();
}

fn monitors_of(rt: &Runtime, address: Address) -> usize {
    rt.services().iter().find(|s| s.address == address).expect("the watched service is listed").stats.monitors
}

backend_test! {
    // checks G9: a monitor lasts only as long as its watcher wants it. A long-lived service
    // watched by short-lived ones holds nothing for those that exited (a player's agent
    // watching its room), nor for a monitor dropped before it resolved (a watch given up on a
    // timeout); those still watching hear of its exit.
    fn a_monitor_ends_with_its_watcher(rt) {
        define_room(&rt);
        let room = rt.spawn("room", ()).unwrap();
        let players = rt.block_on(move |ctx| async move {
            let mut players = Vec::new();
            for _ in 0..20 {
                let player = address(ctx.newservice("player", ()).await);
                ctx.call(player, "watch", room).await.expect("the player watches the room");
                players.push(player);
            }
            players
        });
        assert_eq!(monitors_of(&rt, room), 20, "every player watches the room");
        rt.block_on(move |ctx| async move {
            let exits: Vec<_> = players[..15].iter().map(|&p| ctx.monitor(p)).collect();
            for &player in &players[..15] {
                assert!(ctx.kill(player));
            }
            for exit in exits {
                assert_eq!(exit.await, ExitReason::Killed);
            }
        });
        assert_eq!(monitors_of(&rt, room), 5, "the exited players still count as watching the room");
        rt.block_on(move |ctx| async move {
            drop(ctx.monitor(room));
            let given_up = ctx.monitor(room);
            futures::pin_mut!(given_up);
            let timeout = ctx.sleep(std::time::Duration::from_millis(1));
            futures::pin_mut!(timeout);
            assert!(matches!(futures::future::select(given_up, timeout).await, futures::future::Either::Right(_)));
        });
        assert_eq!(monitors_of(&rt, room), 5, "a dropped monitor still counts as watching the room");
        let heard = rt.block_on(move |ctx| async move {
            let exit = ctx.monitor(room);
            assert!(ctx.kill(room));
            exit.await
        });
        assert_eq!(heard, ExitReason::Killed);
        assert_eq!(rt.dead_letters(), 0);
    }
}
