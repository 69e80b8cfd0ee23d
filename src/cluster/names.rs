//! Cluster-wide names (K6): a name bound once in the whole cluster, which any node's services
//! `cluster_call`, `cluster_send` and `cluster_query` by name (a login centre, a cross-server
//! battle service).
//!
//! The binding lives in the store's `Bindings` bucket, key = the name. The first use starts it
//! lazily: `create(name, starting on node n)` succeeds for exactly one of several racing nodes
//! (G2 across nodes); that node starts the kind of that name locally (outside any group) and
//! `update`s the key to `bound to node n, address a` with the revision it created. Losers, and
//! readers who find `starting`, wait with a bounded backoff until it is bound, or until the
//! owner's liveness key is gone; a binding whose owner is not alive (a dead node's, or a start
//! that died half way) is deleted with its revision (compare-and-set, so only the stale binding
//! goes) and the name started afresh on a live node (G9). An instance's exit releases its
//! binding: the owner's agent watches it and deletes the key with its revision.
//!
//! Answers are cached per node; a call to the cached address that fails with `NodeDown` or
//! `UnknownAddress` drops the entry, so the next use asks the store again. A `cluster_send`
//! never waits: while its name is being resolved, the sender's sends to it queue in order
//! behind the first and go out once it resolves (dead letters if it cannot, G7).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use super::agent::{Agent, node_key};
use super::link::Link;
use super::transport::{Bucket, NodeId, StoreError};
use crate::core::{
    Address, Args, Call, CallError, CallErrorKind, CommandName, Ctx, Remote, Responder, RuntimeShared, ServiceKind,
    SpawnOptions, Value, lock,
};

/// The longest a query waits between two looks at a binding being started.
const BACKOFF_MAX: Duration = Duration::from_millis(200);

/// A node's cache of cluster names and the sends waiting for one to resolve.
#[derive(Default)]
pub(crate) struct NameCache {
    pub(crate) resolved: Mutex<BTreeMap<String, Address>>,
    /// The instances this node started and bound, by name: what fencing kills (`lease.rs`).
    pub(crate) owned: Mutex<BTreeMap<String, Address>>,
    /// (sender, name) -> what waits while the name resolves for that sender's sends.
    waiting: Mutex<BTreeMap<(Address, String), Waiting>>,
}

/// A sender's sends issued while their name resolves, in order, and its calls by that name
/// issued meanwhile, which go out after those sends (G6).
#[derive(Default)]
struct Waiting {
    sends: VecDeque<(CommandName, Value)>,
    calls: Vec<futures::channel::oneshot::Sender<()>>,
}

/// A binding as the store holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    Starting { node: NodeId },
    Bound { node: NodeId, address: Address },
}

impl Binding {
    fn node(self) -> NodeId {
        match self {
            Binding::Starting { node } | Binding::Bound { node, .. } => node,
        }
    }

    fn encode(self) -> Bytes {
        let value = match self {
            Binding::Starting { node } => Value::map([("node", Value::Int(node.0.into()))]),
            Binding::Bound { node, address } => {
                Value::map([("node", Value::Int(node.0.into())), ("address", Value::Address(address))])
            }
        };
        Bytes::from(value.to_bytes().expect("a binding is plain data"))
    }

    fn decode(bytes: &[u8]) -> Option<Binding> {
        let Value::Map(map) = Value::from_bytes(bytes).ok()? else { return None };
        let node = NodeId(u16::try_from(map.get("node")?.as_int()?).ok()?);
        match map.get("address") {
            Some(Value::Address(address)) => Some(Binding::Bound { node, address: *address }),
            _ => Some(Binding::Starting { node }),
        }
    }
}

/// The cluster link of `runtime`, if it joined a cluster.
pub(crate) fn link_of(runtime: &RuntimeShared) -> Option<Arc<Link>> {
    let remote: Arc<dyn Remote> = runtime.remote.get()?.remote.clone();
    let any: Arc<dyn std::any::Any + Send + Sync> = remote;
    any.downcast::<Link>().ok()
}

fn not_clustered(ctx_address: Address, name: &str) -> CallError {
    let reason = "this runtime has not joined a cluster".to_owned();
    CallErrorKind::ClusterUnreachable {
        node: NodeId(0),
        address: ctx_address,
        command: format!("cluster name `{name}`"),
        reason,
    }
    .into()
}

/// A fenced node may not start a cluster name (`lease.rs`, K9).
fn fenced(link: &Link, name: &str) -> CallError {
    let (node, address) = (link.node, Address::cluster_agent(link.node));
    let command = format!("start of cluster name `{name}`");
    let reason = format!("{node} has fenced itself: it could not refresh its liveness in time");
    CallErrorKind::ClusterUnreachable { node, address, command, reason }.into()
}

