//! `Ctx`: what a service's code holds — its address, its state, and the verbs to talk to others.
//!
//! State is reached only through [`Ctx::with_state`], a synchronous closure. No borrow of the
//! state can cross an `.await`, so the await boundary is visible in the code: everything inside
//! the closure happens at once, and anything after an await may see state changed by another
//! handler of the same service (G12). Handlers never run at the same instant, so the state needs
//! no lock against itself; the borrow flag inside only proves it.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use super::address::Address;
use super::cell::{CommandName, Envelope, ServiceCell, lock};
use super::error::{CallError, CallErrorKind};
use super::kind::Args;
use super::runtime::{RuntimeShared, SpawnOptions};
use super::session::Reply;
use super::value::Value;
use crate::executor::{ExitReason, To};

/// A service's handle on itself, passed to its init and to every handler. Cheap to clone.
///
/// `S` is the service's state type (see [`with_state`](Self::with_state)).
pub struct Ctx<S = ()> {
    pub(crate) cell: CellRef,
    _state: PhantomData<fn() -> S>,
}

impl<S> Clone for Ctx<S> {
    fn clone(&self) -> Self {
        Ctx { cell: CellRef(Some(self.cell.clone())), _state: PhantomData }
    }
}

/// A context's reference to its service's cell (read as an `Arc<ServiceCell>`). An async
/// handler gets a context of its own per message and drops it when its future is done, most
/// often right where it was polled; dropped inside a turn, the reference is kept for the next
/// context of the same service made on this thread ([`Ctx::spare`], `memo::keep_spare`), so a
/// flood of messages handled directly counts no reference per message (two locked
/// instructions, the clone and the drop). It is kept only until the turn ends, as the memo's
/// cell is, so it never keeps a service alive.
pub(crate) struct CellRef(Option<Arc<ServiceCell>>);

impl std::ops::Deref for CellRef {
    type Target = Arc<ServiceCell>;

    #[inline]
    fn deref(&self) -> &Arc<ServiceCell> {
        match &self.0 {
            Some(cell) => cell,
            None => unreachable!("only its drop takes a context's cell"),
        }
    }
}

impl Drop for CellRef {
    /// Inline (an async handler's future drops its context as it finishes, in the handler's
    /// crate), with the thread-local work out of line (`memo::keep_spare`, a small function
    /// where the accesses are inlined).
    #[inline]
    fn drop(&mut self) {
        if let Some(cell) = self.0.take() {
            super::memo::keep_spare(cell);
        }
    }
}

/// Whom a call or send goes to: an [`Address`], or a name in the caller's group (`&str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A service's address.
    Address(Address),
    /// A name in the caller's group, resolved (and started if need be) on first use.
    Name(&'a str),
}

impl From<Address> for Target<'_> {
    fn from(a: Address) -> Self {
        Target::Address(a)
    }
}

impl<'a> From<&'a str> for Target<'a> {
    fn from(n: &'a str) -> Self {
        Target::Name(n)
    }
}

impl<'a> From<&'a String> for Target<'a> {
    fn from(n: &'a String) -> Self {
        Target::Name(n)
    }
}

