//! Typed commands on top of the dynamic layer: a command declared once (name, argument type,
//! reply type, domain error type) is handled with [`ServiceKind::on`] / [`ServiceKind::on_sync`]
//! and called with [`Ctx::ask`] / [`Ctx::tell`], all checked by the compiler.
//!
//! Why on top and not instead: a service is still addressed by name at run time, skynet-style
//! code and tools call by command name with a [`Value`], and the simulator traces values. So a
//! typed command travels as the same [`Value`] a dynamic caller would send (its `Args` and
//! `Reply` converted by serde, directly, `value_serde.rs`; an `i64`, a `String`, a [`Value`]
//! and the other common types by a plain match to the very same value, `typed_payload.rs`): a
//! typed handler answers a dynamic `call(to, "login", value)`, and a typed `ask` reaches a
//! dynamic handler.
//!
//! A handler's domain error (the command's `Error`) reaches the caller as that type:
//! the typed handler returns it through `anyhow` (`Err(NotEnoughGold { .. })?`), the runtime
//! carries it as [`CallErrorKind::Rejected`] (its value and its text), and `ask` gives it back
//! as [`AskError::Rejected`]; runtime failures (`Exited`, `Timeout`, `UnknownCommand`, ...) stay
//! [`AskError::Call`].
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use skygroup::{AskError, Command, ServiceKind};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Spend { gold: u64 }
//! #[derive(Debug, Serialize, Deserialize, thiserror::Error)]
//! #[error("not enough gold: {have} < {need}")]
//! struct NotEnoughGold { have: u64, need: u64 }
//!
//! struct SpendGold;
//! impl Command for SpendGold {
//!     const NAME: &'static str = "spend";
//!     type Args = Spend;
//!     type Reply = u64; // gold left
//!     type Error = NotEnoughGold;
//! }
//!
//! let wallet = ServiceKind::new("wallet", |_ctx, gold: u64| async move { Ok(gold) })
//!     .on_sync(SpendGold, |gold: &mut u64, _ctx, spend| {
//!         if spend.gold > *gold {
//!             Err(NotEnoughGold { have: *gold, need: spend.gold })?
//!         }
//!         *gold -= spend.gold;
//!         Ok(*gold)
//!     });
//! # let _ = wallet;
//! # fn _caller(ctx: skygroup::Ctx, wallet: skygroup::Address) {
//! #   let _ = async move {
//! match ctx.ask::<SpendGold>(wallet, Spend { gold: 5 }).await {
//!     Ok(left) => println!("{left} left"),
//!     Err(AskError::Rejected { error, .. }) => println!("short by {}", error.need - error.have),
//!     Err(other) => println!("runtime failure: {other}"),
//! }
//! #   };
//! # }
//! ```

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::{Call, Ctx, Target};
use super::error::{CallError, CallErrorKind};
use super::kind::ServiceKind;
use super::typed_payload::{from_value, into_value};
use super::value::Value;
use super::value_serde::PayloadError;

/// A command declared once: its name, what it takes, what it answers and how it refuses.
///
/// The wire form is the dynamic one: `Args` and `Reply` as [`Value`]s (a struct is a map by
/// field names), so a dynamic `call(to, NAME, value)` reaches a typed handler and a typed
/// [`Ctx::ask`] reaches a dynamic one.
pub trait Command: 'static {
    /// The command name, as a dynamic caller spells it.
    const NAME: &'static str;
    /// What the handler receives.
    type Args: Serialize + DeserializeOwned + Send + 'static;
    /// What the handler answers.
    type Reply: Serialize + DeserializeOwned + Send + 'static;
    /// The handler's domain error, which the caller gets back as this type
    /// ([`AskError::Rejected`]); [`NoError`] for a command that cannot refuse.
    type Error: std::error::Error + Serialize + DeserializeOwned + Send + Sync + 'static;
}

/// The domain error of a command that cannot refuse (it has no values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, thiserror::Error)]
pub enum NoError {}

/// A domain error as a value: what a typed handler's `Error` becomes on the way to its caller,
/// and what a dynamic handler returns (`Err(Rejection::new(..).into())`) to refuse with a value
/// rather than text. The caller sees [`CallErrorKind::Rejected`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    message: String,
    error: Value,
}

