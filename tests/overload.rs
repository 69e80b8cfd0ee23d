//! Overload is visible: a service's mailbox peak shows in its stats, on both backends.

mod common;

use common::backend_test;
use skygroup::{CallErrorKind, Ctx, ServiceKind, Value};

backend_test! {
    // checks G11 (what an operator reads): sends queued faster than they are handled show
    // as the mailbox's peak length, which stays after the mailbox is drained (the init envelope counts too).
    fn mailbox_peak_shows_in_stats(rt) {
        // A deferred handler: never run on the sender's thread (as `command` and
        // `command_sync` ones may be when the service is idle), so the sends queue while the
        // service's turn runs on another worker.
        rt.define(
            ServiceKind::stateless("slow")
                .overload_warning(8)
                .command_deferred("note", |_ctx: Ctx, _v: Value, responder| async move { responder.ok(()) }),
        )
        .unwrap();
        let slow = rt.spawn("slow", ()).unwrap();
        rt.block_on(move |ctx| async move {
            for i in 0..100 {
                ctx.send(slow, "note", i);
            }
            ctx.call(slow, "note", 0).await.unwrap();
        });
        let stats = rt.services().into_iter().find(|s| s.address == slow).unwrap().stats;
        assert_eq!(stats.queue_len, 0);
        assert_eq!(stats.handled, 101);
        assert!(stats.peak_queue_len >= 2 && stats.peak_queue_len <= 102, "peak {}", stats.peak_queue_len);
    }
}

backend_test! {
    // checks G7 and G8 with a mailbox limit: sends over it are dead letters (counted), a call
    // over it fails at once with `Overloaded` naming service, address and command; what got
    // in is handled, and the service takes messages again once drained.
    fn mailbox_limit_refuses_sends_and_calls(rt) {
        rt.define(
            ServiceKind::stateless("bounded")
                .mailbox_limit(10)
                // Deferred: queued, never run on the sender's thread (see above).
                .command_deferred("note", |_ctx: Ctx, _v: Value, responder| async move { responder.ok(()) }),
        )
        .unwrap();
        let bounded = rt.spawn("bounded", ()).unwrap();
        let calls = rt.block_on(move |ctx| async move {
            for i in 0..50 {
                ctx.send(bounded, "note", i);
            }
            futures::future::join_all((0..20).map(|i| ctx.call(bounded, "note", 100 + i))).await
        });
        let mut answered = 0;
        for call in calls {
            match call.map_err(|e| e.into_kind()) {
                Ok(_) => answered += 1,
                Err(CallErrorKind::Overloaded { service, address, command, limit }) => {
                    assert_eq!((service.as_str(), address, command.as_str(), limit), ("bounded", bounded, "note", 10));
                }
                Err(other) => panic!("expected Overloaded, got {other}"),
            }
        }
        // Drained: it takes messages again (a call behind everything that got in, retried
        // while it is still refused).
        let drained = (0..1000).any(|_| {
            rt.block_on(move |ctx| async move { ctx.call(bounded, "note", 999).await }).is_ok()
        });
        assert!(drained, "still refusing after 1000 calls");
        let stats = rt.services().into_iter().find(|s| s.address == bounded).unwrap().stats;
        // Each send was handled or counted as a dead letter; something was refused; the
        // mailbox never held more than its limit.
        assert_eq!(stats.handled - answered - 1 + rt.dead_letters(), 50);
        assert!(answered < 20 || rt.dead_letters() > 0, "nothing was refused");
        assert!(stats.peak_queue_len <= 10, "peak {}", stats.peak_queue_len);
    }
}