impl<S: 'static> Ctx<S> {
    pub(crate) fn new(cell: Arc<ServiceCell>) -> Ctx<S> {
        Ctx { cell: CellRef(Some(cell)), _state: PhantomData }
    }

    /// A context of `cell`'s, from the reference a context of it dropped on this thread in this
    /// turn if there is one (see [`CellRef`]), else a new one: what an async handler is handed.
    #[inline]
    pub(crate) fn spare(cell: &Arc<ServiceCell>) -> Ctx<S> {
        Ctx::new(super::memo::spare(cell).unwrap_or_else(|| cell.clone()))
    }

    pub(crate) fn typed<T>(self) -> Ctx<T> {
        Ctx { cell: self.cell, _state: PhantomData }
    }

    pub(crate) fn runtime(&self) -> &Arc<RuntimeShared> {
        &self.cell.runtime
    }

    /// This service's address.
    pub fn address(&self) -> Address {
        self.cell.address
    }

    /// This service's kind name.
    pub fn kind(&self) -> &str {
        self.cell.name()
    }

    /// Runs `f` on this service's state. Synchronous on purpose: see the module docs.
    ///
    /// # Panics
    /// During init (there is no state until init returns), if `S` is not the kind's state
    /// type, and if called from inside another `with_state` of the same service or from a
    /// [`command_sync`](crate::ServiceKind::command_sync) handler (which holds the state).
    #[inline]
    pub fn with_state<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        let cell = &self.cell;
        let Ok(guard) = cell.state.try_borrow_mut() else {
            let (name, address) = (cell.name(), cell.address);
            panic!("with_state of service {name} ({address}) called inside with_state or a command_sync handler")
        };
        let mut guard = atomic_refcell::AtomicRefMut::map(guard, sync_wrapper::SyncWrapper::get_mut);
        let Some(state) = guard.state.as_mut() else {
            panic!("service {} ({}) has no state yet: its init has not returned", cell.name(), cell.address)
        };
        let Some(state) = state.downcast_mut::<S>() else {
            panic!("service {} ({}) state is not a {}", cell.name(), cell.address, std::any::type_name::<S>())
        };
        f(state)
    }

    /// Calls `command` on `to` (an address, or a name in this service's group) and waits for
    /// the answer. The message is issued now, not at the first poll: a call issued after a send
    /// to the same target is delivered after it (G6).
    ///
    /// On the threaded backend a call to an idle service may be handled right here, on this
    /// handler's stack, before `call` returns; so do not hold a blocking lock the callee also
    /// takes across it (the same goes for [`send`](Self::send) and
    /// [`newservice`](Self::newservice), whose new service's init may run here too).
    pub fn call<'a>(&self, to: impl Into<Target<'a>>, command: impl Into<CommandName>, args: impl Into<Value>) -> Call {
        match to.into() {
            Target::Address(address) => {
                let command = command.into();
                match self.cell.call_direct(address, &command, args.into()) {
                    Ok(call) => call,
                    Err(args) => Call::reply(self.call_address(address, command, args)),
                }
            }
            Target::Name(name) => call_by_name(&self.cell, name, command.into(), args.into()),
        }
    }

    /// [`call`](Self::call), failing with [`CallErrorKind::Timeout`] if no answer came within `after`.
    /// A late answer is dropped. `after` saturates like [`sleep`](Self::sleep)'s
    /// (`Duration::MAX`: no timeout), and the timer is cancelled as soon as the answer comes.
    pub fn call_timeout<'a>(
        &self,
        to: impl Into<Target<'a>>,
        command: impl Into<CommandName>,
        args: impl Into<Value>,
        after: Duration,
    ) -> impl Future<Output = Result<Value, CallError>> + Send + 'static {
        let to = to.into();
        let command = command.into();
        let target = match to {
            Target::Address(a) => a.to_string(),
            Target::Name(n) => n.to_owned(),
        };
        let call = self.call(to, command.clone(), args);
        let sleep = self.sleep(after);
        async move {
            futures::pin_mut!(sleep);
            match futures::future::select(call, sleep).await {
                futures::future::Either::Left((result, _)) => result,
                futures::future::Either::Right(((), _)) => {
                    Err(CallErrorKind::Timeout { target, command: command.into_owned(), after }.into())
                }
            }
        }
    }

    /// Sends `command` to `to` without waiting; never blocks, never fails here (G7). A send to
    /// a name not resolved yet is queued and delivered in order once it is.
    pub fn send<'a>(&self, to: impl Into<Target<'a>>, command: impl Into<CommandName>, args: impl Into<Value>) {
        match to.into() {
            Target::Address(address) => self.send_address(address, command.into(), args.into()),
            Target::Name(name) => self.cell.runtime.naming.send_by_name(&self.cell, name, command.into(), args.into()),
        }
    }

    /// A call by address, in order with this service's by-name messages (G6, see `outbox.rs`).
    pub(crate) fn call_address(&self, to: Address, command: CommandName, args: Value) -> Reply {
        let cell = &self.cell;
        let session = lock(&cell.sessions).open(to, command.clone());
        cell.trace_issue(To::Address(to), session, &command, &args);
        cell.deliver_request(to, Envelope::Request { from: cell.address, session, command, args, via: None });
        Reply::new(Arc::clone(cell), session)
    }

    /// A send by address, in order with this service's by-name messages (G6, see `outbox.rs`);
    /// handled right here when the shortcuts allow (never while any of them waits).
    pub(crate) fn send_address(&self, to: Address, command: CommandName, args: Value) {
        self.cell.send_to(to, command, args);
    }

    /// Starts a service of `kind`: its address at once (or why it could not be created), and
    /// the future of its init's end, which resolves to the address again or the init error.
    /// From this service's own turn, the session for that answer is opened only if the answer
    /// did not complete in place while the start ran (an init run inline, `init_notice.rs`).
    pub(crate) fn start(&self, kind: &str, args: Args, options: SpawnOptions) -> (Result<Address, CallError>, Call) {
        let cell = &self.cell;
        let session = lock(&cell.sessions).reserve();
        let options = SpawnOptions { notify: Some((Arc::clone(cell), session)), parent: Some(cell.address), ..options };
        let (started, session) = if super::turn::polled_here(cell) || super::memo::runs_here(cell) {
            let awaited = super::init_notice::Awaited::begin(cell, session);
            let started = self.runtime().spawn(kind, args, options);
            if let Some(answer) = awaited.into_answer() {
                return (started, Call::ready(answer));
            }
            let target = started.as_ref().copied().unwrap_or(Address::from_raw(0));
            lock(&cell.sessions).open_as(session, target, CommandName::Borrowed("_init"));
            (started, session)
        } else {
            // Outside its turn (a context kept elsewhere): the answer may come from any thread.
            lock(&cell.sessions).open_as(session, Address::from_raw(0), CommandName::Borrowed("_init"));
            let started = self.runtime().spawn(kind, args, options);
            if let (Ok(address), Some(waiting)) = (&started, lock(&cell.sessions).open.get_mut(&session)) {
                waiting.target = *address;
            }
            (started, session)
        };
        if let Err(e) = &started {
            let response = Envelope::Response { session, result: Err(e.clone()) };
            self.runtime().deliver(cell.address, response);
        }
        (started, Call::reply(Reply::new(Arc::clone(cell), session)))
    }

    /// Runs `task` as a new task of this service: it interleaves with the handlers at their
    /// awaits, never runs at the same instant as one (G12), and ends when the service exits.
    /// A panic in it is logged and counted; the service keeps running.
    pub fn fork(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.cell.runtime.deliver(self.cell.address, Envelope::Fork { task: task.boxed() });
    }

    /// Waits `duration` of executor time (virtual in the simulator). A deadline past what a
    /// [`Duration`] holds saturates to "never": `sleep(Duration::MAX)` waits forever, without a
    /// timer (so it keeps no virtual time moving). Dropping the [`Sleep`] cancels its timer.
    pub fn sleep(&self, duration: Duration) -> Sleep {
        let deadline = Some(self.now().saturating_add(duration)).filter(|d| *d < Duration::MAX);
        Sleep { runtime: self.cell.runtime.clone(), deadline, timer: None }
    }

    /// Time since the runtime started (virtual in the simulator).
    pub fn now(&self) -> Duration {
        self.cell.runtime.executor.now()
    }

    /// Ends this service once the current step returns: pending calls to it get
    /// [`CallErrorKind::Exited`], later messages to its address are dead letters (G9).
    pub fn exit(&self) {
        self.cell.request_exit(ExitReason::Stopped);
    }

    /// Stops the service at `target` (between two of its messages). False if there is none.
    pub fn kill(&self, target: Address) -> bool {
        self.cell.runtime.kill(target)
    }

    /// Resolves when the service at `target` exits, with why (Erlang's monitor). Resolves at
    /// once with [`ExitReason::NoService`] if there is no such service.
    pub fn monitor(&self, target: Address) -> impl Future<Output = ExitReason> + Send + 'static + use<S> {
        let cell = &self.cell;
        let session = lock(&cell.sessions).open(target, CommandName::Borrowed(super::session::Waiting::MONITOR));
        let watching = cell.runtime.with_service(target, |t| {
            let Some(t) = t else { return false };
            let mut mailbox = lock(&t.mailbox);
            !mailbox.closed && {
                mailbox.monitors.push(cell.address, session);
                true
            }
        });
        if !watching {
            let gone = Envelope::Response { session, result: Ok(super::watchers::exit_value(&ExitReason::NoService)) };
            cell.runtime.deliver(cell.address, gone);
        }
        let reply = Reply::new(Arc::clone(cell), session);
        async move {
            let value = reply.await.unwrap_or_default();
            value.downcast_ref::<ExitReason>().cloned().unwrap_or(ExitReason::NoService)
        }
    }

    /// Starts a service of `kind` with `args` and returns its address once its init has
    /// returned (G4, G5). Inside a group, the new service joins the caller's group and may
    /// become the binding of `kind` (G4); outside any group it is a plain service.
    pub fn newservice(&self, kind: &str, args: impl Any + Send) -> Call {
        self.cell.runtime.naming.newservice(self.cell.clone(), kind, Args::new(args))
    }
}

