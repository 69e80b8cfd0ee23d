//! The peers workloads: which sides each has, which rows it prints, and the targets.

use std::time::Duration;

use super::compare::{self, Peer, Side};
use super::table::{Against, Row, Target, Unit};
use super::{ROUNDS, Sizes, actix_peer, kameo_peer, memory, ractor_peer, sky, tokio_peer};
use crate::report::thousands;
use crate::typed_side::Form;
use crate::{skygroup_side, tokio_side};

/// skynet's figures on this machine (2 worker threads), ops/s.
const SKYNET_CALLS: f64 = 232_000.0;
const SKYNET_SENDS: f64 = 472_000.0;
const SKYNET_SPAWN: f64 = 6_400.0;
const SKYNET_GROUP_CALLS: f64 = 233_000.0;

/// One row a workload prints: from metric `metric` of its sides.
struct RowSpec {
    key: &'static str,
    label: String,
    unit: Unit,
    metric: usize,
    /// The peers' metric, where it differs from skygroup's (the storm's manager line compares
    /// skygroup's manager path with the same peer figure as the member path).
    peer_metric: Option<usize>,
    skynet: Option<f64>,
}

pub struct Workload {
    pub key: &'static str,
    /// Operations per run (for rates).
    ops: u64,
    pub sides: Vec<Side>,
    rows: Vec<RowSpec>,
    /// For the storm: also print the row of metric 0 minus the row of metric 1 (the storm net of
    /// its harness).
    net: Option<(&'static str, String)>,
}

fn rate(key: &'static str, label: String, skynet: Option<f64>) -> RowSpec {
    RowSpec { key, label, unit: Unit::Rate, metric: 0, peer_metric: None, skynet }
}

/// One side from a function returning the existing benchmark's `Sample`.
fn sample(peer: Peer, f: impl Fn() -> crate::measure::Sample + 'static) -> Side {
    Side::new(peer, move |_| vec![f().elapsed])
}

fn side(peer: Peer, f: impl Fn() -> Vec<Duration> + 'static) -> Side {
    Side::new(peer, move |_| f())
}

/// Every workload, in report order.
pub fn all(s: Sizes) -> Vec<Workload> {
    let n = |x: u64| thousands(x as f64);
    let (calls, sends, producers, each, services, req) =
        (s.calls, s.sends, s.producers, s.each, s.services, s.requesters);
    vec![
        Workload {
            key: "calls",
            ops: calls,
            sides: vec![
                sample(Peer::SkygroupAsync, move || skygroup_side::calls(calls, Form::Async)),
                sample(Peer::Skygroup, move || skygroup_side::calls(calls, Form::Sync)),
                side(Peer::Ractor, move || ractor_peer::calls(calls)),
                side(Peer::Kameo, move || kameo_peer::calls(calls)),
                side(Peer::Actix, move || actix_peer::calls(calls)),
                sample(Peer::Tokio, move || tokio_side::calls(calls)),
            ],
            rows: vec![rate("calls", format!("1. call round trips/s ({} sequential)", n(calls)), Some(SKYNET_CALLS))],
            net: None,
        },
        Workload {
            key: "sends",
            ops: sends,
            sides: vec![
                sample(Peer::SkygroupAsync, move || skygroup_side::sends(sends, Form::Async)),
                sample(Peer::Skygroup, move || skygroup_side::sends(sends, Form::Sync)),
                side(Peer::Ractor, move || ractor_peer::sends(sends)),
                side(Peer::Kameo, move || kameo_peer::sends(sends)),
                side(Peer::Actix, move || actix_peer::sends(sends)),
                sample(Peer::Tokio, move || tokio_side::sends(sends)),
            ],
            rows: vec![rate("sends", format!("2. one-way sends/s ({}, 1 producer)", n(sends)), Some(SKYNET_SENDS))],
            net: None,
        },
        Workload {
            key: "fan-in",
            ops: producers * each,
            sides: vec![
                sample(Peer::SkygroupAsync, move || skygroup_side::fan_in(producers, each, Form::Async)),
                sample(Peer::Skygroup, move || skygroup_side::fan_in(producers, each, Form::Sync)),
                side(Peer::Ractor, move || ractor_peer::fan_in(producers, each)),
                side(Peer::Kameo, move || kameo_peer::fan_in(producers, each)),
                side(Peer::Actix, move || actix_peer::fan_in(producers, each)),
                sample(Peer::Tokio, move || tokio_side::fan_in(producers, each)),
            ],
            rows: vec![rate("fan-in", format!("3. fan-in sends/s ({producers} x {})", n(each)), None)],
            net: None,
        },
        Workload {
            key: "spawn",
            ops: services,
            sides: vec![
                sample(Peer::Skygroup, move || skygroup_side::spawn_stop(services)),
                side(Peer::Ractor, move || ractor_peer::spawn_stop(services)),
                side(Peer::Kameo, move || kameo_peer::spawn_stop(services)),
                side(Peer::Actix, move || actix_peer::spawn_stop(services)),
                sample(Peer::Tokio, move || tokio_side::spawn_stop(services)),
            ],
            rows: vec![rate("spawn", format!("4. services started+stopped/s ({})", n(services)), Some(SKYNET_SPAWN))],
            net: None,
        },
        Workload {
            key: "storm",
            ops: 1,
            sides: vec![
                side(Peer::Skygroup, move || sky::storm(req)),
                side(Peer::Ractor, move || ractor_peer::storm(req)),
                side(Peer::Kameo, move || kameo_peer::storm(req)),
                side(Peer::Actix, move || actix_peer::storm(req)),
                side(Peer::Tokio, move || tokio_peer::storm(req)),
            ],
            rows: vec![
                RowSpec {
                    key: "storm",
                    label: format!("5. first-use storm: {} requesters, service not started (time)", n(req)),
                    unit: Unit::Micros,
                    metric: 0,
                    peer_metric: None,
                    skynet: None,
                },
                RowSpec {
                    key: "storm-manager",
                    label: format!(
                        "5m. the storm from a manager: {} `Group::query` from outside the group (time, whole)",
                        n(req)
                    ),
                    unit: Unit::Micros,
                    metric: 2,
                    peer_metric: Some(0),
                    skynet: None,
                },
                RowSpec {
                    key: "storm-harness",
                    label: format!("5a. harness: {} requesters, service started (time)", n(req)),
                    unit: Unit::Micros,
                    metric: 1,
                    peer_metric: None,
                    skynet: None,
                },
            ],
            net: Some(("storm-net", "5b. storm minus harness (time)".to_owned())),
        },
        Workload {
            key: "group-call",
            ops: calls,
            sides: vec![
                Side::new(Peer::SkygroupAsync, move |run| sky::group_call(run, calls, Form::Async)),
                Side::new(Peer::Skygroup, move |run| sky::group_call(run, calls, Form::Sync)),
                Side::new(Peer::Ractor, move |run| ractor_peer::by_name_calls(run, calls)),
                Side::new(Peer::Kameo, move |run| kameo_peer::by_name_calls(run, calls)),
            ],
            rows: vec![
                rate(
                    "group-call",
                    format!("6. calls by name/s ({}; skygroup: group name, peers: registry lookup per call)", n(calls)),
                    Some(SKYNET_GROUP_CALLS),
                ),
                RowSpec {
                    key: "addr-call",
                    label: "6a. the same client's calls by address/s".to_owned(),
                    unit: Unit::Rate,
                    metric: 1,
                    peer_metric: None,
                    skynet: None,
                },
            ],
            net: None,
        },
    ]
}

/// Runs `w` side by side and returns its rows, printing every run as it goes.
pub fn measure(w: &Workload) -> Vec<Row> {
    let times = compare::rounds(ROUNDS, &w.sides);
    let mut rows: Vec<Row> = w
        .rows
        .iter()
        .map(|spec| {
            let metric = |peer: Peer| match (peer, spec.peer_metric) {
                (Peer::Skygroup | Peer::SkygroupAsync, _) | (_, None) => spec.metric,
                (_, Some(theirs)) => theirs,
            };
            let mut row = Row::metric(spec.key, spec.label.clone(), spec.unit, w.ops, &w.sides, &times, metric);
            row.skynet = spec.skynet;
            row
        })
        .collect();
    if let Some((key, label)) = &w.net {
        let of_metric = |m: usize| w.rows.iter().position(|spec| spec.metric == m).map(|i| &rows[i]);
        if let (Some(total), Some(harness)) = (of_metric(0), of_metric(1)) {
            let net = total.minus(harness, key, label.clone());
            rows.push(net);
        }
    }
    print!("{}", super::table::runs_lines(&rows));
    rows
}

/// What skygroup must reach (the targets; none is weakened here).
pub fn targets() -> Vec<Target> {
    use Against::{Peer as P, Row as R, Skynet};
    let mut targets = Vec::new();
    for key in ["calls", "sends", "fan-in", "spawn", "storm", "group-call"] {
        targets.push(Target::new(key, P(Peer::Ractor), 1.5));
        targets.push(Target::new(key, P(Peer::Kameo), 1.5));
    }
    for key in ["calls", "sends", "fan-in"] {
        targets.push(Target::new(key, P(Peer::Tokio), 1.0));
        targets.push(Target::new(key, P(Peer::Actix), 1.0));
    }
    targets.push(Target::new("storm", P(Peer::Ractor), 1.0));
    targets.push(Target::new("storm-manager", P(Peer::Ractor), 1.0));
    // The issue states the storm target net of the harness ("measure that overhead the same way
    // and subtract it"); the rows above hold the totals to the same ratios as well.
    targets.push(Target::new("storm-net", P(Peer::Ractor), 1.0));
    targets.push(Target::new("storm-net", P(Peer::Ractor), 1.5));
    targets.push(Target::new("group-call", R("addr-call"), 0.9));
    targets.push(Target::new("calls", Skynet, 20.0));
    // Issue 13: with plain async `command` handlers (spawn and the storm time no handler, so
    // their one figure stands for both forms).
    let asynchronous = [
        ("calls", Peer::Tokio, 1.5),
        ("calls", Peer::Actix, 1.0),
        ("sends", Peer::Tokio, 1.0),
        ("fan-in", Peer::Tokio, 1.5),
        ("fan-in", Peer::Actix, 1.0),
        ("spawn", Peer::Tokio, 1.0),
        ("storm", Peer::Ractor, 1.0),
        ("storm-manager", Peer::Ractor, 1.0),
    ];
    targets.extend(asynchronous.into_iter().map(|(key, peer, min)| Target::new(key, P(peer), min).in_async()));
    targets
}

/// Starts `n` idle services of one implementation and measures them.
type StartIdle = fn(u64) -> memory::Idle;

/// Memory per idle service: every implementation's idle services, all alive at once.
pub fn memory(s: Sizes, only: Option<Peer>) {
    let n = s.idle;
    let mut measured = Vec::new();
    let steps: [(Peer, StartIdle); 6] = [
        (Peer::Skygroup, sky::idle_plain),
        (Peer::Skygroup, sky::idle_in_group),
        (Peer::Ractor, ractor_peer::idle),
        (Peer::Kameo, kameo_peer::idle),
        (Peer::Actix, actix_peer::idle),
        (Peer::Tokio, tokio_peer::idle),
    ];
    for (peer, step) in steps.into_iter().filter(|(p, _)| only.is_none_or(|o| o == *p)) {
        eprintln!("memory: {} ...", peer.name());
        measured.push(step(n));
    }
    println!("Memory per idle service ({} idle services each, RSS growth; all kept alive until the last):", n);
    println!();
    print!("{}", memory::table(&measured));
    println!();
    drop(measured);
}
