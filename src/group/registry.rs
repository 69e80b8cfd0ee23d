//! A group's registry: the one service that decides what each name in the group means.
//!
//! It is an ordinary service (the seed's `groupd`), so its state needs no lock and every
//! decision about a name is made in one place, in one order:
//! - `_query name`: answer the binding; or park the asker (a deferred reply) behind the start
//!   already pending for that name; or start one instance and park the asker. Exactly one start
//!   per unbound name, however many race (G2); all waiters get the same answer (G3).
//! - `_member addr name` / `_register name addr`: a `newservice` instance joined the group, and
//!   later finished its init; it becomes the binding only if the name is unbound and no start
//!   of it is pending (G4).
//! - a monitor per member removes it from the listing and its binding when it exits (G9). The
//!   monitors are polled by one watcher task of the registry, not a task each: registering one
//!   sends the registry nothing, so a start that ran inline leaves the registry idle (see
//!   [`watch`]).
//! - `_shutdown`: close the group, stop every member, answer once all have exited (G14).
//!
//! Start-up cycles (G13): while a start is pending, the registry knows its instance's address.
//! When that instance asks for a name, the registry records "this start waits on that name";
//! a request that closes a ring of such waits is answered with the cycle instead of parked, and
//! the failure unwinds every start in the ring, so nothing hangs.

use std::collections::{BTreeMap, BTreeSet};
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

use super::start::group_options;
use super::{GroupError, GroupShared};
use crate::core::{Address, Args, CallError, CallErrorKind, Ctx, Responder, RuntimeShared, ServiceKind, Value};
use crate::executor::{Event, Registry as Decision};
use crate::mutants::{self, Mutant};

/// The registry's state.
pub(crate) struct Registry {
    group: Arc<GroupShared>,
    /// For tracing its decisions.
    runtime: Arc<RuntimeShared>,
    /// Pending lazy starts, by name.
    starts: BTreeMap<String, Start>,
    /// Instance address -> the name it is being started for.
    starting: BTreeMap<Address, String>,
    /// Shutdown callers, answered when the last member has exited.
    shutdown_waiters: Vec<Responder>,
    /// Each member's monitor, resolving to its address once it exits; polled by the watcher
    /// task (`watch_members`).
    exits: FuturesUnordered<BoxFuture<'static, Address>>,
    /// The watcher task's waker, as of its last poll (`None` before its first).
    watcher: Option<Waker>,
}

struct Start {
    waiters: Vec<Responder>,
    /// Names this start's instance asked for and has not got yet.
    waits_on: BTreeSet<String>,
}

pub(crate) fn registry_kind() -> ServiceKind<Registry> {
    ServiceKind::new("_registry", |ctx: Ctx<Registry>, group: Arc<GroupShared>| async move {
        let runtime = ctx.cell.runtime.clone();
        // Handled after this init has returned (it awaits nothing): the state is there by then.
        ctx.fork(watch_members(ctx.clone()));
        Ok(Registry {
            group,
            runtime,
            starts: BTreeMap::new(),
            starting: BTreeMap::new(),
            shutdown_waiters: Vec::new(),
            exits: FuturesUnordered::new(),
            watcher: None,
        })
    })
    .system_command("_query", query)
    .system_command("_member", |ctx, args, _r| async move { member(ctx, args) })
    .system_command("_register", |ctx, args, _r| async move { register(ctx, args) })
    .system_command("_shutdown", shutdown)
}

async fn query(ctx: Ctx<Registry>, args: Value, responder: Responder) {
    let name = match String::try_from(args) {
        Ok(name) => name,
        Err(e) => return responder.reply(Err::<(), _>(e.into())),
    };
    let alive = |a: Address| ctx.cell.runtime.lookup(a).is_some();
    let Some(responder) = ctx.with_state(|r| r.answer_or_park(&name, responder, alive)) else { return };
    let (instance, init) = ctx.start(&name, Args::none(), group_options(&ctx.with_state(|r| r.group.clone())));
    let instance = match instance {
        Ok(instance) => instance,
        Err(cause) => {
            return ctx.with_state(|r| {
                let error = r.start_failed(&name, cause);
                r.answer(&name, responder, Err(error));
            });
        }
    };
    ctx.with_state(|r| r.begin_start(&name, instance, responder));
    watch(&ctx, instance);
    let result = init.await;
    ctx.with_state(|r| r.finish_start(&name, instance, result));
}

