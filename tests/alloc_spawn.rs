//! Allocations per service started and stopped, counted by a global allocator of this test
//! binary alone, on the workload of `make bench-peers` workload 4: `newservice` of a kind with
//! no dependencies (each awaited after all are issued), `monitor` and `kill` each, every
//! monitor awaited. Pins the creation and exit paths' allocations (issue 13, item 3), with the
//! shortcuts on (the init and the exit run inline) and off (every step through the executor).
//! Not timed.

use std::alloc::System;

use skygroup::{Address, ExitReason, Runtime, ServiceKind, Threaded};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Services started and stopped before counting (buffers grow to their steady size), then counted.
const WARM: usize = 500;
const COUNTED: usize = 5_000;

/// Starts `n` services of `noop`, then monitors, kills and awaits the exit of each.
async fn spawn_stop(ctx: &skygroup::Ctx, n: usize) {
    let starting: Vec<_> = (0..n).map(|_| ctx.newservice("noop", ())).collect();
    let mut addresses = Vec::with_capacity(n);
    for started in starting {
        addresses.push(Address::try_from(started.await.expect("newservice")).expect("an address"));
    }
    let exits: Vec<_> = addresses.iter().map(|&a| ctx.monitor(a)).collect();
    for &address in &addresses {
        assert!(ctx.kill(address), "service {address} vanished before it was killed");
    }
    for exit in exits {
        assert_eq!(exit.await, ExitReason::Killed);
    }
}

/// Allocations (and reallocations) of the whole process per service, over `COUNTED` services,
/// less the workload's own vectors (three per round, made by `spawn_stop` itself).
fn allocations_per_service(shortcuts: bool, warm: usize) -> f64 {
    let rt = Runtime::new(Threaded::builder().workers(2).shortcuts(shortcuts).build());
    rt.define(ServiceKind::stateless("noop")).unwrap();
    let allocations = rt.block_on(move |ctx| async move {
        spawn_stop(&ctx, warm).await;
        let region = Region::new(GLOBAL);
        spawn_stop(&ctx, COUNTED).await;
        let change = region.change();
        change.allocations + change.reallocations
    });
    assert!(rt.services().iter().all(|s| s.kind != "noop"), "noop services left");
    (allocations.saturating_sub(3)) as f64 / COUNTED as f64
}

/// The counter is the whole process's: the tests of this binary count one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn check(shortcuts: bool, warm: usize, at_most: f64) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let per_service = allocations_per_service(shortcuts, warm);
    println!("shortcuts {shortcuts}, {warm} warm: {per_service:.2} allocations per service started and stopped");
    assert!(
        per_service <= at_most,
        "spawn+stop (shortcuts {shortcuts}) made {per_service:.2} allocations per service, more than {at_most}"
    );
}

#[test]
// checks G9 on the lean path: every service started, monitored and killed exits `Killed`, its
// init and exit run inline; and the only allocation per service is its cell (8.0 per service
// before issue 13's item 3: the cell, the mailbox buffer its init came in, the init's box
// around the kind's, the task waker and its list, the monitor list, the exit value).
fn spawn_stop_allocations_with_shortcuts() {
    check(true, WARM, 1.2);
}

#[test]
// The same through the executor (every init and exit a turn of its own): the cell, and the
// mailbox buffer the init comes in.
fn spawn_stop_allocations_without_shortcuts() {
    check(false, WARM, 2.2);
}

#[test]
// checks G9 with the cells of exited services kept (`spare.rs`): a wave of services as large
// as one before it allocates (almost) no cell; each exit still answers its monitor `Killed`
// (0.92 allocations per service with shortcuts, 1.94 without, when the wave before was a
// tenth of the size; 1.0 and 2.0 before cells were kept).
fn spawn_stop_reuses_the_cells_of_a_wave_as_large() {
    check(true, COUNTED, 0.1);
}

#[test]
// The same through the executor: the mailbox buffer the init comes in is the allocation left.
fn spawn_stop_reuses_the_cells_of_a_wave_as_large_without_shortcuts() {
    check(false, COUNTED, 1.1);
}
