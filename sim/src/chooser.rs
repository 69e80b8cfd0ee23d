//! Every choice the simulator makes goes through a [`Chooser`].
//!
//! The default draws from one ChaCha stream seeded by the run's seed and records each answer in
//! the decision log, so a run is fully described by its seed (S1) and also by its log (S2).
//! Exploration strategies (`crate::strategy`) are other choosers; they see what each decision
//! is about through [`Decision`], so a strategy can, say, prefer one service over another.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use skygroup::Address;

/// Picks one of `n` options at each decision point of a run.
pub trait Chooser: Send {
    /// A number in `0..n` (`n >= 2`; single-option points are not asked).
    fn choose(&mut self, n: usize) -> usize;

    /// [`choose`](Self::choose), told what the decision is about. The executor calls this one;
    /// the default ignores the detail. Option 0 is always the default order (see
    /// [`DecisionKind`]), which shrinking and bounded search count deviations from.
    fn decide(&mut self, decision: &Decision<'_>) -> usize {
        self.choose(decision.options)
    }
}

/// The kinds of choice the executor makes. Option 0 is always the old default: no shortcut, no
/// timer before pending work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DecisionKind {
    /// How many services run "at once" this step: option `i` runs `i + 1` (default: one).
    AtOnce,
    /// Which ready service runs next, oldest scheduled first (default: the oldest, FIFO).
    Pick,
    /// Whose held-back delivery enters its mailbox next, among services that ran at once, in
    /// the order they ran (default: the first one's deliveries first).
    Interleave,
    /// Which timer due at this instant fires next, earliest set first (default: that one).
    Timer,
    /// Whether to take a shortcut of the runtime where one is possible (`skygroup::executor::
    /// Shortcut`): option 1 takes it (default: not, the ordinary path).
    Shortcut,
    /// Whether timers already due fire before the runnable services run this step: option 1
    /// fires them (default: the services run; a due timer waits at most
    /// `DUE_WAIT_MAX` steps, see the `executor` module).
    Due,
    /// A choice of the virtual network (`crate::net`): a delivery's delay, how many cuts a
    /// chunk of bytes gets and where (default: option 0, the shortest delay and no cut).
    Net,
    /// A choice of the simulated cluster (`crate::cluster`): a frame's or a store answer's
    /// delay, whether a write issued just before its node was cut off reached the store
    /// (default: option 0, the shortest delay, and not reached).
    Cluster,
}

/// One decision point, as the chooser sees it.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    /// What is being decided.
    pub kind: DecisionKind,
    /// How many options (at least 2).
    pub options: usize,
    /// For [`DecisionKind::Pick`] and [`DecisionKind::Interleave`], the service behind each
    /// option; empty otherwise.
    pub services: &'a [Address],
}

/// Uniform choices from a seeded ChaCha8 stream.
pub struct SeededChooser {
    rng: ChaCha8Rng,
}

impl SeededChooser {
    /// The scheduling stream for `seed`. Faults and data use another stream of the same seed,
    /// so switching faults on does not reshuffle the schedule.
    pub fn new(seed: u64) -> SeededChooser {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(SCHEDULE_STREAM);
        SeededChooser { rng }
    }
}

impl Chooser for SeededChooser {
    fn choose(&mut self, n: usize) -> usize {
        if n == 2 {
            // A yes/no decision (every shortcut, most of a run's decisions): what
            // `random_range(0..2)` draws, without its range checks. It multiplies one `u32` by 2
            // and keeps the high word (the top bit); its second draw, taken when the low word
            // exceeds `2u32.wrapping_neg()`, never happens, as that low word is even (the test
            // below checks both against `random_range`).
            return (self.rng.next_u32() >> 31) as usize;
        }
        self.rng.random_range(0..n)
    }
}

/// The executor's chooser: the seeded one in place (a run's every decision asks it, and a
/// call through a box cost a tenth of a yes/no decision), any other boxed.
#[allow(clippy::large_enum_variant)] // one per run, in the executor's state; boxed, it is the indirection this removes
pub(crate) enum Choosers {
    Seeded(SeededChooser),
    Boxed(Box<dyn Chooser>),
}

impl Choosers {
    /// [`Chooser::decide`] of the one inside.
    #[inline]
    pub(crate) fn decide(&mut self, decision: &Decision<'_>) -> usize {
        match self {
            Choosers::Seeded(seeded) => seeded.decide(decision),
            Choosers::Boxed(boxed) => boxed.decide(decision),
        }
    }
}

/// The ChaCha stream number for scheduling decisions.
pub const SCHEDULE_STREAM: u64 = 1;
/// The ChaCha stream number for faults and scenario data.
pub const DATA_STREAM: u64 = 2;
/// The ChaCha stream number for a strategy's own randomness (PCT priorities).
pub const STRATEGY_STREAM: u64 = 3;

/// A data stream for `seed`, independent of the scheduling stream.
pub fn data_rng(seed: u64) -> ChaCha8Rng {
    stream_rng(seed, DATA_STREAM)
}

/// Stream `stream` of `seed`.
pub fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The yes/no fast path draws exactly what `random_range(0..2)` draws, so every seed
    /// replays as before (S1), including when other decisions are interleaved.
    #[test]
    fn a_yes_no_decision_draws_what_random_range_draws() {
        // checks S1
        for seed in 0..64 {
            let mut fast = SeededChooser::new(seed);
            let mut plain = stream_rng(seed, SCHEDULE_STREAM);
            for i in 0..2_000usize {
                let n = if i % 3 == 0 { 2 + i % 7 } else { 2 };
                assert_eq!(fast.choose(n), plain.random_range(0..n), "seed {seed}, decision {i} of {n} options");
            }
        }
    }
}
