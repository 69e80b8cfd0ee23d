//! Spans and structured events (issue 16), alone in this test binary: tracing caches per call
//! site whether any subscriber wants it, so another test logging the same lines with no
//! subscriber at the same moment could hide them from this test's scoped one (see
//! `overload_warning.rs`). The simulator runs every service on the calling thread, so a
//! thread-local default subscriber sees everything.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use skygroup::console::ConsoleConfig;
use skygroup::{Ctx, ServiceKind, Value};

/// A span or an event: its name (or message) and its fields as text.
type Seen = (String, BTreeMap<String, String>);

/// Keeps every span's fields and every event's fields (a minimal tracing subscriber).
#[derive(Default)]
struct Recorder {
    spans: Mutex<Vec<Seen>>,
    events: Mutex<Vec<Seen>>,
}

struct Fields(BTreeMap<String, String>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut fields = Fields(BTreeMap::new());
        span.record(&mut fields);
        let mut spans = self.spans.lock().unwrap();
        spans.push((span.metadata().name().to_owned(), fields.0));
        tracing::span::Id::from_u64(spans.len() as u64)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(BTreeMap::new());
        event.record(&mut fields);
        fields.0.insert("target".into(), event.metadata().target().to_owned());
        let message = fields.0.get("message").cloned().unwrap_or_default();
        self.events.lock().unwrap().push((message, fields.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
// checks C5: every handled message runs in a span naming service, kind, group, command and
// session; a traced service logs each message; runtime warnings carry the virtual time
fn handled_messages_run_in_spans_and_warnings_carry_virtual_time() {
    let recorder = Arc::new(Recorder::default());
    let (echo, console) = tracing::subscriber::with_default(recorder.clone(), || {
        let sim = skygroup_sim::Sim::new(3);
        let rt = sim.runtime();
        rt.define(skygroup::console::kind()).unwrap();
        rt.define(ServiceKind::stateless("boot")).unwrap();
        rt.define(
            ServiceKind::stateless("echo")
                .command("echo", |_ctx: Ctx, v: Value| async move { Ok(v) })
                .command("fail", |_ctx: Ctx, _v: Value| async move { Err::<(), _>(anyhow::anyhow!("no luck")) }),
        )
        .unwrap();
        let console = rt.spawn("console", ConsoleConfig::new("console:1")).unwrap();
        let server = rt.newgroup("server-1", "boot", ()).unwrap();
        let echo = rt.block_on(move |ctx| async move {
            let echo = server.query(&ctx, "echo").await.unwrap();
            ctx.call(echo, "echo", 1).await.unwrap();
            ctx.sleep(Duration::from_millis(5)).await;
            ctx.send(echo, "fail", ()); // a handler error after a send: a warning
            ctx.sleep(Duration::from_millis(1)).await;
            echo
        });
        (echo, console)
    });
    let spans = recorder.spans.lock().unwrap().clone();
    let echo_call = spans.iter().find(|(name, f)| {
        name == "handle"
            && f.get("command").map(String::as_str) == Some("echo")
            && f.get("service") == Some(&echo.to_string())
    });
    let (_, fields) = echo_call.unwrap_or_else(|| panic!("no span for the echo call in {spans:?}"));
    assert_eq!(fields.get("kind").map(String::as_str), Some("echo"));
    assert_eq!(fields.get("group").map(String::as_str), Some("1"));
    assert_ne!(fields.get("session").map(String::as_str), Some("0"), "a call has a session");
    assert!(spans.iter().any(|(_, f)| f.get("service") == Some(&console.to_string())), "the console's own turns too");

    let events = recorder.events.lock().unwrap().clone();
    let failed = events.iter().find(|(_, f)| f.get("event").map(String::as_str) == Some("send_failed"));
    let (message, fields) = failed.unwrap_or_else(|| panic!("no send_failed event in {events:?}"));
    assert!(message.contains("no luck"), "{message}");
    assert_eq!(fields.get("service"), Some(&echo.to_string()));
    let time_us: u64 = fields["time_us"].parse().unwrap();
    assert!(time_us >= 5_000, "virtual time after a 5 ms sleep: {time_us}");
}

#[test]
// checks C5: `trace ADDR on` logs every message the service handles, `off` stops it
fn a_traced_service_logs_each_message_it_handles() {
    let recorder = Arc::new(Recorder::default());
    tracing::subscriber::with_default(recorder.clone(), || {
        let sim = skygroup_sim::Sim::new(4);
        let rt = sim.runtime();
        rt.define(skygroup::console::kind()).unwrap();
        rt.define(ServiceKind::stateless("echo").command("echo", |_ctx: Ctx, v: Value| async move { Ok(v) })).unwrap();
        let echo = rt.spawn("echo", ()).unwrap();
        let console = rt.spawn("console", ConsoleConfig::new("console:1")).unwrap();
        let addr = rt.block_on(move |ctx| async move {
            String::try_from(ctx.call(console, "address", ()).await.unwrap()).unwrap()
        });
        let connect = sim.connect(&addr);
        rt.block_on(move |ctx| async move {
            let c = connect.await.unwrap();
            for (line, then) in [(format!("trace {echo} on"), "traced"), (format!("trace {echo} off"), "untraced")] {
                c.write(format!("{line}\n").as_bytes());
                while c.read_line().await.unwrap() != "<ok>" {}
                ctx.call(echo, "echo", then).await.unwrap();
            }
        });
    });
    let events = recorder.events.lock().unwrap().clone();
    let traced: Vec<&BTreeMap<String, String>> = events
        .iter()
        .filter(|(_, f)| f.get("target").map(String::as_str) == Some("skygroup::trace"))
        .map(|(_, f)| f)
        .collect();
    assert_eq!(traced.len(), 1, "{traced:?}");
    assert_eq!(traced[0].get("command").map(String::as_str), Some("echo"));
    assert_eq!(traced[0].get("args").map(String::as_str), Some("\"traced\""));
}
