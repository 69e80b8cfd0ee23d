//! `Handle`: reaching services from outside the runtime (plain threads, other async runtimes)
//! without blocking. Its messages keep issue order per target (H1) and fail clearly after
//! shutdown (H2). Both backends where the body drives the handle from a service (S4); the
//! plain-thread tests are threaded only (the simulator runs only inside its own `block_on`).

mod common;

use std::time::Duration;

use common::backend_test;
use skygroup::{CallErrorKind, Ctx, Runtime, ServiceKind, Value, anyhow};

/// `slowlog` records the numbers it gets, after an init slow enough that by-name messages wait
/// for its lazy start; `echo` answers its argument; `hang` never answers `wait`; `broken`'s
/// init fails.
fn define_kinds(rt: &Runtime) {
    rt.define(ServiceKind::stateless("boot")).unwrap();
    rt.define(
        ServiceKind::new("slowlog", |ctx: Ctx<Vec<i64>>, (): ()| async move {
            ctx.sleep(Duration::from_millis(2)).await;
            Ok(Vec::<i64>::new())
        })
        .command("note", |ctx: Ctx<Vec<i64>>, v: Value| async move {
            let n = i64::try_from(v)?;
            ctx.with_state(|s| s.push(n));
            Ok(n)
        })
        .command("seen", |ctx: Ctx<Vec<i64>>, _v: Value| async move { Ok(ctx.with_state(|s| s.clone())) }),
    )
    .unwrap();
    rt.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) })).unwrap();
    rt.define(ServiceKind::stateless("hang").command("wait", |ctx, _v: Value| async move {
        ctx.sleep(Duration::MAX).await;
        Ok(())
    }))
    .unwrap();
    rt.define(ServiceKind::new("broken", |_ctx, (): ()| async { anyhow::bail!("disk full") as anyhow::Result<()> }))
        .unwrap();
}

fn numbers(v: Value) -> Vec<i64> {
    Vec::<Value>::try_from(v).unwrap().into_iter().map(|n| i64::try_from(n).unwrap()).collect()
}

backend_test! {
    // checks H1, G6: by name (before the name is started, while it starts) and by address,
    // calls and sends mixed, arrive in issue order.
    fn handle_messages_keep_issue_order(rt) {
        define_kinds(&rt);
        let group = rt.newgroup("server", "boot", ()).unwrap();
        let handle = rt.handle();
        let seen = rt.block_on(move |_ctx| async move {
            handle.send_in(&group, "slowlog", "note", 0).unwrap();
            let one = handle.call_in(&group, "slowlog", "note", 1);
            let log = handle.query(&group, "slowlog");
            handle.send_in(&group, "slowlog", "note", 2).unwrap();
            let log = log.await.unwrap();
            handle.send(log, "note", 3).unwrap();
            let four = handle.call_in(&group, "slowlog", "note", 4);
            handle.send_in(&group, "slowlog", "note", 5).unwrap();
            let six = handle.call(log, "note", 6);
            handle.send(log, "note", 7).unwrap();
            let seen = handle.call(log, "seen", ()).await.unwrap();
            let answers = (one.await.unwrap(), four.await.unwrap(), six.await.unwrap());
            assert_eq!(answers, (Value::from(1), Value::from(4), Value::from(6)));
            seen
        });
        assert_eq!(numbers(seen), (0..8).collect::<Vec<_>>());
    }
}

backend_test! {
    // checks G3, G7: a handle's by-name message to a name that cannot start: the call gets the
    // init's cause, the send is a dead letter; the handle keeps working.
    fn handle_failed_start(rt) {
        define_kinds(&rt);
        let group = rt.newgroup("server", "boot", ()).unwrap();
        let handle = rt.handle();
        let before = rt.dead_letters();
        let (call, echoed) = rt.block_on(move |_ctx| async move {
            handle.send_in(&group, "broken", "anything", ()).unwrap();
            let call = handle.call_in(&group, "broken", "anything", ()).await;
            let echoed = handle.call_in(&group, "echo", "echo", "still here").await;
            (call, echoed)
        });
        let err = call.unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(echoed.unwrap(), Value::from("still here"));
        assert_eq!(rt.dead_letters(), before + 1);
    }
}

