//! One step of the simulator's executor: picking the services that run "at once", running
//! each under a capture of its deliveries, and interleaving what they held back; or firing the
//! timers that are due (see the parent module's docs for the rules, and for what it costs).

use std::sync::atomic::Ordering;
use std::task::Waker;

use skygroup::Address;
use skygroup::executor::{Delivery, Runnable, Stalled, capture_into};

use super::{DUE_WAIT_MAX, QUANTUM, SimExecutor, State};
use crate::chooser::DecisionKind;
use crate::oracle::Violation;
use crate::record::Happening;

impl SimExecutor {
    /// One step (see the parent module's docs), with buffers the caller keeps between steps.
    pub(super) fn step(&self, step: &mut StepScratch) -> Result<(), Stalled> {
        let mut state = self.state();
        state.steps += 1;
        if state.steps > state.steps_max {
            return Err(Stalled::StepLimit(state.steps_max));
        }
        if state.ready.is_empty() {
            let wakers = state.fire_timers();
            drop(state);
            if wakers.is_empty() {
                return Err(Stalled::Deadlock);
            }
            wakers.into_iter().for_each(Waker::wake);
            return Ok(());
        }
        if state.due_first() {
            let wakers = state.fire_due();
            state.timers_under_load += 1;
            drop(state);
            wakers.into_iter().for_each(Waker::wake);
            return Ok(());
        }
        state.now += QUANTUM;
        if state.ready.len() == 1 {
            // One runnable service (a ping-pong's every step): nothing to choose (how many run
            // at once and which are choices of one option, no fault delays the only one), and
            // its deliveries go in their order.
            let r = state.ready.pop().expect("one");
            self.running.store(true, Ordering::Relaxed);
            drop(state);
            capture_into(&mut step.single, || r.run(1));
            self.running.store(false, Ordering::Relaxed);
            deliver_all(&mut step.single);
            return Ok(());
        }
        state.pick(self.workers, &mut step.picked);
        self.running.store(true, Ordering::Relaxed);
        drop(state);
        step.picked.reverse(); // popped from the back: in the order picked
        while let Some(r) = step.picked.pop() {
            let address = r.address();
            let mut run = step.spare.pop().unwrap_or_default();
            capture_into(&mut run, || r.run(1));
            if run.is_empty() {
                step.spare.push(run);
                continue;
            }
            self.held_earlier.store(true, Ordering::Relaxed);
            step.held.push((address, run));
        }
        self.running.store(false, Ordering::Relaxed);
        self.held_earlier.store(false, Ordering::Relaxed);
        self.deliver_held(step);
        Ok(())
    }

    /// Delivers what the step's services held back: one service's in its order, several
    /// services' interleaved as the seed chooses (each service's still in its order, G6).
    #[inline]
    fn deliver_held(&self, step: &mut StepScratch) {
        if step.held.len() == 1 {
            // One service's deliveries go in their order: no decision, nothing to interleave.
            let (_, mut run) = step.held.pop().expect("one");
            deliver_all(&mut run);
            step.spare.push(run);
            return;
        }
        step.held.iter_mut().for_each(|(_, run)| run.reverse()); // popped from the back: first first
        while !step.held.is_empty() {
            // One service's deliveries go in their order: no decision (`choose` of one option).
            let i = if step.held.len() == 1 {
                0
            } else {
                let mut state = self.state();
                state.options.clear();
                state.options.extend(step.held.iter().map(|(a, _)| *a));
                state.choose(DecisionKind::Interleave, step.held.len())
            };
            let delivery = step.held[i].1.pop().expect("non-empty");
            if step.held[i].1.is_empty() {
                let (_, run) = step.held.remove(i);
                step.spare.push(run);
            }
            delivery.deliver();
        }
    }
}

/// Delivers `run`'s deliveries in order, leaving it empty (its capacity kept). One delivery
/// (a step's usual count) is popped: a `Drain` for it cost more than the delivery's push.
fn deliver_all(run: &mut Vec<Delivery>) {
    match run.len() {
        0 => {}
        1 => run.pop().expect("one").deliver(),
        _ => run.drain(..).for_each(Delivery::deliver),
    }
}

/// A step's buffers, kept between steps (by `block_on`) so a step allocates nothing: the services picked, and
/// per service run, its held-back deliveries (last first).
#[derive(Default)]
pub(super) struct StepScratch {
    picked: Vec<Runnable>,
    held: Vec<(Address, Vec<Delivery>)>,
    /// Empty delivery buffers, capacity kept.
    spare: Vec<Vec<Delivery>>,
    /// The deliveries of a step that ran one service.
    single: Vec<Delivery>,
}

