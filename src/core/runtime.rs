//! The runtime: the catalog of kinds, the table of live services, and the executor.
//!
//! [`Runtime`] is the owner's handle, held by the embedding program; dropping it shuts
//! everything down. Services hold the shared part (`RuntimeShared`) directly.

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::task::{Context, Poll, Waker};

use futures::FutureExt;

use super::address::{Address, NodeId};
use super::cell::{Envelope, Notify, Prelude, ServiceCell, lock};
use super::context::Ctx;
use super::error::{CallError, CallErrorKind, DefineError, RuntimeError};
use super::kept_cells::KeptCells;
use super::kind::{Args, KindDef, ServiceKind};
use super::naming::Naming;
use super::remote::{Clustered, Remote};
use super::table::ServiceTable;
use crate::executor::{Event, Executor, ExitReason, FaultSite, Stalled};

/// How a new service starts: who asked, which group it joins, what runs before its init.
#[derive(Default)]
pub(crate) struct SpawnOptions {
    pub(crate) parent: Option<Address>,
    pub(crate) membership: Option<Arc<dyn Any + Send + Sync>>,
    /// The id of the group it joins (for the trace).
    pub(crate) group: Option<u64>,
    pub(crate) prelude: Option<Box<dyn FnOnce(Ctx) -> Prelude + Send>>,
    /// The (service, session) to answer with the address once init returns, or the error.
    pub(crate) notify: Option<Notify>,
}

pub(crate) struct RuntimeShared {
    pub(crate) executor: Arc<dyn Executor>,
    /// Whether the executor wants events (asked once): at least deliveries and shortcuts.
    pub(crate) tracing: bool,
    /// Whether it wants every other event too (`Executor::traces_every_event`, asked once):
    /// checked, instead of `tracing`, where any event but a delivery or a shortcut is traced.
    pub(crate) trace_all: bool,
    /// Whether the executor injects faults (asked once).
    faults: bool,
    catalog: RwLock<BTreeMap<String, Arc<KindDef>>>,
    pub(super) services: ServiceTable,
    last_address: AtomicU64,
    pub(crate) dead_letters: AtomicU64,
    /// Set by shutdown: no new services.
    closing: AtomicBool,
    /// Woken when the last service leaves the table (shutdown waits for it).
    idle: Mutex<Option<Waker>>,
    /// The naming layer (the group module): calls and sends by name, `newservice`, rerouting
    /// (see `naming.rs`). Keeps its own data (the list of groups).
    pub(crate) naming: Arc<dyn Naming>,
    /// The cluster this runtime joined, if any: its node and the layer that carries messages
    /// to other nodes (see `remote.rs`).
    pub(crate) remote: super::remote::RemoteSlot,
    /// Cells of exited services, kept for the next ones started (`kept_cells.rs`).
    kept_cells: KeptCells,
}

impl RuntimeShared {
    pub(crate) fn trace(&self, event: &Event<'_>) {
        self.executor.trace(event);
    }

    /// Whether a fault fires at `site`; the runtime's own services (`_registry`, `_main`) are
    /// never faulted.
    pub(crate) fn inject(&self, site: FaultSite<'_>) -> bool {
        let kind = match site {
            FaultSite::Init { kind, .. } | FaultSite::Handler { kind, .. } | FaultSite::Crash { kind, .. } => kind,
        };
        self.faults && !kind.starts_with('_') && self.executor.inject(site)
    }

    pub(crate) fn lookup(&self, address: Address) -> Option<Arc<ServiceCell>> {
        self.services.get(address)
    }

    /// Runs `f` on the service at `address` (None if there is none) without taking a
    /// reference; `f` must not touch the table (see `ServiceTable::with`).
    pub(crate) fn with_service<R>(&self, address: Address, f: impl FnOnce(Option<&Arc<ServiceCell>>) -> R) -> R {
        self.services.with(address, f)
    }

    /// Whether a service lives at `address` (it is in the table): a lookup without a reference.
    pub(crate) fn is_live(&self, address: Address) -> bool {
        self.services.with(address, |cell| cell.is_some())
    }

