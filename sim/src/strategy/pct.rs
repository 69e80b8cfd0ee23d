//! PCT: Probabilistic Concurrency Testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
//! ASPLOS 2010), on services.
//!
//! Each service gets a random priority when first seen; the ready service with the highest
//! priority always runs, alone (one virtual worker). At `d - 1` steps drawn uniformly from
//! `1..=k`, the service about to run drops to a priority below every initial one. A bug that
//! needs `d` ordering constraints is then found with probability at least `1/(n·k^(d-1))` per
//! run, for `n` services and `k` steps; [`Pct::bound`] is that number for the scenario, with
//! `n` and `k` measured on a calibration run.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use skygroup::Address;

use super::{Calibration, Plan, Strategy};
use crate::chooser::{Chooser, Decision, DecisionKind, STRATEGY_STREAM, stream_rng};
use crate::log::Tail;

/// The bug depth PCT targets unless told otherwise.
pub const DEPTH_DEFAULT: usize = 3;

/// Runs with PCT schedules, one seed per run.
pub struct Pct {
    next_seed: u64,
    depth: usize,
    calibration: Calibration,
    runs: u64,
}

impl Pct {
    /// PCT at bug depth `depth`, seeds from `first_seed`, with the step counts of `calibration`.
    pub fn new(first_seed: u64, depth: usize, calibration: Calibration) -> Pct {
        Pct { next_seed: first_seed, depth: depth.max(1), calibration, runs: 0 }
    }

    /// The per-run probability PCT guarantees for a depth-`d` bug: `1/(n·k^(d-1))`.
    pub fn bound(&self) -> f64 {
        let n = self.calibration.services.max(1) as f64;
        let k = self.calibration.steps.max(1) as f64;
        1.0 / (n * k.powi(self.depth as i32 - 1))
    }
}

impl Strategy for Pct {
    fn next_plan(&mut self) -> Option<Plan> {
        let seed = self.next_seed;
        self.next_seed = self.next_seed.wrapping_add(1);
        self.runs += 1;
        let chooser = PctChooser::new(seed, self.depth, self.calibration.steps);
        Some(Plan { seed, chooser: Box::new(chooser), tail: Tail::Seed })
    }

    fn describe(&self) -> String {
        let Calibration { services: n, steps: k } = self.calibration;
        let d = self.depth;
        format!(
            "PCT d={d}: n={n} services, k={k} steps -> each run finds a depth-{d} bug with probability >= 1/(n*k^(d-1)) = {:.3e}",
            self.bound()
        )
    }
}

/// The chooser of one PCT run.
pub struct PctChooser {
    rng: ChaCha8Rng,
    depth: u64,
    priorities: BTreeMap<Address, u64>,
    /// Pick steps (1-based) at which the running service's priority drops, ascending.
    change_points: Vec<u64>,
    steps: u64,
    changes: u64,
}

impl PctChooser {
    /// PCT for `seed` with `depth - 1` change points among the first `k` picks.
    pub fn new(seed: u64, depth: usize, k: u64) -> PctChooser {
        let mut rng = stream_rng(seed, STRATEGY_STREAM);
        let mut change_points: Vec<u64> = (1..depth).map(|_| rng.random_range(1..=k.max(1))).collect();
        change_points.sort_unstable();
        PctChooser { rng, depth: depth as u64, priorities: BTreeMap::new(), change_points, steps: 0, changes: 0 }
    }

    fn priority(&mut self, service: Address) -> u64 {
        let (rng, depth) = (&mut self.rng, self.depth);
        *self.priorities.entry(service).or_insert_with(|| depth + u64::from(rng.random::<u32>()))
    }

    fn highest(&mut self, services: &[Address]) -> usize {
        let ranked: Vec<(u64, usize)> = services.iter().enumerate().map(|(i, s)| (self.priority(*s), i)).collect();
        ranked.into_iter().max_by_key(|&(p, i)| (p, std::cmp::Reverse(i))).map_or(0, |(_, i)| i)
    }

    fn pick(&mut self, services: &[Address]) -> usize {
        self.steps += 1;
        let mut chosen = self.highest(services);
        while self.change_points.get(self.changes as usize) == Some(&self.steps) {
            self.changes += 1;
            self.priorities.insert(services[chosen], self.depth - self.changes);
            chosen = self.highest(services);
        }
        chosen
    }
}

impl Chooser for PctChooser {
    fn choose(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }

    fn decide(&mut self, decision: &Decision<'_>) -> usize {
        match decision.kind {
            DecisionKind::Pick if decision.services.len() == decision.options => self.pick(decision.services),
            DecisionKind::AtOnce | DecisionKind::Interleave => 0,
            // Shortcuts and timers due under load are not about priorities: a fair coin, so
            // every order they open stays reachable.
            DecisionKind::Shortcut | DecisionKind::Due | DecisionKind::Net | DecisionKind::Cluster => {
                self.choose(decision.options)
            }
            _ => self.choose(decision.options),
        }
    }
}
