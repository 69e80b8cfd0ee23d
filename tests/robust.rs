//! Panics in user `Drop` code never wedge the runtime; shutdown never hangs or leaks; timers
//! saturate and cancel (issue 11, items 7 and 8).
//!
//! Every body runs under `within`, so a regression shows as a failed test, not a hung one.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::backend_test;
use skygroup::{ExitReason, Runtime, RuntimeError, ServiceKind, Value};

/// Runs `body` on its own thread and fails the test if it has not returned within `secs`.
fn within<T: Send + 'static>(secs: u64, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
        let _ = tx.send(result);
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("hung: no result within {secs} s"),
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => String::new(),
    }
}

/// Pending once (waking itself), then ready.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            return std::task::Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// A value whose drop panics: user code the runtime drops.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("Bomb dropped");
    }
}

/// `bomb`: state whose drop panics; `hold` keeps its payload until the service exits.
/// `echo`: answers what it gets.
fn define(rt: &Runtime) {
    rt.define(
        ServiceKind::new("bomb", |_ctx, (): ()| async move { Ok(Bomb) })
            .command_sync("ping", |_bomb: &mut Bomb, _ctx, v: Value| Ok(v))
            .command("hold", |ctx, payload: Value| async move {
                ctx.sleep(Duration::from_secs(3600)).await;
                drop(payload);
                Ok(())
            }),
    )
    .unwrap();
    rt.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) })).unwrap();
    rt.define(ServiceKind::stateless("boot")).unwrap();
    rt.define(ServiceKind::stateless("slow_echo").command("echo", |_ctx, v: Value| async move {
        YieldOnce(false).await; // answered later, never on the caller's first poll
        Ok(v)
    }))
    .unwrap();
    rt.define(ServiceKind::stateless("late").command("answer", |ctx, _v: Value| async move {
        ctx.sleep(Duration::from_millis(20)).await;
        Ok(Value::opaque(Bomb))
    }))
    .unwrap();
}

/// `sink`: a synchronous command whose result panics when dropped (a send drops it). `client`:
/// sends `sink` one such command per message, from a handler.
fn define_charging(rt: &Runtime) {
    rt.define(
        ServiceKind::stateless("sink")
            .command_sync("make", |_s: &mut (), _ctx, _v: Value| Ok(Value::opaque(Bomb)))
            .command_sync("ping", |_s: &mut (), _ctx, v: Value| Ok(v)),
    )
    .unwrap();
    rt.define(ServiceKind::stateless("client").command("poke", |ctx, sink: Value| async move {
        ctx.send(skygroup::Address::try_from(sink)?, "make", ());
        Ok(())
    }))
    .unwrap();
}

/// The runtime still answers calls from many services (every worker alive) and shuts down.
fn still_works(rt: Runtime) {
    let echoes: Vec<_> = (0..8).map(|_| rt.spawn("echo", ()).unwrap()).collect();
    let answers = rt.block_on(move |ctx| async move {
        let calls = echoes.iter().map(|e| ctx.call(*e, "echo", 7));
        futures::future::join_all(calls).await
    });
    assert!(answers.into_iter().all(|a| a == Ok(Value::from(7))));
    rt.shutdown();
    assert!(rt.services().is_empty());
}

backend_test! {
    // checks G9, G14: a service whose state panics when dropped at exit still exits (its waiters
    // and monitors are told), and no worker thread dies of it: three in a row on two workers.
    fn state_drop_panic_keeps_workers(rt) {
        within(60, move || {
            define(&rt);
            for _ in 0..3 {
                let bomb = rt.spawn("bomb", ()).unwrap();
                let reason = rt.block_on(move |ctx| async move {
                    assert_eq!(ctx.call(bomb, "ping", 1).await, Ok(Value::from(1)));
                    let gone = ctx.monitor(bomb);
                    ctx.kill(bomb);
                    gone.await
                });
                assert_eq!(reason, ExitReason::Killed);
            }
            still_works(rt);
        });
    }
}

backend_test! {
    // checks G9, G14: a payload whose drop panics, dropped with a task cut off by exit, kills
    // no worker; the exit is still reported.
    fn task_payload_drop_panic_keeps_workers(rt) {
        within(60, move || {
            define(&rt);
            for _ in 0..3 {
                let bomb = rt.spawn("bomb", ()).unwrap();
                let reason = rt.block_on(move |ctx| async move {
                    ctx.send(bomb, "hold", Value::opaque(Bomb));
                    // G6: the ping is handled after `hold` started, so the payload is held.
                    assert_eq!(ctx.call(bomb, "ping", 1).await, Ok(Value::from(1)));
                    let gone = ctx.monitor(bomb);
                    ctx.kill(bomb);
                    gone.await
                });
                assert_eq!(reason, ExitReason::Killed);
            }
            still_works(rt);
        });
    }
}