fn store_failed(link: &Link, name: &str, error: StoreError) -> CallError {
    let (node, address) = (link.node, Address::cluster_agent(link.node));
    let command = format!("cluster name `{name}`");
    CallErrorKind::ClusterUnreachable { node, address, command, reason: error.to_string() }.into()
}

impl<S: 'static> Ctx<S> {
    /// The address of the cluster-wide name `name`, starting one instance of the kind `name`
    /// on this node if none is bound anywhere in the cluster: exactly one start however many
    /// nodes race (G2, K6); a binding whose node died is released and started afresh (G9).
    ///
    /// ```
    /// use skygroup::cluster::{ClusterConfig, Loopback};
    /// use skygroup::{Runtime, ServiceKind};
    ///
    /// let net = Loopback::new("docs-names");
    /// let nodes: Vec<Runtime> = (0..2).map(|_| Runtime::threaded(1)).collect();
    /// for (i, rt) in nodes.iter().enumerate() {
    ///     rt.join_cluster(ClusterConfig::new(format!("n{i}")), net.transport()).unwrap();
    ///     rt.define(ServiceKind::stateless("login-center")).unwrap();
    /// }
    /// let first = nodes[0].block_on(|ctx| async move { ctx.cluster_query("login-center").await.unwrap() });
    /// let again = nodes[1].block_on(|ctx| async move { ctx.cluster_query("login-center").await.unwrap() });
    /// assert_eq!(first, again); // one instance in the whole cluster, on the node that first used it
    /// ```
    pub fn cluster_query(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Address, CallError>> + Send + 'static + use<S> {
        let ctx: Ctx = Ctx::new(self.cell.clone());
        let name = name.to_owned();
        async move { resolve(&ctx, &name).await }
    }

    /// Calls `command` on the cluster-wide name `name` (resolved as
    /// [`cluster_query`](Self::cluster_query) does). A call that found no service at the cached
    /// address is resolved again and retried once.
    pub fn cluster_call(&self, name: &str, command: impl Into<CommandName>, args: impl Into<Value>) -> Call {
        let ctx: Ctx = Ctx::new(self.cell.clone());
        let (name, command, args) = (name.to_owned(), command.into(), args.into());
        let behind_sends = wait_for_sends(&ctx, &name);
        Call::boxed(async move {
            if let Some(sends_out) = behind_sends {
                let _ = sends_out.await;
            }
            let address = resolve(&ctx, &name).await?;
            let first = ctx.call(address, command.clone(), args.clone()).await;
            match first {
                Err(e) if stale(&e) => {
                    forget(&ctx, &name, address);
                    if !matches!(e.kind(), CallErrorKind::UnknownAddress { .. }) {
                        return Err(e);
                    }
                    let address = resolve(&ctx, &name).await?;
                    ctx.call(address, command, args).await
                }
                other => other,
            }
        })
    }

    /// Sends `command` to the cluster-wide name `name` without waiting; never fails here. Sends
    /// of one service to one name keep their order (G6); one that cannot be delivered is a
    /// dead letter (G7).
    pub fn cluster_send(&self, name: &str, command: impl Into<CommandName>, args: impl Into<Value>) {
        let (command, args) = (command.into(), args.into());
        let Some(link) = link_of(self.runtime()) else {
            self.runtime().dead_letter(self.address(), Address::from_raw(0), &command);
            return;
        };
        let key = (self.address(), name.to_owned());
        {
            let mut waiting = lock(&link.names.waiting);
            if let Some(queue) = waiting.get_mut(&key) {
                queue.sends.push_back((command, args));
                return;
            }
            if let Some(&address) = lock(&link.names.resolved).get(name) {
                drop(waiting);
                return self.send(address, command, args);
            }
            waiting.insert(key.clone(), Waiting { sends: VecDeque::from([(command, args)]), calls: Vec::new() });
        }
        let ctx: Ctx = Ctx::new(self.cell.clone());
        self.fork(async move {
            let guard = SendsWaiting { link: link.clone(), key: Some(key), ctx: ctx.clone() };
            let resolved = resolve(&ctx, &guard.key.as_ref().expect("set").1).await;
            guard.release(resolved.ok());
        });
    }
}

/// Sends queued behind a cluster name being resolved: sent in order once it resolves, dead
/// letters if it fails or the sender exits first (G7).
struct SendsWaiting {
    link: Arc<Link>,
    key: Option<(Address, String)>,
    ctx: Ctx,
}

impl SendsWaiting {
    fn release(mut self, address: Option<Address>) {
        let Some(key) = self.key.take() else { return };
        let waiting = lock(&self.link.names.waiting).remove(&key).unwrap_or_default();
        for (command, args) in waiting.sends {
            match address {
                Some(address) => self.ctx.send(address, command, args),
                None => self.ctx.runtime().dead_letter(key.0, Address::from_raw(0), &command),
            }
        }
        for call in waiting.calls {
            let _ = call.send(());
        }
    }
}

