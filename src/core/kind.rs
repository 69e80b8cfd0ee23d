//! Service kinds: the catalog entries a service is started from (skynet's Lua service files,
//! the seed's `group.start(config)`).
//!
//! A kind is an init function plus a table of command handlers, and optionally the names it
//! depends on (resolved by the group layer before init runs, G5). Kinds are type-erased when
//! defined, so the catalog is one map whatever each kind's state type is.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasherDefault;
use std::marker::PhantomData;
use std::sync::OnceLock;

use futures::FutureExt;
use futures::future::BoxFuture;

use super::cell::CommandName;
use super::context::Ctx;
use super::error::DefineError;
use super::responder::Responder;
use super::slot::AsyncHandler;
use super::table::NumberHasher;
use super::turn::Outcome;
use super::value::Value;

/// The mailbox length of a first overload warning, unless the kind says otherwise (skynet's).
const DEFAULT_OVERLOAD_WARNING: usize = 1024;

/// A service's state once its init has returned, type-erased.
pub(crate) type State = Box<dyn Any + Send>;
/// Makes a service's init future, already in the shape of a task's (`Outcome::Init`): the
/// runtime polls it as it is, with no second box around it, and an init whose future holds
/// nothing (a stateless kind's) costs no allocation at all.
type InitFn = Box<dyn Fn(Ctx, Args) -> BoxFuture<'static, Outcome> + Send + Sync>;
type DeferredFn = Box<dyn Fn(Ctx, Value, Responder) -> BoxFuture<'static, Outcome> + Send + Sync>;
// Runs to the end at once, on the state the runner hands it: no future, no task.
pub(crate) type SyncFn = Box<dyn Fn(&mut (dyn Any + Send), &Ctx, Value) -> anyhow::Result<Value> + Send + Sync>;

/// How a command answers.
pub(crate) enum Handler {
    /// The handler's return value is the reply (skynet's `skynet.ret`); its futures run in
    /// recycled slots (`slot.rs`).
    Reply(AsyncCommand),
    /// Like `Reply`, for a handler that never awaits.
    Sync(SyncFn),
    /// The handler gets a [`Responder`] and answers whenever it likes (`skynet.response`).
    Deferred(DeferredFn),
}

/// An async command of a kind: its handler, and its index among the kind's async commands
/// (where a service keeps the slot its futures run in, `slot.rs`).
pub(crate) struct AsyncCommand {
    pub(crate) index: usize,
    pub(crate) handler: Box<dyn AsyncHandler>,
}

/// Init arguments of any `Send + 'static` type, as `newservice` passes them.
pub struct Args {
    value: Box<dyn Any + Send>,
    type_name: &'static str,
}

impl Args {
    /// Wraps `value` as init arguments.
    pub fn new<T: Any + Send>(value: T) -> Args {
        Args { value: Box::new(value), type_name: std::any::type_name::<T>() }
    }

    /// No arguments (`()`), as a lazy start by name passes.
    pub fn none() -> Args {
        Args::new(())
    }

    fn take<T: Any>(self) -> anyhow::Result<T> {
        match self.value.downcast::<T>() {
            Ok(v) => Ok(*v),
            Err(_) => anyhow::bail!(
                "init expects arguments of type `{}`, got `{}`",
                std::any::type_name::<T>(),
                self.type_name
            ),
        }
    }
}

/// A kind, type-erased: what the catalog holds.
pub(crate) struct KindDef {
    pub(crate) name: String,
    pub(crate) depends_on: Vec<String>,
    pub(crate) init: InitFn,
    /// Each command's index in `handlers`; looked up by [`handler`] (hashed a word at a time:
    /// names are the program's own).
    commands: HashMap<String, usize, BuildHasherDefault<NumberHasher>>,
    handlers: Vec<Handler>,
    /// `'static` command names seen, as (address, length, index): see [`KindDef::static_index`].
    static_names: [OnceLock<(usize, usize, usize)>; STATIC_NAMES],
    /// Definition mistakes found while building; reported by `Runtime::define`.
    pub(crate) problems: Vec<DefineError>,
    /// The mailbox length whose first crossing logs an overload warning (the next warning
    /// waits for twice as many): [`ServiceKind::overload_warning`].
    pub(crate) overload_warning: usize,
    /// The mailbox length past which calls and sends are refused: [`ServiceKind::mailbox_limit`].
    pub(crate) mailbox_limit: usize,
    /// Async commands added so far (each [`Handler::Reply`]'s index is below it).
    pub(crate) async_commands: usize,
}

