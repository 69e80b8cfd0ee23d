//! Overload is visible: a service's mailbox peak shows in its stats, on both backends.

mod common;

use common::backend_test;
use skygroup::{Ctx, ServiceKind, Value};

backend_test! {
    // checks G11 (what an operator reads): sends queued faster than they are handled show
    // as the mailbox's peak length, which stays after the mailbox is drained (the init envelope counts too).
    fn mailbox_peak_shows_in_stats(rt) {
        rt.define(
            ServiceKind::stateless("slow")
                .overload_warning(8)
                .command("note", |_ctx: Ctx, _v: Value| async { Ok(()) }),
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
