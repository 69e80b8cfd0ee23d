//! Init arguments typed like commands: a kind declared once ([`Kind`]: its name, its init
//! arguments, its state), so that defining it with the wrong init, or starting it with the
//! wrong arguments, is a compile error.
//!
//! The run-time check stays underneath ([`Args`](super::Args) is still a downcast), because a
//! lazy start by name (`ctx.query("db")`) passes `()` without knowing the kind's Rust types:
//! its mismatch is still the clear error naming both types.
//!
//! ```
//! use skygroup::{Kind, Runtime, ServiceKind};
//! struct Counter;
//! impl Kind for Counter {
//!     const NAME: &'static str = "counter";
//!     type Args = i64;
//!     type State = i64;
//! }
//! let rt = Runtime::threaded(1);
//! rt.define(ServiceKind::of(Counter, |_ctx, start| async move { Ok(start) })).unwrap();
//! let counter = rt.spawn_kind(Counter, 10).unwrap();
//! # let _ = counter;
//! ```
//!
//! ```compile_fail
//! # use skygroup::{Kind, Runtime, ServiceKind};
//! # struct Counter;
//! # impl Kind for Counter { const NAME: &'static str = "counter"; type Args = i64; type State = i64; }
//! # let rt = Runtime::threaded(1);
//! let counter = rt.spawn_kind(Counter, "ten"); // a &str is not the kind's i64
//! ```

use std::future::Future;

use super::address::Address;
use super::context::{Call, Ctx};
use super::error::CallError;
use super::kind::ServiceKind;
use super::runtime::Runtime;

/// A service kind declared once: its name, its init arguments and its state.
pub trait Kind: 'static {
    /// The kind's name, as `newservice` and lazy starts spell it.
    const NAME: &'static str;
    /// What its init receives (what `spawn_kind` / `newservice_kind` must pass).
    type Args: Send + 'static;
    /// Its state.
    type State: Send + 'static;
}

impl<S: Send + 'static> ServiceKind<S> {
    /// A kind declared by `K`: its init takes `K::Args` and returns `K::State`, checked by the
    /// compiler. The kind comes as a value (`ServiceKind::of(Counter, ..)`) so the init's
    /// argument type is inferred.
    pub fn of<K, F, Fut>(_kind: K, init: F) -> ServiceKind<S>
    where
        K: Kind<State = S>,
        F: Fn(Ctx<S>, K::Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<S>> + Send + 'static,
    {
        ServiceKind::new(K::NAME, init)
    }
}

impl Runtime {
    /// [`spawn`](Runtime::spawn) of the declared kind `K`, its arguments checked by the compiler.
    pub fn spawn_kind<K: Kind>(&self, _kind: K, args: K::Args) -> Result<Address, CallError> {
        self.spawn(K::NAME, args)
    }
}

impl<S: 'static> Ctx<S> {
    /// [`newservice`](Ctx::newservice) of the declared kind `K`, its arguments checked by the
    /// compiler.
    pub fn newservice_kind<K: Kind>(&self, _kind: K, args: K::Args) -> Call {
        self.newservice(K::NAME, args)
    }
}