    /// The kind `name` of the catalog. The last one found on this thread is remembered (a
    /// loop of spawns of one kind then takes no catalog lock and no string search): a kind,
    /// once in the catalog, stays there unchanged. Remembered weakly, so neither the runtime
    /// nor the kind is kept alive by it, and the runtime's allocation, kept by the weak
    /// reference, cannot be another runtime's while it is remembered.
    pub(crate) fn kind(self: &Arc<Self>, name: &str) -> Option<Arc<KindDef>> {
        thread_local! {
            static LAST_KIND: RefCell<(Weak<RuntimeShared>, Weak<KindDef>)> = const { RefCell::new((Weak::new(), Weak::new())) };
        }
        let remembered = LAST_KIND.with_borrow(|(runtime, kind)| {
            if !std::ptr::eq(runtime.as_ptr(), Arc::as_ptr(self)) {
                return None;
            }
            kind.upgrade().filter(|kind| kind.name == name)
        });
        if remembered.is_some() {
            return remembered;
        }
        let found = self.catalog.read().unwrap_or_else(|e| e.into_inner()).get(name).cloned()?;
        LAST_KIND.set((Arc::downgrade(self), Arc::downgrade(&found)));
        Some(found)
    }

    /// Creates a service of `kind` and queues its init. The address is valid at once; messages
    /// to it wait until init returns (G5).
    pub(crate) fn spawn(self: &Arc<Self>, kind: &str, args: Args, options: SpawnOptions) -> Result<Address, CallError> {
        if self.closing.load(Ordering::Acquire) {
            return Err(CallErrorKind::Shutdown { command: format!("spawn {kind}") }.into());
        }
        let kind = self.kind(kind).ok_or_else(|| CallErrorKind::UnknownKind { kind: kind.to_owned() })?;
        let cell = self.insert(kind, options.membership, false);
        if self.closed_meanwhile(&cell) {
            return Err(CallErrorKind::Shutdown { command: format!("spawn {}", cell.name()) }.into());
        }
        if let Some(group) = options.group {
            let _ = cell.counters.observed.group.set(group);
        }
        if self.trace_all {
            let (address, kind, parent, group) = (cell.address, cell.name(), options.parent, options.group);
            self.trace(&Event::Spawn { address, kind, parent, group });
        }
        // The prelude resolves the dependency list: nothing to run (or allocate) without one.
        let prelude = options.prelude.filter(|_| !cell.kind.depends_on.is_empty()).map(|p| p(Ctx::new(cell.clone())));
        self.deliver_to(&cell, Envelope::Init { args, prelude, notify: options.notify });
        Ok(cell.address)
    }

    fn insert(
        self: &Arc<Self>,
        kind: Arc<KindDef>,
        membership: Option<Arc<dyn Any + Send + Sync>>,
        running: bool,
    ) -> Arc<ServiceCell> {
        let address = Address::from_raw(self.last_address.fetch_add(1, Ordering::Relaxed) + 1);
        // The cell of an exited service if one is kept (`kept_cells.rs`), filled anew; else made in
        // its allocation (`new_cyclic` allocates before it runs the closure), where `Arc::new`
        // built the cell on the stack first and copied it (about 90 instructions).
        let mut kept = self.kept_cells.take();
        let cell = match kept.as_mut().and_then(Arc::get_mut) {
            Some(unused) => {
                *unused = ServiceCell::new(address, kind, self.clone(), membership, running);
                kept.unwrap_or_else(|| unreachable!("the kept cell just filled"))
            }
            None => Arc::new_cyclic(|_| ServiceCell::new(address, kind, self.clone(), membership, running)),
        };
        let live = self.services.insert(cell.address, cell.clone());
        self.kept_cells.note_live(live);
        cell
    }

    /// Whether `shutdown` began while `cell` was being inserted (G14). Shutdown sets `closing`
    /// and then lists the table; an insert lists itself and then reads `closing`; so either
    /// shutdown sees the new service and stops it, or this sees `closing` and stops it here
    /// (the table's lock orders the two). Without this, a spawn racing shutdown on another
    /// thread left its service live and shutdown waiting for it forever.
    fn closed_meanwhile(&self, cell: &Arc<ServiceCell>) -> bool {
        let closed = self.closing.load(Ordering::SeqCst);
        if closed {
            // Shutdown may already have drained the table and stopped the executor, so a turn
            // handed to it could never run: the new service's exit runs here, on this thread
            // (nothing of it has run anywhere yet, so this thread may be its runner).
            lock(&cell.exit_reason).get_or_insert(ExitReason::Killed);
            if cell.sched.request_exit() {
                cell.run_turn(1);
            }
        }
        closed
    }

