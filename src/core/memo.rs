//! A turn's memo of the service it keeps messaging directly.
//!
//! A handler that floods one service with sends or calls its synchronous commands (see
//! `direct.rs`) would look the target up in the service table for every message: a read lock,
//! a hash and a reference each time. So the turn keeps the cell of the last service it
//! messaged directly: each message moves it out of the memo and back, so a flood costs no
//! reference counting either. The memo is dropped when the turn ends (the outermost of its
//! runtime on this thread, see [`Turn`]), so it never keeps a service alive past it; a service that exits meanwhile refuses the message (its
//! mailbox is closed) exactly as it would have through the table. A call by name likewise keeps
//! the service it reached, so a loop of calls by one name skips the member's name table. And
//! the reference a dropped context leaves is kept for the next context of its service (an
//! async handler's per message, `context::CellRef`), until the turn ends.

use std::cell::Cell;
use std::sync::Arc;

use super::address::Address;
use super::cell::{Name, ServiceCell};
use super::runtime::RuntimeShared;
use crate::executor::{Event, Shortcut, Shortcuts};

/// Plain cells, not a `RefCell`: every use moves a value in or out (no borrow flag to set and
/// clear per message), and a drop inside one (user code) can reenter it harmlessly.
struct Memo {
    /// The runtime and address of the last lookup of this turn.
    runtime: Cell<usize>,
    last: Cell<u64>,
    /// Its cell, while not taken out.
    cell: Cell<Option<Arc<ServiceCell>>>,
    /// The service the turn's service last reached directly by a name.
    named: Cell<Option<Named>>,
}

/// A name one service resolved to a live service, as a call by name used it this turn.
struct Named {
    /// The service that called by this name (only its own turn may use the entry).
    caller: usize,
    name: Name,
    cell: Arc<ServiceCell>,
}

/// Nested turns whose services `runs_here` knows (inline turns nest only a few deep).
const RUNNERS: usize = 8;

thread_local! {
    static MEMO: Memo = const {
        Memo { runtime: Cell::new(0), last: Cell::new(0), cell: Cell::new(None), named: Cell::new(None) }
    };
}

/// The turns running on this thread, apart from the memo: plain cells with nothing to drop, so
/// marking an async handler run directly as its service's turn ([`Runner`]) costs no borrow
/// flag and no thread-local destructor check. One thread-local for all of it (with the shortcut
/// mode and the inline depth, which the direct path reads and sets with the runners): each
/// access to a thread-local not inlined costs a call.
struct Running {
    /// Turns running on this thread (an inline turn runs inside another).
    depth: Cell<usize>,
    /// The services whose turns these are, outermost first (the first [`RUNNERS`]).
    runners: [Cell<usize>; RUNNERS],
    /// The runtime whose turn runs on this thread and whose executor lets it take shortcuts
    /// (`handoff.rs`), as an address, with bit 0 set when each shortcut is to be decided by the
    /// executor (`Shortcuts::Decide`); 0 for none. Asked of the executor once per turn.
    shortcuts: Cell<usize>,
    /// How deep this thread is in shortcuts: 0 in a turn from the executor, `n` inside `n`
    /// nested inline turns or async handlers run directly (at most `handoff::MAX_INLINE`),
    /// `handoff::DIRECT` inside a directly run synchronous handler (which takes no shortcut
    /// itself). Stacks stay flat.
    inline: Cell<u8>,
}

thread_local! {
    static RUNNING: Running = const {
        Running {
            depth: Cell::new(0),
            runners: [const { Cell::new(0) }; RUNNERS],
            shortcuts: Cell::new(0),
            inline: Cell::new(0),
        }
    };
}

/// How deep this thread is in inline turns and handlers run directly (see [`Running`]).
pub(super) fn inline_depth() -> u8 {
    RUNNING.with(|r| r.inline.get())
}

/// Sets how deep this thread is in inline turns (see [`Running`]); the depth before.
pub(super) fn replace_inline_depth(depth: u8) -> u8 {
    RUNNING.with(|r| r.inline.replace(depth))
}

/// How this thread may take `runtime`'s shortcuts and how deep it is in inline turns, in one
/// read of the thread-local: what a direct call or send asks first.
#[inline]
pub(super) fn mode_and_depth(runtime: &RuntimeShared) -> (Mode, u8) {
    RUNNING.with(|r| (mode_of(r.shortcuts.get(), runtime), r.inline.get()))
}