backend_test! {
    // checks G8: an answer that arrives after its call timed out is dropped by the runtime; a
    // panic in its drop is counted against the service, not fatal to a worker.
    fn late_answer_drop_panic_keeps_workers(rt) {
        within(60, move || {
            define(&rt);
            let late = rt.spawn("late", ()).unwrap();
            for _ in 0..3 {
                let timed_out = rt.block_on(move |ctx| async move {
                    let answer = ctx.call_timeout(late, "answer", (), Duration::from_millis(1)).await;
                    ctx.sleep(Duration::from_millis(50)).await; // the late answer arrives meanwhile
                    answer
                });
                assert!(timed_out.is_err());
            }
            still_works(rt);
        });
    }
}

backend_test! {
    // checks G8: a panic in the drop of a send's result is charged to the receiver (whose
    // value it is), even when the receiver ran on the sender's stack (threaded shortcut); the
    // sender is not charged and both live on.
    fn send_result_drop_panic_charged_to_receiver(rt) {
        within(60, move || {
            define(&rt);
            define_charging(&rt);
            let (sink, client) = (rt.spawn("sink", ()).unwrap(), rt.spawn("client", ()).unwrap());
            rt.block_on(move |ctx| async move {
                for _ in 0..3 {
                    ctx.call(client, "poke", sink).await.unwrap();
                }
                ctx.call(client, "poke", sink).await.unwrap(); // both still answer
                // Issued after the client's last send (causally): handled after it.
                ctx.call(sink, "ping", ()).await.unwrap();
            });
            let errors = |address| rt.services().into_iter().find(|s| s.address == address).unwrap().stats.errors;
            assert_eq!(errors(sink), 4, "every dropped result counted against the receiver");
            assert_eq!(errors(client), 0, "nothing charged to the sender");
            still_works(rt);
        });
    }
}

backend_test! {
    // checks G14, G9: a group member whose state panics when dropped does not hang the group's
    // shutdown (its monitor is told before its state is dropped), and the group ends empty.
    fn group_shutdown_with_state_drop_panic(rt) {
        within(60, move || {
            define(&rt);
            for _ in 0..2 {
                let group = rt.newgroup("G", "boot", ()).unwrap();
                let g = group.clone();
                rt.block_on(move |ctx| async move { g.query(&ctx, "bomb").await }).unwrap();
                rt.shutdown_group(&group);
                assert!(group.services().is_empty());
            }
            still_works(rt);
        });
    }
}

backend_test! {
    // checks G14: after shutdown, block_on returns an error at once (try_block_on) and
    // block_on panics with that error's message instead of hanging.
    fn block_on_after_shutdown_is_an_error(rt) {
        within(30, move || {
            define(&rt);
            rt.shutdown();
            let tried = rt.try_block_on(|_ctx| async { 1 });
            assert_eq!(tried, Err(RuntimeError::Shutdown));
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(|_ctx| async { 1 })));
            let message = panic_text(&*panicked.expect_err("block_on after shutdown panics"));
            assert!(message.contains("shut down"), "{message}");
        });
    }
}

backend_test! {
    // checks G8 (a call's timeout) with no overflow: Duration::MAX waits forever and panics
    // nowhere; the other branch of a select wins.
    fn duration_max_saturates(rt) {
        within(30, move || {
            define(&rt);
            let echo = rt.spawn("echo", ()).unwrap();
            let (answer, slept) = rt.block_on(move |ctx| async move {
                ctx.sleep(Duration::from_millis(1)).await; // now > 0: now + MAX overflows
                let answer = ctx.call_timeout(echo, "echo", 3, Duration::MAX).await;
                let forever = ctx.sleep(Duration::MAX);
                let short = ctx.sleep(Duration::from_millis(1));
                futures::pin_mut!(forever, short);
                let slept = match futures::future::select(forever, short).await {
                    futures::future::Either::Left(_) => "forever",
                    futures::future::Either::Right(_) => "short",
                };
                (answer, slept)
            });
            assert_eq!(answer, Ok(Value::from(3)));
            assert_eq!(slept, "short");
        });
    }
}

/// Answered `call_timeout`s with a one-hour timeout, from one main task.
fn answered_call_timeouts(rt: &Runtime, calls: usize) {
    let echo = rt.spawn("slow_echo", ()).unwrap();
    rt.block_on(move |ctx| async move {
        for i in 0..calls {
            let answer = ctx.call_timeout(echo, "echo", i as i64, Duration::from_secs(3600)).await;
            assert_eq!(answer, Ok(Value::from(i as i64)));
        }
    });
}

