//! skygroup-sim: a seeded deterministic simulator for skygroup services.
//!
//! The same service code that runs on the threaded backend runs here on one thread, with
//! virtual time and every scheduling choice drawn from one seed (S1, S4). Only orders the
//! threaded backend could produce are explored (S3; see the `executor` module's docs).
//! Any failure prints the seed and the command that replays it (S2). Several runtimes can
//! share one run as the nodes of a simulated cluster ([`Sim::cluster`], the [`cluster`]
//! module), with seeded frame and store delays, partitions, disconnects and crashes.
//!
//! ```
//! use skygroup::{ServiceKind, Value};
//! use skygroup_sim::Sim;
//!
//! let sim = Sim::new(7);
//! let rt = sim.runtime();
//! rt.define(ServiceKind::stateless("echo").command("echo", |_c, v: Value| async move { Ok(v) })).unwrap();
//! let echo = rt.spawn("echo", ()).unwrap();
//! let reply = rt.block_on(move |ctx| async move { ctx.call(echo, "echo", 1).await });
//! assert_eq!(reply.unwrap(), Value::from(1));
//! assert!(sim.trace().iter().any(|line| line.contains("handle")));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bench;
pub mod chooser;
pub mod cli;
pub mod cluster;
pub mod deadlock;
mod executor;
pub mod explore;
pub mod faults;
mod fingerprint;
pub mod fuzz;
mod harness;
pub mod log;
pub mod net;
pub mod oracle;
pub mod program;
pub mod record;
pub mod render;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod shrink;
pub mod strategy;

use std::sync::Arc;

use skygroup::Runtime;

pub use chooser::{Chooser, Decision, DecisionKind, SeededChooser};
pub use executor::{RunStats, STEPS_MAX};
pub use harness::{SEED_ENV, check, check_determinism, replay_line, seeds_from_env};
pub use record::{Dest, Happening, Msg, Record};

use executor::{Settings, SimExecutor};

/// Default number of virtual workers: the threaded backend's count on a 2-core machine.
pub const WORKERS_DEFAULT: usize = 2;

/// One simulated world: an executor driven by one seed, and the runtime on it.
pub struct Sim {
    seed: u64,
    executor: Arc<SimExecutor>,
}

impl Sim {
    /// A simulator for `seed` with [`WORKERS_DEFAULT`] virtual workers, recording a trace.
    pub fn new(seed: u64) -> Sim {
        Sim::builder(seed).build()
    }

    /// Options beyond the seed.
    pub fn builder(seed: u64) -> SimBuilder {
        SimBuilder {
            seed,
            workers: WORKERS_DEFAULT,
            trace: true,
            text: true,
            steps_max: STEPS_MAX,
            chooser: None,
            faults: false,
            net_faults: false,
        }
    }

    /// A runtime on this simulator. Make one per `Sim`.
    pub fn runtime(&self) -> Runtime {
        Runtime::with_executor(self.executor.clone())
    }

    /// The seed this run is driven by.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The trace so far: one line per event, virtual time first.
    pub fn trace(&self) -> Vec<String> {
        self.executor.trace_lines()
    }

    /// The trace so far as data (what the oracle checks).
    pub fn records(&self) -> Vec<Record> {
        self.executor.records()
    }

    /// Text trace lines so far.
    pub(crate) fn trace_len(&self) -> usize {
        self.executor.trace_len()
    }

    /// Moves the text trace and the records out, leaving both empty (for a finished run).
    pub(crate) fn take_trace(&self) -> (Vec<String>, Vec<Record>) {
        self.executor.take_trace()
    }

    /// The decision log so far: for each choice, (options, chosen).
    pub fn decisions(&self) -> Vec<(u32, u32)> {
        self.executor.decisions()
    }

    /// Counters of the run so far.
    pub fn stats(&self) -> RunStats {
        self.executor.stats()
    }

    /// A fingerprint of the order in which messages entered each mailbox: two runs with the
    /// same fingerprint are one interleaving as far as any service can tell.
    pub fn interleaving(&self) -> u64 {
        self.executor.interleaving()
    }

