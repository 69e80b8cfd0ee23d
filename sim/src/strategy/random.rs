//! The seeded random walk: run `i` is the seed `first + i` with its own uniform choices.

use super::{Plan, Strategy};
use crate::chooser::SeededChooser;
use crate::log::Tail;

/// One seed per run, counting up.
pub struct RandomWalk {
    next_seed: u64,
    runs: u64,
}

impl RandomWalk {
    /// Each seed's own choices, seeds from `first_seed` on.
    pub fn new(first_seed: u64) -> RandomWalk {
        RandomWalk { next_seed: first_seed, runs: 0 }
    }
}

impl Strategy for RandomWalk {
    fn next_plan(&mut self) -> Option<Plan> {
        let seed = self.next_seed;
        self.next_seed = self.next_seed.wrapping_add(1);
        self.runs += 1;
        Some(Plan { seed, chooser: Box::new(SeededChooser::new(seed)), tail: Tail::Seed })
    }

    fn describe(&self) -> String {
        format!("random walk: {} seeds from {}", self.runs, self.next_seed.wrapping_sub(self.runs))
    }
}
