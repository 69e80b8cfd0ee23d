//! The workload list: what each measures, at which size, against which target.

use crate::measure::Sample;
use crate::report::{Target, thousands};
use crate::typed_side::{self, Form, Format, Path};
use crate::{sim_side, skygroup_side, tokio_side};

/// How much work each workload does per run.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub calls: u64,
    pub sends: u64,
    pub producers: u64,
    pub sends_each: u64,
    pub services: u64,
    /// Seeds per measured run of the delivered-messages workload, and calls per seed.
    pub sim_seeds: u64,
    pub sim_calls: u64,
    /// Seeds per measured run of the seeds/s workload, and calls per seed.
    pub seed_runs: u64,
    pub seed_calls: u64,
    /// Encode+decode round trips of a login request per run, per format.
    pub codec_round_trips: u64,
}

impl Sizes {
    /// The sizes the targets are stated for.
    pub fn full() -> Sizes {
        Sizes {
            calls: 200_000,
            sends: 2_000_000,
            producers: 4,
            sends_each: 500_000,
            services: 10_000,
            sim_seeds: 20,
            sim_calls: 1_000,
            seed_runs: 2_000,
            seed_calls: 20,
            codec_round_trips: 1_000_000,
        }
    }

    /// Small enough for a smoke test (about a second in all, in release).
    pub fn quick() -> Sizes {
        Sizes {
            calls: 10_000,
            sends: 100_000,
            producers: 4,
            sends_each: 25_000,
            services: 1_000,
            sim_seeds: 2,
            sim_calls: 1_000,
            seed_runs: 100,
            seed_calls: 20,
            codec_round_trips: 50_000,
        }
    }
}

/// One run of one side; gets the run's index.
pub type RunFn = Box<dyn Fn(usize) -> Sample>;

pub struct Workload {
    /// Short name the filter argument matches.
    pub key: &'static str,
    /// What the table calls it.
    pub label: String,
    pub target: Target,
    pub skygroup: RunFn,
    /// The tokio baseline, where there is one.
    pub baseline: Option<RunFn>,
}

/// Every workload, in report order.
pub fn all(s: Sizes) -> Vec<Workload> {
    let mut all = core(s);
    all.extend(typed(s));
    all
}

/// Typed commands against the dynamic path (the row's baseline: typed may cost at most 10%
/// more), for both handler forms; then the payload formats on a login request.
fn typed(s: Sizes) -> Vec<Workload> {
    let n = thousands;
    let mut out = Vec::new();
    for (form, name) in [(Form::Async, "command"), (Form::Sync, "command_sync")] {
        out.push(Workload {
            key: if matches!(form, Form::Async) { "typed-calls" } else { "typed-calls-sync" },
            label: format!("typed ask/s vs dynamic call, `{name}` handler ({} calls)", n(s.calls as f64)),
            target: Target::RatioTo(0.91, "dynamic"),
            skygroup: Box::new(move |_| typed_side::calls(Path::Typed, form, s.calls)),
            baseline: Some(Box::new(move |_| typed_side::calls(Path::Dynamic, form, s.calls))),
        });
        out.push(Workload {
            key: if matches!(form, Form::Async) { "typed-sends" } else { "typed-sends-sync" },
            label: format!("typed tell/s vs dynamic send, `{name}` handler ({} sends)", n(s.sends as f64)),
            target: Target::RatioTo(0.91, "dynamic"),
            skygroup: Box::new(move |_| typed_side::sends(Path::Typed, form, s.sends)),
            baseline: Some(Box::new(move |_| typed_side::sends(Path::Dynamic, form, s.sends))),
        });
    }
    let formats = [
        (Format::SkygroupWire, "codec-wire", "skygroup wire (serde -> Value -> MessagePack)"),
        (Format::RmpSerde, "codec-rmp", "rmp-serde (MessagePack from serde)"),
        (Format::Postcard, "codec-postcard", "postcard"),
    ];
    for (format, key, name) in formats {
        out.push(Workload {
            key,
            label: format!("login request encode+decode/s, {name}, {} bytes", typed_side::encoded_size(format)),
            target: Target::None,
            skygroup: Box::new(move |_| typed_side::round_trips(format, s.codec_round_trips)),
            baseline: None,
        });
    }
    out
}

/// The runtime's own workloads against the tokio baseline, and the simulator's.
fn core(s: Sizes) -> Vec<Workload> {
    let n = thousands;
    vec![
        Workload {
            key: "calls",
            label: format!("call round trips/s ({} calls)", n(s.calls as f64)),
            target: Target::Ratio(1.2),
            skygroup: Box::new(move |_| skygroup_side::calls(s.calls, Form::Sync)),
            baseline: Some(Box::new(move |_| tokio_side::calls(s.calls))),
        },
        Workload {
            key: "sends",
            label: format!("one-way sends/s ({} sends)", n(s.sends as f64)),
            target: Target::Ratio(1.0),
            skygroup: Box::new(move |_| skygroup_side::sends(s.sends, Form::Sync)),
            baseline: Some(Box::new(move |_| tokio_side::sends(s.sends))),
        },
        Workload {
            key: "sends-queued",
            label: format!("one-way sends/s, the flood that starts queued ({} sends)", n(s.sends as f64)),
            target: Target::None,
            skygroup: Box::new(move |_| skygroup_side::sends_queued(s.sends, Form::Sync)),
            baseline: Some(Box::new(move |_| tokio_side::sends(s.sends))),
        },
        Workload {
            key: "sends-queued-async",
            label: format!("one-way sends/s, the flood that starts queued, `command` ({} sends)", n(s.sends as f64)),
            target: Target::None,
            skygroup: Box::new(move |_| skygroup_side::sends_queued(s.sends, Form::Async)),
            baseline: Some(Box::new(move |_| tokio_side::sends(s.sends))),
        },
        Workload {
            key: "fan-in",
            label: format!("fan-in sends/s ({} x {})", s.producers, n(s.sends_each as f64)),
            target: Target::Ratio(1.5),
            skygroup: Box::new(move |_| skygroup_side::fan_in(s.producers, s.sends_each, Form::Sync)),
            baseline: Some(Box::new(move |_| tokio_side::fan_in(s.producers, s.sends_each))),
        },
        Workload {
            key: "spawn",
            label: format!("services spawned+stopped/s ({})", n(s.services as f64)),
            target: Target::Ratio(1.0),
            skygroup: Box::new(move |_| skygroup_side::spawn_stop(s.services)),
            baseline: Some(Box::new(move |_| tokio_side::spawn_stop(s.services))),
        },
        Workload {
            key: "sim-msgs",
            label: format!("simulator delivered msgs/s ({} x {}-call ping-pong)", s.sim_seeds, n(s.sim_calls as f64)),
            target: Target::Rate(5_000_000.0),
            skygroup: Box::new(move |run| sim_side::delivered(run, s.sim_seeds, s.sim_calls)),
            baseline: None,
        },
        Workload {
            key: "sim-seeds",
            label: format!("simulator seeds/s ({}-call scenario)", s.seed_calls),
            target: Target::None,
            skygroup: Box::new(move |run| sim_side::seeds(run, s.seed_runs, s.seed_calls)),
            baseline: None,
        },
    ]
}
