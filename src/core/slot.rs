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
//! one (`direct.rs`) alike.
//!
//! The slots live in the service's core, touched only by its runner (the holder of its claim),
//! and are dropped with it; a slot is polled where the core keeps it, and leaves it only as a
//! waiting task. The handler's context reuses the reference the last one dropped in this turn
//! (`context::CellRef`), so with the core's borrow flag a message handled here costs the
//! synchronous form's locked instructions plus one (the core's flag). The first poll itself ([`ServiceCell::first_poll`]) is here too:
//! the turn (`turn.rs`) and the direct path (`direct.rs`) both start async handlers with it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::cell::ServiceCell;
use super::context::Ctx;
use super::kind::AsyncCommand;
use super::turn::{Origin, Outcome, PolledAs, ReplyTo, ServiceCore, Task};
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
    /// Runs the handler on one message, with a context of `cell`'s ([`Ctx::spare`]), and polls
    /// its future once, in place, as `cell`'s task `task` (marked only for the poll itself):
    /// one dynamic call per message. The context and the mark are made here, in a small
    /// function of the handler's own, where their thread-local accesses are inlined. A future
    /// that waits stays in the slot; a ready one is dropped there, leaving the slot empty for
    /// the next message. User code runs throughout (the handler function, which may panic
    /// before making a future, leaving the slot empty; the poll; the finished future's drop,
    /// whose panic is handed back with the reply): the caller catches the first two.
    fn start(self: Pin<&mut Self>, cell: &Arc<ServiceCell>, task: usize, args: Value, cx: &mut Context<'_>) -> Started;

    /// Drops the future it holds (user code), leaving the slot empty for the next message.
    fn clear(self: Pin<&mut Self>);
}

/// What [`HandlerSlot::start`] did.
pub(crate) enum Started {
    /// The future waits, in the slot.
    Pending,
    /// The future is done with `Ok(Value::Nil)` (what a handler returning `()` answers) and its
    /// slot empty again: told apart where the reply is made, so the first poll checks one tag
    /// instead of three nested ones.
    Unit,
    /// The future is done and its slot empty again.
    Ready(anyhow::Result<Value>),
    /// The future is done, and dropping it panicked (the slot is empty; given up by the caller).
    ReadyDropPanicked(anyhow::Result<Value>, Box<dyn Any + Send>),
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
    fn start(self: Pin<&mut Self>, cell: &Arc<ServiceCell>, task: usize, args: Value, cx: &mut Context<'_>) -> Started {
        let mut this = self.project();
        let future = (this.handler)(Ctx::spare(cell), args);
        this.future.set(Some(future));
        let Some(future) = this.future.as_mut().as_pin_mut() else { unreachable!("the future was just set") };
        let polling = PolledAs::task(cell, task).enter();
        let polled = future.poll(cx);
        drop(polling);
        let Poll::Ready(reply) = polled else { return Started::Pending };
        let reply = reply.into_reply();
        match catch_unwind(AssertUnwindSafe(|| this.future.set(None))) {
            Ok(()) if matches!(reply, Ok(Value::Nil)) => {
                std::mem::forget(reply); // holds nothing
                Started::Unit
            }
            Ok(()) => Started::Ready(reply),
            Err(panic) => Started::ReadyDropPanicked(reply, panic),
        }
    }

    fn clear(self: Pin<&mut Self>) {
        self.project().future.set(None);
    }
}

/// What the first poll of an async handler's future did.
pub(crate) enum FirstPoll {
    /// Ready with `Ok(Value::Nil)`, what a handler returning `()` answers: no payload, so the
    /// direct path (a flood of sends, most often) carries no answer from enum to enum.
    Unit,
    Ready(anyhow::Result<Value>),
    /// It waits: its slot, to become a task (`keep_waiting`).
    Pending(Pending),
    Panicked(Box<dyn Any + Send>),
}

/// The slot of a handler whose first poll was pending, and the slab slot it was polled as.
pub(crate) struct Pending {
    slot: Pin<Box<dyn HandlerSlot>>,
    task: usize,
}

impl ServiceCell {
    /// Runs the async `command` on one message: fills the command's recycled slot with the
    /// handler's future and polls it once, in place (`slot.rs`; the slot stays where the core
    /// keeps it), as the slab's next free slot, where [`keep_waiting`](Self::keep_waiting)
    /// stores it if it has to wait: one dynamic call ([`HandlerSlot::start`]) under one
    /// `catch_unwind`. A ready future leaves its slot empty for the next message: no
    /// allocation. Catches the handler's panics. Inline: it is the body of the direct path's
    /// async run (`direct.rs`), whose every message passes here (always: the hint alone was
    /// dropped as the caller grew, about 20 instructions per message).
    #[inline(always)]
    pub(crate) fn first_poll(
        self: &Arc<Self>,
        core: &mut ServiceCore,
        command: &AsyncCommand,
        args: Value,
    ) -> FirstPoll {
        let id = core.tasks.vacant_key();
        self.ensure_waker(core, id);
        let index = command.index;
        if core.slots.len() <= index {
            core.slots.resize_with(index + 1, || None);
        }
        let ServiceCore { slots, rare, .. } = core;
        let entry = &mut slots[index];
        let slot = entry.get_or_insert_with(|| command.handler.slot());
        let waker = self.task_waker(super::turn::Rare::wakers(rare), id);
        let mut cx = Context::from_waker(&waker);
        let started = catch_unwind(AssertUnwindSafe(|| slot.as_mut().start(self, id, args, &mut cx)));
        // The common outcome first, by one comparison (a match of all of them is a jump table).
        if matches!(started, Ok(Started::Unit)) {
            std::mem::forget(started); // holds nothing
            return FirstPoll::Unit;
        }
        match started {
            Ok(Started::Unit) => FirstPoll::Unit,
            Ok(Started::Ready(result)) => FirstPoll::Ready(result),
            Ok(Started::Pending) => match entry.take() {
                Some(slot) => FirstPoll::Pending(Pending { slot, task: id }),
                None => unreachable!("a slot being polled is in its place"),
            },
            Ok(Started::ReadyDropPanicked(result, panic)) => {
                self.user_panic("dropping a handler's finished future", &*panic);
                if let Some(slot) = entry.take() {
                    self.drop_user(slot, "dropping a handler's finished future");
                }
                FirstPoll::Ready(result)
            }
            Err(panic) => {
                self.recycle(entry);
                FirstPoll::Panicked(panic)
            }
        }
    }

    /// Empties a slot whose future is done, in its place, for its command's next message (the
    /// future's drop is user code: a panic is caught, logged and counted, and the slot given up).
    fn recycle(&self, entry: &mut Option<Pin<Box<dyn HandlerSlot>>>) {
        let Some(slot) = entry else { return };
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| slot.as_mut().clear())) {
            self.user_panic("dropping a handler's finished future", &*panic);
            if let Some(slot) = entry.take() {
                self.drop_user(slot, "dropping a handler's finished future");
            }
        }
    }

    /// Stores the slot of a handler that waits (its [`first_poll`](Self::first_poll) was
    /// pending) as the task of the slab slot it was polled as; its outcome answers `reply_to`.
    pub(crate) fn keep_waiting(&self, core: &mut ServiceCore, pending: Pending, reply_to: ReplyTo) {
        let stored = core.tasks.insert(Task { future: pending.slot, origin: Origin::Call(reply_to) });
        debug_assert_eq!(stored, pending.task, "nothing takes a slot while a task is polled");
    }
}
