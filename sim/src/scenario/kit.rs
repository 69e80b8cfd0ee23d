//! Building blocks the built-in scenarios share: a journal for what happened in which order
//! (per run, never a global, so runs stay independent and seeds replay), and small checks that
//! turn a broken expectation into the scenario's `Err`.

use std::sync::{Arc, Mutex, MutexGuard};

use skygroup::{Address, CallError, DefineError, Runtime, ServiceKind, Value, ValueError};

/// A list that the services of one run append to, shared with the scenario's checks.
pub(crate) struct Journal<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for Journal<T> {
    fn clone(&self) -> Self {
        Journal(self.0.clone())
    }
}

impl<T> Default for Journal<T> {
    fn default() -> Self {
        Journal(Arc::default())
    }
}

impl<T: Clone> Journal<T> {
    pub(crate) fn push(&self, item: T) {
        self.lock().push(item);
    }

    /// Everything appended so far, in order.
    pub(crate) fn items(&self) -> Vec<T> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<T>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `Err(message())` unless `condition` holds.
pub(crate) fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// Defines `kind`, turning a definition error into the scenario's error.
pub(crate) fn define<S: Send + 'static>(rt: &Runtime, kind: ServiceKind<S>) -> Result<(), String> {
    rt.define(kind).map_err(|e: DefineError| format!("define: {e}"))
}

/// A call's outcome as a value: the reply, or the error's text prefixed `error: `.
pub(crate) fn outcome(result: Result<Value, CallError>) -> Value {
    result.unwrap_or_else(|e| Value::Str(format!("error: {e}")))
}

/// Whether an [`outcome`] is an error.
pub(crate) fn is_error(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.starts_with("error: "))
}

/// A list of addresses out of a value.
pub(crate) fn addresses(list: Value) -> Result<Vec<Address>, ValueError> {
    Vec::<Value>::try_from(list)?.into_iter().map(Address::try_from).collect()
}

/// A `lobby` kind whose `spawn n` command starts `n` instances of `kind` (args `0..n`) in the
/// caller's group, one after another, and answers their addresses.
pub(crate) fn lobby(kind: &'static str) -> ServiceKind<()> {
    ServiceKind::stateless("lobby").command("spawn", move |ctx, n: Value| async move {
        let mut started = Vec::new();
        for i in 0..i64::try_from(n)? {
            started.push(Address::try_from(ctx.newservice(kind, i).await?)?);
        }
        Ok(started)
    })
}
