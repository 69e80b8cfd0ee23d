//! What an operator sees of a service's work: the tracing span each handled message runs in,
//! the console's per-service `trace` switch, and the clock field of the runtime's own events.
//!
//! Kept apart from `turn.rs` so the hot path there is one call per message, and so the cost
//! with no subscriber installed is one level check (`tracing` keeps the maximum level any
//! subscriber wants in a static; with none, it is `OFF` and no span is built).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::cell::{Envelope, ServiceCell};

/// A service's observability switches, beside its counters.
#[derive(Default)]
pub(crate) struct Observed {
    /// Set by the console's `trace ADDR on`: every message it handles is logged (INFO, target
    /// `skygroup::trace`).
    pub(crate) traced: AtomicBool,
    /// The id of the group it was spawned into (the span's `group` field); set once at spawn.
    pub(crate) group: OnceLock<u64>,
}

/// The span a message of `cell` is handled in, and (if the service is traced) its log line.
/// `Span::none()` unless a subscriber wants DEBUG spans of this target.
#[inline]
pub(crate) fn message_span(cell: &ServiceCell, envelope: &Envelope) -> tracing::Span {
    let traced = cell.counters.observed.traced.load(Ordering::Relaxed);
    if traced {
        log_traced(cell, envelope);
    }
    if tracing::level_enabled!(tracing::Level::DEBUG) { build_span(cell, envelope) } else { tracing::Span::none() }
}

/// (command, session) of a message, for the span and the trace line.
fn describe(envelope: &Envelope) -> (&str, u64) {
    match envelope {
        Envelope::Request { command, session, .. } => (command.as_ref(), *session),
        Envelope::Response { session, .. } => ("(answer)", *session),
        Envelope::Wake { .. } => ("(wake)", 0),
        Envelope::Fork { .. } => ("(fork)", 0),
        Envelope::Init { .. } => ("(init)", 0),
    }
}

#[cold]
fn build_span(cell: &ServiceCell, envelope: &Envelope) -> tracing::Span {
    let (command, session) = describe(envelope);
    let group = cell.counters.observed.group.get().copied();
    tracing::debug_span!(
        target: "skygroup::message",
        "handle",
        service = %cell.address,
        kind = cell.name(),
        group,
        command,
        session,
    )
}

#[cold]
fn log_traced(cell: &ServiceCell, envelope: &Envelope) {
    let (command, session) = describe(envelope);
    let from = match envelope {
        Envelope::Request { from, .. } => Some(from.to_string()),
        _ => None,
    };
    let args = match envelope {
        Envelope::Request { args, .. } => Some(args.to_string()),
        _ => None,
    };
    tracing::info!(
        target: "skygroup::trace",
        time_us = time_us(cell),
        service = %cell.address,
        kind = cell.name(),
        command,
        session,
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
