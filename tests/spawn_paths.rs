//! The lean creation and exit paths (issue 13, item 3), on both backends (S4): an init that
//! runs inline without a trip through the mailbox, the kind's init future polled as it is (no
//! box around it), task slot 0 woken through the service's own cell, and the first watcher of
//! an exit held inline. Each keeps the rule its test names.

mod common;

use std::time::Duration;

use common::backend_test;
use skygroup::{Address, CallErrorKind, Ctx, ExitReason, Runtime, ServiceKind, Value};

fn address(value: Result<Value, skygroup::CallError>) -> Address {
    Address::try_from(value.expect("the start succeeds")).expect("an address")
}

fn define(rt: &Runtime) {
    // The init function panics before it makes a future.
    rt.define(ServiceKind::<()>::new("panics_early", |_ctx, (): ()| -> std::future::Ready<anyhow::Result<()>> {
        panic!("no future for you")
    }))
    .unwrap();
    // The init awaits a timer: its task waits in slot 0, woken through the cell.
    rt.define(
        ServiceKind::new("sleepy", |ctx: Ctx<u32>, (): ()| async move {
            ctx.sleep(Duration::from_millis(2)).await;
            Ok(7u32)
        })
        .command("nap", |ctx: Ctx<u32>, _v: Value| async move {
            ctx.sleep(Duration::from_millis(1)).await;
            Ok(ctx.with_state(|n| i64::from(*n)))
        }),
    )
    .unwrap();
    rt.define(ServiceKind::stateless("plain")).unwrap();
}

backend_test! {
    // checks G3: an init function that panics before returning its future fails the start with
    // an init error naming the service, and leaves no service behind.
    fn an_init_function_panic_fails_the_start(rt) {
        define(&rt);
        let started = rt.block_on(move |ctx| async move { ctx.newservice("panics_early", ()).await });
        let error = started.expect_err("the start failed");
        assert!(
            matches!(error.kind(), CallErrorKind::Init { service, message, .. }
                if service == "panics_early" && message.contains("no future for you")),
            "{error:?}"
        );
        assert!(rt.services().iter().all(|s| s.kind != "panics_early"), "the failed service is listed");
    }
}

backend_test! {
    // checks G5, G12: an init that waits (slot 0's waker is the service's cell) is woken and
    // returns; a request sent meanwhile waits for it, and a handler that waits in slot 0 is
    // woken the same way.
    fn a_waiting_init_and_handler_are_woken(rt) {
        define(&rt);
        let (first, second) = rt.block_on(move |ctx| async move {
            let starting = ctx.newservice("sleepy", ());
            let sleepy = address(starting.await);
            let first = ctx.call(sleepy, "nap", ()).await.expect("nap answers");
            let second = ctx.call(sleepy, "nap", ()).await.expect("nap answers again");
            (first, second)
        });
        assert_eq!((first, second), (Value::from(7), Value::from(7)));
    }
}

backend_test! {
    // checks G9: every watcher of one service hears its exit (one, two and three watchers: the
    // first held inline, the others in a list), and one watching an exited service hears
    // `NoService`.
    fn every_watcher_hears_the_exit(rt) {
        define(&rt);
        let reasons = rt.block_on(move |ctx| async move {
            let mut reasons = Vec::new();
            for watchers in 1..=3 {
                let plain = address(ctx.newservice("plain", ()).await);
                let exits: Vec<_> = (0..watchers).map(|_| ctx.monitor(plain)).collect();
                assert!(ctx.kill(plain));
                for exit in exits {
                    reasons.push(exit.await);
                }
                reasons.push(ctx.monitor(plain).await);
            }
            reasons
        });
        let killed = |n| std::iter::repeat_n(ExitReason::Killed, n).chain([ExitReason::NoService]);
        let expected: Vec<_> = killed(1).chain(killed(2)).chain(killed(3)).collect();
        assert_eq!(reasons, expected);
    }
}

