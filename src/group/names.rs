//! A member's name table: its cache of resolved names and its pending sends.
//!
//! A call or send by name goes straight to the cached address when there is one and nothing is
//! pending for that name. Otherwise it waits in the member's outbox (`core::outbox`), in issue
//! order with the member's other requests; the first message to wait forks a resolver task that
//! asks the group's registry, then releases the name's messages to the answer, and with them
//! every later request of the member to a service of that kind (by address too: order is per
//! target service, G6), or turns them into errors and dead letters (G3, G7). A resolver dropped
//! before its answer (the member exits) counts its sends as dead letters (G7). On the threaded
//! backend the resolver is polled once where it is forked: when the registry and the new
//! service are idle, the whole first use runs on this thread and the name is bound before the
//! message or query that needed it returns. A by-name message that bounces
//! off a dead cached address comes back here (`reroute`) and is queued again, so a name never
//! points at the dead (G9). A `query` for a name being resolved waits on that resolution
//! (`resolution.rs`), so a thousand concurrent queries of one member cost one registry round
//! trip; a query of a bound name reads the cache or the group's binding and sends nothing.
//!
//! **Rebinding (G9), the rule a user can rely on:** a message by name belongs to the instance
//! whose mailbox it enters: if it gets there while that instance is alive it shares that
//! instance's fate (handled, or an error or dead letter if the instance exits first), and if
//! the instance has already exited it is resolved again and goes to the fresh instance, behind
//! everything the sender had already delivered there; never both, never neither.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};

use futures::future::BoxFuture;

use super::resolution::{Awaiting, Resolution};
use super::{GroupError, Membership, NameMap, membership};
use crate::core::{
    Address, Call, CallError, CallErrorKind, CommandName, Envelope, Name, Reply, RuntimeShared, ServiceCell, Value,
    call_address, intern, lock,
};
use crate::executor::To;
use crate::mutants::{self, Mutant};

/// One message waiting for its name to resolve; `session == 0` for a send.
struct Queued {
    session: u64,
    command: CommandName,
    args: Value,
}

impl Queued {
    fn request(session: u64, command: CommandName, args: Value) -> Queued {
        Queued { session, command, args }
    }

    /// The envelope `from` sends; `via` is the name it was addressed by, once resolved.
    fn envelope(self, from: Address, via: Option<Name>) -> Envelope {
        let Queued { session, command, args } = self;
        Envelope::Request { from, session, command, args, via }
    }
}

#[derive(Default)]
pub(crate) struct NameTable {
    /// name -> where it resolved to.
    resolved: NameMap<Resolved>,
    /// The names being resolved: a name has an entry here exactly while its resolver task
    /// runs. The messages issued to it meanwhile wait in the member's outbox, in issue order
    /// with its other requests (`core::outbox`).
    pending: NameMap<()>,
    /// name -> what the queries of a name being resolved wait on.
    queries: NameMap<Arc<Resolution>>,
}

impl NameTable {
    /// Whether `name` is being resolved (most of the time nothing is: no hashing then).
    fn is_pending(&self, name: &str) -> bool {
        !self.pending.is_empty() && self.pending.contains_key(name)
    }
}

/// A resolved name: its address, the interned name messages carry, and the service itself
/// (weakly: a call by name then needs no lookup in the runtime's table).
struct Resolved {
    address: Address,
    via: Name,
    service: Weak<ServiceCell>,
}

impl Resolved {
    fn new(address: Address, via: Name, service: Option<&Arc<ServiceCell>>) -> Resolved {
        Resolved { address, via, service: service.map_or_else(Weak::new, Arc::downgrade) }
    }
}

/// Where a by-name message goes now.
enum Route {
    /// Straight to the resolved address; the message is handed back.
    Direct(Address, Name, Queued),
    /// Queued behind the name's resolution.
    Queued,
}