impl Rejection {
    /// A refusal with `error` as its value and `message` as its text.
    pub fn new(message: impl Into<String>, error: impl Into<Value>) -> Rejection {
        Rejection { message: message.into(), error: error.into() }
    }

    /// A refusal carrying a serde error type (its text is its `Display`).
    pub fn from_error<E: Serialize + std::fmt::Display + ?Sized>(error: &E) -> Rejection {
        let message = error.to_string();
        let error = Value::from_serialize(error).unwrap_or_else(|e| Value::Str(format!("{message} ({e})")));
        Rejection { message, error }
    }

    pub(crate) fn into_parts(self) -> (String, Value) {
        (self.message, self.error)
    }
}

/// Why a [`Ctx::ask`] did not return its reply.
#[derive(Debug, thiserror::Error)]
pub enum AskError<E> {
    /// The handler refused with its domain error (`call` is the same failure as the dynamic
    /// layer reports it, naming the service and the command).
    #[error("{call}")]
    Rejected {
        /// The command's domain error.
        error: E,
        /// The failure as a call error ([`CallErrorKind::Rejected`]).
        call: CallError,
    },
    /// The runtime failed the call: `Exited`, `Timeout`, `UnknownCommand`, a handler's
    /// untyped error...
    #[error(transparent)]
    Call(CallError),
    /// The arguments could not become a value, or the reply did not have the reply type's
    /// shape (a dynamic handler answered something else).
    #[error("command `{command}`: {error}")]
    Payload {
        /// The command asked.
        command: &'static str,
        /// What did not convert.
        error: PayloadError,
    },
}

impl<E> AskError<E> {
    /// The runtime's view of the failure, if it came from the call (not from a conversion).
    pub fn call_error(&self) -> Option<&CallError> {
        match self {
            AskError::Rejected { call, .. } | AskError::Call(call) => Some(call),
            AskError::Payload { .. } => None,
        }
    }
}

#[inline(always)]
fn decode_args<C: Command>(args: Value) -> anyhow::Result<C::Args> {
    from_value(args).map_err(|e| anyhow::anyhow!("arguments of `{}`: {e}", C::NAME))
}

#[inline(always)]
fn encode_reply<C: Command>(reply: anyhow::Result<C::Reply>) -> anyhow::Result<Value> {
    match reply {
        Ok(reply) => into_value(reply).map_err(|e| anyhow::anyhow!("reply of `{}`: {e}", C::NAME)),
        Err(e) => Err(refusal::<C>(e)),
    }
}

/// A handler's error on its way to the caller: its domain error as a [`Rejection`], any other
/// as it is. Out of line: a refusal is not the path a message usually takes.
#[inline(never)]
fn refusal<C: Command>(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<C::Error>() {
        Ok(domain) => Rejection::from_error(&domain).into(),
        Err(e) => e,
    }
}

impl<S: Send + 'static> ServiceKind<S> {
    /// Adds the typed command `C`: the handler receives `C::Args` and answers `C::Reply`; an
    /// error of type `C::Error` (returned through `anyhow`, e.g. `Err(MyError)?`) reaches the
    /// caller as that type, any other error as text. Otherwise as [`command`](Self::command).
    ///
    /// The command comes as a value (`.on(Login, ..)`, the unit struct that declares it) so
    /// that the compiler infers the handler's argument types from `C`.
    pub fn on<C, F, Fut>(self, _command: C, handler: F) -> Self
    where
        C: Command,
        F: Fn(Ctx<S>, C::Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<C::Reply>> + Send + 'static,
    {
        self.command(C::NAME, move |ctx, args| match decode_args::<C>(args) {
            Ok(args) => TypedAnswer::<C, _>::Running { handler: handler(ctx, args), _command: PhantomData },
            Err(error) => TypedAnswer::Refused { error: Some(error) },
        })
    }

    /// Adds the typed command `C` with a handler that never awaits; see
    /// [`command_sync`](Self::command_sync) and [`on`](Self::on).
    pub fn on_sync<C, F>(self, _command: C, handler: F) -> Self
    where
        C: Command,
        F: Fn(&mut S, &Ctx, C::Args) -> anyhow::Result<C::Reply> + Send + Sync + 'static,
    {
        self.command_sync(C::NAME, move |state, ctx, args| {
            encode_reply::<C>(decode_args::<C>(args).and_then(|args| handler(state, ctx, args)))
        })
    }
}