    /// A fresh service of the built-in `kind` (`_main`, `_handle`) whose one task is `task`'s
    /// future: `block_on`'s main service, a `Handle`'s port. Refused once shutdown has begun:
    /// nothing would ever run the task (G14).
    pub(crate) fn start_task<Fut: Future<Output = ()> + Send + 'static>(
        self: &Arc<Self>,
        kind: &'static str,
        task: impl FnOnce(Ctx) -> Fut,
    ) -> Result<Address, RuntimeError> {
        if self.closing.load(Ordering::SeqCst) {
            return Err(RuntimeError::Shutdown);
        }
        let cell = self.insert(self.kind(kind).expect("a built-in kind"), None, true);
        if self.closed_meanwhile(&cell) {
            return Err(RuntimeError::Shutdown);
        }
        if self.trace_all {
            self.trace(&Event::Spawn { address: cell.address, kind, parent: None, group: None });
        }
        let task = task(Ctx::new(cell.clone()));
        self.deliver(cell.address, Envelope::Fork { task: task.boxed() });
        Ok(cell.address)
    }

    /// Makes this runtime node `node` of a cluster: from now on every address it hands out
    /// carries `node`, and messages to other nodes go to `remote`. Refused (false) once the
    /// runtime has handed out an address other than `handed_out` (the ones its joining itself
    /// used), since those would not carry the node.
    pub(crate) fn join_node(&self, node: NodeId, remote: Arc<dyn Remote>, handed_out: u64) -> bool {
        let base = Address::base_of(node);
        if self.last_address.compare_exchange(handed_out, base, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            return false;
        }
        self.remote.set(Clustered { node, remote }).is_ok()
    }

    /// How many addresses this runtime has handed out (its counter, node bits included).
    pub(crate) fn addresses_handed_out(&self) -> u64 {
        self.last_address.load(Ordering::SeqCst)
    }

    /// Keeps the cell of a service that has exited for the next service started, if nobody
    /// else refers to it (`kept_cells.rs`); else drops this reference.
    pub(crate) fn keep_exited(&self, cell: Arc<ServiceCell>) {
        // Only its own: a kept cell holds the runtime it served, and one of another runtime's
        // would keep that runtime alive here until reused.
        if std::ptr::eq(Arc::as_ptr(&cell.runtime), self) {
            self.kept_cells.keep(cell, self.services.len());
        }
    }

    pub(crate) fn remove_service(&self, address: Address) {
        let empty = self.services.remove(address);
        if empty && let Some(waker) = lock(&self.idle).take() {
            waker.wake();
        }
    }

    /// Stops the service at `address`; false if there is none. A service found idle (nothing
    /// pending, nobody runs it) is claimed by this kill, and its exit runs right here when the
    /// shortcut is taken (`Shortcut::InlineExit`): it has left the table, and its monitors and
    /// callers have their answers, before `kill` returns; else its exit is a turn from the
    /// executor, as for a busy service (G9).
    pub(crate) fn kill(&self, address: Address) -> bool {
        let Some(cell) = self.lookup(address) else { return false };
        lock(&cell.exit_reason).get_or_insert(ExitReason::Killed);
        // An exited service keeps its claim for good, so this claims nothing once it is closed.
        if cell.sched.request_exit() {
            let shortcut = self.exit_shortcut();
            self.start_turns(cell, shortcut);
        }
        true
    }

    /// Live services, by address.
    pub(crate) fn cells(&self) -> Vec<Arc<ServiceCell>> {
        self.services.all()
    }

    /// Who waits on whom: one line per outstanding call, for deadlock reports.
    pub(crate) fn waiting_calls(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for cell in self.cells() {
            let sessions = lock(&cell.sessions);
            let mut open: Vec<_> = sessions.open.iter().collect();
            open.sort_by_key(|(session, _)| *session);
            for (_, waiting) in open {
                if waiting.command == super::session::Waiting::MONITOR {
                    continue;
                }
                let target = self.lookup(waiting.target);
                let target_name = target.as_ref().map_or("?", |t| t.name());
                lines.push(format!(
                    "{} {} waits on {} {} for `{}`",
                    cell.name(),
                    cell.address,
                    target_name,
                    waiting.target,
                    waiting.command
                ));
            }
        }
        lines
    }
}

/// The runtime's owner handle: defines kinds, starts services, runs the embedding program's
/// code inside the runtime, and shuts everything down when dropped.
///
/// ```
/// use skygroup::{Runtime, ServiceKind, Value};
/// let rt = Runtime::threaded(2);
/// rt.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) }))
///     .unwrap();
/// let echo = rt.spawn("echo", ()).unwrap();
/// let reply = rt.block_on(move |ctx| async move { ctx.call(echo, "echo", "hi").await });
/// assert_eq!(reply.unwrap(), Value::from("hi"));
/// ```
pub struct Runtime {
    shared: Arc<RuntimeShared>,
}

/// A live service, as [`Runtime::services`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Its address.
    pub address: Address,
    /// Its kind.
    pub kind: String,
    /// Its counters, as of the listing.
    pub stats: ServiceStats,
}

