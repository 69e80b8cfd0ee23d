//! The threaded backend's run queues: where runnable services wait for a worker, and where idle
//! workers sleep.
//!
//! Each worker owns a FIFO queue (a `crossbeam-deque` `Worker`); what a worker schedules while it
//! runs goes there, with no lock and no shared cache line touched by the others. What a thread
//! that is not a worker schedules (a timer, the network poller, a `block_on` caller) goes to one
//! shared `Injector`. A worker takes from its own queue, then the injector, then steals half of
//! another worker's queue; every [`INJECTOR_EVERY`]th take looks at the injector first, so
//! neither the injector nor a worker's own queue can starve the other. A runnable is in exactly
//! one queue (or in one worker's next slot, see `mod.rs`), and a pop or steal takes it out
//! exactly once, so no service runs twice at once (G12).
//!
//! Its own module so that `make loom` checks the code that ships: under `--cfg loom` the
//! atomics, the lock and the condition variable are loom's, and the three deques are a small
//! stand-in ([`deque`]) whose emptiness is read without a lock, as crossbeam's is (see the
//! models at the end). The park protocol guarantees:
//! - **no lost wake-up**: a push makes its item visible, then reads how many workers search and
//!   sleep with a read-modify-write of the one word that holds both counts; a worker counts
//!   itself searching or sleeping with a read-modify-write of that word, then looks at every
//!   queue. Those are totally ordered, so either the pusher sees that worker counted or that
//!   worker sees the item ([`Idle`]). A push wakes one sleeper unless some worker searches; a
//!   searcher that finds work and is the last one searching wakes a sleeper if work remains in
//!   sight (the pushes that counted on it to look may have left more than it took), and one that
//!   finds nothing looks once more before it sleeps. A lone worker's own pushes read nothing:
//!   it is awake, and looks at its own queue before it sleeps.
//! - **shutdown terminates**: `stop` sets the flag and wakes every sleeper under the lock, and a
//!   worker checks the flag under the lock before each sleep, so every worker returns.
//!
//! **At 16 and 64 cores.** The hot path has no lock: a worker's own pushes and pops touch only
//! its deque (its owner's end) and one read-modify-write of the idle counts; the lock is taken
//! only to sleep and to wake a sleeper, which happens when the runtime goes from idle to busy,
//! not per message. The shared points that remain are (1) the idle counts' word, which every
//! push reads with a read-modify-write: one cache line that every worker's pushes pull in
//! exclusive mode, so at 64 cores it is the busiest shared line (tokio has the same; it could be
//! read with a plain load after a fence instead, which keeps the line shared while no count
//! changes); (2) the injector, which every worker polls when its own queue is empty and every
//! 61st take: a lock-free segment queue, but at 64 cores a timer or poller burst has 64 readers
//! of its head; (3) the sleepers' lock and condition variable. Stealing is a scan of the other
//! workers' deques from a per-worker pseudo-random start: cheap when one holds work (half of it
//! moves in one steal), but an idle worker's scan reads 63 deques. To bound that, at most half
//! of the workers (at least two) search at once; the rest go straight to sleep, as tokio does.
//! What would change at 64 cores: a woken worker should be counted as searching by the one that
//! wakes it (tokio's transition), so a burst of pushes wakes one worker rather than one per push
//! while the first wakes up; the injector would take batches (the poller's events pushed at
//! once); and sleepers would park on a per-worker condition variable (or futex) picked by the
//! waker, so a wake-up need not go through one shared lock. On this 2-core machine none of these
//! shows up (see BENCHMARKS.md, "Run queue").

#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(loom)]
use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(loom)]
use loom::thread::yield_now;
#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(not(loom))]
use std::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
use std::thread::yield_now;

/// Times an idle worker looks at the queues again (yielding in between) before it sleeps.
const SEARCH_ROUNDS: usize = if cfg!(loom) { 1 } else { 4 };
/// Every this many takes, a worker looks at the injector before its own queue (tokio's figure),
/// so that a worker whose own queue never empties still serves the injector.
pub(crate) const INJECTOR_EVERY: u32 = 61;

