//! A member's name table: its cache of resolved names and its pending sends.
//!
//! A call or send by name goes straight to the cached address when there is one and nothing is
//! pending for that name. Otherwise it joins the name's pending queue; the first message to
//! queue forks a resolver task that asks the group's registry, then sends the whole queue to
//! the answer in the order it was issued (G6), or turns it into errors and dead letters (G3,
//! G7). A by-name message that bounces off a dead cached address comes back here (`reroute`)
//! and is queued again, so a name never points at the dead (G9). A `query` for a name being
//! resolved joins the same queue, so a thousand concurrent queries of one member cost one
//! registry round trip.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use super::{GroupError, membership};
use crate::core::{
    Address, Call, CallError, CommandName, Envelope, Name, Reply, RuntimeShared, ServiceCell, Value, call_address, lock,
};
use crate::executor::To;
use crate::mutants::{self, Mutant};

/// One message waiting for its name to resolve; `session == 0` for a send. A query is answered
/// to its own service (session `session`) with the address instead of being sent.
struct Queued {
    session: u64,
    command: CommandName,
    args: Value,
    query: bool,
}

impl Queued {
    fn request(session: u64, command: CommandName, args: Value) -> Queued {
        Queued { session, command, args, query: false }
    }
}

/// Names are chosen by the program, not by an attacker: hashed a word at a time, not SipHash.
type NameMap<V> = HashMap<String, V, BuildHasherDefault<crate::core::NumberHasher>>;

#[derive(Default)]
pub(crate) struct NameTable {
    /// name -> (address, the shared name carried in messages).
    resolved: NameMap<(Address, Name)>,
    /// name -> messages issued while it was being resolved, in issue order.
    pending: NameMap<VecDeque<Queued>>,
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
    let overtakes = message.session != 0 && !message.query && mutants::active(Mutant::CallOvertakesQueuedSend);
    if overtakes && names.pending.contains_key(name) {
        // The Lua original: the call resolves on its own and goes straight out.
        drop(names);
        let (owner, name) = (cell.clone(), name.to_owned());
        let task = async move {
            if let Ok(address) = ask_registry(&owner, &name).await {
                send_direct(&owner, address, Name::from(name.as_str()), message);
            }
        };
        cell.runtime.deliver(cell.address, Envelope::Fork { task: Box::pin(task) });
        return Ok(Route::Queued);
    }
    if let Some(queue) = names.pending.get_mut(name) {
        queue.push_back(message);
        return Ok(Route::Queued);
    }
    if let Some((address, via)) = names.resolved.get(name) {
        return Ok(Route::Direct(*address, via.clone(), message));
    }
    names.pending.insert(name.to_owned(), VecDeque::from([message]));
    drop(names);
    start_resolver(cell, name.to_owned());
    Ok(Route::Queued)
}

/// The cached address of `name`, if nothing is queued before a message to it.
fn cached(cell: &ServiceCell, name: &str) -> Option<(Address, Name)> {
    let names = lock(&membership(cell)?.names);
    if names.pending.contains_key(name) {
        return None;
    }
    names.resolved.get(name).map(|(address, via)| (*address, via.clone()))
}

fn send_direct(cell: &Arc<ServiceCell>, to: Address, via: Name, message: Queued) {
    let Queued { session, command, args, .. } = message;
    let request = Envelope::Request { from: cell.address, session, command, args, via: Some(via) };
    cell.runtime.deliver(to, request);
}

