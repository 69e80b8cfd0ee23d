//! Replaying a decision log: a [`Chooser`] that answers from the log while the run matches it.
//!
//! Code changes move decision points, so a log can stop matching: at some step the run offers
//! a different number of options than the log recorded, or runs past the log's end. The
//! replayer notes the first such step (the divergence, for the report) and from there on
//! answers as the log's [`Tail`] says: the seed's own choices (its stream is drawn in lockstep
//! all along, so they are the choices the seed alone would have made) or the default order.

use std::sync::{Arc, Mutex};

use crate::chooser::{Chooser, Decision, DecisionKind, SeededChooser};
use crate::log::{DecisionLog, Tail};

/// Where a replay stopped following its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The decision's index (0-based) in the run.
    pub step: usize,
    /// What was being decided.
    pub kind: DecisionKind,
    /// Options the log recorded there (`None`: the log had ended).
    pub logged: Option<u32>,
    /// Options the run offered.
    pub found: u32,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Divergence { step, kind, found, .. } = self;
        match self.logged {
            Some(logged) => {
                write!(f, "diverged at step {step} ({kind:?}): the log has {logged} options there, the run {found}")
            }
            None => write!(f, "the log ended at step {step} ({kind:?}, {found} options)"),
        }
    }
}

/// A chooser that follows a [`DecisionLog`]; clone the handle to read the divergence after
/// the run.
#[derive(Clone)]
pub struct Replayer {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    decisions: Vec<(u32, u32)>,
    tail: Tail,
    seeded: SeededChooser,
    step: usize,
    divergence: Option<Divergence>,
    /// The kind of every decision made so far, for printing deviations.
    kinds: Vec<DecisionKind>,
}

impl Replayer {
    /// Follows `log`; its seed drives the tail.
    pub fn new(log: &DecisionLog) -> Replayer {
        let inner = Inner {
            decisions: log.decisions.clone(),
            tail: log.tail,
            seeded: SeededChooser::new(log.seed),
            step: 0,
            divergence: None,
            kinds: Vec::new(),
        };
        Replayer { inner: Arc::new(Mutex::new(inner)) }
    }

    /// The first step where the run did not match the log, if any. A log of
    /// [`Tail::Default`] is cut after its last deviation on purpose, so running past its end
    /// is not a divergence.
    pub fn divergence(&self) -> Option<Divergence> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.divergence.clone().filter(|d| d.logged.is_some() || inner.tail == Tail::Seed)
    }
}

impl Replayer {
    /// What each decision of the run was about, in order.
    pub fn kinds(&self) -> Vec<DecisionKind> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).kinds.clone()
    }
}

impl Chooser for Replayer {
    fn choose(&mut self, n: usize) -> usize {
        self.decide(&Decision { kind: DecisionKind::Pick, options: n, services: &[] })
    }

    fn decide(&mut self, decision: &Decision<'_>) -> usize {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let seeded = inner.seeded.choose(decision.options);
        let step = inner.step;
        inner.step += 1;
        inner.kinds.push(decision.kind);
        let found = decision.options as u32;
        if inner.divergence.is_none() {
            match inner.decisions.get(step).copied() {
                Some((n, c)) if n == found => return c as usize,
                logged => {
                    let logged = logged.map(|(n, _)| n);
                    inner.divergence = Some(Divergence { step, kind: decision.kind, logged, found });
                }
            }
        }
        match inner.tail {
            Tail::Seed => seeded,
            Tail::Default => 0,
        }
    }
}