/// Per-service counters (G7, G11).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    /// Commands whose handler returned, `Ok` or `Err` (a call's answer made from it, a send's
    /// dropped, G8). A handler that panicked counts in `errors` only.
    pub handled: u64,
    /// Messages waiting in the mailbox.
    pub queue_len: usize,
    /// The longest the mailbox has been (see [`ServiceKind::overload_warning`]).
    ///
    /// [`ServiceKind::overload_warning`]: crate::ServiceKind::overload_warning
    pub peak_queue_len: usize,
    /// Sends from this service that reached no one.
    pub dead_letters: u64,
    /// Handler errors and panics, unknown and reserved commands.
    pub errors: u64,
    /// Monitors waiting for its exit (`Ctx::monitor`): one per watch still wanted. A watcher
    /// that exits, or drops the monitor's future first, no longer counts (G9).
    pub monitors: usize,
}

impl ServiceCell {
    pub(crate) fn stats(&self) -> ServiceStats {
        let (peak_queue_len, monitors) = {
            let mailbox = lock(&self.mailbox);
            (mailbox.peak, mailbox.monitors.len())
        };
        ServiceStats {
            handled: self.counters.handled.load(Ordering::Relaxed),
            queue_len: self.queue_len(),
            peak_queue_len,
            dead_letters: self.counters.dead_letters.load(Ordering::Relaxed),
            errors: self.counters.errors.load(Ordering::Relaxed),
            monitors,
        }
    }
}

impl Runtime {
    /// A runtime on `executor` whose names are given by `naming`, with `naming`'s own kinds and
    /// the main service's kind installed. The public constructors (`Runtime::threaded`, `new`,
    /// `with_executor`) live where the layers are put together, `src/assemble.rs`.
    pub(crate) fn assemble(executor: Arc<dyn Executor>, naming: Arc<dyn Naming>) -> Runtime {
        let shared = Arc::new(RuntimeShared {
            tracing: executor.tracing(),
            trace_all: executor.tracing() && executor.traces_every_event(),
            faults: executor.faults(),
            executor,
            catalog: RwLock::new(BTreeMap::new()),
            services: ServiceTable::default(),
            last_address: AtomicU64::new(0),
            dead_letters: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            idle: Mutex::new(None),
            naming,
            remote: super::remote::RemoteSlot::new(),
            kept_cells: KeptCells::new(),
        });
        let runtime = Runtime { shared };
        for def in runtime.shared.naming.kinds() {
            runtime.install(def);
        }
        runtime.install(ServiceKind::stateless("_main").into_def());
        runtime.install(ServiceKind::stateless("_handle").into_def());
        runtime
    }

    pub(crate) fn install(&self, def: KindDef) {
        self.shared.catalog.write().unwrap_or_else(|e| e.into_inner()).insert(def.name.clone(), Arc::new(def));
    }