/// Sends the message now if `name` is resolved and nothing waits before it; else queues it
/// behind the name's pending messages, starting a resolver if none runs.
fn route(cell: &Arc<ServiceCell>, name: &str, message: Queued) -> Result<Route, CallError> {
    let Some(member) = membership(cell) else {
        let (service, address) = (cell.name().to_owned(), cell.address);
        return Err(GroupError::NotInGroup { service, address, name: name.to_owned() }.into());
    };
    let mut names = lock(&member.names);
    let overtakes = message.session != 0 && mutants::active(Mutant::CallOvertakesQueuedSend);
    if overtakes && names.pending.contains_key(name) {
        // The Lua original: the call resolves on its own and goes straight out.
        drop(names);
        let (owner, name) = (cell.clone(), name.to_owned());
        let task = async move {
            if let Ok(address) = ask_registry(&owner, &name).await {
                owner.runtime.deliver(address, message.envelope(owner.address, Some(intern(&name))));
            }
        };
        cell.runtime.deliver(cell.address, Envelope::Fork { task: Box::pin(task) });
        return Ok(Route::Queued);
    }
    if names.is_pending(name) {
        cell.hold_for_name(name, message.envelope(cell.address, None));
        return Ok(Route::Queued);
    }
    if let Some(resolved) = names.resolved.get(name) {
        return Ok(Route::Direct(resolved.address, resolved.via, message));
    }
    names.pending.insert(name.to_owned(), ());
    cell.hold_for_name(name, message.envelope(cell.address, None));
    drop(names);
    start_resolver(cell, name.to_owned());
    Ok(Route::Queued)
}

/// The cached address of `name` and its service if that still exists, if nothing is queued
/// before a message to it.
fn cached(cell: &ServiceCell, name: &str) -> Option<(Address, Name, Option<Arc<ServiceCell>>)> {
    let names = lock(&membership(cell)?.names);
    if names.is_pending(name) {
        return None;
    }
    names.resolved.get(name).map(|r| (r.address, r.via, r.service.upgrade()))
}

/// Sends a by-name message to its resolved address, behind whatever of `cell` waits for a name
/// and may go to the same service (G6).
fn send_direct(cell: &Arc<ServiceCell>, to: Address, via: Name, message: Queued) {
    cell.deliver_request(to, message.envelope(cell.address, Some(via)));
}

/// A call by name through the member's name table. A loop of calls by one name never gets
/// here: `Ctx::call` first tries the service this turn already reached by that name (the
/// core's shortcut hook, which `shortcut_call_named` below teaches it).
pub(crate) fn call_by_name(cell: &Arc<ServiceCell>, name: &str, command: CommandName, args: Value) -> Call {
    if let Some((address, via, service)) = cached(cell, name) {
        // The common case, kept to one lock of each table: the session opens with its target.
        let args = match service {
            Some(service) => match cell.shortcut_call_named(via, &service, &command, args) {
                Ok(call) => return call,
                Err(args) => args,
            },
            None => args,
        };
        let session = lock(&cell.sessions).open(address, command.clone());
        cell.trace_issue(To::Name(name), session, &command, &args);
        send_direct(cell, address, via, Queued::request(session, command, args));
        return Call::reply(Reply::new(cell.clone(), session));
    }
    let cell = cell.clone();
    let session = lock(&cell.sessions).open(Address::from_raw(0), command.clone());
    let reply = Reply::new(cell.clone(), session);
    cell.trace_issue(To::Name(name), session, &command, &args);
    match route(&cell, name, Queued::request(session, command, args)) {
        Err(e) => {
            drop(reply);
            Call::boxed(async move { Err(e) })
        }
        Ok(Route::Direct(address, via, message)) => {
            if let Some(waiting) = lock(&cell.sessions).open.get_mut(&session) {
                waiting.target = address;
            }
            send_direct(&cell, address, via, message);
            Call::reply(reply)
        }
        Ok(Route::Queued) => Call::reply(reply),
    }
}

pub(crate) fn send_by_name(cell: &Arc<ServiceCell>, name: &str, command: CommandName, args: Value) {
    cell.trace_issue(To::Name(name), 0, &command, &args);
    match route(cell, name, Queued::request(0, command.clone(), args)) {
        Err(e) => {
            tracing::warn!("send `{command}` dropped: {e}");
            cell.runtime.dead_letter(cell.address, Address::from_raw(0), &command);
        }
        Ok(Route::Direct(address, via, message)) => send_direct(cell, address, via, message),
        Ok(Route::Queued) => {}
    }
}

/// `request`, sent by name, bounced off `dead`: forget that binding and queue the request
/// again. Returns the envelope if it cannot be rerouted (it was not sent by name, or its sender
/// is gone or not a member).
pub(crate) fn reroute(runtime: &Arc<RuntimeShared>, dead: Address, request: Envelope) -> Option<Envelope> {
    let Envelope::Request { from, via: Some(name), .. } = request else { return Some(request) };
    let Some(sender) = runtime.lookup(from) else { return Some(request) };
    let Some(member) = membership(&sender) else { return Some(request) };
    let mut names = lock(&member.names);
    if names.resolved.get(name).is_some_and(|r| r.address == dead) {
        names.resolved.remove(name);
    }
    let mut message = request;
    if let Envelope::Request { via, .. } = &mut message {
        *via = None; // queued again like a message by name not resolved yet
    }
    if names.is_pending(name) {
        sender.hold_for_name(name, message);
        return None;
    }
    names.pending.insert(name.to_string(), ());
    sender.hold_for_name(name, message);
    drop(names);
    start_resolver(&sender, name.to_string());
    None
}

