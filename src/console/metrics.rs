//! The runtime's counters through the `metrics` crate facade, so any exporter (Prometheus,
//! statsd, ...) plugs in with its own recorder.
//!
//! Nothing is recorded on the message path: [`publish`] reads the counters the runtime keeps
//! anyway ([`ServiceStats`](crate::ServiceStats), the live services of each group) and hands
//! them to the installed recorder, so with no recorder the cost is nil. Call it from a scrape
//! hook, or start the `metrics` kind ([`kind`]) that publishes at an interval. Gates set their
//! connection gauge themselves as connections open and close.
//!
//! Names (labels in brackets): `skygroup_messages_handled_total`, `skygroup_errors_total`,
//! `skygroup_dead_letters_total` (counters), `skygroup_queue_length`, `skygroup_queue_peak`,
//! `skygroup_monitors` (gauges), all [service, kind, group]; `skygroup_group_services` [group, label];
//! `skygroup_runtime_dead_letters_total`; `skygroup_gate_connections` (label: gate). Per-service
//! labels keep counters monotonic (a sum over a kind would drop when a service exits); a
//! process with many short-lived services may prefer to aggregate in its exporter.

use std::time::Duration;

use metrics::{counter, gauge};

use crate::core::RuntimeShared;
use crate::{Ctx, Runtime, ServiceKind};

/// Publishes every live service's counters and every group's size to the installed recorder.
pub fn publish(runtime: &Runtime) {
    publish_shared(runtime.shared());
}

pub(crate) fn publish_shared(runtime: &std::sync::Arc<RuntimeShared>) {
    for cell in runtime.cells() {
        let s = cell.stats();
        let group = cell.counters.observed.group.get().map_or_else(|| "-".to_owned(), u64::to_string);
        let labels = [("service", cell.address.to_string()), ("kind", cell.name().to_owned()), ("group", group)];
        counter!("skygroup_messages_handled_total", &labels).absolute(s.handled);
        counter!("skygroup_errors_total", &labels).absolute(s.errors);
        counter!("skygroup_dead_letters_total", &labels).absolute(s.dead_letters);
        gauge!("skygroup_queue_length", &labels).set(s.queue_len as f64);
        gauge!("skygroup_queue_peak", &labels).set(s.peak_queue_len as f64);
        gauge!("skygroup_monitors", &labels).set(s.monitors as f64);
    }
    for group in crate::group::groups_of(runtime) {
        let labels = [("group", group.id().to_string()), ("label", group.label().to_owned())];
        gauge!("skygroup_group_services", &labels).set(group.services().len() as f64);
    }
    let dead = runtime.dead_letters.load(std::sync::atomic::Ordering::Relaxed);
    counter!("skygroup_runtime_dead_letters_total").absolute(dead);
}

/// How often the `metrics` kind publishes: its init argument.
#[derive(Debug, Clone, Copy)]
pub struct MetricsConfig {
    /// The time between two publications (runtime time: virtual in the simulator).
    pub interval: Duration,
}

/// A service that publishes (see [`publish`]) once at start and then every `interval`, until it
/// is killed: `rt.define(skygroup::console::metrics::kind())`, then
/// `spawn("metrics", MetricsConfig { .. })`.
pub fn kind() -> ServiceKind<MetricsConfig> {
    ServiceKind::new("metrics", |ctx: Ctx<MetricsConfig>, config: MetricsConfig| async move {
        publish_shared(ctx.runtime());
        let ticker = ctx.clone();
        ctx.fork(async move {
            loop {
                ticker.sleep(config.interval).await;
                publish_shared(ticker.runtime());
            }
        });
        Ok(config)
    })
}

/// A gate's connection gauge (called by the gate as connections open and close).
pub(crate) fn gate_connections(gate: crate::Address, open: usize) {
    gauge!("skygroup_gate_connections", "gate" => gate.to_string()).set(open as f64);
}