/// How many `'static` command names a kind remembers where [`handler`] found them.
const STATIC_NAMES: usize = 8;

/// The handler of `command` in `kind`, if it has one. A `'static` name is found by its address
/// and length after its first lookup (see [`KindDef::static_index`]); another one is hashed.
/// Inline where it is the name seen first (a flood of one command, which the direct path of
/// every message asks for): two comparisons and an index, without a call.
#[inline]
pub(crate) fn handler<'k>(kind: &'k KindDef, command: &CommandName) -> Option<&'k Handler> {
    if let CommandName::Borrowed(name) = command
        && let Some(&(address, len, index)) = kind.static_names[0].get()
        && (address, len) == (name.as_ptr() as usize, name.len())
    {
        return kind.handlers.get(index);
    }
    any_handler(kind, command)
}

/// [`handler`] of a name not seen first: a `'static` one found in the kind's other
/// [`STATIC_NAMES`] entries (a flood of a command that is not the first one looked up, such as
/// sends after a first call of another command), in a small function of its own: a few
/// comparisons per entry and no frame to speak of (about 20 instructions where the full
/// lookup, below, took about 50). Entries fill in order and never empty, so the first one
/// unset ends the search.
#[inline(never)]
fn any_handler<'k>(kind: &'k KindDef, command: &CommandName) -> Option<&'k Handler> {
    if let CommandName::Borrowed(name) = command {
        let key = (name.as_ptr() as usize, name.len());
        for seen in &kind.static_names[1..] {
            match seen.get() {
                Some(&(address, len, index)) if (address, len) == key => return kind.handlers.get(index),
                Some(_) => {}
                None => break,
            }
        }
    }
    new_handler(kind, command)
}

/// [`handler`] of a name seen neither first nor in the kind's entries: a `'static` one seen for
/// the first time (it takes an entry, [`KindDef::static_index`]), or one made at run time
/// (hashed).
#[inline(never)]
fn new_handler<'k>(kind: &'k KindDef, command: &CommandName) -> Option<&'k Handler> {
    let index = match command {
        CommandName::Borrowed(name) => kind.static_index(name)?,
        CommandName::Owned(name) => *kind.commands.get(name.as_str())?,
    };
    Some(&kind.handlers[index])
}

impl KindDef {
    /// The index of the command named by the `'static` string `name`. A flood of one command
    /// (the common case: a literal at each call site) costs a comparison or two instead of a
    /// hash and a string comparison per message: the first lookup of each name's address fills
    /// one of the kind's [`STATIC_NAMES`] entries for good (a `'static` string never changes,
    /// so an equal address and length is the same name). Entries are filled once each, by
    /// whichever thread gets there first, and never change after: a lookup reads them without
    /// a lock, and nothing that reaches behaviour depends on which entry holds what.
    fn static_index(&self, name: &'static str) -> Option<usize> {
        let key = (name.as_ptr() as usize, name.len());
        for seen in &self.static_names {
            match seen.get() {
                Some(&(address, len, index)) if (address, len) == key => return Some(index),
                Some(_) => {}
                None => {
                    let index = *self.commands.get(name)?;
                    let _ = seen.set((key.0, key.1, index)); // another thread may have won it
                    return Some(index);
                }
            }
        }
        self.commands.get(name).copied()
    }
}

