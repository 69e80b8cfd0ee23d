//! A deadlock is reported as the cycle of waiting calls.

mod toys;

use skygroup_sim::report::waiting_cycles;
use skygroup_sim::scenario::{Failure, RunConfig, run_once};

#[test]
fn an_init_deadlock_reads_as_a_cycle_of_calls() {
    let report = run_once(&toys::InitDeadlock, RunConfig::seed(0));
    let Err(failure @ Failure::Panic(_)) = report.outcome else {
        panic!("expected a deadlock, got {:?}", report.outcome)
    };
    assert_eq!(waiting_cycles(&failure), ["db.call(login) -> login.call(db)"]);
}
