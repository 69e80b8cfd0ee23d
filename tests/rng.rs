//! `Ctx::rng`: each service's random generator comes through the executor: from the seed in the
//! simulator (a run's draws replay, S1), from the OS on the threaded backend.

use skygroup::rand_core::RngCore;
use skygroup::{Address, Runtime, ServiceKind, Value};
use skygroup_sim::Sim;

/// `dice` answers `roll` with `n` draws from its generator.
fn define_dice(rt: &Runtime) {
    rt.define(ServiceKind::stateless("dice").command("roll", |ctx, n: Value| async move {
        let n = i64::try_from(n)?;
        let mut rng = ctx.rng();
        Ok((0..n).map(|_| Value::from(rng.next_u64() as i64)).collect::<Vec<_>>())
    }))
    .unwrap();
}

/// Two dice, five draws each (interleaved `first` / `second`), then five more of the first.
fn draws(rt: &Runtime, second_draws: bool) -> (Value, Value) {
    define_dice(rt);
    let (a, b): (Address, Address) = (rt.spawn("dice", ()).unwrap(), rt.spawn("dice", ()).unwrap());
    rt.block_on(move |ctx| async move {
        let first = ctx.call(a, "roll", 5).await.unwrap();
        if second_draws {
            ctx.call(b, "roll", 5).await.unwrap();
        }
        let more = ctx.call(a, "roll", 5).await.unwrap();
        (first, more)
    })
}

fn sim_draws(seed: u64, second_draws: bool) -> (Value, Value) {
    let sim = Sim::new(seed);
    draws(&sim.runtime(), second_draws)
}

// checks S1: one seed gives the same draws every time.
#[test]
fn sim_same_seed_same_draws() {
    for seed in 0..8 {
        assert_eq!(sim_draws(seed, true), sim_draws(seed, true), "seed {seed}");
    }
}

// checks S1: another seed draws otherwise, and one service's draws do not shift another's
// stream (each service has its own, from the seed and its address).
#[test]
fn sim_streams_per_seed_and_service() {
    assert_ne!(sim_draws(1, true), sim_draws(2, true));
    assert_eq!(sim_draws(3, true), sim_draws(3, false));
    let (first, more) = sim_draws(4, true);
    assert_ne!(first, more);
}

// On threads the generator is seeded from the OS: two runtimes draw differently.
#[test]
fn threaded_draws_differ_between_runtimes() {
    let one = draws(&Runtime::threaded(1), true);
    let two = draws(&Runtime::threaded(1), true);
    assert_ne!(one, two);
}