    /// Timers registered and neither fired nor cancelled (for tests that check timers are
    /// cancelled; not part of the API).
    #[doc(hidden)]
    pub fn pending_timers(&self) -> usize {
        self.executor.pending_timers()
    }

    /// A simulated client connecting to `addr` (a gate's `local_addr`) over the virtual
    /// network; resolves once the gate's network accepted it, or to why not. Await it (and the
    /// client's reads) inside the runtime, e.g. in `rt.block_on`.
    pub fn connect(
        &self,
        addr: &str,
    ) -> impl std::future::Future<Output = Result<net::SimClient, String>> + Send + 'static {
        net::SimClient::connect(self.executor.clone(), addr.to_owned())
    }

    /// The simulated cluster `name` over this run's executor: node transports and network
    /// faults (see [`cluster`]). Make one per run: the hub under it (frames, store, links) is the
    /// run's, while the handle keeps the nodes it made (`crash` and `get` find only those).
    pub fn cluster(&self, name: &str) -> cluster::SimCluster {
        cluster::SimCluster::new(self.executor.clone(), name)
    }

    /// Services the executor was handed twice for one step (two handlers at once, G12).
    pub fn overlaps(&self) -> Vec<oracle::Violation> {
        self.executor.overlaps()
    }
}

/// Builds a [`Sim`].
pub struct SimBuilder {
    seed: u64,
    workers: usize,
    trace: bool,
    text: bool,
    steps_max: u64,
    chooser: Option<Box<dyn Chooser>>,
    faults: bool,
    net_faults: bool,
}

impl SimBuilder {
    /// Virtual workers: how many services may run "at once" (1 makes a plain random scheduler).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Whether to keep the trace: records (what the oracle checks) and, with [`text`](Self::text),
    /// the text lines. Off for speed (benchmarks): the run is the same (decisions, fingerprint,
    /// counts), and the executor drops every event but deliveries and shortcuts before its lock.
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }

    /// Whether to keep the text lines of the trace when tracing (the records are kept
    /// either way): exploration runs without text and re-runs a failing seed with it.
    pub fn text(mut self, on: bool) -> Self {
        self.text = on;
        self
    }

    /// Steps after which the run stops as runaway ([`STEPS_MAX`] by default): a scenario that
    /// knows its size catches livelocks sooner.
    pub fn steps_max(mut self, steps: u64) -> Self {
        self.steps_max = steps;
        self
    }

    /// Injects faults drawn from the seed (see [`faults`]). Off by default.
    pub fn faults(mut self, on: bool) -> Self {
        self.faults = on;
        self
    }

    /// Injects network faults drawn from the seed: an accept fails now and then (the gate must
    /// report it and keep listening, N5), and a client's write is now and then cut short by a
    /// reset (mid-frame: the gate reports the partial bytes, N9). Off by default; scenario runs
    /// with faults turn it on too.
    pub fn net_faults(mut self, on: bool) -> Self {
        self.net_faults = on;
        self
    }

    /// Replaces the seeded chooser (replay, exploration strategies, fuzzers).
    pub fn chooser(self, chooser: impl Chooser + 'static) -> Self {
        self.chooser_boxed(Box::new(chooser))
    }

    /// [`chooser`](Self::chooser), boxed already.
    pub fn chooser_boxed(mut self, chooser: Box<dyn Chooser>) -> Self {
        self.chooser = Some(chooser);
        self
    }

    /// The simulator.
    pub fn build(self) -> Sim {
        let chooser = match self.chooser {
            Some(boxed) => chooser::Choosers::Boxed(boxed),
            None => chooser::Choosers::Seeded(SeededChooser::new(self.seed)),
        };
        let faults = self.faults.then(|| faults::Faults::new(self.seed));
        let settings = Settings {
            workers: self.workers,
            tracing: self.trace,
            text: self.text,
            steps_max: self.steps_max,
            net_faults: self.net_faults,
            seed: self.seed,
        };
        Sim { seed: self.seed, executor: Arc::new_cyclic(|me| SimExecutor::new(chooser, settings, faults, me)) }
    }
}