/// A service kind under construction, with state type `S`.
///
/// ```
/// use skygroup::{ServiceKind, Value};
/// struct Counter { n: i64 }
/// let kind = ServiceKind::new("counter", |_ctx, start: i64| async move { Ok(Counter { n: start }) })
///     .command("add", |ctx, by: Value| async move {
///         let by = i64::try_from(by)?;
///         Ok(ctx.with_state(|c: &mut Counter| { c.n += by; c.n }))
///     });
/// # let _ = kind;
/// ```
pub struct ServiceKind<S = ()> {
    def: KindDef,
    _state: PhantomData<fn() -> S>,
}

impl ServiceKind<()> {
    /// A kind without state: its init accepts any arguments and ignores them.
    pub fn stateless(name: impl Into<String>) -> ServiceKind<()> {
        ServiceKind::from_init(name.into(), Box::new(|_, _| Box::pin(StatelessInit)))
    }
}

/// A stateless kind's init: ready at once with no state. A unit struct, so boxing it costs no
/// allocation (an `async` block, however empty, keeps a state byte).
struct StatelessInit;

impl Future for StatelessInit {
    type Output = Outcome;

    fn poll(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Outcome> {
        std::task::Poll::Ready(Outcome::Init(Ok(Box::new(()))))
    }
}

impl<S: Send + 'static> ServiceKind<S> {
    /// A kind whose init receives the arguments given to `newservice` (of type `A`) and returns
    /// the service's state. Messages wait until init has returned (G5); an init error or panic
    /// fails the start (G3).
    pub fn new<A, F, Fut>(name: impl Into<String>, init: F) -> ServiceKind<S>
    where
        A: Any + Send,
        F: Fn(Ctx<S>, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<S>> + Send + 'static,
    {
        let init: InitFn = Box::new(move |ctx, args| match args.take::<A>() {
            Ok(args) => init(ctx.typed(), args).map(|r| Outcome::Init(r.map(|s| Box::new(s) as State))).boxed(),
            Err(e) => futures::future::ready(Outcome::Init(Err(e))).boxed(),
        });
        ServiceKind::from_init(name.into(), init)
    }

    fn from_init(name: String, init: InitFn) -> ServiceKind<S> {
        let mut problems = Vec::new();
        if name.is_empty() {
            problems.push(DefineError::EmptyName);
        }
        let def = KindDef {
            name,
            depends_on: Vec::new(),
            init,
            commands: HashMap::default(),
            handlers: Vec::new(),
            static_names: Default::default(),
            problems,
            overload_warning: DEFAULT_OVERLOAD_WARNING,
            mailbox_limit: usize::MAX,
            async_commands: 0,
        };
        ServiceKind { def, _state: PhantomData }
    }

    /// Names (in the service's group) resolved, in order, before init runs (G5).
    pub fn depends_on<N: Into<String>>(mut self, names: impl IntoIterator<Item = N>) -> Self {
        self.def.depends_on.extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds a command whose handler's result is the reply (dropped after a send, G8).
    pub fn command<R, F, Fut>(mut self, name: &str, handler: F) -> Self
    where
        R: Into<Value>,
        F: Fn(Ctx<S>, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<R>> + Send + 'static,
    {
        // Every async command gets an index of its own, even one refused as a duplicate:
        // a slot made for one handler must never be refilled for another.
        let index = self.def.async_commands;
        self.def.async_commands += 1;
        let handler = Box::new(super::slot::Command::<S, F, Fut>::new(handler));
        self.with_handler(name, Handler::Reply(AsyncCommand { index, handler }), false)
    }

    /// Adds a command whose handler never awaits: a plain function of the service's state, its
    /// context and the message, whose result is the reply (dropped after a send, G8). It is
    /// the cheapest kind of handler (no future, no task: what an actix `Handler` or a skynet
    /// dispatch function is), for the many commands that only read or change state and send
    /// messages. A handler that must wait for a call's answer or a sleep uses
    /// [`command`](Self::command).
    ///
    /// The handler gets the state itself, so its context is the untyped [`Ctx`] (for sends,
    /// calls, forks, its address); [`Ctx::with_state`] panics inside it (the state is lent out).
    ///
    /// ```
    /// use skygroup::{ServiceKind, Value};
    /// struct Counter { n: i64 }
    /// let kind = ServiceKind::new("counter", |_ctx, start: i64| async move { Ok(Counter { n: start }) })
    ///     .command_sync("add", |counter: &mut Counter, _ctx, by: Value| {
    ///         counter.n += i64::try_from(by)?;
    ///         Ok(counter.n)
    ///     });
    /// # let _ = kind;
    /// ```
    pub fn command_sync<R, F>(self, name: &str, handler: F) -> Self
    where
        R: Into<Value>,
        F: Fn(&mut S, &Ctx, Value) -> anyhow::Result<R> + Send + Sync + 'static,
    {
        let kind = self.def.name.clone();
        let handler = move |state: &mut (dyn Any + Send), ctx: &Ctx, args| {
            let Some(state) = state.downcast_mut::<S>() else {
                anyhow::bail!("state of kind {kind} is not a {}", std::any::type_name::<S>())
            };
            handler(state, ctx, args).map(Into::into)
        };
        self.with_handler(name, Handler::Sync(Box::new(handler)), false)
    }

    /// Adds a command that answers through a [`Responder`], possibly later and from another task
    /// of the service (skynet's `skynet.response`). Dropping the responder unanswered sends the
    /// caller an error, so a call always gets exactly one answer.
    pub fn command_deferred<F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Ctx<S>, Value, Responder) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = move |ctx: Ctx, args, r| handler(ctx.typed(), args, r).map(|()| Outcome::Done).boxed();
        self.with_handler(name, Handler::Deferred(Box::new(handler)), false)
    }

    /// Like [`command_deferred`](Self::command_deferred), for the runtime's own kinds, which
    /// may use reserved `_` names.
    pub(crate) fn system_command<F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Ctx<S>, Value, Responder) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = move |ctx: Ctx, args, r| handler(ctx.typed(), args, r).map(|()| Outcome::Done).boxed();
        self.with_handler(name, Handler::Deferred(Box::new(handler)), true)
    }

    fn with_handler(mut self, name: &str, handler: Handler, system: bool) -> Self {
        let kind = self.def.name.clone();
        if name.starts_with('_') && !system {
            self.def.problems.push(DefineError::ReservedCommand { kind, command: name.into() });
            return self;
        }
        let duplicate = self.def.commands.insert(name.to_owned(), self.def.handlers.len()).is_some();
        self.def.handlers.push(handler);
        if duplicate {
            self.def.problems.push(DefineError::DuplicateCommand { kind, command: name.into() });
        }
        self
    }

    /// Sets the mailbox length at which a service of this kind logs an overload warning
    /// (`tracing::warn!`, naming the kind, the address and the length; default 1024, as
    /// skynet's). It warns once per crossing: the next warning waits for twice the length, as
    /// skynet's does. The mailbox counts what waits for the service's next batch (not the
    /// rest of the batch a turn is working through). [`ServiceStats::peak_queue_len`] keeps
    /// the longest the mailbox has been. `0` turns the warning off.
    ///
    /// [`ServiceStats::peak_queue_len`]: crate::ServiceStats::peak_queue_len
    pub fn overload_warning(mut self, length: usize) -> Self {
        self.def.overload_warning = if length == 0 { usize::MAX } else { length };
        self
    }

    /// Bounds a service's mailbox (unbounded unless set). A call or send that finds `limit`
    /// messages waiting in it is refused instead of queued: a call fails at once with
    /// [`CallErrorKind::Overloaded`](crate::CallErrorKind::Overloaded) (naming the service, its
    /// address and the command), a send becomes a dead letter (counted on the runtime and on
    /// its sender, G7). Only requests are refused: answers, wake-ups and the init always get
    /// in, so the service's own calls and tasks never break. A message handled directly on the
    /// threaded backend never waits in the mailbox, so it is never refused. `0` is taken as 1.
    pub fn mailbox_limit(mut self, limit: usize) -> Self {
        self.def.mailbox_limit = limit.max(1);
        self
    }

    /// The kind's name, which `newservice` and lazy starts use.
    pub fn name(&self) -> &str {
        &self.def.name
    }

    pub(crate) fn into_def(self) -> KindDef {
        self.def
    }
}
