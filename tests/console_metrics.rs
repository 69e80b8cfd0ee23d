//! Metrics through the `metrics` facade (issue 16), checked with `metrics-util`'s in-memory
//! debugging recorder installed for this thread only (the simulator runs every service on the
//! calling thread). Its own test binary, like the tracing tests, so no other test's recorder
//! state can mix in.

use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use skygroup::console::metrics::MetricsConfig;
use skygroup::gate::GateConfig;
use skygroup::{Ctx, ServiceKind, Value};

/// (name, labels as `k=v` sorted, value) of every metric the recorder holds.
fn snapshot(recorder: &DebuggingRecorder) -> Vec<(String, Vec<String>, DebugValue)> {
    let mut all: Vec<_> = recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
            labels.sort();
            (key.name().to_owned(), labels, value)
        })
        .collect();
    all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    all
}

fn find<'a>(all: &'a [(String, Vec<String>, DebugValue)], name: &str, label: &str) -> &'a DebugValue {
    let found = all.iter().find(|(n, labels, _)| n == name && labels.iter().any(|l| l == label));
    &found.unwrap_or_else(|| panic!("no {name} with {label} in {all:?}")).2
}

#[test]
// checks C6: handled, errors, dead letters, queue, live services per group and gate
// connections reach the installed recorder
fn the_runtime_counters_reach_the_installed_recorder() {
    let recorder = DebuggingRecorder::new();
    let (echo, gate, all) = metrics::with_local_recorder(&recorder, || {
        let sim = skygroup_sim::Sim::new(5);
        let rt = sim.runtime();
        rt.define(skygroup::console::metrics::kind()).unwrap();
        rt.define(skygroup::gate::kind()).unwrap();
        rt.define(ServiceKind::stateless("boot")).unwrap();
        rt.define(
            ServiceKind::stateless("echo")
                .command("echo", |_ctx: Ctx, v: Value| async move { Ok(v) })
                .command("fail", |_ctx: Ctx, _v: Value| async move { Err::<(), _>(anyhow::anyhow!("no")) }),
        )
        .unwrap();
        rt.define(ServiceKind::stateless("watchdog").command("open", |_ctx: Ctx, _v: Value| async move { Ok(()) }))
            .unwrap();
        let server = rt.newgroup("server-1", "boot", ()).unwrap();
        let watchdog = rt.spawn("watchdog", ()).unwrap();
        rt.spawn("metrics", MetricsConfig { interval: Duration::from_millis(1) }).unwrap();
        let (gate, connect_to) = rt.block_on(move |ctx| async move {
            let gate = ctx.newservice("gate", GateConfig::new("gate:1", watchdog)).await.unwrap();
            let gate = skygroup::Address::try_from(gate).unwrap();
            (gate, String::try_from(skygroup::gate::GateRef(gate).local_addr(&ctx).await.unwrap()).unwrap())
        });
        let connect = sim.connect(&connect_to);
        let echo = rt.block_on(move |ctx| async move {
            let _client = connect.await.unwrap();
            let echo = server.query(&ctx, "echo").await.unwrap();
            for i in 0..3 {
                ctx.call(echo, "echo", i).await.unwrap();
            }
            let _ = ctx.call(echo, "fail", ()).await;
            ctx.sleep(Duration::from_millis(3)).await; // the metrics service publishes meanwhile
            echo
        });
        (echo, gate, snapshot(&recorder))
    });
    let service = format!("service={echo}");
    assert_eq!(find(&all, "skygroup_messages_handled_total", &service), &DebugValue::Counter(4));
    assert_eq!(find(&all, "skygroup_errors_total", &service), &DebugValue::Counter(1));
    assert_eq!(find(&all, "skygroup_queue_length", &service), &DebugValue::Gauge(0.0.into()));
    assert!(matches!(find(&all, "skygroup_dead_letters_total", &service), DebugValue::Counter(0)));
    assert!(matches!(find(&all, "skygroup_queue_peak", &service), DebugValue::Gauge(_)));
    // Its group's registry watches it (G9, G11).
    assert_eq!(find(&all, "skygroup_monitors", &service), &DebugValue::Gauge(1.0.into()));
    assert_eq!(find(&all, "skygroup_group_services", "label=server-1"), &DebugValue::Gauge(1.0.into()));
    assert!(
        matches!(find(&all, "skygroup_gate_connections", &format!("gate={gate}")), DebugValue::Gauge(g) if g.into_inner() == 1.0)
    );
    assert!(all.iter().any(|(n, _, _)| n == "skygroup_runtime_dead_letters_total"));
}