/// Starts the resolver of `name`, a task of `cell`. When this thread runs `cell`'s turn (on the
/// threaded backend), the resolver is polled once right here first: if every service on the way
/// is idle, the registry's turn, the start and the new service's init all run inline (see
/// `core::handoff`) and the name is resolved before the message or query that needed it
/// returns, so the rest of a storm of queries finds it cached.
fn start_resolver(cell: &Arc<ServiceCell>, name: String) {
    let inline = cell.shortcut_poll_here();
    let task: BoxFuture<'static, ()> = Box::pin(resolve(Unsettled { cell: cell.clone(), name, armed: true }, inline));
    poll_here_or_fork(cell, inline, task);
}

/// Runs a resolver: its first poll at once when `inline` (the shortcut was taken), and as a new
/// task of `cell` if it is not done by then (or was not polled). Shared by the member's and the
/// manager's resolvers.
pub(super) fn poll_here_or_fork(cell: &Arc<ServiceCell>, inline: bool, mut task: BoxFuture<'static, ()>) {
    if inline {
        // Nothing will wake this waker: a resolver that must wait becomes a task below, and its
        // first poll there registers the task's waker (a reply keeps its last poll's waker).
        let mut cx = Context::from_waker(Waker::noop());
        if task.as_mut().poll(&mut cx).is_ready() {
            return;
        }
    }
    cell.runtime.deliver(cell.address, Envelope::Fork { task });
}

/// Asks the registry for `name`, then flushes the name's queue in order.
///
/// A failure met on the inline first poll is settled one poll later, from the resolver's task:
/// the queries and messages issued beside the one that started it (a `join_all` of a thousand
/// queries) join it first and all get that error (G3), and a retry after it is a later first use.
///
/// The resolver owns its [`Unsettled`] guard from the moment it is made, so a resolver dropped
/// before its first poll (its service exits first) settles its name too.
async fn resolve(mut unsettled: Unsettled, inline: bool) {
    let (cell, name) = (unsettled.cell.clone(), unsettled.name.clone());
    let result = ask_registry(&cell, &name).await;
    if inline && result.is_err() {
        YieldOnce(false).await;
    }
    unsettled.armed = false;
    drop(unsettled);
    let Some(member) = membership(&cell) else { return };
    let via: Name = intern(&name);
    let service = result.as_ref().ok().and_then(|a| cell.runtime.lookup(*a));
    let queries = {
        let mut names = lock(&member.names);
        if let Ok(address) = result {
            names.resolved.insert(name.clone(), Resolved::new(address, via, service.as_ref()));
        }
        names.pending.remove(&name);
        names.queries.remove(&name)
    };
    if let Some(queries) = queries {
        queries.settle(result.clone());
    }
    let result = result.map(|address| (address, via));
    if mutants::active(Mutant::CallOvertakesQueuedSend) {
        // The Lua original flushes queued sends from a new coroutine, later.
        let (owner, address) = (cell.clone(), cell.address);
        let flush = async move { owner.name_resolved(&name, result) };
        cell.runtime.deliver(address, Envelope::Fork { task: Box::pin(flush) });
        return;
    }
    // Its messages go out in order with this member's others, or fail (G3, G6, G7).
    cell.name_resolved(&name, result);
}

/// Pending once (waking its task at once), then ready.
#[derive(Default)]
pub(super) struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Fails the queries and messages waiting on a resolver that is dropped before the registry
/// answers (its service is exiting), so none waits forever and none vanishes uncounted: a
/// send is a dead letter (G7). While a resolver waits, its name stays pending, so the waiting
/// queries and messages are its own.
struct Unsettled {
    cell: Arc<ServiceCell>,
    name: String,
    armed: bool,
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        let Some(member) = membership(&self.cell).filter(|_| self.armed) else { return };
        let queries = lock(&member.names).queries.remove(&self.name);
        let error = self.cell.exited_error("_query");
        if let Some(queries) = queries {
            queries.settle(Err(error.clone()));
        }
        self.cell.name_resolved(&self.name, Err(error));
    }
}

