//! skygroup's side of the workloads only the peers comparison has: the first-use storm (a
//! group query), the group call, and idle services for the memory table. Workloads 1-4 are
//! `skygroup_side`'s, as in the main benchmark.
//!
//! Every timed part but one runs inside a group member (a `client` service) and is timed there,
//! so a group query or a call by name is what a game server's own service would do; the storm's
//! manager line is timed in the main service, outside the group, as a manager's `Group::query`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use skygroup::{Address, Ctx, Runtime, ServiceKind, Value, anyhow};

use super::compare::Peer;
use super::memory::{self, Idle};
use crate::kinds;
use crate::skygroup_side::workers;
use crate::typed_side::Form;

/// A member kind whose commands are timed workloads; each answers its elapsed nanoseconds.
fn client(name: &str) -> ServiceKind {
    ServiceKind::stateless(name)
        .command("storm", |ctx: Ctx, n: Value| async move {
            let n = i64::try_from(n)?;
            let start = Instant::now();
            let answers = join_all((0..n).map(|_| ctx.query("db"))).await;
            let elapsed = start.elapsed();
            let first = answers[0].clone()?;
            for answer in answers {
                anyhow::ensure!(answer? == first, "two requesters got different `db` addresses");
            }
            Ok(nanos(elapsed))
        })
        .command("group_calls", |ctx: Ctx, n: Value| async move {
            let n = i64::try_from(n)?;
            let start = Instant::now();
            for i in 0..n {
                let reply = ctx.call("echo", "echo", i).await?;
                anyhow::ensure!(reply.as_int() == Some(i), "echo answered the wrong value");
            }
            Ok(nanos(start.elapsed()))
        })
        .command("addr_calls", |ctx: Ctx, n: Value| async move {
            let n = i64::try_from(n)?;
            let echo = ctx.query("echo").await?;
            let start = Instant::now();
            for i in 0..n {
                let reply = ctx.call(echo, "echo", i).await?;
                anyhow::ensure!(reply.as_int() == Some(i), "echo answered the wrong value");
            }
            Ok(nanos(start.elapsed()))
        })
        .command("spawn_idle", |ctx: Ctx, n: Value| async move {
            let n = i64::try_from(n)?;
            let starting: Vec<_> = (0..n).map(|_| ctx.newservice("noop", ())).collect();
            for started in starting {
                started.await?;
            }
            // Ordered after this member's `_member`/`_register` sends: the registry is done.
            ctx.query("noop").await?;
            Ok(())
        })
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn elapsed(answer: Result<Value, skygroup::CallError>) -> Duration {
    let nanos = answer.expect("the client's workload failed").as_int().expect("nanoseconds");
    Duration::from_nanos(nanos as u64)
}

/// A runtime with a group `g` whose kinds are `boot`, the clients and `extra`; returns the
/// runtime and the group.
fn group_runtime(extra: impl FnOnce(&Runtime)) -> (Runtime, skygroup::Group) {
    let rt = Runtime::threaded(workers());
    rt.define(ServiceKind::stateless("boot")).expect("define boot");
    rt.define(client("client")).expect("define client");
    rt.define(client("client2")).expect("define client2");
    extra(&rt);
    let group = rt.newgroup("g", "boot", ()).expect("the group boots");
    (rt, group)
}

/// Workload 5: `n` concurrent `ctx.query("db")` from one member while `db` is not started
/// (storm); then the harness: `n` concurrent queries of the started `db` from a second member
/// whose name cache is empty (each is a registry round trip, answered from the binding); then
/// the manager path: `n` concurrent `Group::query` of another unstarted name, `manager_db`, from
/// the main service, outside the group (the group is warm: its registry has run), timed whole.
pub fn storm(n: u64) -> Vec<Duration> {
    let starts = Arc::new(AtomicU64::new(0));
    let counter = starts.clone();
    let (rt, group) = group_runtime(move |rt| {
        for name in ["db", "manager_db"] {
            let counter = counter.clone();
            let db = ServiceKind::new(name, move |_ctx, _args: ()| {
                counter.fetch_add(1, Ordering::Relaxed);
                async { Ok(()) }
            });
            rt.define(db).expect("define db");
        }
    });
    let (storm, harness, manager) = rt.block_on(move |ctx| async move {
        let first = group.query(&ctx, "client").await.expect("client starts");
        let second = group.query(&ctx, "client2").await.expect("client2 starts");
        let storm = elapsed(ctx.call(first, "storm", n as i64).await);
        let harness = elapsed(ctx.call(second, "storm", n as i64).await);
        let start = Instant::now();
        let answers = join_all((0..n).map(|_| group.query(&ctx, "manager_db"))).await;
        let manager = start.elapsed();
        let first = answers[0].clone().expect("manager_db starts");
        assert!(answers.into_iter().all(|a| a.ok() == Some(first)), "two requesters got different addresses");
        (storm, harness, manager)
    });
    assert_eq!(starts.load(Ordering::Relaxed), 2, "db and manager_db must each start exactly once");
    vec![storm, harness, manager]
}

/// Workload 6: `n` sequential `ctx.call("echo", ..)` by name from a member of a group whose
/// `echo` (handler of the given form) is bound, and `n` calls to echo's address from the same member. Odd runs go
/// address-first, so neither always runs on a warmer runtime.
pub fn group_call(run: usize, n: u64, form: Form) -> Vec<Duration> {
    let (rt, group) = group_runtime(|rt| rt.define(kinds::echo_in(form)).expect("define echo"));
    rt.block_on(move |ctx| async move {
        let client = group.query(&ctx, "client").await.expect("client starts");
        // Binds echo and fills the client's name cache, untimed.
        elapsed(ctx.call(client, "group_calls", 1).await);
        let by_name = || ctx.call(client, "group_calls", n as i64);
        let by_address = || ctx.call(client, "addr_calls", n as i64);
        if run.is_multiple_of(2) {
            let g = elapsed(by_name().await);
            vec![g, elapsed(by_address().await)]
        } else {
            let a = elapsed(by_address().await);
            vec![elapsed(by_name().await), a]
        }
    })
}

/// `n` idle `noop` services started with `newservice` by the main service (no group).
pub fn idle_plain(n: u64) -> Idle {
    let rt = Runtime::threaded(workers());
    rt.define(kinds::noop()).expect("define noop");
    memory::grow(Peer::Skygroup, "`newservice`, no group", n, move || {
        let addresses: Vec<Address> = rt.block_on(move |ctx| async move {
            let starting: Vec<_> = (0..n).map(|_| ctx.newservice("noop", ())).collect();
            let mut addresses = Vec::with_capacity(starting.len());
            for started in starting {
                addresses.push(Address::try_from(started.await.expect("newservice")).expect("an address"));
            }
            addresses
        });
        (rt, addresses)
    })
}

/// `n` idle `noop` members of one group, started with `newservice` by a member (each is in
/// the registry's listing and watched by a monitor the registry's watcher task polls).
pub fn idle_in_group(n: u64) -> Idle {
    let (rt, group) = group_runtime(|rt| rt.define(kinds::noop()).expect("define noop"));
    let client = rt.block_on({
        let group = group.clone();
        move |ctx| async move { group.query(&ctx, "client").await.expect("client starts") }
    });
    memory::grow(Peer::Skygroup, "`newservice` in a group", n, move || {
        rt.block_on(move |ctx| async move { ctx.call(client, "spawn_idle", n as i64).await.expect("spawn_idle") });
        (rt, group)
    })
}