impl Drop for SendsWaiting {
    fn drop(&mut self) {
        if self.key.is_some() {
            let me = SendsWaiting { link: self.link.clone(), key: self.key.take(), ctx: self.ctx.clone() };
            me.release(None);
        }
    }
}

/// For a call by `name` from `ctx`'s service: what resolves once the sends it issued to that
/// name before are out, if some still wait for the name.
fn wait_for_sends(ctx: &Ctx, name: &str) -> Option<futures::channel::oneshot::Receiver<()>> {
    let link = link_of(ctx.runtime())?;
    let mut waiting = lock(&link.names.waiting);
    let entry = waiting.get_mut(&(ctx.address(), name.to_owned()))?;
    let (tx, rx) = futures::channel::oneshot::channel();
    entry.calls.push(tx);
    Some(rx)
}

/// Whether a call's failure says the cached address is no good any more.
fn stale(e: &CallError) -> bool {
    matches!(e.kind(), CallErrorKind::NodeDown { .. } | CallErrorKind::UnknownAddress { .. })
}

fn forget(ctx: &Ctx, name: &str, address: Address) {
    if let Some(link) = link_of(ctx.runtime()) {
        let mut resolved = lock(&link.names.resolved);
        if resolved.get(name) == Some(&address) {
            resolved.remove(name);
        }
    }
}