/// The queues every worker shares, and the sleepers' state.
pub(crate) struct RunQueue<T> {
    injector: deque::Injector<T>,
    /// One per worker, by index: the other end of each worker's own queue.
    stealers: Box<[deque::Stealer<T>]>,
    /// Two counts in one word, so that one read-modify-write orders a push against both (see
    /// [`Idle`]): workers that ran out of work and look again before sleeping (a push they will
    /// see needs no wake-up: tokio's "searching" state), and workers counted asleep (counted
    /// under `sleep` before their last look, uncounted after waking).
    idle: AtomicUsize,
    /// At most this many workers search at once; the others go straight to sleep.
    searchers_max: usize,
    stop: AtomicBool,
    sleep: Mutex<()>,
    wake: Condvar,
}

/// A worker's own queue and its place among the stealers. Lives on its worker thread.
pub(crate) struct Local<T> {
    queue: deque::Local<T>,
    index: usize,
    /// Takes so far (for [`INJECTOR_EVERY`]).
    ticks: u32,
    /// A xorshift state: where the next steal scan starts (not OS randomness: seeded by index).
    scan: u32,
}

impl<T> RunQueue<T> {
    /// The shared queue of `workers` workers (at least 1) and each worker's own queue, by index.
    pub(crate) fn new(workers: usize) -> (RunQueue<T>, Vec<Local<T>>) {
        let workers = workers.max(1);
        let locals: Vec<Local<T>> = (0..workers)
            .map(|index| Local {
                queue: deque::Local::new(),
                index,
                ticks: 0,
                scan: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
            })
            .collect();
        let queue = RunQueue {
            injector: deque::Injector::new(),
            stealers: locals.iter().map(|l| l.queue.stealer()).collect(),
            idle: AtomicUsize::new(0),
            searchers_max: (workers / 2).max(2),
            stop: AtomicBool::new(false),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
        };
        (queue, locals)
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.sleep.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item` from a thread that is not one of the workers (or not this queue's).
    pub(crate) fn push(&self, item: T) {
        self.injector.push(item);
        self.notify();
    }

    /// Queues `item` on the calling worker's own queue (`local` is that worker's).
    pub(crate) fn push_local(&self, local: &Local<T>, item: T) {
        local.queue.push(item);
        // A lone worker pushing is awake, and looks at its own queue before it sleeps.
        if self.stealers.len() > 1 {
            self.notify();
        }
    }

    /// After a push: wakes a sleeper unless a searcher will see the item (module docs).
    fn notify(&self) {
        let idle = Idle::read(&self.idle);
        if idle.searching == 0 && idle.sleeping > 0 {
            let _sleep = self.lock();
            self.wake.notify_one();
        }
    }

    /// Whether an item waits in `local`'s own queue or the injector (what the calling worker
    /// would take next, before stealing).
    pub(crate) fn has_ready(&self, local: &Local<T>) -> bool {
        !local.queue.is_empty() || !self.injector.is_empty()
    }

    /// Whether any queue holds an item (a snapshot, for tests and the wake-up heuristic).
    pub(crate) fn looks_empty(&self) -> bool {
        self.injector.is_empty() && self.stealers.iter().all(deque::Stealer::is_empty)
    }

    /// Whether no worker runs a turn: each sleeps or searches (and will sleep when it finds
    /// nothing). A heuristic for a helping thread (`mod.rs`, `Executor::help`), which then runs
    /// what it would push: pushed, the item would cost a wake-up, or a searcher would take it and
    /// what its turn publishes would wake the helping thread back. A stale answer costs a
    /// wake-up or a turn run by that thread, never a lost item.
    pub(crate) fn all_idle(&self) -> bool {
        let idle = Idle::split(self.idle.load(Ordering::Relaxed));
        idle.searching + idle.sleeping == self.stealers.len()
    }

    /// The next item for the worker owning `local`: its own queue, the injector, the others'
    /// queues; then it looks again a few times before sleeping until there is one. None:
    /// stopped.
    pub(crate) fn next(&self, local: &mut Local<T>) -> Option<T> {
        if let Some(item) = self.find(local) {
            return Some(item);
        }
        loop {
            if let Some(item) = self.search(local) {
                return Some(item);
            }
            let sleep = self.lock();
            if self.stop.load(Ordering::Acquire) {
                return None;
            }
            self.idle.fetch_add(Idle::SLEEPING_ONE, Ordering::SeqCst);
            if let Some(item) = self.find(local) {
                self.idle.fetch_sub(Idle::SLEEPING_ONE, Ordering::SeqCst);
                drop(sleep);
                // This worker may have just stopped searching: the pushes that counted on it
                // may have left more than it took.
                self.wake_for_rest();
                return Some(item);
            }
            let sleep = self.wake.wait(sleep).unwrap_or_else(|e| e.into_inner());
            self.idle.fetch_sub(Idle::SLEEPING_ONE, Ordering::SeqCst);
            drop(sleep);
            if self.stop.load(Ordering::Acquire) {
                return None;
            }
            if let Some(item) = self.find(local) {
                return Some(item);
            }
        }
    }

    /// The searching phase: counted in `searching`, a few looks with the CPU yielded in between.
    /// None without counting itself if enough workers search already.
    fn search(&self, local: &mut Local<T>) -> Option<T> {
        if Idle::split(self.idle.load(Ordering::Relaxed)).searching >= self.searchers_max {
            return None;
        }
        self.idle.fetch_add(Idle::SEARCHING_ONE, Ordering::SeqCst);
        let mut found = None;
        for _ in 0..SEARCH_ROUNDS {
            yield_now();
            found = self.find(local);
            if found.is_some() || self.stop.load(Ordering::Acquire) {
                break;
            }
        }
        let last = Idle::split(self.idle.fetch_sub(Idle::SEARCHING_ONE, Ordering::SeqCst)).searching == 1;
        if found.is_some() && last {
            self.wake_for_rest();
        }
        found
    }

    /// Called by a worker that found an item just after it stopped searching, as the last
    /// searcher: the pushes made while it searched woke no one, so if they left more than it
    /// took, wake a sleeper for the rest. (One that finds nothing looks again before it sleeps.)
    fn wake_for_rest(&self) {
        if Idle::read(&self.idle).sleeping > 0 && !self.looks_empty() {
            let _sleep = self.lock();
            self.wake.notify_one();
        }
    }

    /// One look at every queue, in the order of the module docs.
    fn find(&self, local: &mut Local<T>) -> Option<T> {
        local.ticks = local.ticks.wrapping_add(1);
        if local.ticks.is_multiple_of(INJECTOR_EVERY)
            && let Some(item) = self.injector.steal_into(&local.queue)
        {
            return Some(item);
        }
        if let Some(item) = local.queue.pop() {
            return Some(item);
        }
        if let Some(item) = self.injector.steal_into(&local.queue) {
            return Some(item);
        }
        self.steal(local)
    }

    /// Half of another worker's queue (one of it returned, the rest into `local`), scanning from
    /// a pseudo-random worker.
    fn steal(&self, local: &mut Local<T>) -> Option<T> {
        let workers = self.stealers.len();
        if workers < 2 {
            return None;
        }
        local.scan ^= local.scan << 13;
        local.scan ^= local.scan >> 17;
        local.scan ^= local.scan << 5;
        let start = local.scan as usize % workers;
        (0..workers)
            .map(|i| (start + i) % workers)
            .filter(|&i| i != local.index)
            .find_map(|i| self.stealers[i].steal_into(&local.queue))
    }

    /// Stops the queue: every worker's `next` returns None from now on (once it finds nothing,
    /// or at once if it sleeps).
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let _sleep = self.lock();
        self.wake.notify_all();
    }
}

/// The two counts of [`RunQueue::idle`]. Every change to them is a read-modify-write of the one
/// word, and so is a push's read ([`Idle::read`]): read-modify-writes of one word are totally
/// ordered and each reads the one before it, so of a push and a worker's counting itself, the
/// later one happens after the earlier. Either the push sees the worker counted, or the worker's
/// next look at the queues (after its count) sees the item. No fence is needed beside them.
struct Idle {
    searching: usize,
    sleeping: usize,
}

impl Idle {
    const SHIFT: u32 = usize::BITS / 2;
    const SEARCHING_ONE: usize = 1;
    const SLEEPING_ONE: usize = 1 << Idle::SHIFT;

    fn split(word: usize) -> Idle {
        Idle { searching: word & (Idle::SLEEPING_ONE - 1), sleeping: word >> Idle::SHIFT }
    }

    /// The counts as a push must read them: a read-modify-write (adding 0), not a plain load.
    fn read(idle: &AtomicUsize) -> Idle {
        Idle::split(idle.fetch_add(0, Ordering::SeqCst))
    }
}

/// The three deques behind one small interface: crossbeam's in normal builds; under loom, a
/// stand-in whose length is an atomic read without a lock (as crossbeam's `is_empty` and the
/// empty fast path of its steals are), so the models see the same visibility races the idle
/// counts must close. Each take is linearizable in both.
#[cfg(not(loom))]
mod deque {
    use crossbeam_deque::Steal;

    /// Retries a steal that lost a race with another taker until it succeeds or finds nothing.
    fn retry<T>(mut steal: impl FnMut() -> Steal<T>) -> Option<T> {
        loop {
            match steal() {
                Steal::Success(item) => return Some(item),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
    }

    pub(crate) struct Local<T>(crossbeam_deque::Worker<T>);
    pub(crate) struct Stealer<T>(crossbeam_deque::Stealer<T>);
    pub(crate) struct Injector<T>(crossbeam_deque::Injector<T>);

    impl<T> Local<T> {
        pub(crate) fn new() -> Local<T> {
            Local(crossbeam_deque::Worker::new_fifo())
        }
        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer(self.0.stealer())
        }
        pub(crate) fn push(&self, item: T) {
            self.0.push(item);
        }
        pub(crate) fn pop(&self) -> Option<T> {
            self.0.pop()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    impl<T> Stealer<T> {
        pub(crate) fn steal_into(&self, local: &Local<T>) -> Option<T> {
            retry(|| self.0.steal_batch_and_pop(&local.0))
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    impl<T> Injector<T> {
        pub(crate) fn new() -> Injector<T> {
            Injector(crossbeam_deque::Injector::new())
        }
        pub(crate) fn push(&self, item: T) {
            self.0.push(item);
        }
        pub(crate) fn steal_into(&self, local: &Local<T>) -> Option<T> {
            retry(|| self.0.steal_batch_and_pop(&local.0))
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }
}

#[cfg(loom)]
mod deque {
    use std::collections::VecDeque;

    use loom::sync::atomic::{AtomicUsize, Ordering};
    use loom::sync::{Arc, Mutex};

    /// A FIFO: items under a lock, their count beside it, written after the items (Release) and
    /// read without the lock (Acquire) to tell empty, as crossbeam reads its indices.
    struct Fifo<T> {
        items: Mutex<VecDeque<T>>,
        len: AtomicUsize,
    }

    impl<T> Fifo<T> {
        fn new() -> Fifo<T> {
            Fifo { items: Mutex::new(VecDeque::new()), len: AtomicUsize::new(0) }
        }
        fn push(&self, item: T) {
            let mut items = self.items.lock().unwrap();
            items.push_back(item);
            self.len.store(items.len(), Ordering::Release);
        }
        fn pop(&self) -> Option<T> {
            if self.is_empty() {
                return None;
            }
            let mut items = self.items.lock().unwrap();
            let item = items.pop_front();
            self.len.store(items.len(), Ordering::Release);
            item
        }
        fn is_empty(&self) -> bool {
            self.len.load(Ordering::Acquire) == 0
        }
    }

    pub(crate) struct Local<T>(Arc<Fifo<T>>);
    pub(crate) struct Stealer<T>(Arc<Fifo<T>>);
    pub(crate) struct Injector<T>(Fifo<T>);

    impl<T> Local<T> {
        pub(crate) fn new() -> Local<T> {
            Local(Arc::new(Fifo::new()))
        }
        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer(self.0.clone())
        }
        pub(crate) fn push(&self, item: T) {
            self.0.push(item);
        }
        pub(crate) fn pop(&self) -> Option<T> {
            self.0.pop()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    // One item per steal: the models hold too few items for a batch to matter.
    impl<T> Stealer<T> {
        pub(crate) fn steal_into(&self, _local: &Local<T>) -> Option<T> {
            self.0.pop()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    impl<T> Injector<T> {
        pub(crate) fn new() -> Injector<T> {
            Injector(Fifo::new())
        }
        pub(crate) fn push(&self, item: T) {
            self.0.push(item);
        }
        pub(crate) fn steal_into(&self, _local: &Local<T>) -> Option<T> {
            self.0.pop()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    use loom::sync::Arc;

    use super::{Local, RunQueue};

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(3);
        }
        builder.check(f);
    }

    fn queue(workers: usize) -> (Arc<RunQueue<u32>>, Vec<Local<u32>>) {
        let (queue, locals) = RunQueue::new(workers);
        (Arc::new(queue), locals)
    }

    // A worker that needs `n` items: it sleeps when the queues are empty and must be woken.
    fn worker(queue: Arc<RunQueue<u32>>, mut local: Local<u32>, n: usize) -> loom::thread::JoinHandle<Vec<u32>> {
        loom::thread::spawn(move || (0..n).map_while(|_| queue.next(&mut local)).collect())
    }

    // No lost wake-up: a worker parked (or about to park) gets each push from outside.
    #[test]
    fn loom_queue_push_wakes_a_parked_worker() {
        model(|| {
            let (queue, mut locals) = queue(1);
            let taker = worker(queue.clone(), locals.pop().unwrap(), 2);
            queue.push(1);
            queue.push(2);
            assert_eq!(taker.join().unwrap(), vec![1, 2]);
        });
    }

    // With two workers, one push is taken by exactly one of them; then shutdown wakes the
    // other, and both return.
    #[test]
    fn loom_queue_one_push_two_workers_then_shutdown() {
        model(|| {
            let (queue, mut locals) = queue(2);
            let b = worker(queue.clone(), locals.pop().unwrap(), 1);
            let a = worker(queue.clone(), locals.pop().unwrap(), 1);
            queue.push(7);
            // Wait until one has it, then stop: the other must not sleep forever.
            while !queue.looks_empty() {
                loom::thread::yield_now();
            }
            queue.stop();
            let mut taken = a.join().unwrap();
            taken.extend(b.join().unwrap());
            assert_eq!(taken, vec![7]);
        });
    }

    // Shutdown terminates a worker whatever it is doing (searching, parking, asleep).
    #[test]
    fn loom_queue_shutdown_terminates_parked_worker() {
        model(|| {
            let (queue, mut locals) = queue(1);
            let taker = worker(queue.clone(), locals.pop().unwrap(), 1);
            queue.stop();
            assert_eq!(taker.join().unwrap(), Vec::<u32>::new());
        });
    }

    // A worker's own push, with the worker then busy for good (its thread ends here): the other
    // worker, searching or asleep, must be woken and steal it.
    #[test]
    fn loom_queue_local_push_is_stolen_by_a_parked_worker() {
        model(|| {
            let (queue, mut locals) = queue(2);
            let thief = worker(queue.clone(), locals.pop().unwrap(), 1);
            let busy = locals.pop().unwrap();
            queue.push_local(&busy, 5);
            assert_eq!(thief.join().unwrap(), vec![5]);
        });
    }

    // Two pushes while both workers are idle, each worker taking one and then staying busy: the
    // second item must not wait behind a searcher that took the first (the last searcher wakes
    // a sleeper for what remains).
    #[test]
    fn loom_queue_two_pushes_reach_two_workers() {
        model(|| {
            let (queue, mut locals) = queue(2);
            let b = worker(queue.clone(), locals.pop().unwrap(), 1);
            let a = worker(queue.clone(), locals.pop().unwrap(), 1);
            queue.push(1);
            queue.push(2);
            let mut taken = a.join().unwrap();
            taken.extend(b.join().unwrap());
            taken.sort_unstable();
            assert_eq!(taken, vec![1, 2]);
        });
    }
}