/// Removes `member` from the listing once it exits: its monitor joins the watcher task's.
///
/// Why not a task per member: forking one sends the registry a message (`Envelope::Fork`), and
/// a start run inline (a first use finished on the asker's thread, `core/handoff.rs`) then left
/// the registry scheduled behind that message until the asker's turn ended, so the next first
/// use in that turn could not run inline and waited for the asker's turn to end (the manager
/// storm's two modes, issue 13). Here the monitor is registered at once (`Ctx::monitor`) and
/// polled once right here with the watcher's waker, so the member's exit wakes the watcher and
/// nothing is sent now. Before the watcher's first poll there is no waker yet: its first poll
/// polls every monitor pushed meanwhile (a pushed future waits its first poll in `exits`).
fn watch(ctx: &Ctx<Registry>, member: Address) {
    let mut exit: BoxFuture<'static, Address> = ctx.monitor(member).map(move |_| member).boxed();
    ctx.with_state(|r| {
        // The session of this poll is the handler's task, not the watcher's: the answer then
        // wakes this waker (a `Wake` of the watcher), never polls the handler's task.
        let gone = r.watcher.as_ref().is_some_and(|w| exit.poll_unpin(&mut Context::from_waker(w)).is_ready());
        if gone {
            r.member_exited(member); // already gone: its monitor answered at once
        } else {
            r.exits.push(exit);
        }
    });
}

/// The registry's one watcher task: takes each member's exit as its monitor answers.
async fn watch_members(ctx: Ctx<Registry>) {
    loop {
        let member = poll_fn(|cx| ctx.with_state(|r| r.next_exit(cx))).await;
        ctx.with_state(|r| r.member_exited(member));
    }
}

/// A member joined (its spawner already listed it, `start::join`): watch it, and stop it if the
/// group closed meanwhile. The name rides along for the trace.
fn member(ctx: Ctx<Registry>, args: Value) {
    let Ok((address, _name)) = <(Address, String)>::try_from(args) else { return };
    if ctx.with_state(|r| r.group.is_closed()) {
        ctx.kill(address);
    }
    watch(&ctx, address);
}

fn register(ctx: Ctx<Registry>, args: Value) {
    let Ok((name, address)) = <(String, Address)>::try_from(args) else { return };
    ctx.with_state(|r| {
        let mut listing = r.group.listing();
        let free = !listing.bindings.contains_key(&name) && !r.starts.contains_key(&name);
        if free && !r.group.is_closed() && listing.members.contains_key(&address) {
            r.note(&name, Decision::Bind { address });
            listing.bindings.insert(name, address);
        }
    });
}

async fn shutdown(ctx: Ctx<Registry>, _args: Value, responder: Responder) {
    let members = ctx.with_state(|r| {
        r.group.closed.store(true, std::sync::atomic::Ordering::Release);
        let mut listing = r.group.listing();
        let mut unbound: Vec<(String, Address)> = listing.bindings.drain().collect();
        unbound.sort_unstable(); // in name order, whatever the map's
        for (name, address) in unbound {
            r.note(&name, Decision::Unbind { address });
        }
        let members: Vec<Address> = listing.members.keys().copied().collect();
        if members.is_empty() {
            responder.ok(());
        } else {
            r.shutdown_waiters.push(responder);
        }
        members
    });
    for member in members {
        ctx.kill(member);
    }
}

impl Registry {
    /// Answers a query from the binding, or parks it behind a pending start (or refuses it as a
    /// cycle). Hands the responder back when the caller must start the name.
    fn answer_or_park(
        &mut self,
        name: &str,
        responder: Responder,
        alive: impl Fn(Address) -> bool,
    ) -> Option<Responder> {
        if self.group.is_closed() {
            let closed = GroupError::ShutDown { group: self.group.label.clone(), name: name.into() };
            self.answer(name, responder, Err(closed.into()));
            return None;
        }
        let bound = self.group.listing().bindings.get(name).copied();
        match bound {
            Some(address) if alive(address) || mutants::active(Mutant::StaleBinding) => {
                self.answer(name, responder, Ok(address));
                return None;
            }
            Some(address) => {
                self.note(name, Decision::Unbind { address });
                self.group.listing().bindings.remove(name);
            }
            None => {}
        }
        if let Some(asking_for) = self.starting.get(&responder.caller()).cloned() {
            if let Some(start) = self.starts.get_mut(&asking_for) {
                start.waits_on.insert(name.to_owned());
            }
            if let Some(cycle) = self.cycle_through(&asking_for) {
                if let Some(start) = self.starts.get_mut(&asking_for) {
                    start.waits_on.remove(name);
                }
                let group = self.group.label.clone();
                self.note(name, Decision::Cycle { asker: responder.caller() });
                self.answer(name, responder, Err(GroupError::StartCycle { group, cycle }.into()));
                return None;
            }
        }
        match self.starts.get_mut(name) {
            Some(_) if mutants::active(Mutant::DoubleStart) => Some(responder),
            Some(start) => {
                start.waiters.push(responder);
                None
            }
            None => Some(responder),
        }
    }

