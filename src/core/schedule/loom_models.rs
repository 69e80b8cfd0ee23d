//! loom models of the scheduling state (`make loom`): the real [`Schedule`] driven by a small
//! service skeleton whose mailbox, core and log are loom mutexes, from two or three threads.
//!
//! The skeleton mirrors its callers in the cell: `push` (mailbox lock, `mail`), `run_turn`
//! (take the mailbox once the batch is used up, handle up to a budget, `set_batched`,
//! `finish`), `run_direct` (`claim_direct`, then the started/exit check, the handler, `finish`)
//! and `request_exit`/finalize. A turn handed to "the executor" is run by the thread that got
//! it, which is the same as any worker running it later. Each model checks, over every
//! interleaving: no message left behind with nobody to run it (G7), messages of one sender
//! handled in order (G6), and never two runners at once (G12).

use std::collections::VecDeque;

use loom::sync::{Arc, Mutex};

use super::Schedule;

/// A message: (sender, sequence number).
type Msg = (u8, u32);

#[derive(Default)]
struct Mailbox {
    queue: VecDeque<Msg>,
    closed: bool,
}

#[derive(Default)]
struct Core {
    batch: VecDeque<Msg>,
    exited: bool,
}

struct Service {
    sched: Schedule,
    mailbox: Mutex<Mailbox>,
    /// The cell's core is a borrow flag, not a lock: like it, only `try_lock` takes this one,
    /// and finding it taken is two runners at once.
    core: Mutex<Core>,
    /// Handled messages, in the order handled (a turn's and a direct handler's alike).
    log: Mutex<Vec<Msg>>,
    /// Messages that bounced off the closed mailbox or were rejected at exit.
    rejected: Mutex<Vec<Msg>>,
    budget: usize,
}

impl Service {
    fn new(budget: usize) -> Arc<Service> {
        Arc::new(Service {
            sched: Schedule::new(),
            mailbox: Mutex::new(Mailbox::default()),
            core: Mutex::new(Core::default()),
            log: Mutex::new(Vec::new()),
            rejected: Mutex::new(Vec::new()),
            budget,
        })
    }

    /// `ServiceCell::push`, then running the turns it claimed (as the executor would).
    fn push(&self, msg: Msg) {
        let claimed = {
            let mut mailbox = self.mailbox.lock().unwrap();
            if mailbox.closed {
                self.rejected.lock().unwrap().push(msg);
                return;
            }
            mailbox.queue.push_back(msg);
            self.sched.mail()
        };
        if claimed {
            self.run_turns();
        }
    }

    /// `ServiceCell::run_turn`, again for as long as `finish` hands the turn back.
    fn run_turns(&self) {
        while self.run_turn() {}
    }

    /// One turn; true if the runner must schedule another.
    fn run_turn(&self) -> bool {
        let mut core = self.core.try_lock().expect("two runners at once (G12)");
        if core.exited {
            return false;
        }
        if core.batch.is_empty() {
            let mut mailbox = self.mailbox.lock().unwrap();
            std::mem::swap(&mut core.batch, &mut mailbox.queue);
            self.sched.unmail();
        }
        for _ in 0..self.budget {
            if self.sched.exit_requested() {
                break;
            }
            let Some(msg) = core.batch.pop_front() else { break };
            self.sched.set_batched(core.batch.len());
            self.log.lock().unwrap().push(msg);
        }
        if self.sched.exit_requested() {
            core.exited = true;
            let mut rest: Vec<Msg> = core.batch.drain(..).collect();
            let mut mailbox = self.mailbox.lock().unwrap();
            mailbox.closed = true;
            rest.extend(mailbox.queue.drain(..));
            self.rejected.lock().unwrap().extend(rest);
            return false;
        }
        let batched = core.batch.len();
        self.sched.set_batched(batched);
        drop(core);
        self.sched.finish(batched > 0)
    }

