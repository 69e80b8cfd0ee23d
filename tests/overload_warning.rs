//! The overload warning (G16), alone in its test binary: tracing caches whether a log line
//! has a subscriber per call site, so a threaded test in the same process that logs the same
//! line with no subscriber at the same moment could hide it from this test's scoped one.

use skygroup::{Ctx, ServiceKind, Value};

/// Keeps the message of every `WARN` event raised on this thread (a minimal tracing subscriber:
/// the simulator runs every service on the calling thread, so a thread-local default sees all).
#[derive(Default)]
struct Warnings(std::sync::Mutex<Vec<String>>);

impl tracing::Subscriber for Warnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0.lock().unwrap().push(message.0);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

#[test]
// checks G16: a mailbox crossing its kind's warning length logs a warning naming the kind, the
// address and the length, once per crossing, the threshold doubling each time (skynet's rule).
fn overload_warning_names_the_service_and_doubles() {
    let warnings = std::sync::Arc::new(Warnings::default());
    let slow = tracing::subscriber::with_default(warnings.clone(), || {
        let sim = skygroup_sim::Sim::new(7);
        let rt = sim.runtime();
        rt.define(
            ServiceKind::stateless("slow").overload_warning(8).command("note", |_ctx: Ctx, _v: Value| async { Ok(()) }),
        )
        .unwrap();
        let slow = rt.spawn("slow", ()).unwrap();
        rt.block_on(move |ctx| async move {
            for i in 0..40 {
                ctx.send(slow, "note", i); // one step: all 40 queue before `slow` runs
            }
            ctx.call(slow, "note", 0).await.unwrap();
        });
        slow
    });
    let warnings = warnings.0.lock().unwrap().clone();
    let overloaded: Vec<&String> = warnings.iter().filter(|w| w.contains("is overloaded")).collect();
    // Crossings at 8, 16 and 32 messages: three warnings, each naming the service.
    assert_eq!(overloaded.len(), 3, "{warnings:#?}");
    for (warning, len) in overloaded.iter().zip([8, 16, 32]) {
        assert!(warning.contains(&format!("service slow ({slow})")), "{warning}");
        assert!(warning.contains(&format!("{len} messages wait")), "{warning}");
    }
}