backend_test! {
    // checks G3, G5: a start's answer completed in place while the start runs (its init run
    // inline, no session opened for it) is the one the starter gets: its address, or the init
    // error; also from an init that starts services itself (a start nested in another), and
    // for starts awaited long after they were issued, in any order.
    fn starts_answered_in_place_reach_their_starter(rt) {
        define(&rt);
        rt.define(
            ServiceKind::new("nests", |ctx: Ctx<Vec<Value>>, (): ()| async move {
                let inner = ctx.newservice("plain", ());
                let failing = ctx.newservice("panics_early", ());
                let failed = failing.await.is_err();
                Ok(vec![Value::Address(address(inner.await)), Value::from(failed)])
            })
            .command_sync("inner", |seen: &mut Vec<Value>, _ctx, _v: Value| Ok(Value::List(seen.clone()))),
        )
        .unwrap();
        let (outer, seen, failed, plain) = rt.block_on(move |ctx| async move {
            let starts: Vec<_> = ["nests", "panics_early", "plain"].map(|kind| ctx.newservice(kind, ())).into();
            let mut answers: Vec<_> = Vec::new();
            for start in starts.into_iter().rev() {
                answers.push(start.await);
            }
            let plain = address(answers.remove(0));
            let failed = answers.remove(0).expect_err("panics_early fails its start");
            let outer = address(answers.remove(0));
            let seen = ctx.call(outer, "inner", ()).await.expect("the outer service answers");
            (outer, seen, failed, plain)
        });
        assert!(matches!(failed.kind(), CallErrorKind::Init { service, .. } if service == "panics_early"), "{failed:?}");
        let Value::List(seen) = seen else { panic!("a list: {seen:?}") };
        let inner = Address::try_from(seen[0].clone()).expect("the inner start's address");
        assert_eq!(seen[1], Value::from(true), "the nested failing start failed");
        let listed: Vec<_> = rt.services().into_iter().map(|s| (s.address, s.kind)).collect();
        for (address, kind) in [(outer, "nests"), (inner, "plain"), (plain, "plain")] {
            assert!(listed.contains(&(address, kind.to_owned())), "{kind} {address} not listed: {listed:?}");
        }
    }
}

backend_test! {
    // checks G9, G7: a watcher that exits before the service it watches stays on its list;
    // the later exit's answer to it finds no service: no dead letter (an answer is not a
    // send), and every other watcher still hears the exit.
    fn a_watcher_gone_first_is_skipped(rt) {
        define(&rt);
        rt.define(ServiceKind::stateless("watcher").command("watch", |ctx, v: Value| async move {
            let exit = ctx.monitor(Address::try_from(v)?);
            ctx.fork(async move {
                exit.await;
            });
            Ok(Value::Nil)
        }))
        .unwrap();
        let dead_letters = rt.dead_letters();
        rt.block_on(move |ctx| async move {
            let target = address(ctx.newservice("plain", ()).await);
            let watcher = address(ctx.newservice("watcher", ()).await);
            ctx.call(watcher, "watch", Value::Address(target)).await.expect("watch");
            let watched = ctx.monitor(watcher);
            assert!(ctx.kill(watcher));
            assert_eq!(watched.await, ExitReason::Killed);
            let exit = ctx.monitor(target);
            assert!(ctx.kill(target));
            assert_eq!(exit.await, ExitReason::Killed);
        });
        assert_eq!(rt.dead_letters(), dead_letters, "an answer to a gone watcher is no dead letter");
        assert!(rt.services().iter().all(|s| s.kind != "plain" && s.kind != "watcher"), "services left");
    }
}

backend_test! {
    // checks G3, G9, G11: a service started after others exited (its cell may be one of theirs,
    // kept for reuse) starts afresh: its own address, its init's state, no count, peak or
    // watcher of the one before; the exited one stays gone (no service at its address).
    fn a_service_started_after_an_exit_starts_afresh(rt) {
        common::define_tally(&rt);
        let mut before: Option<Address> = None;
        for round in 0..3_i64 {
            let (tally, seen, old_gone) = rt.block_on(move |ctx| async move {
                let tally = address(ctx.newservice("tally", round * 100).await);
                let seen = ctx.call(tally, "peek", ()).await.expect("peek answers");
                let old_gone = match before {
                    Some(old) => !ctx.kill(old) && ctx.call(old, "peek", ()).await.is_err(),
                    None => true,
                };
                (tally, seen, old_gone)
            });
            assert_eq!(seen, Value::from(round * 100), "round {round}: the state is the new init's");
            assert!(old_gone, "round {round}: the service before is gone for good");
            assert_ne!(Some(tally), before, "a new address");
            let stats = rt.services().into_iter().find(|s| s.address == tally).expect("listed").stats;
            // Only its `peek` counted (queued at most, where it did not run at once).
            assert_eq!((stats.handled, stats.errors), (1, 0), "round {round}: fresh counts");
            assert!(stats.peak_queue_len <= 1, "round {round}: a peak of its own, not {}", stats.peak_queue_len);
            let exit = rt.block_on(move |ctx| async move {
                for _ in 0..5 {
                    ctx.send(tally, "add", 1);
                }
                assert_eq!(ctx.call(tally, "add", 0).await.expect("add answers"), Value::from(round * 100 + 5));
                let exit = ctx.monitor(tally);
                assert!(ctx.kill(tally));
                exit.await
            });
            assert_eq!(exit, ExitReason::Killed);
            before = Some(tally);
        }
        assert!(rt.services().iter().all(|s| s.kind != "tally"), "services left");
    }
}