backend_test! {
    // checks H2, G14: after shutdown every operation of a handle, old or new, fails at once.
    fn handle_after_shutdown_fails_at_once(rt) {
        define_kinds(&rt);
        let group = rt.newgroup("server", "boot", ()).unwrap();
        let echo = rt.spawn("echo", ()).unwrap();
        let old = rt.handle();
        rt.shutdown();
        for handle in [old, rt.handle()] {
            let call = futures::executor::block_on(handle.call(echo, "echo", 1)).unwrap_err();
            assert!(matches!(call.kind(), CallErrorKind::Shutdown { .. }), "{call}");
            let named = futures::executor::block_on(handle.call_in(&group, "echo", "echo", 1)).unwrap_err();
            assert!(matches!(named.kind(), CallErrorKind::Shutdown { .. }), "{named}");
            let query = futures::executor::block_on(handle.query(&group, "echo")).unwrap_err();
            assert!(matches!(query.kind(), CallErrorKind::Shutdown { .. }), "{query}");
            let send = handle.send(echo, "echo", 1).unwrap_err();
            assert!(matches!(send.kind(), CallErrorKind::Shutdown { .. }), "{send}");
        }
    }
}

backend_test! {
    // A handle's port lives as long as the handle or one of its futures, and exits with the
    // last of them: handles leak no service.
    fn handle_port_exits_with_its_last_clone(rt) {
        define_kinds(&rt);
        let echo = rt.spawn("echo", ()).unwrap();
        let ports = |rt: &Runtime| rt.services().iter().filter(|s| s.kind == "_handle").count();
        let handle = rt.handle();
        let clone = handle.clone();
        drop(handle);
        // The call outlives every handle: its future keeps the port.
        let call = clone.call(echo, "echo", 5);
        drop(clone);
        assert_eq!(rt.block_on(move |_ctx| call).unwrap(), Value::from(5));
        let mut waited = 0;
        while ports(&rt) > 0 {
            assert!(waited < 10_000, "the port of a dropped handle never exited");
            rt.block_on(|ctx| async move { ctx.sleep(Duration::from_millis(1)).await });
            waited += 1;
        }
    }
}

// checks H1: several plain threads share one handle's port (clones), each awaiting with
// `futures::executor::block_on`; each thread's messages to the log arrive in its issue order.
#[test]
fn handle_from_plain_threads() {
    let rt = common::threaded(2);
    define_kinds(&rt);
    let log = rt.spawn("slowlog", ()).unwrap();
    let echo = rt.spawn("echo", ()).unwrap();
    let handle = rt.handle();
    let threads: Vec<_> = (0..4i64)
        .map(|t| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let n = t * 1000 + i;
                    if i % 2 == 0 {
                        handle.send(log, "note", n).unwrap();
                    } else {
                        assert_eq!(futures::executor::block_on(handle.call(log, "note", n)).unwrap(), Value::from(n));
                    }
                    let echoed = futures::executor::block_on(handle.call(echo, "echo", n)).unwrap();
                    assert_eq!(echoed, Value::from(n));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let seen = numbers(futures::executor::block_on(handle.call(log, "seen", ())).unwrap());
    assert_eq!(seen.len(), 200);
    for t in 0..4 {
        let own: Vec<i64> = seen.iter().copied().filter(|n| n / 1000 == t).collect();
        assert_eq!(own, (0..50).map(|i| t * 1000 + i).collect::<Vec<_>>(), "thread {t}'s order");
    }
}

// checks H2, G14: a call in flight from another thread when the runtime shuts down ends with
// an error instead of hanging.
#[test]
fn handle_call_in_flight_at_shutdown_fails() {
    let rt = common::threaded(2);
    define_kinds(&rt);
    let hang = rt.spawn("hang", ()).unwrap();
    let handle = rt.handle();
    let (issued_tx, issued_rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let call = handle.call(hang, "wait", ());
        issued_tx.send(()).unwrap();
        futures::executor::block_on(call)
    });
    issued_rx.recv().unwrap();
    rt.shutdown();
    let err = waiter.join().unwrap().unwrap_err();
    let kind = err.kind();
    assert!(matches!(kind, CallErrorKind::Shutdown { .. } | CallErrorKind::Exited { .. }), "{err}");
}