pin_project! {
    /// A typed async handler's future, its reply made a value (a hand-written future rather
    /// than an `async` block: the handler's future is polled where it was made, not moved into
    /// a generator first, and there is no state besides the handler's own).
    #[project = TypedAnswerProj]
    enum TypedAnswer<C, Fut> {
        Running { #[pin] handler: Fut, _command: PhantomData<fn() -> C> },
        /// The arguments did not have `C::Args`'s shape; taken by the first poll.
        Refused { error: Option<anyhow::Error> },
    }
}

impl<C: Command, Fut: Future<Output = anyhow::Result<C::Reply>>> Future for TypedAnswer<C, Fut> {
    type Output = anyhow::Result<Value>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<anyhow::Result<Value>> {
        match self.project() {
            TypedAnswerProj::Running { handler, .. } => handler.poll(cx).map(encode_reply::<C>),
            TypedAnswerProj::Refused { error } => {
                Poll::Ready(Err(error.take().expect("a typed handler polled after it returned")))
            }
        }
    }
}

impl<S: 'static> Ctx<S> {
    /// Calls the typed command `C` on `to` (an address, or a name in this service's group) and
    /// waits for its reply; ordered and answered exactly as [`call`](Self::call), which it is.
    pub fn ask<'a, C: Command>(&self, to: impl Into<Target<'a>>, args: C::Args) -> Ask<C> {
        match into_value(args) {
            Ok(args) => Ask { state: AskState::Call(self.call(to, C::NAME, args)), _command: PhantomData },
            Err(error) => Ask { state: AskState::Refused(Some(error)), _command: PhantomData },
        }
    }

    /// Sends the typed command `C` to `to` without waiting, as [`send`](Self::send). Fails
    /// only when the arguments cannot become a value (an opaque value inside, an integer
    /// past `i64`); then nothing is sent.
    pub fn tell<'a, C: Command>(&self, to: impl Into<Target<'a>>, args: C::Args) -> Result<(), PayloadError> {
        self.send(to, C::NAME, into_value(args)?);
        Ok(())
    }
}

/// The reply of a [`Ctx::ask`]: a future of `C::Reply` or an [`AskError`].
#[must_use = "a call's answer is lost unless awaited; use `tell` for one-way messages"]
pub struct Ask<C: Command> {
    state: AskState,
    _command: PhantomData<fn() -> C>,
}

enum AskState {
    Call(Call),
    /// The arguments did not convert: nothing was sent; taken by the first poll.
    Refused(Option<PayloadError>),
}

impl<C: Command> Future for Ask<C> {
    type Output = Result<C::Reply, AskError<C::Error>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            AskState::Call(call) => Poll::Ready(decode_answer::<C>(ready!(Pin::new(call).poll(cx)))),
            AskState::Refused(error) => {
                let error = error.take().expect("an ask polled after it returned");
                Poll::Ready(Err(AskError::Payload { command: C::NAME, error }))
            }
        }
    }
}

#[inline(always)]
fn decode_answer<C: Command>(answer: Result<Value, CallError>) -> Result<C::Reply, AskError<C::Error>> {
    match answer {
        Ok(reply) => from_value(reply).map_err(|error| AskError::Payload { command: C::NAME, error }),
        Err(call) => Err(decode_failure::<C>(call)),
    }
}

/// A failed call as the typed caller sees it. Out of line: not the path a call usually takes.
#[inline(never)]
fn decode_failure<C: Command>(call: CallError) -> AskError<C::Error> {
    match call.kind() {
        CallErrorKind::Rejected { error, .. } => match error.clone().deserialize_into::<C::Error>() {
            Ok(error) => AskError::Rejected { error, call },
            Err(_) => AskError::Call(call),
        },
        _ => AskError::Call(call),
    }
}