/// How many turns run on this thread.
fn depth() -> usize {
    RUNNING.with(|r| r.depth.get())
}

thread_local! {
    /// A reference to a cell a context dropped in this turn left (`context::CellRef`), for the
    /// next context of that service made here ([`spare`]); dropped when the turn ends.
    static SPARE: Cell<Option<Arc<ServiceCell>>> = const { Cell::new(None) };
}

/// Bit 0 of [`Running::shortcuts`]: the executor decides each shortcut (a runtime's address is aligned,
/// so its bit 0 is free).
const DECIDE: usize = 1;

/// How the turn running on this thread may take `runtime`'s shortcuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Not at all: no turn of this runtime runs here, or its executor says never.
    Off,
    /// Wherever possible (the threaded backend's workers).
    Always,
    /// Each one is a decision of the executor (the simulator).
    Decide,
}

/// How code running on this thread may take `runtime`'s shortcuts: one thread-local read.
pub(crate) fn mode(runtime: &RuntimeShared) -> Mode {
    mode_of(RUNNING.with(|r| r.shortcuts.get()), runtime)
}

/// The mode of [`Running::shortcuts`] `allowed` for `runtime`.
#[inline]
fn mode_of(allowed: usize, runtime: &RuntimeShared) -> Mode {
    if allowed & !DECIDE != std::ptr::from_ref(runtime) as usize {
        Mode::Off
    } else if allowed & DECIDE == 0 {
        Mode::Always
    } else {
        Mode::Decide
    }
}

/// Whether code running on this thread may take `runtime`'s shortcuts at all: it runs inside
/// one of its turns, on a thread of an executor that allows or decides them.
pub(crate) fn shortcuts(runtime: &RuntimeShared) -> bool {
    RUNNING.with(|r| r.shortcuts.get()) & !DECIDE == std::ptr::from_ref(runtime) as usize
}

/// Whether to take the shortcut `at`, possible now, under `mode`. Under `Decide` the executor
/// answers, and a yes first delivers what the running step holds back (`executor::capture`).
pub(crate) fn take_shortcut(runtime: &RuntimeShared, mode: Mode, at: Shortcut) -> bool {
    match mode {
        Mode::Off => false,
        Mode::Always => at != Shortcut::InlineSend,
        Mode::Decide => {
            let yes = runtime.executor.take_shortcut(at);
            if yes {
                crate::executor::capture::release();
            }
            yes
        }
    }
}

/// Records that the shortcut `at` ran for `service` (the simulator counts them).
pub(crate) fn ran(runtime: &RuntimeShared, at: Shortcut, service: Address) {
    if runtime.tracing {
        runtime.trace(&Event::Shortcut { shortcut: at, service });
    }
}

/// Whether a turn of `cell` runs on this thread, here or further up the stack (this thread is
/// its runner).
pub(crate) fn runs_here(cell: &ServiceCell) -> bool {
    let cell = std::ptr::from_ref(cell) as usize;
    RUNNING.with(|r| r.runners[..r.depth.get().min(RUNNERS)].iter().any(|runner| runner.get() == cell))
}

/// Marks a turn of `cell` running on this thread; its end (the drop) restores what an
/// enclosing turn had and, for the outermost turn of its runtime here, forgets the memo.
///
/// A turn nested in one of the same runtime (an inline init or exit) leaves the memo as it is:
/// every entry is keyed (by runtime and address, by caller, by cell), so what it memoized is
/// as valid for the turns around it, and the outermost turn's end forgets it all. Clearing it
/// at each nested end cost about 80 instructions per inline turn (two per spawn+stop).
pub(crate) struct Turn {
    shortcuts: usize,
    nested: bool,
}

impl Turn {
    pub(crate) fn start(cell: &ServiceCell) -> Turn {
        let runtime = &*cell.runtime;
        push_runner(cell);
        let key = std::ptr::from_ref(runtime) as usize;
        let enclosing = RUNNING.with(|r| r.shortcuts.get());
        // A turn nested in one of the same runtime on this thread (an inline init or exit) gets
        // the enclosing turn's answer: the executor's depends on the thread, not on the turn.
        if enclosing & !DECIDE == key {
            return Turn { shortcuts: enclosing, nested: true };
        }
        let allowed = match runtime.executor.shortcuts() {
            Shortcuts::Never => 0,
            Shortcuts::Always => key,
            Shortcuts::Decide => key | DECIDE,
        };
        Turn { shortcuts: RUNNING.with(|r| r.shortcuts.replace(allowed)), nested: false }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        RUNNING.with(|r| {
            r.shortcuts.set(self.shortcuts);
            r.depth.set(r.depth.get() - 1);
        });
        if self.nested {
            return;
        }
        let cells = MEMO.with(|m| {
            m.last.set(0);
            (m.cell.take(), m.named.take(), SPARE.take())
        });
        drop(cells); // the last reference to a cell may run user code
    }
}