    /// A ring of waits through the start of `name`, as `[name, .., name]`, if there is one.
    fn cycle_through(&self, name: &str) -> Option<Vec<String>> {
        let mut path = vec![name.to_owned()];
        let mut seen = BTreeSet::new();
        self.find_path(name, name, &mut path, &mut seen).then_some(path)
    }

    fn find_path(&self, from: &str, goal: &str, path: &mut Vec<String>, seen: &mut BTreeSet<String>) -> bool {
        let Some(start) = self.starts.get(from) else { return false };
        for next in &start.waits_on {
            path.push(next.clone());
            if next == goal || (seen.insert(next.clone()) && self.find_path(next, goal, path, seen)) {
                return true;
            }
            path.pop();
        }
        false
    }

    fn start_failed(&self, name: &str, cause: CallError) -> CallError {
        let group = self.group.label.clone();
        GroupError::StartFailed { group, name: name.to_owned(), cause: Box::new(cause) }.into()
    }

    /// Records a decision in the trace (the simulator's oracle reads these).
    fn note(&self, name: &str, what: Decision) {
        if self.runtime.trace_all {
            self.runtime.trace(&Event::Registry { group: self.group.id, name, what });
        }
    }

    /// Answers one query, and records the answer.
    fn answer(&self, name: &str, responder: Responder, result: Result<Address, CallError>) {
        let address = result.as_ref().ok().copied();
        self.note(name, Decision::Answer { asker: responder.caller(), address });
        match result {
            Ok(address) => responder.ok(address),
            Err(error) => responder.fail(error),
        }
    }

    fn begin_start(&mut self, name: &str, instance: Address, responder: Responder) {
        self.note(name, Decision::StartBegin { instance });
        self.starts.insert(name.to_owned(), Start { waiters: vec![responder], waits_on: BTreeSet::new() });
        self.starting.insert(instance, name.to_owned());
        self.group.listing().members.insert(instance, name.to_owned());
    }

    /// Binds the started instance and answers every waiter the same (G2, G3).
    fn finish_start(&mut self, name: &str, instance: Address, result: Result<Value, CallError>) {
        self.starting.remove(&instance);
        let Some(start) = self.starts.remove(name) else { return };
        for other in self.starts.values_mut() {
            other.waits_on.remove(name);
        }
        // An instance that already exited (right after its init) must not become the binding
        // (G9): its start counts as failed, and the next first use tries again.
        let result = result.and_then(|ok| match self.runtime.lookup(instance) {
            Some(_) => Ok(ok),
            None => {
                Err(CallErrorKind::Exited { service: name.to_owned(), address: instance, command: "init".into() }
                    .into())
            }
        });
        self.note(name, Decision::StartEnd { instance, ok: result.is_ok() });
        let answer = match result {
            Ok(_) if !self.group.is_closed() => {
                self.note(name, Decision::Bind { address: instance });
                self.group.listing().bindings.insert(name.to_owned(), instance);
                Ok(instance)
            }
            Ok(_) => Err(GroupError::ShutDown { group: self.group.label.clone(), name: name.to_owned() }.into()),
            Err(cause) => Err(self.start_failed(name, cause)),
        };
        for (i, waiter) in start.waiters.into_iter().enumerate() {
            if i == 0 && answer.is_err() && mutants::active(Mutant::HangingWaiter) {
                std::mem::forget(waiter);
                continue;
            }
            self.answer(name, waiter, answer.clone());
        }
    }

    /// The next member whose monitor has answered, or pending with the watcher's waker kept.
    fn next_exit(&mut self, cx: &mut Context<'_>) -> Poll<Address> {
        if let Poll::Ready(Some(member)) = self.exits.poll_next_unpin(cx) {
            return Poll::Ready(member);
        }
        // Pending, or no monitors at all (`Ready(None)`): wait for the next exit either way.
        if !self.watcher.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            self.watcher = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    fn member_exited(&mut self, member: Address) {
        let mut listing = self.group.listing();
        if let Some(name) = listing.members.remove(&member)
            && listing.bindings.get(&name) == Some(&member)
            && !mutants::active(Mutant::StaleBinding)
        {
            self.note(&name, Decision::Unbind { address: member });
            listing.bindings.remove(&name);
        }
        let empty = listing.members.is_empty();
        drop(listing);
        if empty && self.group.is_closed() {
            self.shutdown_waiters.drain(..).for_each(|w| w.ok(()));
        }
    }
}