async fn ask_registry(cell: &Arc<ServiceCell>, name: &str) -> Result<Address, CallError> {
    let Some(member) = membership(cell) else {
        let (service, address) = (cell.name().to_owned(), cell.address);
        return Err(GroupError::NotInGroup { service, address, name: name.to_owned() }.into());
    };
    let registry = member.group.registry();
    let reply = call_address(cell, registry, CommandName::Borrowed("_query"), Value::from(name)).await?;
    Address::try_from(reply).map_err(|e| {
        CallErrorKind::Handler {
            service: "_registry".into(),
            address: registry,
            command: "_query".into(),
            message: e.to_string(),
        }
        .into()
    })
}

/// The address of `name` in `cell`'s group, starting it if needed (G2). A cached address is
/// used only while its service lives (G9).
///
/// Answered without a message when it can be: from the member's cache, else from the group's
/// listing, whose bindings the registry writes only once a start has finished (so a binding read
/// there is what the registry itself would answer). Only a name with no live binding costs a
/// registry round trip, and every query of the name shares it (see `resolution.rs`).
pub(crate) fn query(
    cell: &Arc<ServiceCell>,
    name: &str,
) -> impl Future<Output = Result<Address, CallError>> + Send + 'static + use<> {
    enum Answer {
        Now(Result<Address, Box<CallError>>),
        Later(Awaiting),
    }
    let answer = match membership(cell) {
        // A query of the name this turn already found bound (a storm's second query on): no
        // table at all while that service lives (see `core::memo`).
        Some(_) if let Some(address) = bound_this_turn(cell, name) => Answer::Now(Ok(address)),
        None => {
            let (service, address) = (cell.name().to_owned(), cell.address);
            let error = GroupError::NotInGroup { service, address, name: name.to_owned() };
            Answer::Now(Err(Box::new(error.into())))
        }
        Some(member) => match known_or_resolving(cell, member, name) {
            Ok(address) => Answer::Now(Ok(address)),
            Err(resolution) => Answer::Later(Awaiting(resolution)),
        },
    };
    async move {
        match answer {
            Answer::Now(result) => result.map_err(|e| *e),
            Answer::Later(awaiting) => awaiting.await,
        }
    }
}

/// The address of the live service a query or call of `name` by `cell` reached this turn, read
/// through the shortcut hook. Wherever a turn may take shortcuts: on the threaded backend's
/// workers, and in the simulator too (its turns run with `Shortcuts::Decide`). It is not a
/// decision of its own, as it answers exactly what the name table would (a name stays bound to
/// its live service, G4), only without the table's lock.
fn bound_this_turn(cell: &ServiceCell, name: &str) -> Option<Address> {
    cell.shortcut_reached(name)
}

/// A live address for `name` known without asking the registry (the member's cache, else the
/// group's binding, then cached), or the resolution to wait on, started if none runs. A name
/// this member is resolving is always waited on: a query must not overtake the resolution it
/// would join. A closed (or closing) group, or a binding whose service is dead, goes to the
/// registry, which answers the error or unbinds the dead and starts a fresh instance (G9).
fn known_or_resolving(cell: &Arc<ServiceCell>, member: &Membership, name: &str) -> Result<Address, Arc<Resolution>> {
    let mut names = lock(&member.names);
    if let Some(resolution) = names.queries.get(name) {
        return Err(resolution.clone()); // the common case in a storm: one hash, no allocation
    }
    if !names.is_pending(name) {
        if let Some(resolved) = names.resolved.get(name) {
            if let Some(service) = resolved.service.upgrade().filter(|s| s.alive()) {
                cell.shortcut_remember(resolved.via, &service);
                return Ok(resolved.address);
            }
            names.resolved.remove(name); // dead: resolve again
        }
        let bound = member.group.binding(name);
        if let Some((address, service)) = bound.and_then(|a| Some((a, cell.runtime.lookup(a)?))) {
            let via = intern(name);
            names.resolved.insert(name.to_owned(), Resolved::new(address, via, Some(&service)));
            cell.shortcut_remember(via, &service);
            return Ok(address);
        }
        names.pending.insert(name.to_owned(), ());
        let resolution = Arc::new(Resolution::default());
        names.queries.insert(name.to_owned(), resolution.clone());
        drop(names);
        start_resolver(cell, name.to_owned());
        return Err(resolution);
    }
    Err(names.queries.entry(name.to_owned()).or_default().clone())
}