    /// Adds a kind to the catalog. Refuses reserved (`_`) or duplicate command names and a
    /// kind name already defined (G8).
    pub fn define<S: Send + 'static>(&self, kind: ServiceKind<S>) -> Result<(), DefineError> {
        let def = kind.into_def();
        if let Some(problem) = def.problems.first() {
            return Err(problem.clone());
        }
        let mut catalog = self.shared.catalog.write().unwrap_or_else(|e| e.into_inner());
        if catalog.contains_key(&def.name) {
            return Err(DefineError::AlreadyDefined { kind: def.name });
        }
        catalog.insert(def.name.clone(), Arc::new(def));
        Ok(())
    }

    /// Starts a service of `kind` outside any group. Returns its address at once; messages
    /// wait until its init has returned (G5). An init failure makes it exit.
    pub fn spawn(&self, kind: &str, args: impl Any + Send) -> Result<Address, CallError> {
        let prelude = Some(Box::new(self.shared.naming.prelude()) as _);
        self.shared.spawn(kind, Args::new(args), SpawnOptions { prelude, ..SpawnOptions::default() })
    }

    /// Runs `f` as the task of a fresh `main` service (skynet's bootstrap) and blocks this
    /// thread until it returns its output. The main service exits afterwards.
    ///
    /// # Panics
    /// If `f`'s future panics (the panic is passed on), and with the message of the
    /// [`RuntimeError`] where [`try_block_on`](Self::try_block_on) returns one: after
    /// [`shutdown`](Self::shutdown), if the main service is stopped first, and in the simulator
    /// if every service is blocked with no timer pending (the message lists who waits on whom).
    pub fn block_on<T, F, Fut>(&self, f: F) -> T
    where
        F: FnOnce(Ctx) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.try_block_on(f).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`block_on`](Self::block_on), returning an error instead of panicking when the task
    /// cannot run to its end: [`RuntimeError::Shutdown`] at once after (or during)
    /// [`shutdown`](Self::shutdown), [`RuntimeError::MainStopped`] if the main service was
    /// killed or shut down first, and the simulator's deadlock and runaway reports. A panic of
    /// `f`'s future is still passed on.
    pub fn try_block_on<T, F, Fut>(&self, f: F) -> Result<T, RuntimeError>
    where
        F: FnOnce(Ctx) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = futures::channel::oneshot::channel();
        let cell = self.shared.start_task("_main", move |ctx| {
            let future = f(ctx.clone());
            async move {
                let output = AssertUnwindSafe(future).catch_unwind().await;
                // Handed over when the main service's state is dropped, i.e. once it has left the
                // service table: when block_on returns, the main service is gone.
                ctx.cell.state_slot().state = Some(Box::new(HandOver { tx: Some(tx), output: Some(output) }));
                ctx.exit();
            }
        })?;
        let mut output = None;
        let stalled = {
            let wait = async { output = Some(rx.await) };
            futures::pin_mut!(wait);
            self.shared.executor.block_on(wait)
        };
        match (stalled, output) {
            (Ok(()), Some(Ok(Ok(value)))) => Ok(value),
            (Ok(()), Some(Ok(Err(panic)))) => std::panic::resume_unwind(panic),
            (Err(Stalled::Deadlock), _) => Err(RuntimeError::Deadlock { report: self.stall_report() }),
            (Err(Stalled::StepLimit(steps)), _) => Err(RuntimeError::StepLimit { steps }),
            (Ok(()), _) => Err(RuntimeError::MainStopped { address: cell }),
        }
    }

    fn stall_report(&self) -> String {
        let waiting = self.shared.waiting_calls();
        let mut report = String::from("deadlock: every service is blocked and no timer is pending");
        if waiting.is_empty() {
            report.push_str("; no call is outstanding (a task waits on something that never happens)");
        }
        for line in waiting {
            report.push_str("\n  ");
            report.push_str(&line);
        }
        report
    }

    /// Stops the service at `address` between two of its messages. False if there is none.
    pub fn kill(&self, address: Address) -> bool {
        self.shared.kill(address)
    }

    /// Every live service, by address.
    pub fn services(&self) -> Vec<ServiceInfo> {
        let cells = self.shared.cells();
        cells.iter().map(|c| ServiceInfo { address: c.address, kind: c.name().to_owned(), stats: c.stats() }).collect()
    }

    /// Sends that reached no one, over the runtime's life (G7).
    pub fn dead_letters(&self) -> u64 {
        self.shared.dead_letters.load(Ordering::Relaxed)
    }

    pub(crate) fn shared(&self) -> &Arc<RuntimeShared> {
        &self.shared
    }

    /// Stops every service (their pending calls get errors), then the executor's threads.
    /// Idempotent; also run on drop (G14). A `spawn` or `block_on` racing with it on another
    /// thread is stopped too (it returns [`CallErrorKind::Shutdown`] or
    /// [`RuntimeError::Shutdown`], or its service is stopped with the rest); afterwards both
    /// refuse at once.
    pub fn shutdown(&self) {
        if self.shared.closing.swap(true, Ordering::SeqCst) {
            return;
        }
        for cell in self.shared.cells() {
            cell.request_exit(ExitReason::Killed);
        }
        let drained = AllExited { shared: self.shared.clone() };
        futures::pin_mut!(drained);
        // A stall here is impossible (exits need only turns); if it happens, stop anyway.
        let _ = self.shared.executor.block_on(drained);
        self.shared.kept_cells.close();
        self.shared.executor.shutdown();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Sends the main task's output when dropped (see `Runtime::block_on`).
struct HandOver<T> {
    tx: Option<futures::channel::oneshot::Sender<T>>,
    output: Option<T>,
}

impl<T> Drop for HandOver<T> {
    fn drop(&mut self) {
        if let (Some(tx), Some(output)) = (self.tx.take(), self.output.take()) {
            let _ = tx.send(output);
        }
    }
}

/// Ready once the service table is empty.
struct AllExited {
    shared: Arc<RuntimeShared>,
}

impl Future for AllExited {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *lock(&self.shared.idle) = Some(cx.waker().clone());
        if self.shared.services.len() == 0 { Poll::Ready(()) } else { Poll::Pending }
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Runtime>();
    is::<Ctx<()>>();
}
