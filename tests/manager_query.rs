//! `Group::query` from a manager outside the group (the embedding program's `block_on`): the
//! group rules it touches, on both backends (S4).

mod common;

use std::collections::BTreeSet;

use common::backend_test;
use common::groups::{define_group_kinds, names};
use futures::future::join_all;
use skygroup::{Address, Value};

/// The registry's handled count (a query it answers is one more).
fn registry_handled(rt: &skygroup::Runtime) -> u64 {
    rt.services().into_iter().find(|s| s.kind == "_registry").expect("a registry").stats.handled
}

backend_test! {
    // checks G2: a manager's concurrent queries of an unbound name start it once; all get the
    // same address.
    fn manager_storm_starts_once(rt) {
        define_group_kinds(&rt);
        let group = rt.newgroup("G", "boot", ()).unwrap();
        let g = group.clone();
        let answers = rt.block_on(move |ctx| async move {
            join_all((0..16).map(|_| g.query(&ctx, "slowstart"))).await
        });
        let distinct: BTreeSet<Address> = answers.into_iter().map(|a| a.expect("slowstart starts")).collect();
        assert_eq!(distinct.len(), 1, "{distinct:?}");
        assert_eq!(names(&group).iter().filter(|n| *n == "slowstart").count(), 1);
    }
}

backend_test! {
    // checks G3: a failed start is an error for every query of the manager that raced it; the
    // name stays unbound and a later query starts it again.
    fn manager_storm_shares_a_failed_start(rt) {
        define_group_kinds(&rt);
        let group = rt.newgroup("G", "boot", ()).unwrap();
        let g = group.clone();
        let (answers, retry) = rt.block_on(move |ctx| async move {
            let answers = join_all((0..3).map(|_| g.query(&ctx, "flaky"))).await;
            (answers, g.query(&ctx, "flaky").await)
        });
        for answer in answers {
            let error = answer.expect_err("the first start of flaky fails").to_string();
            assert!(error.contains("first start always fails"), "{error}");
        }
        assert!(retry.is_ok(), "{retry:?}");
        assert_eq!(names(&group).iter().filter(|n| *n == "flaky").count(), 1);
    }
}

backend_test! {
    // checks G4, G9: a manager gets a bound name from the group's binding without a registry
    // round trip; once that service is dead it gets a fresh instance, never the dead address.
    fn manager_reads_a_live_binding_only(rt) {
        define_group_kinds(&rt);
        let group = rt.newgroup("G", "boot", ()).unwrap();
        let g = group.clone();
        let db = rt.block_on(move |ctx| async move { g.query(&ctx, "db").await }).unwrap();
        let before = registry_handled(&rt);
        let g = group.clone();
        let again = rt.block_on(move |ctx| async move { g.query(&ctx, "db").await }).unwrap();
        assert_eq!(again, db);
        assert_eq!(registry_handled(&rt), before, "a bound name's query went to the registry");
        assert!(rt.kill(db));
        rt.block_on(move |ctx| ctx.monitor(db));
        let g = group.clone();
        let fresh = rt.block_on(move |ctx| async move { g.query(&ctx, "db").await }).unwrap();
        assert_ne!(fresh, db, "a dead binding was answered");
    }
}

backend_test! {
    // checks G6, G14: a manager's query made after its own `Group::shutdown` is answered after
    // that shutdown (an error), even for a name still bound when the query is made.
    fn manager_query_after_its_shutdown_is_refused(rt) {
        define_group_kinds(&rt);
        let group = rt.newgroup("G", "boot", ()).unwrap();
        let g = group.clone();
        let outcome = rt.block_on(move |ctx| async move {
            g.query(&ctx, "db").await.expect("db starts");
            let down = g.shutdown(&ctx);
            let query = g.query(&ctx, "db");
            down.await;
            query.await.map(Value::Address)
        });
        // The group's refusal, or the registry gone before it answered: never the address.
        let error = outcome.expect_err("a query after the shutdown").to_string();
        assert!(error.contains("shut down") || error.contains("exited"), "{error}");
    }
}