/// A call by name: to the service this turn already reached by that name (a loop of calls by
/// one name), through the shortcut hook (`hook.rs`), else through the naming layer. Kept out of
/// line, as a small function of its own: measurably faster for a loop of calls by one name.
#[inline(never)]
fn call_by_name(cell: &Arc<ServiceCell>, name: &str, command: CommandName, args: Value) -> Call {
    match cell.shortcut_call_reached(name, &command, args) {
        Ok(call) => call,
        Err(args) => cell.runtime.naming.call_by_name(cell, name, command, args),
    }
}

/// A call by address that waits behind nothing: the group layer's own calls (a resolver asking
/// the registry must not wait behind the messages waiting for that very answer).
pub(crate) fn call_address(cell: &Arc<ServiceCell>, to: Address, command: CommandName, args: Value) -> Reply {
    let session = lock(&cell.sessions).open(to, command.clone());
    cell.trace_issue(To::Address(to), session, &command, &args);
    cell.runtime.deliver(to, Envelope::Request { from: cell.address, session, command, args, via: None });
    Reply::new(cell.clone(), session)
}

/// The answer of a [`Ctx::call`]: a future of the reply.
#[must_use = "a call's answer is lost unless awaited; use `send` for one-way messages"]
pub struct Call(CallState);

enum CallState {
    Reply(Reply),
    /// Answered before it was awaited (a direct call); taken by the first poll.
    Ready(Option<Result<Value, CallError>>),
    Boxed(BoxFuture<'static, Result<Value, CallError>>),
}

impl Call {
    pub(crate) fn ready(answer: Result<Value, CallError>) -> Call {
        Call(CallState::Ready(Some(answer)))
    }