    /// `ServiceCell::run_direct` for a started service: the handler runs here if the claim is
    /// taken, else the message goes the normal way (`push`).
    fn call_direct(&self, msg: Msg) {
        if !self.sched.claim_direct() {
            return self.push(msg);
        }
        if self.sched.exit_requested() {
            if self.sched.finish(false) {
                self.run_turns();
            }
            return self.push(msg);
        }
        // The direct handler needs nothing queued ahead of it: what it overtakes would be
        // handled after a later message of the same sender (G6).
        assert_eq!(self.sched.batched(), 0, "a direct call claimed past leftovers");
        self.log.lock().unwrap().push(msg);
        if self.sched.finish(false) {
            self.run_turns();
        }
    }

    /// `ServiceCell::request_exit`, then running the turn it claimed.
    fn request_exit(&self) {
        if self.sched.request_exit() {
            self.run_turns();
        }
    }

    /// Whether every message of `sender` up to `last` was handled, in order.
    fn handled_in_order(&self, sender: u8, last: u32) -> bool {
        let seqs: Vec<u32> = self.log.lock().unwrap().iter().filter(|m| m.0 == sender).map(|m| m.1).collect();
        seqs == (1..=last).collect::<Vec<_>>()
    }

    /// Nothing waits in the mailbox or batch (every message was handled or rejected).
    fn drained(&self) -> bool {
        self.mailbox.lock().unwrap().queue.is_empty() && self.core.lock().unwrap().batch.is_empty()
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

// checks G7: a push racing with the runner's release is never left behind (no lost wake-up).
#[test]
fn loom_push_vs_finishing_runner() {
    model(|| {
        let service = Service::new(8);
        service.push((1, 1)); // claimed and run here: the service is idle again
        service.mailbox.lock().unwrap().queue.push_back((1, 2));
        assert!(service.sched.mail(), "idle after its first turn: this push claims");
        let runner = {
            let service = service.clone();
            loom::thread::spawn(move || service.run_turns())
        };
        service.push((1, 3));
        runner.join().unwrap();
        assert!(service.handled_in_order(1, 3));
        assert!(service.drained());
    });
}

// checks G7 and G12 with three threads: two pushers and a runner finishing its turn.
#[test]
fn loom_two_pushers_vs_runner() {
    model(|| {
        let service = Service::new(8);
        service.mailbox.lock().unwrap().queue.push_back((3, 1));
        assert!(service.sched.mail());
        let runner = {
            let service = service.clone();
            loom::thread::spawn(move || service.run_turns())
        };
        let other = {
            let service = service.clone();
            loom::thread::spawn(move || service.push((2, 1)))
        };
        service.push((1, 1));
        runner.join().unwrap();
        other.join().unwrap();
        assert!(service.handled_in_order(1, 1) && service.handled_in_order(2, 1) && service.handled_in_order(3, 1));
        assert!(service.drained());
    });
}

// checks G6 and G7: a turn that ends with leftovers (more than its budget) and a direct call
// from the same sender on another thread. The direct call must not run ahead of the leftovers,
// and the leftovers must not be stranded (the race of issue 11).
#[test]
fn loom_direct_claim_vs_turn_with_leftovers() {
    model(|| {
        let service = Service::new(1);
        {
            let mut mailbox = service.mailbox.lock().unwrap();
            mailbox.queue.extend([(1, 1), (1, 2)]);
        }
        assert!(service.sched.mail(), "the first push claims");
        let runner = {
            let service = service.clone();
            loom::thread::spawn(move || service.run_turns())
        };
        // Sender 1's next message, a direct call, issued after its two queued sends.
        service.call_direct((1, 3));
        runner.join().unwrap();
        assert!(service.handled_in_order(1, 3), "G6: {:?}", service.log.lock().unwrap());
        assert!(service.drained(), "G7: a message was stranded");
    });
}

// checks G7 and G9: an exit request racing with a push. The push is handled or rejected,
// never lost, and the service is finalized once, by one runner.
#[test]
fn loom_exit_request_vs_push() {
    model(|| {
        let service = Service::new(8);
        let exit = {
            let service = service.clone();
            loom::thread::spawn(move || service.request_exit())
        };
        service.push((1, 1));
        exit.join().unwrap();
        let handled = service.log.lock().unwrap().len();
        let rejected = service.rejected.lock().unwrap().len();
        assert_eq!(handled + rejected, 1, "the push was lost");
        assert!(service.core.lock().unwrap().exited, "the exit request was lost");
        assert!(service.drained());
    });
}