#[test]
// checks G14: a timer is cancelled when its future is dropped: answered call_timeouts leave no
// timer behind on the threaded backend.
fn threaded_answered_call_timeouts_leave_no_timer() {
    within(120, || {
        let threaded = Arc::new(skygroup::Threaded::new(2));
        let rt = Runtime::with_executor(threaded.clone());
        define(&rt);
        answered_call_timeouts(&rt, 20_000);
        assert_eq!(threaded.pending_timers(), 0, "every answered call's timer is cancelled");
    });
}

#[test]
// checks G14, S3: in the simulator a cancelled timer is removed: it neither fires nor moves
// virtual time.
fn sim_answered_call_timeouts_leave_no_timer() {
    skygroup_sim::check("robust::sim_answered_call_timeouts_leave_no_timer", common::SIM_SEEDS, |sim| {
        let rt = sim.runtime();
        define(&rt);
        answered_call_timeouts(&rt, 200);
        assert_eq!(sim.pending_timers(), 0, "every answered call's timer is cancelled");
        rt.block_on(|ctx| async move { ctx.sleep(Duration::from_secs(7200)).await });
        let fired: usize =
            sim.records().iter().filter(|r| matches!(r.event, skygroup_sim::Happening::Timers { .. })).count();
        assert_eq!(fired, 1, "only the two-hour sleep fired");
    });
}

#[test]
// checks G14: a spawn racing with Runtime::shutdown on another thread is stopped too; no
// service is left live and nothing hangs (20 rounds).
fn shutdown_racing_spawns_leaves_nothing() {
    within(120, || {
        for round in 0..20 {
            let rt = Arc::new(Runtime::threaded(2));
            define(&rt);
            let spawned = Arc::new(AtomicUsize::new(0));
            let spawner = {
                let (rt, spawned) = (rt.clone(), spawned.clone());
                std::thread::spawn(move || {
                    while rt.spawn("echo", ()).is_ok() {
                        spawned.fetch_add(1, Ordering::Relaxed);
                    }
                })
            };
            while spawned.load(Ordering::Relaxed) < 50 {
                std::thread::yield_now();
            }
            rt.shutdown();
            spawner.join().unwrap();
            assert!(rt.services().is_empty(), "round {round}: {:?} left live", rt.services());
        }
    });
}

#[test]
// checks G14: block_on racing with shutdown returns (an error or its value), never hangs.
fn block_on_racing_shutdown_returns() {
    within(120, || {
        for _ in 0..20 {
            let rt = Arc::new(Runtime::threaded(2));
            define(&rt);
            let runner = {
                let rt = rt.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let _ = rt.try_block_on(|ctx| async move { ctx.sleep(Duration::from_micros(10)).await });
                    }
                })
            };
            std::thread::sleep(Duration::from_millis(1));
            rt.shutdown();
            runner.join().unwrap();
            assert!(rt.services().is_empty());
        }
    });
}

/// An async handler's future that is ready at once and panics when dropped (after its reply).
struct ReadyThenBomb {
    reply: Option<Value>,
    _bomb: Bomb,
}

impl std::future::Future for ReadyThenBomb {
    type Output = anyhow::Result<Value>;

    fn poll(mut self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Ok(self.reply.take().unwrap_or_default()))
    }
}

backend_test! {
    // checks G8: a panic in the drop of an async handler's finished future (dropped where it
    // was polled, in its recycled slot) is counted against the service; the reply still
    // reaches the caller, and the next message of that command gets a new slot.
    fn finished_future_drop_panic_keeps_the_reply(rt) {
        within(60, move || {
            rt.define(ServiceKind::stateless("fuse").command("light", |_ctx, v: Value| ReadyThenBomb {
                reply: Some(v),
                _bomb: Bomb,
            }))
            .unwrap();
            let fuse = rt.spawn("fuse", ()).unwrap();
            let answers = rt.block_on(move |ctx| async move {
                let mut answers = Vec::new();
                for i in 0..3 {
                    answers.push(ctx.call(fuse, "light", i).await);
                }
                ctx.send(fuse, "light", 3);
                answers.push(ctx.call(fuse, "light", 4).await);
                answers
            });
            assert_eq!(answers, (0..5).filter(|i| *i != 3).map(|i| Ok(Value::from(i))).collect::<Vec<_>>());
            let stats = rt.services().into_iter().find(|s| s.address == fuse).unwrap().stats;
            assert_eq!(stats.errors, 5, "every finished future's panicking drop counted");
            assert_eq!(stats.handled, 5);
            define(&rt);
            still_works(rt);
        });
    }
}