    pub(crate) fn reply(reply: Reply) -> Call {
        Call(CallState::Reply(reply))
    }

    pub(crate) fn boxed(future: impl Future<Output = Result<Value, CallError>> + Send + 'static) -> Call {
        Call(CallState::Boxed(future.boxed()))
    }
}

impl Future for Call {
    type Output = Result<Value, CallError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().0 {
            CallState::Reply(reply) => Pin::new(reply).poll(cx),
            CallState::Ready(answer) => Poll::Ready(answer.take().expect("a call polled after it returned")),
            CallState::Boxed(future) => future.as_mut().poll(cx),
        }
    }
}

/// A wait on executor time, from [`Ctx::sleep`]. Dropping it before it fires cancels its timer
/// (the executor forgets it: no memory held until the deadline, no virtual time moved).
pub struct Sleep {
    runtime: Arc<RuntimeShared>,
    /// `None`: never (the deadline saturated).
    deadline: Option<Duration>,
    /// The waker registered with the executor, until the deadline is reached: what a drop
    /// cancels.
    timer: Option<Waker>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline else { return Poll::Pending };
        if self.runtime.executor.now() >= deadline {
            self.timer = None; // due: the executor fires (or has fired) it
            return Poll::Ready(());
        }
        if self.timer.is_none() {
            let waker = cx.waker().clone();
            self.runtime.executor.wake_at(deadline, waker.clone());
            self.timer = Some(waker);
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let (Some(deadline), Some(waker)) = (self.deadline, self.timer.take()) {
            self.runtime.executor.cancel_wake_at(deadline, &waker);
        }
    }
}
