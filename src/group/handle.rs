//! The group calls a service makes through its `Ctx` (`query`, `group_name`, `newgroup`), the
//! `Group` handle a manager holds (G10, G11, G14), and the runtime's list of groups.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use super::start::group_options;
use super::{GroupShared, membership, names};
use crate::core::{Address, Args, CallError, Ctx, Runtime, RuntimeShared, ServiceStats, SpawnOptions};

/// A handle on one group: its label, its live services, a name lookup inside it, shutdown.
/// Holding one is what lets a manager reach into a group (G1, G11). Cheap to clone.
#[derive(Clone)]
pub struct Group {
    shared: Arc<GroupShared>,
    runtime: Arc<RuntimeShared>,
}

/// A live service of a group, as [`Group::services`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its address.
    pub address: Address,
    /// The name it was started as: `newservice(name)` and lazy starts of `name` start the kind
    /// called `name`, so this is also its kind.
    pub name: String,
    /// Its kind (the same as `name` for every service a group starts).
    pub kind: String,
    /// Whether the group's binding of `name` is this service.
    pub bound: bool,
    /// Its counters, as of the listing.
    pub stats: ServiceStats,
}

impl Group {
    /// The label given at `newgroup` (labels need not be unique, G10).
    pub fn label(&self) -> &str {
        &self.shared.label
    }

    /// A number unique among this runtime's groups.
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// The group's live services, by address (G11).
    pub fn services(&self) -> Vec<Member> {
        let listing = self.shared.listing();
        let members = listing.members.iter().filter_map(|(&address, name)| {
            let cell = self.runtime.lookup(address)?;
            let bound = listing.bindings.get(name) == Some(&address);
            Some(Member { address, name: name.clone(), kind: cell.name().to_owned(), bound, stats: cell.stats() })
        });
        members.collect()
    }

    /// The address of `name` inside this group, starting it if needed, asked from outside the
    /// group by `ctx` (the seed's `group.query(group, name)`).
    ///
    /// A name bound to a live service is answered from the group's listing, with no message (as
    /// a member's query is); the queries of one name from one service share one round trip to
    /// the registry while it is outstanding (see `manager.rs`).
    pub fn query<S: 'static>(
        &self,
        ctx: &Ctx<S>,
        name: &str,
    ) -> impl Future<Output = Result<Address, CallError>> + Send + 'static + use<S> {
        let answer = super::manager::query(&self.shared, &ctx.cell, name);
        async move {
            match answer {
                Ok(address) => Ok(address),
                Err(awaiting) => awaiting.await,
            }
        }
    }

    /// Stops every service of this group and its registry; resolves once all have exited. No
    /// other group is touched (G14).
    pub fn shutdown<S: 'static>(&self, ctx: &Ctx<S>) -> impl Future<Output = ()> + Send + 'static + use<S> {
        let (registry, runtime, id) = (self.shared.registry(), self.runtime.clone(), self.shared.id);
        self.shared.closing.store(true, std::sync::atomic::Ordering::Release);
        let closing = ctx.call(registry, "_shutdown", ());
        let ctx: Ctx = Ctx::new(ctx.cell.clone());
        async move {
            let _ = closing.await;
            let gone = ctx.monitor(registry);
            runtime.kill(registry);
            gone.await;
            super::directory(&runtime).remove(id);
        }
    }
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").field("id", &self.shared.id).field("label", &self.shared.label).finish()
    }
}

impl<S: 'static> Ctx<S> {
    /// The address of `name` in this service's group, starting one instance (no args) if none
    /// is bound: exactly one start however many race (G2); a failed start is an error for
    /// every waiter and leaves the name unbound (G3).
    pub fn query(&self, name: &str) -> impl Future<Output = Result<Address, CallError>> + Send + 'static + use<S> {
        names::query(&self.cell, name)
    }

    /// This service's group label, or `None` outside any group.
    pub fn group_name(&self) -> Option<&str> {
        membership(&self.cell).map(|m| m.group.label.as_str())
    }

    /// A handle on this service's own group.
    pub fn group(&self) -> Option<Group> {
        let shared = membership(&self.cell)?.group.clone();
        Some(Group { shared, runtime: self.cell.runtime.clone() })
    }

    /// Creates a group labelled `label`, starts `boot` in it with `args`, waits for boot's init,
    /// then stops boot and returns the group's handle (G10). A boot failure removes the group
    /// and is returned.
    pub fn newgroup(
        &self,
        label: &str,
        boot: &str,
        args: impl Any + Send,
    ) -> impl Future<Output = Result<Group, CallError>> + Send + 'static {
        let runtime = self.cell.runtime.clone();
        let group = super::directory(&runtime).create(label);
        let options = SpawnOptions { parent: Some(self.address()), ..SpawnOptions::default() };
        let registry = runtime.spawn("_registry", Args::new(group.clone()), options);
        let started = registry.map(|registry| {
            let _ = group.registry.set(registry);
            let (instance, init) = self.start(boot, Args::new(args), group_options(&group));
            if let Ok(instance) = instance {
                super::start::join(self, &group, instance, boot);
            }
            (instance, init)
        });
        let ctx: Ctx = Ctx::new(self.cell.clone());
        let handle = Group { shared: group, runtime };
        async move {
            let (instance, init) = started?;
            let booted = init.await;
            if let Ok(instance) = instance {
                let gone = ctx.monitor(instance);
                ctx.kill(instance);
                gone.await;
            }
            match booted {
                Ok(_) => Ok(handle),
                Err(e) => {
                    handle.shutdown(&ctx).await;
                    Err(e)
                }
            }
        }
    }
}

/// Every group of `runtime`, in creation order (G11): [`Runtime::groups`], and the console's.
pub(crate) fn groups_of(runtime: &Arc<RuntimeShared>) -> Vec<Group> {
    let groups = super::directory(runtime).all();
    groups.into_iter().map(|shared| Group { shared, runtime: runtime.clone() }).collect()
}

impl Runtime {
    /// [`Ctx::newgroup`] from the embedding program: blocks until the group has booted.
    pub fn newgroup(&self, label: &str, boot: &str, args: impl Any + Send) -> Result<Group, CallError> {
        let (label, boot) = (label.to_owned(), boot.to_owned());
        self.block_on(move |ctx| async move { ctx.newgroup(&label, &boot, args).await })
    }

    /// Every group, in creation order (G11).
    pub fn groups(&self) -> Vec<Group> {
        groups_of(self.shared())
    }

    /// [`Group::shutdown`] from the embedding program: blocks until the group is gone.
    pub fn shutdown_group(&self, group: &Group) {
        let group = group.clone();
        self.block_on(move |ctx| async move { group.shutdown(&ctx).await });
    }
}
