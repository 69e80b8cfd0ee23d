//! Bounded exhaustive search: every schedule with at most `cap` deviations from the default
//! order, each run exactly once, depth first.
//!
//! A schedule is the list of choices of a run. The default schedule chooses 0 everywhere
//! (one service at a time, oldest first, deliveries in run order, earliest timer first). A
//! *deviation* is a non-zero choice; it reorders deliveries into some mailbox. Like loom's
//! preemption bound, capping deviations keeps the space small while still reaching the
//! orders most bugs need. Enumeration is stateless: a run follows a prefix of choices and
//! then chooses 0; from its decisions, every schedule that extends the prefix with one more
//! deviation at a later step becomes a new prefix. Each schedule has exactly one parent (the
//! schedule with its last deviation set to 0), so none is run twice.

use super::{Plan, Strategy};
use crate::chooser::Chooser;
use crate::log::Tail;

/// The deviation cap unless told otherwise.
pub const CAP_DEFAULT: usize = 2;

/// Depth-first enumeration of the schedules within the cap.
pub struct Exhaustive {
    seed: u64,
    cap: usize,
    /// Prefixes still to run (each ends with a deviation), and the one running.
    stack: Vec<Vec<u32>>,
    running: Option<Vec<u32>>,
    runs: u64,
}

impl Exhaustive {
    /// Every schedule of at most `cap` deviations from the default order, depth-first; `seed` seeds faults and data.
    pub fn new(seed: u64, cap: usize) -> Exhaustive {
        Exhaustive { seed, cap, stack: vec![Vec::new()], running: None, runs: 0 }
    }

    /// Schedules run so far.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// Whether every schedule within the cap has been run.
    pub fn complete(&self) -> bool {
        self.stack.is_empty() && self.running.is_none()
    }

    /// Schedules within the cap known so far: those run plus those queued (each queued prefix
    /// is at least one schedule). Exact once [`complete`](Self::complete).
    pub fn known(&self) -> u64 {
        self.runs + self.stack.len() as u64
    }
}

impl Strategy for Exhaustive {
    fn next_plan(&mut self) -> Option<Plan> {
        let prefix = self.stack.pop()?;
        self.running = Some(prefix.clone());
        self.runs += 1;
        let chooser = PrefixChooser { prefix, step: 0 };
        Some(Plan { seed: self.seed, chooser: Box::new(chooser), tail: Tail::Default })
    }

    fn finished(&mut self, decisions: &[(u32, u32)]) {
        let Some(prefix) = self.running.take() else { return };
        let deviations = prefix.iter().filter(|c| **c != 0).count();
        if deviations >= self.cap {
            return;
        }
        let choices: Vec<u32> = decisions.iter().map(|&(_, c)| c).collect();
        for step in (prefix.len()..decisions.len()).rev() {
            for choice in (1..decisions[step].0).rev() {
                let mut child = choices[..step].to_vec();
                child.push(choice);
                self.stack.push(child);
            }
        }
    }

    fn describe(&self) -> String {
        let cap = self.cap;
        if self.complete() {
            format!("exhaustive: {} distinct schedules within {cap} deviation(s); ran all of them", self.runs)
        } else {
            format!(
                "exhaustive: at least {} distinct schedules within {cap} deviation(s); ran {}",
                self.known(),
                self.runs
            )
        }
    }
}

/// Follows a prefix of choices, then chooses 0.
struct PrefixChooser {
    prefix: Vec<u32>,
    step: usize,
}

impl Chooser for PrefixChooser {
    fn choose(&mut self, n: usize) -> usize {
        let chosen = self.prefix.get(self.step).map_or(0, |&c| c as usize);
        self.step += 1;
        chosen.min(n - 1)
    }
}
