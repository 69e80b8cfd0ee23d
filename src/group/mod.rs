//! Groups: one name registry per game server, so many game servers share one process and their
//! services never see each other's names (G1).
//!
//! Built entirely on the core, as the seed built `groupd` on skynet:
//! - each group has a **registry** service (`registry.rs`) holding its bindings (name ->
//!   address), its pending lazy starts with their waiters (parked as deferred replies), and its
//!   listing of live services, which it learns through monitors;
//! - each member service carries a **name table** (`names.rs`): its cache of resolved names
//!   and, per name not resolved yet, the messages it sent meanwhile, flushed in order once the
//!   registry answers (G6, G7);
//! - starting services in a group, resolving dependency lists before init (G5), and the
//!   `Group` handle a manager holds (`start.rs`, `handle.rs`), whose queries share a registry
//!   round trip per manager and name (`manager.rs`);
//! - its answers to the core's naming seam (`layer.rs`): the core hands every call, send and
//!   start by name to the runtime's `Naming`, which the crate root makes a `layer::Groups`.
//!
//! It takes the core's fast paths only through the core's shortcut hook (the `shortcut_*`
//! methods of a service cell, `core/hook.rs`), never through the threaded backend's internals.

mod handle;
mod layer;
mod manager;
mod names;
mod registry;
mod resolution;
mod start;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::core::{Address, ServiceCell, lock};

pub use crate::error::GroupError;
pub(crate) use handle::groups_of;
pub use handle::{Group, Member};
pub(crate) use layer::Groups;
use layer::directory;

/// What every part of a group shares: its identity, its registry's address, and the listing
/// the registry keeps (read by `Group` handles without a round trip).
pub(crate) struct GroupShared {
    pub(crate) id: u64,
    pub(crate) label: String,
    /// Set once, right after the registry is spawned.
    pub(crate) registry: std::sync::OnceLock<Address>,
    /// Written by the registry only.
    pub(crate) listing: Mutex<Listing>,
    /// Set by shutdown: no new starts in this group.
    pub(crate) closed: AtomicBool,
    /// Set by `Group::shutdown` when it sends the registry `_shutdown`, before the registry
    /// sets `closed`: from then on queries go to the registry, behind that message (G6).
    pub(crate) closing: AtomicBool,
    /// Managers' queries waiting on a registry round trip (`manager.rs`).
    pub(crate) manager_queries: Mutex<manager::ManagerQueries>,
    /// How many resolutions `manager_queries` holds (written under its lock): while none, a
    /// manager's query of a bound name reads the binding without that lock.
    pub(crate) manager_resolving: AtomicUsize,
}

/// Names are chosen by the program, not by an attacker: hashed a word at a time, not SipHash.
/// Nothing iterates one in a way that reaches behaviour (see `Listing::bindings`).
pub(crate) type NameMap<V> = HashMap<String, V, BuildHasherDefault<crate::core::NumberHasher>>;

/// A group's live services and bindings, as its registry last recorded them.
#[derive(Default)]
pub(crate) struct Listing {
    /// Every live member: address -> name (its kind).
    pub(crate) members: BTreeMap<Address, String>,
    /// name -> the address that name resolves to (G4). Hashed, as every query of a bound
    /// name reads it; the one walk over it (the shutdown's unbinding) sorts the names first.
    pub(crate) bindings: NameMap<Address>,
}

impl GroupShared {
    pub(crate) fn registry(&self) -> Address {
        *self.registry.get().expect("a group's registry is spawned with the group")
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The address `name` is bound to, if its service lives, read from the listing without a
    /// round trip: what the registry itself would answer a query of `name`, as it writes a
    /// binding only once a start has finished and answers a bound name whose service lives
    /// (G4, G9). `None` for an unbound name or a dead binding (the registry starts a fresh
    /// instance, G2, G9), and once a shutdown is asked for (the registry answers that).
    pub(crate) fn live_binding(&self, runtime: &crate::core::RuntimeShared, name: &str) -> Option<Address> {
        self.binding(name).filter(|&address| runtime.is_live(address))
    }

    /// The listing's binding of `name`, unless a shutdown of the group is asked for (live or not:
    /// see [`live_binding`](Self::live_binding)).
    pub(crate) fn binding(&self, name: &str) -> Option<Address> {
        if self.is_closed() || self.closing.load(Ordering::Acquire) {
            return None;
        }
        self.listing().bindings.get(name).copied()
    }

    pub(crate) fn listing(&self) -> std::sync::MutexGuard<'_, Listing> {
        lock(&self.listing)
    }
}

/// The runtime's groups, by creation order.
#[derive(Default)]
pub(crate) struct Directory {
    groups: Mutex<BTreeMap<u64, Arc<GroupShared>>>,
    last_id: AtomicU64,
}

impl Directory {
    fn create(&self, label: &str) -> Arc<GroupShared> {
        let id = self.last_id.fetch_add(1, Ordering::Relaxed) + 1;
        let group = Arc::new(GroupShared {
            id,
            label: label.to_owned(),
            registry: std::sync::OnceLock::new(),
            listing: Mutex::new(Listing::default()),
            closed: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            manager_queries: Mutex::new(manager::ManagerQueries::default()),
            manager_resolving: AtomicUsize::new(0),
        });
        lock(&self.groups).insert(id, group.clone());
        group
    }

    fn remove(&self, id: u64) {
        lock(&self.groups).remove(&id);
    }

    fn all(&self) -> Vec<Arc<GroupShared>> {
        lock(&self.groups).values().cloned().collect()
    }
}

/// A member service's group data, kept in its cell.
pub(crate) struct Membership {
    pub(crate) group: Arc<GroupShared>,
    pub(crate) names: Mutex<names::NameTable>,
}

impl Membership {
    pub(crate) fn for_group(group: Arc<GroupShared>) -> Arc<dyn std::any::Any + Send + Sync> {
        Arc::new(Membership { group, names: Mutex::new(names::NameTable::default()) })
    }
}

/// The group data of `cell`, if it is a group member.
pub(crate) fn membership(cell: &ServiceCell) -> Option<&Membership> {
    cell.membership.as_ref()?.downcast_ref::<Membership>()
}
