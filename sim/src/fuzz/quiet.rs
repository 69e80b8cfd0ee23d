//! Panics that must not abort the fuzzer. libFuzzer's Rust glue (`libfuzzer-sys`) installs a
//! panic hook that aborts the process at once, before any `catch_unwind` can run, so a crash
//! is a crash even in code that catches panics. But the runtime catches handler panics on
//! purpose (injected faults panic handlers), and the simulator reports a deadlock or a
//! runaway as a panic that [`run_once`](crate::scenario::run_once) catches and turns into a
//! failure. While a fuzz function runs the simulator, panics on that thread are therefore
//! left to unwind to their `catch_unwind`, unprinted; the fuzz function's own panic (a broken
//! rule) happens outside and aborts as libFuzzer wants.
//!
//! The hook is wrapped once per process and the switch is per thread, so tests running in
//! parallel keep their own panic output.

use std::cell::Cell;
use std::sync::Once;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

static WRAP_HOOK: Once = Once::new();

/// Runs `f` with this thread's panics passed over by the panic hook.
pub(crate) fn quietly<R>(f: impl FnOnce() -> R) -> R {
    WRAP_HOOK.call_once(|| {
        let outer = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.get() {
                outer(info);
            }
        }));
    });
    let _restore = Restore(QUIET.replace(true));
    f()
}

/// Puts the thread's previous setting back, also when `f` unwinds.
struct Restore(bool);

impl Drop for Restore {
    fn drop(&mut self) {
        QUIET.set(self.0);
    }
}
