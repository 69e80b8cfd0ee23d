//! Async command handlers without a future allocation per message.
//!
//! Most `command` handlers never await anything that is not ready (they read or change the
//! state, send, answer), so boxing each message's future and making it a task would cost an
//! allocation and a slab entry for nothing. Instead a service keeps, per async command, one heap
//! slot its futures run in ([`HandlerSlot`]): a message fills the slot with the handler's future
//! and polls it once, in place (a pinned future never moves after its first poll, which is why it
//! is polled inside the box). A future that is ready leaves the slot empty for the next message;
//! one that is pending takes the box with it as its task (the box coerces to the task's future
//! with no allocation), and the next message of that command makes a new slot. So the steady
//! path of a handler that does not await allocates nothing, on the turn's path and on the direct
//! one (`handoff.rs`) alike.
//!
//! The slots live in the service's core, touched only by its runner (the holder of its claim),
//! and are dropped with it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::context::Ctx;
use super::turn::Outcome;
use super::value::Value;

/// A type-erased async command handler: makes the slots its futures run in.
pub(crate) trait AsyncHandler: Send + Sync {
    /// A new, empty slot for this handler's futures.
    fn slot(&self) -> Pin<Box<dyn HandlerSlot>>;
}

/// The heap slot one message's future of one async command runs in (see the module docs). As a
/// future it polls the future it holds; polled empty, it is pending for good (nothing polls an
/// empty slot: it is emptied only once its future is ready).
pub(crate) trait HandlerSlot: Future<Output = Outcome> + Send {
    /// Runs the handler on one message: the slot now holds the handler's future, not yet
    /// polled. The handler function itself is user code (it may panic before making a future:
    /// the slot stays empty then).
    fn fill(self: Pin<&mut Self>, ctx: Ctx, args: Value);

    /// Drops the future it holds (user code), leaving the slot empty for the next message.
    fn clear(self: Pin<&mut Self>);
}

/// What an async command's future returns: its reply, or why it has none.
pub(crate) trait IntoReply {
    fn into_reply(self) -> anyhow::Result<Value>;
}

impl<R: Into<Value>> IntoReply for anyhow::Result<R> {
    fn into_reply(self) -> anyhow::Result<Value> {
        self.map(Into::into)
    }
}

/// The async command `H`, whose futures are `Fut`, for a service of state `S`.
pub(crate) struct Command<S, H, Fut> {
    handler: Arc<H>,
    _types: std::marker::PhantomData<fn() -> (S, Fut)>,
}

impl<S, H, Fut> Command<S, H, Fut> {
    pub(crate) fn new(handler: H) -> Self {
        Command { handler: Arc::new(handler), _types: std::marker::PhantomData }
    }
}

pin_project! {
    struct Slot<S, H, Fut> {
        handler: Arc<H>,
        #[pin]
        future: Option<Fut>,
        _state: std::marker::PhantomData<fn() -> S>,
    }
}

impl<S, H, Fut> AsyncHandler for Command<S, H, Fut>
where
    S: 'static,
    H: Fn(Ctx<S>, Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output: IntoReply> + Send + 'static,
{
    fn slot(&self) -> Pin<Box<dyn HandlerSlot>> {
        Box::pin(Slot::<S, H, Fut> { handler: self.handler.clone(), future: None, _state: std::marker::PhantomData })
    }
}

impl<S, H, Fut> Future for Slot<S, H, Fut>
where
    Fut: Future<Output: IntoReply>,
{
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        match self.project().future.as_pin_mut() {
            Some(future) => future.poll(cx).map(|r| Outcome::Reply(r.into_reply())),
            None => Poll::Pending,
        }
    }
}

impl<S, H, Fut> HandlerSlot for Slot<S, H, Fut>
where
    S: 'static,
    H: Fn(Ctx<S>, Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output: IntoReply> + Send + 'static,
{
    fn fill(self: Pin<&mut Self>, ctx: Ctx, args: Value) {
        let mut this = self.project();
        let future = (this.handler)(ctx.typed(), args);
        this.future.set(Some(future));
    }

    fn clear(self: Pin<&mut Self>) {
        self.project().future.set(None);
    }
}
