//! Every choice the simulator makes goes through a [`Chooser`].
//!
//! The default draws from one ChaCha stream seeded by the run's seed and records each answer in
//! the decision log, so a run is fully described by its seed (S1) and also by its log (S2).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Picks one of `n` options at each decision point of a run.
pub trait Chooser: Send {
    /// A number in `0..n` (`n >= 2`; single-option points are not asked).
    fn choose(&mut self, n: usize) -> usize;
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
        self.rng.random_range(0..n)
    }
}

/// The ChaCha stream number for scheduling decisions.
pub const SCHEDULE_STREAM: u64 = 1;
/// The ChaCha stream number for faults and scenario data.
pub const DATA_STREAM: u64 = 2;

/// A data stream for `seed`, independent of the scheduling stream.
pub fn data_rng(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(DATA_STREAM);
    rng
}