fn push_runner(cell: &ServiceCell) {
    RUNNING.with(|r| push_runner_on(r, cell));
}

fn push_runner_on(r: &Running, cell: &ServiceCell) {
    let depth = r.depth.get();
    if let Some(slot) = r.runners.get(depth) {
        slot.set(std::ptr::from_ref(cell) as usize);
    }
    r.depth.set(depth + 1);
}

/// Marks `cell` as run on this thread by an async handler run directly inside a turn of the
/// same runtime (`direct.rs`), as its own turn would (`runs_here`), and this thread one inline
/// level deeper (`inline`), until dropped (also by a panic): one thread-local access each way.
/// Unlike a [`Turn`] it keeps the enclosing turn's memo and shortcut mode: a flood of messages
/// from that turn keeps its memoized target.
pub(crate) struct Runner {
    /// The inline depth to restore.
    inline: u8,
}

impl Runner {
    /// Not inline: in a small function of its own the thread-local access is inlined (a
    /// direct access); inlined into the direct path it was not (a call through the key and one
    /// to its closure, each way).
    #[inline(never)]
    pub(crate) fn enter(cell: &ServiceCell, inline: u8) -> Runner {
        let cell = std::ptr::from_ref(cell) as usize;
        let inline = RUNNING.with(|r| {
            let depth = r.depth.get();
            if let Some(slot) = r.runners.get(depth) {
                slot.set(cell);
            }
            r.depth.set(depth + 1);
            r.inline.replace(inline)
        });
        Runner { inline }
    }
}

impl Drop for Runner {
    /// Inline, unlike [`Runner::enter`]: measured, its thread-local access inlines at the end of
    /// the direct path (11 instructions per async send fewer than the call).
    #[inline]
    fn drop(&mut self) {
        RUNNING.with(|r| {
            r.depth.set(r.depth.get() - 1);
            r.inline.set(self.inline);
        });
    }
}

/// The service at `to`, taken out of the memo if it is there (a move: no reference counted),
/// else from the table. Hand it back with [`give_back`] once done with it.
#[inline]
pub(crate) fn take(runtime: &RuntimeShared, to: Address) -> Option<Arc<ServiceCell>> {
    let key = std::ptr::from_ref(runtime) as usize;
    let memoized = MEMO.with(|m| match m.cell.take() {
        Some(cell) if m.runtime.get() == key && cell.address == to => Some(cell),
        other => {
            m.cell.set(other);
            None
        }
    });
    if memoized.is_some() {
        return memoized;
    }
    look_up(runtime, to)
}

/// [`take`] of a service not in the memo: from the table, and memoized for the rest of the turn.
#[inline(never)]
fn look_up(runtime: &RuntimeShared, to: Address) -> Option<Arc<ServiceCell>> {
    let cell = runtime.lookup(to)?;
    if depth() == 0 {
        return Some(cell); // outside a turn: nothing is kept (so `give_back` asks no depth)
    }
    let key = std::ptr::from_ref(runtime) as usize;
    let replaced = MEMO.with(|m| {
        m.runtime.set(key);
        m.last.set(to.raw());
        m.cell.take()
    });
    drop(replaced); // the last reference to a cell may run user code
    Some(cell)
}

/// Keeps `cell`, the reference of a context just dropped (`context::CellRef`), for the next
/// context of its service made on this thread in this turn ([`spare`]), if a turn that may take
/// shortcuts runs here (one that may not pays the reference count as before: it is cleared when
/// the turn ends, and only such a turn knows it runs here without asking the memo). The one
/// kept before it, if any, is dropped. Not inline: see `context::CellRef`'s drop.
#[inline(never)]
pub(crate) fn keep_spare(cell: Arc<ServiceCell>) {
    if RUNNING.with(|r| r.shortcuts.get()) == 0 {
        return drop(cell);
    }
    // `try_`: a context dropped by another thread-local's destructor is just dropped.
    let _ = SPARE.try_with(move |spare| drop(spare.replace(Some(cell))));
}

