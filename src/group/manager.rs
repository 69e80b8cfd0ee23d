//! A manager's queries: `Group::query` from a service outside the group (or from one that
//! holds the group's handle), the path an embedding program's `block_on` or another group's
//! service takes.
//!
//! A manager has no name table of its own in the group, so its queries would each be a round
//! trip to the registry: a thousand concurrent queries of a name not started yet were a
//! thousand parked replies, answered one by one through the manager's mailbox. So, as a
//! member's queries do (`names.rs`, `resolution.rs`), a manager's queries of one name share
//! one registry round trip while it is outstanding, kept per manager and name in the group's
//! [`ManagerQueries`]; and a name bound to a live service is read from the group's listing with
//! no message at all (and, while no manager's resolution is outstanding, without the lock of
//! `ManagerQueries` either: the rest of a storm whose first use ran inline costs one lookup). The round trip is a task of the manager's own service (its resolver),
//! polled once right where the first query is made when this thread runs the manager's turn
//! (`Shortcut::InlinePoll`), so a first use whose registry is idle completes before the query
//! returns and the rest of a storm reads the binding. The same code runs in the simulator,
//! which decides that poll like every shortcut.
//!
//! Why per manager: the registry answers one manager's queries in the order it sent them
//! (G6), so a query must not overtake the resolution its own earlier query started; queries of
//! different managers race as any senders do.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::GroupShared;
use super::names::YieldOnce;
use super::resolution::{Awaiting, Resolution};
use crate::core::{Address, CallError, CommandName, ServiceCell, Value, call_address, lock};

/// The resolutions in progress of managers' queries: manager's address -> name -> resolution.
/// An entry lives exactly while its resolver task has not settled.
#[derive(Default)]
pub(crate) struct ManagerQueries(BTreeMap<Address, BTreeMap<String, Arc<Resolution>>>);

impl ManagerQueries {
    fn get(&self, manager: Address, name: &str) -> Option<&Arc<Resolution>> {
        self.0.get(&manager)?.get(name)
    }

    /// Adds a resolution, counting it in `resolving` (the group's `manager_resolving`).
    fn insert(&mut self, resolving: &AtomicUsize, manager: Address, name: &str, resolution: Arc<Resolution>) {
        if self.0.entry(manager).or_default().insert(name.to_owned(), resolution).is_none() {
            resolving.fetch_add(1, Ordering::Release);
        }
    }

    /// Removes a resolution, and its count from `resolving`.
    fn remove(&mut self, resolving: &AtomicUsize, manager: Address, name: &str) {
        if let Some(names) = self.0.get_mut(&manager) {
            if names.remove(name).is_some() {
                resolving.fetch_sub(1, Ordering::Release);
            }
            if names.is_empty() {
                self.0.remove(&manager);
            }
        }
    }
}

/// The answer of a manager's query of `name` in `group`: now (a live binding), or the
/// resolution to wait on, joined or started.
pub(crate) fn query(group: &Arc<GroupShared>, cell: &Arc<ServiceCell>, name: &str) -> Result<Address, Awaiting> {
    // No resolution of any manager is outstanding, so none of this one's: nothing to join, and
    // the binding is the answer (the rest of a storm whose first use ran inline comes here).
    // A resolution this manager started is counted before its query returns, on its thread.
    if group.manager_resolving.load(Ordering::Acquire) == 0
        && let Some(address) = group.live_binding(&cell.runtime, name)
    {
        return Ok(address);
    }
    let mut queries = lock(&group.manager_queries);
    if let Some(resolution) = queries.get(cell.address, name) {
        return Err(Awaiting(resolution.clone()));
    }
    if let Some(address) = group.live_binding(&cell.runtime, name) {
        return Ok(address);
    }
    let resolution = Arc::new(Resolution::default());
    queries.insert(&group.manager_resolving, cell.address, name, resolution.clone());
    drop(queries);
    start_resolver(group, cell, name);
    Err(Awaiting(resolution))
}

/// Starts the manager's resolver of `name` as a task of its service, polled once right here
/// first when the shortcut is taken (see the module docs and `names::start_resolver`).
fn start_resolver(group: &Arc<GroupShared>, cell: &Arc<ServiceCell>, name: &str) {
    let inline = cell.shortcut_poll_here();
    let unsettled = Unsettled { group: group.clone(), cell: cell.clone(), name: name.to_owned(), armed: true };
    super::names::poll_here_or_fork(cell, inline, Box::pin(resolve(unsettled, inline)));
}

/// Asks the registry, then settles the resolution every query of the name waits on. A failure
/// met on the inline first poll is settled one poll later, so the queries issued beside the one
/// that started it join it and all get that error (G3).
async fn resolve(mut unsettled: Unsettled, inline: bool) {
    let registry = unsettled.group.registry();
    let reply =
        call_address(&unsettled.cell, registry, CommandName::Borrowed("_query"), Value::from(&*unsettled.name)).await;
    let result = reply.map(|address| Address::try_from(address).expect("the registry answers addresses"));
    if inline && result.is_err() {
        YieldOnce::default().await;
    }
    unsettled.armed = false;
    unsettled.settle(result);
}

/// Settles the resolution with an error if the resolver is dropped before the registry answers
/// (its service exits), so no query waits forever.
struct Unsettled {
    group: Arc<GroupShared>,
    cell: Arc<ServiceCell>,
    name: String,
    armed: bool,
}

impl Unsettled {
    fn settle(&self, result: Result<Address, CallError>) {
        let resolution = {
            let mut queries = lock(&self.group.manager_queries);
            let resolution = queries.get(self.cell.address, &self.name).cloned();
            queries.remove(&self.group.manager_resolving, self.cell.address, &self.name);
            resolution
        };
        if let Some(resolution) = resolution {
            resolution.settle(result);
        }
    }
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        if self.armed {
            self.settle(Err(self.cell.exited_error("_query")));
        }
    }
}