/// The lazy start of the module docs.
async fn resolve(ctx: &Ctx, name: &str) -> Result<Address, CallError> {
    let Some(link) = link_of(ctx.runtime()) else { return Err(not_clustered(ctx.address(), name)) };
    let cached = lock(&link.names.resolved).get(name).copied();
    if let Some(address) = cached.filter(|a| !link.is_down(a.node())) {
        return Ok(address);
    }
    let store = link.transport.store();
    let (started, mut backoff) = (ctx.now(), Duration::from_millis(1));
    loop {
        let entry = store.get(Bucket::Bindings, name).await.map_err(|e| store_failed(&link, name, e))?;
        let found = entry.as_ref().map(|e| (Binding::decode(&e.value), e.revision));
        match found {
            None => {
                if link.fenced() {
                    return Err(fenced(&link, name));
                }
                let starting = Binding::Starting { node: link.node }.encode();
                match store.create(Bucket::Bindings, name, starting).await {
                    Ok(revision) => return start_here(ctx, &link, name, revision).await,
                    Err(StoreError::Exists { .. }) => continue,
                    Err(e) => return Err(store_failed(&link, name, e)),
                }
            }
            Some((binding, revision)) => {
                let alive = match binding {
                    Some(binding) => owner_alive(&link, binding.node()).await?,
                    None => false, // unreadable: treat as stale
                };
                if !alive {
                    tracing::info!(event = "cluster_name_released", node = %link.node, name, "{} releases `{name}`: its owner is gone", link.node);
                    let _ = store.delete(Bucket::Bindings, name, Some(revision)).await;
                    continue;
                }
                if let Some(Binding::Bound { address, .. }) = binding {
                    lock(&link.names.resolved).insert(name.to_owned(), address);
                    return Ok(address);
                }
            }
        }
        // Being started on a live node: look again a little later, within the call timeout.
        if ctx.now().saturating_sub(started) >= link.call_timeout {
            let (node, after) = (found.and_then(|(b, _)| b).map_or(link.node, Binding::node), link.call_timeout);
            let command = format!("start of cluster name `{name}`");
            return Err(
                CallErrorKind::RemoteTimeout { node, address: Address::cluster_agent(node), command, after }.into()
            );
        }
        ctx.sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Whether `node` is alive: not known down, and its liveness key is there.
async fn owner_alive(link: &Link, node: NodeId) -> Result<bool, CallError> {
    if link.is_down(node) {
        return Ok(false);
    }
    if node == link.node {
        return Ok(true);
    }
    let store = link.transport.store();
    let entry = store.get(Bucket::Liveness, &node_key(node)).await.map_err(|e| store_failed(link, "liveness", e))?;
    Ok(entry.is_some())
}

/// This node won the binding of `name` (revision `revision`, "starting"): starts it here, binds
/// it, and has the agent release the binding when the instance exits.
async fn start_here(ctx: &Ctx, link: &Arc<Link>, name: &str, revision: u64) -> Result<Address, CallError> {
    let store = link.transport.store();
    let (instance, init) = ctx.start(name, Args::none(), SpawnOptions::default());
    let started = match instance {
        Ok(instance) => {
            // Owned from its spawn, not from its binding: fencing must kill it even if this
            // start never completes (its starter died on the way), and the agent releases its
            // binding when it exits, whatever state the start reached.
            lock(&link.names.owned).insert(name.to_owned(), instance);
            let agent = Address::cluster_agent(link.node);
            ctx.send(agent, "_bound", Value::List(vec![name.into(), instance.into(), Value::Int(revision as i64)]));
            init.await.map(|_| instance)
        }
        Err(e) => {
            drop(init);
            Err(e)
        }
    };
    let instance = match started {
        Ok(instance) => instance,
        Err(e) => {
            let _ = store.delete(Bucket::Bindings, name, Some(revision)).await;
            return Err(e);
        }
    };
    // The start has finished only if the instance still lives when it is bound (G3): one that
    // exited since its init returned fails the start, and the name stays unbound. Checked right
    // before the write is issued; an exit after it is an ordinary exit, which the agent's watch
    // of the binding releases (G9).
    if link.fenced() {
        ctx.kill(instance);
        let _ = store.delete(Bucket::Bindings, name, Some(revision)).await;
        return Err(fenced(link, name));
    }
    if !ctx.runtime().lookup(instance).is_some_and(|cell| cell.alive()) {
        let _ = store.delete(Bucket::Bindings, name, Some(revision)).await;
        let command = "init".to_owned();
        return Err(CallErrorKind::Exited { service: name.to_owned(), address: instance, command }.into());
    }
    let bound = Binding::Bound { node: link.node, address: instance }.encode();
    if let Err(e) = store.update(Bucket::Bindings, name, bound, revision).await {
        // Someone released our "starting" (took us for dead), or the answer was lost: this
        // instance is not the binding; stop it (the agent's watch releases the binding if it
        // names it after all) and use theirs.
        ctx.kill(instance);
        tracing::warn!(event = "cluster_name_lost", node = %link.node, name, "{} lost the binding of `{name}` while starting it: {e}", link.node);
        return Box::pin(resolve(ctx, name)).await;
    }
    // Fenced while the binding was on its way: this node may not own it (K9). The others take
    // it over once this node's liveness key has expired, after the instance is gone.
    if link.fenced() {
        ctx.kill(instance);
        return Err(fenced(link, name));
    }
    lock(&link.names.resolved).insert(name.to_owned(), instance);
    Ok(instance)
}

/// Deletes every binding this node owns (it is leaving).
pub(crate) async fn release_owned(link: &Link) -> Result<(), StoreError> {
    let store = link.transport.store();
    for name in store.keys(Bucket::Bindings).await? {
        let Some(entry) = store.get(Bucket::Bindings, &name).await? else { continue };
        if Binding::decode(&entry.value).is_some_and(|b| b.node() == link.node) {
            let _ = store.delete(Bucket::Bindings, &name, Some(entry.revision)).await;
        }
    }
    lock(&link.names.resolved).clear();
    Ok(())
}

/// The agent's commands for cluster names: `_bound [name, instance, revision]` watches an
/// instance this node spawned for `name` (its start's "starting" binding has `revision`) and,
/// when it exits, deletes the binding if it still names it: bound to it, or still the
/// "starting" of its start (compare-and-set on the revision read, so only that binding goes).
pub(crate) fn agent_commands(kind: ServiceKind<Agent>) -> ServiceKind<Agent> {
    kind.system_command("_bound", watch_binding)
}

async fn watch_binding(ctx: Ctx<Agent>, args: Value, responder: Responder) {
    drop(responder);
    let Value::List(items) = args else { return };
    let (Some(Value::Str(name)), Some(Value::Address(instance)), Some(Value::Int(revision))) =
        (items.first(), items.get(1), items.get(2))
    else {
        return;
    };
    let (name, instance, revision) = (name.clone(), *instance, *revision as u64);
    let link = ctx.with_state(|agent| agent.link.clone());
    let gone = ctx.monitor(instance);
    ctx.fork(async move {
        gone.await;
        for names in [&link.names.resolved, &link.names.owned] {
            let mut names = lock(names);
            if names.get(&name) == Some(&instance) {
                names.remove(&name);
            }
        }
        let store = link.transport.store();
        let Ok(Some(entry)) = store.get(Bucket::Bindings, &name).await else { return };
        let names_it = match Binding::decode(&entry.value) {
            Some(Binding::Bound { address, .. }) => address == instance,
            Some(Binding::Starting { node }) => node == link.node && entry.revision == revision,
            None => false,
        };
        if !names_it {
            return;
        }
        if let Err(e) = store.delete(Bucket::Bindings, &name, Some(entry.revision)).await {
            tracing::debug!(event = "cluster_name_kept", name, "binding of `{name}` not released: {e}");
        }
    });
}