/// The reference to `cell` a dropped context left on this thread in this turn ([`keep_spare`]),
/// taken out, if it is the one kept.
#[inline]
pub(crate) fn spare(cell: &Arc<ServiceCell>) -> Option<Arc<ServiceCell>> {
    SPARE.with(|spare| match spare.take() {
        Some(kept) if Arc::ptr_eq(&kept, cell) => Some(kept),
        other => spare.replace(other),
    })
}

/// Keeps `cell`, the last service [`take`] gave out, for the rest of this turn.
#[inline]
pub(crate) fn give_back(runtime: &RuntimeShared, cell: Arc<ServiceCell>) {
    let key = std::ptr::from_ref(runtime) as usize;
    // `last` is set only inside a turn, and forgotten when it ends.
    let unkept = MEMO.with(|m| {
        if m.runtime.get() != key || m.last.get() != cell.address.raw() {
            return Some(cell);
        }
        match m.cell.replace(Some(cell)) {
            None => None,
            // Memoized meanwhile (another flood nested in this one's handler): it stays.
            kept => m.cell.replace(kept),
        }
    });
    drop(unkept);
}

/// The service `caller` last reached directly by `name` in this turn, if any, taken out of the
/// memo (a move: a loop of calls by name counts no references); hand it back with
/// [`give_back_reached`]. Safe to reuse for the rest of the turn: a name stays bound to a
/// service until that service exits (G4), and an exited service refuses a direct message, which
/// then takes the full by-name path (and queues behind any resolution in progress, G6).
pub(super) fn take_reached(caller: &ServiceCell, name: &str) -> Option<Reached> {
    let caller = std::ptr::from_ref(caller) as usize;
    MEMO.with(|m| match m.named.take() {
        Some(named) if named.caller == caller && named.name == name => Some(Reached(named)),
        other => {
            m.named.set(other);
            None
        }
    })
}

/// Keeps `reached` for the rest of this turn, unless the turn has remembered another name since.
pub(super) fn give_back_reached(reached: Reached) {
    let running = depth() > 0;
    let unkept = MEMO.with(|m| match m.named.take() {
        None if running => {
            m.named.set(Some(reached.0));
            None
        }
        other => {
            m.named.set(other);
            Some(reached.0)
        }
    });
    drop(unkept);
}

/// A service reached by name, out of the memo (see [`take_reached`]).
pub(super) struct Reached(Named);

impl Reached {
    pub(super) fn service(&self) -> &Arc<ServiceCell> {
        &self.0.cell
    }
}

/// Remembers, for the rest of this turn, that `caller` reached `cell` directly by `name`.
pub(super) fn remember_name(caller: &ServiceCell, name: Name, cell: &Arc<ServiceCell>) {
    let caller = std::ptr::from_ref(caller) as usize;
    if depth() == 0 {
        return;
    }
    let replaced = MEMO.with(|m| m.named.replace(Some(Named { caller, name, cell: cell.clone() })));
    drop(replaced);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::core::context::Ctx;
    use crate::{Runtime, ServiceKind};

    /// A context dropped inside a turn leaves its reference for the next context of its service
    /// made on that thread, only for that service, and the turn's end drops it: the memo never
    /// keeps a service alive past the turn (see `context::CellRef`).
    #[test]
    fn a_spare_reference_lives_no_longer_than_its_turn() {
        let rt = Runtime::threaded(1);
        rt.define(ServiceKind::stateless("idle")).expect("define idle");
        let idle = rt.spawn("idle", ()).expect("spawn idle");
        rt.block_on(move |ctx| async move {
            let cell = ctx.cell.runtime.lookup(idle).expect("idle is alive");
            let held = Arc::strong_count(&cell);
            drop(Ctx::<()>::new(Arc::clone(&cell)));
            assert_eq!(Arc::strong_count(&cell), held + 1, "kept for the next context of idle");
            assert!(super::spare(&ctx.cell).is_none(), "handed out for another service");
            let again = super::spare(&cell).expect("handed out for idle");
            assert!(Arc::ptr_eq(&again, &cell));
            assert!(super::spare(&cell).is_none(), "handed out once");
            drop(Ctx::<()>::new(again));
            assert_eq!(Arc::strong_count(&cell), held + 1);
            ctx.sleep(Duration::from_millis(1)).await; // this turn ends; the next one goes on
            assert_eq!(Arc::strong_count(&cell), held, "the turn's end dropped it");
        });
    }
}
