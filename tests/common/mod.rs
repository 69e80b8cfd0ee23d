//! Shared test support: `backend_test!` stamps one test body into a `threaded` and a `sim`
//! test (S4), the way tokio's `rt_test!` does per runtime flavour.
#![allow(dead_code, unused_macros)]

mod kinds;
#[allow(unused_imports)] // each test binary uses some of them
pub use kinds::{define_echo_and_log, define_log, define_tally};

/// Seeds each simulator test runs by default (override with `SKYGROUP_SEED=n`).
pub const SIM_SEEDS: std::ops::Range<u64> = 0..16;

/// A threaded runtime with `workers` workers, its shortcuts off if the environment says
/// `SKYGROUP_SHORTCUTS=off` (CI runs the threaded tests both ways).
pub fn threaded(workers: usize) -> skygroup::Runtime {
    let shortcuts = std::env::var("SKYGROUP_SHORTCUTS").map_or(true, |v| v != "off");
    skygroup::Runtime::new(skygroup::Threaded::builder().workers(workers).shortcuts(shortcuts).build())
}

/// `backend_test! { fn name(rt) { body } }` gives `name::threaded` (2 worker threads) and
/// `name::sim` (each seed of `SIM_SEEDS`, replay line printed on failure).
macro_rules! backend_test {
    ($(#[$meta:meta])* fn $name:ident($rt:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            #[test]
            fn threaded() {
                let $rt = $crate::common::threaded(2);
                $body
            }

            $(#[$meta])*
            #[test]
            fn sim() {
                skygroup_sim::check(concat!(module_path!(), "::sim"), $crate::common::SIM_SEEDS, |sim| {
                    let $rt = sim.runtime();
                    $body
                });
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use backend_test;

pub mod gate;
pub mod groups;
