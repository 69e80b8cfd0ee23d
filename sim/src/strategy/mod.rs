//! Exploration strategies: which runs to try, in which order. Each is a source of
//! [`Chooser`]s, one per run; systematic ones also learn from each finished run.
//!
//! - [`random`]: a seeded random walk, one seed per run (what `Sim::new(seed)` does).
//! - [`pct`]: Probabilistic Concurrency Testing (Burckhardt et al., ASPLOS 2010): random
//!   priorities with `d - 1` priority change points; finds any bug of depth `d` with
//!   probability at least `1/(n·k^(d-1))` per run for `n` services and `k` steps.
//! - [`exhaustive`]: every schedule with at most `cap` deviations from the default order
//!   (option 0 at every decision), depth first: the actor form of loom's preemption bound.

pub mod exhaustive;
pub mod pct;
pub mod random;

use crate::chooser::Chooser;
use crate::log::Tail;

/// Which strategy, with its parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyKind {
    /// Random walk: each seed's own choices.
    Random,
    /// PCT with bug depth `depth` (at least 1).
    Pct {
        /// The bug depth.
        depth: usize,
    },
    /// Bounded exhaustive search with at most `cap` deviations per schedule.
    Exhaustive {
        /// The most deviations per schedule.
        cap: usize,
    },
}

impl StrategyKind {
    /// The name the CLI takes.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Random => "random",
            StrategyKind::Pct { .. } => "pct",
            StrategyKind::Exhaustive { .. } => "exhaustive",
        }
    }

    /// Every strategy with its default parameter, in table order.
    pub fn all() -> [StrategyKind; 3] {
        [
            StrategyKind::Random,
            StrategyKind::Pct { depth: pct::DEPTH_DEFAULT },
            StrategyKind::Exhaustive { cap: exhaustive::CAP_DEFAULT },
        ]
    }
}

/// One run a strategy wants: the seed (for faults and data) and the chooser.
pub struct Plan {
    /// The run's seed.
    pub seed: u64,
    /// What decides the run's schedule.
    pub chooser: Box<dyn Chooser>,
    /// What a replay of this run's log should choose past its end.
    pub tail: Tail,
}

/// A source of runs.
pub trait Strategy: Send {
    /// The next run, or `None` when the strategy has covered everything it would try.
    fn next_plan(&mut self) -> Option<Plan>;

    /// The decisions of the run just made from the last plan.
    fn finished(&mut self, decisions: &[(u32, u32)]) {
        let _ = decisions;
    }

    /// A line on what the strategy has covered or guarantees (printed in the summary).
    fn describe(&self) -> String;
}

/// What one default run of the scenario looked like (PCT sizes its change points by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calibration {
    /// Services the run started (PCT's `n`).
    pub services: u64,
    /// Decisions about which service runs next (PCT's `k`).
    pub steps: u64,
}

/// A strategy of `kind` whose runs start at `first_seed`.
pub fn make(kind: StrategyKind, first_seed: u64, calibration: Calibration) -> Box<dyn Strategy> {
    match kind {
        StrategyKind::Random => Box::new(random::RandomWalk::new(first_seed)),
        StrategyKind::Pct { depth } => Box::new(pct::Pct::new(first_seed, depth, calibration)),
        StrategyKind::Exhaustive { cap } => Box::new(exhaustive::Exhaustive::new(first_seed, cap)),
    }
}