impl State {
    /// Chooses how many services run at once and which (into `picked`, empty), and notes a
    /// round of several. Services whose deliveries a fault delays sit this step out (while
    /// others can run).
    fn pick(&mut self, workers: usize, picked: &mut Vec<Runnable>) {
        if self.faults.is_none() {
            return self.pick_among_ready(workers, picked); // nothing is delayed
        }
        let delayed = self.delayed();
        self.pick_among_ready(workers, picked);
        for (i, runnable) in delayed {
            let i = i.min(self.ready.len()); // picked services left; keep the rest's order
            self.ready.insert(i, runnable);
        }
    }

    /// Takes out of `ready` the runnables a "slow delivery" fault holds back this step, with
    /// their positions; never all of them. Legal (S3): a real worker pool may leave any runnable
    /// service waiting while others run.
    fn delayed(&mut self) -> Vec<(usize, Runnable)> {
        let Some(faults) = self.faults.as_mut() else { return Vec::new() };
        if self.ready.len() < 2 {
            return Vec::new();
        }
        let held: Vec<usize> = (0..self.ready.len()).filter(|&i| faults.delay(self.ready[i].address())).collect();
        if held.len() == self.ready.len() {
            return Vec::new();
        }
        held.into_iter().rev().map(|i| (i, self.ready.remove(i))).collect::<Vec<_>>().into_iter().rev().collect()
    }

    fn pick_among_ready(&mut self, workers: usize, picked: &mut Vec<Runnable>) {
        let limit = workers.min(self.ready.len());
        let at_once = 1 + self.choose(DecisionKind::AtOnce, limit);
        for _ in 0..at_once {
            let i = if self.ready.len() == 1 {
                0 // one option: no decision (`choose`)
            } else {
                self.options.clear();
                let ready = self.ready.iter().map(Runnable::address);
                self.options.extend(ready);
                self.choose(DecisionKind::Pick, self.ready.len())
            };
            picked.push(self.ready.remove(i));
        }
        if picked.len() > 1 {
            self.check_overlap(picked);
            if self.tracing {
                let services: Vec<_> = picked.iter().map(Runnable::address).collect();
                // The line is formatted only when text is on (the closure runs only then).
                let names = |services: &[Address]| services.iter().map(ToString::to_string).collect::<Vec<_>>();
                let line = if self.text { format!("round   {}", names(&services).join(" ")) } else { String::new() };
                self.log(Happening::Round { services }, || line);
            }
        }
    }

    /// A service picked twice for one step would run on two workers at once (G12). (A few
    /// services at most: pairs compared without allocating; the lowest such address is named.)
    fn check_overlap(&mut self, picked: &[Runnable]) {
        let twice = (picked.iter().enumerate())
            .filter(|(i, r)| picked[i + 1..].iter().any(|q| q.address() == r.address()))
            .map(|(_, r)| r.address())
            .min();
        if let Some(service) = twice {
            let message = format!("service {service} was handed to two workers in one step: two handlers at once");
            self.overlaps.push(Violation { rule: "G12", at: self.records.len(), message });
        }
    }

    /// Whether due timers fire before the runnable services this step (see the module docs).
    fn due_first(&mut self) -> bool {
        let due = self.timers.first_key_value().is_some_and(|(&(deadline, _), _)| deadline <= self.now);
        if !due {
            self.due_waited = 0;
            return false;
        }
        if self.due_waited >= DUE_WAIT_MAX || self.choose(DecisionKind::Due, 2) == 1 {
            self.due_waited = 0;
            return true;
        }
        self.due_waited += 1;
        false
    }

    /// Jumps to the earliest deadline and takes every timer due then, in a chosen order.
    fn fire_timers(&mut self) -> Vec<Waker> {
        let Some((&(deadline, _), _)) = self.timers.first_key_value() else { return Vec::new() };
        self.now = self.now.max(deadline);
        self.fire_due()
    }

    /// Takes every timer due now, in a chosen order.
    fn fire_due(&mut self) -> Vec<Waker> {
        let mut due = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            due.push(entry.remove().1);
        }
        let mut ordered = Vec::with_capacity(due.len());
        while !due.is_empty() {
            let i = self.choose(DecisionKind::Timer, due.len());
            ordered.push(due.remove(i));
        }
        if self.tracing {
            let fired = ordered.len();
            self.log(Happening::Timers { fired }, || format!("timer   {fired} due"));
        }
        ordered
    }
}