pub(crate) fn call_by_name(cell: Arc<ServiceCell>, name: &str, command: CommandName, args: Value) -> Call {
    if let Some((address, via)) = cached(&cell, name) {
        // The common case, kept to one lock of each table: the session opens with its target.
        let session = lock(&cell.sessions).open(address, command.clone());
        cell.trace_issue(To::Name(name), session, &command, &args);
        send_direct(&cell, address, via, Queued::request(session, command, args));
        return Call::reply(Reply::new(cell, session));
    }
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

/// A by-name request bounced off `dead`: forget that binding and queue the request again.
/// Returns the envelope if it cannot be rerouted (the sender is gone or not a member).
pub(crate) fn reroute(
    runtime: &Arc<RuntimeShared>,
    from: Address,
    dead: Address,
    name: Name,
    session: u64,
    command: CommandName,
    args: Value,
) -> Option<Envelope> {
    let envelope = || Envelope::Request { from, session, command: command.clone(), args: args.clone(), via: None };
    let Some(sender) = runtime.lookup(from) else { return Some(envelope()) };
    let Some(member) = membership(&sender) else { return Some(envelope()) };
    let mut names = lock(&member.names);
    if names.resolved.get(&*name).is_some_and(|(a, _)| *a == dead) {
        names.resolved.remove(&*name);
    }
    let message = Queued::request(session, command, args);
    if let Some(queue) = names.pending.get_mut(&*name) {
        queue.push_back(message);
        return None;
    }
    names.pending.insert(name.to_string(), VecDeque::from([message]));
    drop(names);
    start_resolver(&sender, name.to_string());
    None
}

fn start_resolver(cell: &Arc<ServiceCell>, name: String) {
    let task = resolve(cell.clone(), name);
    cell.runtime.deliver(cell.address, Envelope::Fork { task: Box::pin(task) });
}

/// Asks the registry for `name`, then flushes the name's queue in order.
async fn resolve(cell: Arc<ServiceCell>, name: String) {
    let result = ask_registry(&cell, &name).await;
    let Some(member) = membership(&cell) else { return };
    let via: Name = Name::from(name.as_str());
    let queue = {
        let mut names = lock(&member.names);
        if let Ok(address) = result {
            names.resolved.insert(name.clone(), (address, via.clone()));
        }
        names.pending.remove(&name).unwrap_or_default()
    };
    if mutants::active(Mutant::CallOvertakesQueuedSend) {
        // The Lua original flushes queued sends from a new coroutine, later.
        let flush = flush(cell.clone(), result, via, queue);
        cell.runtime.deliver(cell.address, Envelope::Fork { task: Box::pin(flush) });
        return;
    }
    flush(cell, result, via, queue).await;
}

/// Sends a name's queue to its address in order, or fails it (G3, G7).
///
/// Queries are this member's own sessions: they are completed in place, all under one lock,
/// instead of one answer message each through the mailbox.
async fn flush(cell: Arc<ServiceCell>, result: Result<Address, CallError>, via: Name, queue: VecDeque<Queued>) {
    let mut answered = Vec::new();
    for Queued { session, command, args, query } in queue {
        if query {
            answered.push((session, result.clone().map(Value::Address)));
            continue;
        }
        match &result {
            Ok(address) => {
                let request = Envelope::Request { from: cell.address, session, command, args, via: Some(via.clone()) };
                cell.runtime.deliver(*address, request);
            }
            Err(_) if session == 0 => cell.runtime.dead_letter(cell.address, Address::from_raw(0), &command),
            Err(e) => cell.runtime.deliver(cell.address, Envelope::Response { session, result: Err(e.clone()) }),
        }
    }
    cell.complete_own(answered);
}

async fn ask_registry(cell: &Arc<ServiceCell>, name: &str) -> Result<Address, CallError> {
    let Some(member) = membership(cell) else {
        let (service, address) = (cell.name().to_owned(), cell.address);
        return Err(GroupError::NotInGroup { service, address, name: name.to_owned() }.into());
    };
    let registry = member.group.registry();
    let reply = call_address(cell, registry, CommandName::Borrowed("_query"), Value::from(name)).await?;
    Address::try_from(reply).map_err(|e| CallError::Handler {
        service: "_registry".into(),
        address: registry,
        command: "_query".into(),
        message: e.to_string(),
    })
}

/// The address of `name` in `cell`'s group, starting it if needed (G2). A cached address is
/// used only while its service lives (G9).
///
/// Answered without a message when it can be: from the member's cache, else from the group's
/// listing, whose bindings the registry writes only once a start has finished (so a binding read
/// there is what the registry itself would answer). Only a name with no live binding, or one
/// this member is already resolving, costs a registry round trip, shared by every query of the
/// name until it is answered.
pub(crate) fn query(
    cell: Arc<ServiceCell>,
    name: &str,
) -> impl Future<Output = Result<Address, CallError>> + Send + 'static + use<> {
    enum Answer {
        Now(Result<Address, Box<CallError>>),
        Later(Reply),
    }
    let answer = match known_binding(&cell, name) {
        Some(address) => Answer::Now(Ok(address)),
        None => {
            let session = lock(&cell.sessions).open(Address::from_raw(0), CommandName::Borrowed("_query"));
            let message = Queued { session, command: CommandName::Borrowed("_query"), args: Value::Nil, query: true };
            let reply = Reply::new(cell.clone(), session);
            match route(&cell, name, message) {
                Ok(Route::Queued) => Answer::Later(reply),
                Ok(Route::Direct(address, ..)) => Answer::Now(Ok(address)),
                Err(e) => Answer::Now(Err(Box::new(e))),
            }
        }
    };
    async move {
        match answer {
            Answer::Now(result) => result.map_err(|e| *e),
            Answer::Later(reply) => {
                let address = reply.await?;
                Ok(Address::try_from(address).expect("a query is answered with an address"))
            }
        }
    }
}

/// A live address for `name` known without asking the registry: the member's cache, else the
/// group's binding (then cached). None while this member resolves the name (a query must not
/// overtake the resolution it would join), in a closed group, or if the binding's service is
/// dead (the registry unbinds it and starts a fresh instance, G9).
fn known_binding(cell: &Arc<ServiceCell>, name: &str) -> Option<Address> {
    let member = membership(cell)?;
    let mut names = lock(&member.names);
    if names.pending.contains_key(name) {
        return None;
    }
    if let Some((address, _)) = names.resolved.get(name) {
        if cell.runtime.lookup(*address).is_some() {
            return Some(*address);
        }
        names.resolved.remove(name); // dead: resolve again
    }
    if member.group.is_closed() {
        return None;
    }
    let bound = member.group.listing().bindings.get(name).copied()?;
    cell.runtime.lookup(bound)?;
    names.resolved.insert(name.to_owned(), (bound, Name::from(name)));
    Some(bound)
}
