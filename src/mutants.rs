//! Known bug classes, re-created on purpose, so the simulator can prove it catches each one
//! (the mutation score in BENCHMARKS.md).
//!
//! They are compiled in only with `--cfg skygroup_mutants` in `RUSTFLAGS`, which only
//! `make mutants` sets: an ordinary build, a dependent crate or a release cannot turn one on,
//! and without the cfg [`active`] is a constant `false` the compiler removes. With the cfg, one
//! mutant at a time is switched on process-wide by `skygroup::mutants::set` (a test-only global:
//! the mutation runs are single-threaded simulator runs).
//!
//! Not part of the API: public only so `skygroup-sim` and the mutation tests can reach it,
//! hidden from the docs, and free to change in any release.

/// A bug class the explorer must find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Mutant {
    /// The Lua original's ordering: a call to a name can overtake an earlier queued send (G6).
    CallOvertakesQueuedSend = 1,
    /// Two starts for one name under a first-use race (G2).
    DoubleStart = 2,
    /// A binding kept after its service exits (G9).
    StaleBinding = 3,
    /// A waiter left hanging when a start fails (G3).
    HangingWaiter = 4,
    /// A service run by two workers at once: one handler runs mid-step of another (G12).
    OverlappingHandlers = 5,
    /// A message by address overtakes an earlier by-name message of the same sender still
    /// waiting for its name, to the same service (G6, issue 11).
    AddressOvertakesName = 6,
    /// An answer completed in place (`complete_here`, or a direct call's answer) without the
    /// "nothing queued" check: it overtakes what its answerer sent the caller before answering
    /// (G6, issue 11).
    AnswerInPlaceOvertakes = 7,
    /// A direct call or send takes a service whose turn left messages in its batch, and runs
    /// ahead of them (G6, issue 11): the direct path asks "is a turn of it running?" (its core
    /// is free) and "is its mailbox empty?" instead of taking the claim, so a service whose
    /// next turn waits in the run queue for its leftovers looks idle.
    DirectPastLeftovers = 8,
    /// A gate numbers connections by slot, so a new connection gets a closed one's id (N4).
    GateReusesConnId = 9,
    /// A gate hands a closing connection's partial frame on after its close (N2).
    GateFrameAfterClose = 10,
}

impl Mutant {
    /// Every mutant, in table order.
    pub const ALL: [Mutant; 10] = [
        Mutant::CallOvertakesQueuedSend,
        Mutant::DoubleStart,
        Mutant::StaleBinding,
        Mutant::HangingWaiter,
        Mutant::OverlappingHandlers,
        Mutant::AddressOvertakesName,
        Mutant::AnswerInPlaceOvertakes,
        Mutant::DirectPastLeftovers,
        Mutant::GateReusesConnId,
        Mutant::GateFrameAfterClose,
    ];

    /// The contract rule the mutant breaks.
    pub fn rule(self) -> &'static str {
        match self {
            Mutant::CallOvertakesQueuedSend => "G6",
            Mutant::DoubleStart => "G2",
            Mutant::StaleBinding => "G9",
            Mutant::HangingWaiter => "G3",
            Mutant::OverlappingHandlers => "G12",
            Mutant::AddressOvertakesName | Mutant::AnswerInPlaceOvertakes | Mutant::DirectPastLeftovers => "G6",
            Mutant::GateReusesConnId => "N4",
            Mutant::GateFrameAfterClose => "N2",
        }
    }
}

#[cfg(skygroup_mutants)]
static ACTIVE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Switches `mutant` on (or all off with `None`) for the whole process.
#[cfg(skygroup_mutants)]
pub fn set(mutant: Option<Mutant>) {
    ACTIVE.store(mutant.map_or(0, |m| m as u8), std::sync::atomic::Ordering::SeqCst);
}

/// Whether `mutant` is on. Always false without `--cfg skygroup_mutants`.
#[inline(always)]
pub fn active(mutant: Mutant) -> bool {
    #[cfg(skygroup_mutants)]
    {
        ACTIVE.load(std::sync::atomic::Ordering::Relaxed) == mutant as u8
    }
    #[cfg(not(skygroup_mutants))]
    {
        let _ = mutant;
        false
    }
}
