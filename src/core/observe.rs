//! What an operator sees of a service's work: the tracing span each handled message runs in,
//! the console's per-service `trace` switch, and the clock field of the runtime's own events.
//!
//! Kept apart from `turn.rs` so the hot path there is one call per message, and so the cost
//! with no subscriber installed is one level check (`tracing` keeps the maximum level any
//! subscriber wants in a static; with none, it is `OFF` and no span is built).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::address::Address;
use super::cell::{Envelope, ServiceCell};
use super::value::Value;

/// A service's observability switches, beside its counters.
#[derive(Default)]
pub(crate) struct Observed {
    /// Set by the console's `trace ADDR on`: every message it handles is logged (INFO, target
    /// `skygroup::trace`).
    pub(crate) traced: AtomicBool,
    /// The id of the group it was spawned into (the span's `group` field); set once at spawn.
    pub(crate) group: OnceLock<u64>,
}

/// Whether nothing wants to see `cell`'s messages: no subscriber wants DEBUG and the service is
/// not traced. Checked first on the message path, so that path builds nothing else when quiet.
#[inline(always)]
pub(crate) fn quiet(cell: &ServiceCell) -> bool {
    !tracing::level_enabled!(tracing::Level::DEBUG) && !cell.counters.observed.traced.load(Ordering::Relaxed)
}

/// The span a message of `cell` is handled in, and (if the service is traced) its log line.
/// `Span::none()` unless a subscriber wants DEBUG spans of this target. Out of line: callers
/// check [`quiet`] first.
#[inline(never)]
pub(crate) fn message_span(cell: &ServiceCell, envelope: &Envelope) -> tracing::Span {
    let seen = || match envelope {
        Envelope::Request { command, session, from, args, .. } => {
            Seen { command: command.as_ref(), session: *session, request: Some((*from, args)) }
        }
        Envelope::Response { session, .. } => Seen { command: "(answer)", session: *session, request: None },
        Envelope::Wake { .. } => Seen { command: "(wake)", session: 0, request: None },
        Envelope::Fork { .. } => Seen { command: "(fork)", session: 0, request: None },
        Envelope::Init { .. } => Seen { command: "(init)", session: 0, request: None },
    };
    observe(cell, seen)
}

/// [`message_span`] for a request handled on the caller's thread (the direct shortcut, which
/// never enters the callee's mailbox).
#[inline(never)]
pub(crate) fn request_span(
    cell: &ServiceCell,
    from: Address,
    command: &str,
    session: u64,
    args: &Value,
) -> tracing::Span {
    observe(cell, || Seen { command, session, request: Some((from, args)) })
}

/// What the span and the trace line say of a message.
struct Seen<'a> {
    command: &'a str,
    session: u64,
    /// (sender, args) of a request.
    request: Option<(Address, &'a Value)>,
}

#[inline(always)]
fn observe<'a>(cell: &ServiceCell, seen: impl FnOnce() -> Seen<'a>) -> tracing::Span {
    let traced = cell.counters.observed.traced.load(Ordering::Relaxed);
    let spans = tracing::level_enabled!(tracing::Level::DEBUG);
    if !traced && !spans {
        return tracing::Span::none();
    }
    let seen = seen();
    if traced {
        log_traced(cell, &seen);
    }
    if spans { build_span(cell, &seen) } else { tracing::Span::none() }
}

#[cold]
fn build_span(cell: &ServiceCell, seen: &Seen<'_>) -> tracing::Span {
    let group = cell.counters.observed.group.get().copied();
    tracing::debug_span!(
        target: "skygroup::message",
        "handle",
        service = %cell.address,
        kind = cell.name(),
        group,
        command = seen.command,
        session = seen.session,
    )
}

#[cold]
fn log_traced(cell: &ServiceCell, seen: &Seen<'_>) {
    let from = seen.request.map(|(from, _)| from.to_string());
    let args = seen.request.map(|(_, args)| args.to_string());
    tracing::info!(
        target: "skygroup::trace",
        time_us = time_us(cell),
        service = %cell.address,
        kind = cell.name(),
        command = seen.command,
        session = seen.session,
        from,
        args,
        "traced message"
    );
}

/// The runtime's clock in microseconds (virtual time in the simulator): a field of every
/// event the runtime raises itself, so a simulator log lines up with its trace.
pub(crate) fn time_us(cell: &ServiceCell) -> u64 {
    cell.runtime.executor.now().as_micros() as u64
}
