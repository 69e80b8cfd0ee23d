//! Threaded-backend stress: the races G2 and G6 are about, repeated until a bad ordering would
//! have shown. No timing assertions, only outcomes.

mod common;

use std::collections::BTreeSet;

use common::groups::define_group_kinds;
use futures::future::join_all;
use skygroup::{Address, Value};

const ROUNDS: usize = 1_000;

#[test]
// checks G2: 1,000 rounds of 16 racers (4 services x 4 concurrent queries) on first use of one
// name: one start, one address, every round.
fn first_use_race_rounds() {
    let rt = common::threaded(2);
    define_group_kinds(&rt);
    for round in 0..ROUNDS {
        let (group, results) = rt.block_on(|ctx| async move {
            let group = ctx.newgroup("race", "boot", ()).await.unwrap();
            let first = group.query(&ctx, "driver").await.unwrap();
            let mut drivers = vec![first];
            for _ in 0..3 {
                let extra = ctx.call(first, "newservice_unit", "driver").await.unwrap();
                drivers.push(Address::try_from(extra).unwrap());
            }
            let calls = drivers.iter().map(|d| ctx.call(*d, "race", ("db", 4)));
            (group, join_all(calls).await)
        });
        let mut addresses = BTreeSet::new();
        for r in results {
            for v in Vec::<Value>::try_from(r.unwrap()).unwrap() {
                addresses.insert(Address::try_from(v.clone()).unwrap_or_else(|_| panic!("round {round}: {v}")));
            }
        }
        assert_eq!(addresses.len(), 1, "round {round}: {addresses:?}");
        let dbs = group.services().into_iter().filter(|m| m.name == "db").count();
        assert_eq!(dbs, 1, "round {round}");
        rt.shutdown_group(&group);
    }
}

#[test]
// checks G6: 1,000 rounds of sends to a name not resolved yet, then a call: the call sees every
// send, in order, every round.
fn send_before_resolution_rounds() {
    let rt = common::threaded(2);
    define_group_kinds(&rt);
    let expected = Value::from((0..8).collect::<Vec<i64>>());
    for round in 0..ROUNDS {
        let (group, seen) = rt.block_on(|ctx| async move {
            let group = ctx.newgroup("order", "boot", ()).await.unwrap();
            let driver = group.query(&ctx, "driver").await.unwrap();
            (group, ctx.call(driver, "send_then_call", ("counter", 8)).await.unwrap())
        });
        assert_eq!(seen, expected, "round {round}");
        rt.shutdown_group(&group);
    }
}
