//! [`NatsTransport`]: one node's connection to its cluster's NATS server.
//!
//! It owns a private tokio runtime (one worker thread) that runs the async-nats client, the
//! ordered publish queue's draining task (see `publish.rs`), the subscription handing frames to
//! the node's [`Inbox`], and the store's operations. Everything the node calls is synchronous and
//! non-blocking except [`NatsTransport::connect`] and [`Transport::attach`] / [`Transport::detach`],
//! which wait a bounded time; they wait on a plain channel, not on tokio's `block_on`, so they
//! may be called from any thread, a tokio one included, except the transport's own runtime
//! thread: the cluster layer runs there the service turns a frame starts while the node's
//! workers sleep (`Executor::help`: no wake-up of a parked worker per frame), so a detach from
//! such a turn does not wait for the flush that only this thread can do.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::{ConnectOptions, Event, RequestErrorKind};
use bytes::Bytes;
use futures::StreamExt;
use skygroup::cluster::{Inbox, NodeId, Store, Transport, TransportError};
use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

use crate::options::valid_cluster_name;
use crate::publish::{self, Drained, Queue};
use crate::store::NatsStore;
use crate::{NatsError, NatsOptions};

/// Where connection events find the node's inbox (absent before `attach` and after `detach`).
type InboxSlot = Arc<Mutex<Option<Arc<dyn Inbox>>>>;

thread_local! {
    /// On a transport's runtime thread: that transport's number ([`TRANSPORTS`]), so that it
    /// never waits on its own thread for what only that thread can do.
    static OWN_THREAD: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Numbers transports (per process; only compared with [`OWN_THREAD`], never observable).
static TRANSPORTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A node's transport and store over NATS (see the crate docs). Hand it to
/// `Runtime::join_cluster`.
pub struct NatsTransport {
    cluster: String,
    client: async_nats::Client,
    queue: Queue,
    drained: Arc<Drained>,
    store: NatsStore,
    inbox: InboxSlot,
    /// This transport's number, which its runtime thread carries in [`OWN_THREAD`].
    number: u64,
    subscriber: Mutex<Option<JoinHandle<()>>>,
    /// `Some` until drop; dropped with `shutdown_background` so dropping never blocks.
    runtime: Option<Runtime>,
    handle: Handle,
}

impl std::fmt::Debug for NatsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsTransport")
            .field("cluster", &self.cluster)
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

/// Runs `fut` on `handle` and waits for it on this thread, at most `timeout`.
fn wait_on<T: Send + 'static>(
    handle: &Handle,
    timeout: Duration,
    fut: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    let (answer, wait) = std::sync::mpsc::channel();
    handle.spawn(async move {
        let _ = answer.send(fut.await);
    });
    wait.recv_timeout(timeout).ok()
}

/// Tells the attached inbox (if any) that the connection went down or came back.
fn connection_event(inbox: &InboxSlot, connected: &AtomicBool, cluster: &str, event: Event) {
    let up = match event {
        Event::Connected => true,
        Event::Disconnected => false,
        Event::SlowConsumer(sid) => {
            tracing::warn!(cluster, sid, "NATS slow consumer: frames to this node were dropped");
            return;
        }
        other => {
            tracing::debug!(cluster, event = %other, "NATS connection event");
            return;
        }
    };
    let was = connected.swap(up, Ordering::AcqRel);
    tracing::info!(cluster, up, "NATS connection {}", if up { "up" } else { "down" });
    let inbox = inbox.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if let Some(inbox) = inbox.filter(|_| was != up) {
        inbox.connection(up);
    }
}

impl NatsTransport {
    /// Connects to the NATS server at `url` (e.g. `nats://127.0.0.1:4222`) for cluster `cluster`,
    /// creating the cluster's key-value buckets if this is its first node. Blocks at most the
    /// connect timeout plus the store timeout.
    pub fn connect(url: &str, cluster: &str, options: NatsOptions) -> Result<NatsTransport, NatsError> {
        if !valid_cluster_name(cluster) {
            return Err(NatsError::InvalidClusterName(cluster.to_owned()));
        }
        let number = TRANSPORTS.fetch_add(1, Ordering::Relaxed);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("skygroup-nats-{cluster}"))
            .on_thread_start(move || OWN_THREAD.set(number))
            .enable_all()
            .build()
            .map_err(|err| NatsError::Runtime(err.to_string()))?;
        let handle = runtime.handle().clone();
        let inbox: InboxSlot = Arc::new(Mutex::new(None));
        let connected = Arc::new(AtomicBool::new(false));
        let connect_error =
            |reason: String| NatsError::Connect { url: url.to_owned(), cluster: cluster.to_owned(), reason };

        let connect_options = Self::connect_options(&options, cluster, &inbox, &connected);
        let target = url.to_owned();
        let client = wait_on(&handle, options.connect_timeout + Duration::from_secs(1), async move {
            connect_options.connect(target).await
        })
        .ok_or_else(|| connect_error(format!("no answer within {:?}", options.connect_timeout)))?
        .map_err(|err| connect_error(err.to_string()))?;
        connected.store(true, Ordering::Release);

        let (name, ttl, timeout) = (cluster.to_owned(), options.liveness_ttl, options.store_timeout);
        let js_client = client.clone();
        let store = wait_on(&handle, options.store_timeout * 4, async move {
            // The context spawns its acker task: it must be made on the runtime.
            let js = async_nats::jetstream::new(js_client);
            NatsStore::open(js, &name, ttl, timeout).await
        })
        .ok_or_else(|| NatsError::Bucket {
            cluster: cluster.to_owned(),
            bucket: "*".to_owned(),
            reason: format!("no answer within {:?}", options.store_timeout * 4),
        })??;

        let drained = Arc::new(Drained::default());
        let (queue, receiver) = Queue::new(client.clone(), cluster, options.publish_buffer, connected, drained.clone());
        handle.spawn(publish::drain(client.clone(), cluster.to_owned(), receiver, drained.clone()));
        Ok(NatsTransport {
            cluster: cluster.to_owned(),
            client,
            queue,
            drained,
            store,
            inbox,
            number,
            subscriber: Mutex::new(None),
            runtime: Some(runtime),
            handle,
        })
    }

    fn connect_options(
        options: &NatsOptions,
        cluster: &str,
        inbox: &InboxSlot,
        connected: &Arc<AtomicBool>,
    ) -> ConnectOptions {
        let (inbox, connected, cluster) = (inbox.clone(), connected.clone(), cluster.to_owned());
        let delay_max = options.reconnect_delay_max;
        ConnectOptions::new()
            .name(format!("skygroup-{cluster}"))
            .connection_timeout(options.connect_timeout)
            .request_timeout(Some(options.store_timeout))
            .reconnect_delay_callback(move |attempts| {
                let exponent = u32::try_from(attempts).unwrap_or(u32::MAX).min(20);
                Duration::from_millis(1u64 << exponent).min(delay_max)
            })
            .event_callback(move |event| {
                connection_event(&inbox, &connected, &cluster, event);
                async {}
            })
    }

    /// The cluster's name (the subject prefix and the buckets' suffix).
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// Whether the connection to the server is up now.
    pub fn is_connected(&self) -> bool {
        self.queue.connected.load(Ordering::Acquire)
    }

    /// Frames handed to the server so far, and frames whose publish failed (lost).
    pub fn published(&self) -> (u64, u64) {
        (self.drained.published.load(Ordering::Relaxed), self.drained.failed.load(Ordering::Relaxed))
    }

    /// The async-nats client under this transport (benchmarks compare against it).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// Waits (at most `timeout`) until every frame published so far has been handed to the
    /// server. False if that did not happen in time, or at once if called on the transport's own
    /// thread (a service's turn that the node's frames started runs there, see
    /// `Executor::help`): that thread is the one that hands them over, so it cannot wait.
    pub fn flush(&self, timeout: Duration) -> bool {
        if OWN_THREAD.get() == self.number {
            return false;
        }
        match self.queue.flush_marker(timeout) {
            Some(done) => done.recv_timeout(timeout).is_ok(),
            None => false,
        }
    }
}

impl Transport for NatsTransport {
    fn attach(&self, node: NodeId, inbox: Arc<dyn Inbox>) -> Result<(), TransportError> {
        let mut subscriber = self.subscriber.lock().unwrap_or_else(PoisonError::into_inner);
        if subscriber.is_some() {
            return Err(TransportError::Unreachable(format!(
                "cluster `{}`: this transport is already attached",
                self.cluster
            )));
        }
        *self.inbox.lock().unwrap_or_else(PoisonError::into_inner) = Some(inbox.clone());
        let subject = publish::node_subject(&self.cluster, node);
        let client = self.client.clone();
        let subscribed = wait_on(&self.handle, Duration::from_secs(5), {
            let subject = subject.clone();
            async move {
                let subscription = client.subscribe(subject).await?;
                // async-nats' `flush` only writes the socket out; a frame another node publishes
                // right after could still reach the server before it has read the subscription
                // (and be dropped there: no subscriber yet). A request is a round trip through
                // the server, which handles one connection's operations in order: once its
                // answer (here "no responders") is back, the subscription is in place.
                match client.request(format!("_skygroup.attach.{node}"), Bytes::new()).await {
                    Ok(_) => {}
                    Err(err) if err.kind() == RequestErrorKind::NoResponders => {}
                    Err(err) => return Err(err.into()),
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(subscription)
            }
        });
        let mut subscription = match subscribed {
            Some(Ok(subscription)) => subscription,
            Some(Err(err)) => {
                return Err(TransportError::Unreachable(format!(
                    "cluster `{}`: cannot subscribe to {subject} for {node}: {err}",
                    self.cluster
                )));
            }
            None => {
                return Err(TransportError::Unreachable(format!(
                    "cluster `{}`: subscribing to {subject} for {node} took over 5 s",
                    self.cluster
                )));
            }
        };
        *subscriber = Some(self.handle.spawn(async move {
            while let Some(message) = subscription.next().await {
                inbox.frame(message.payload);
            }
        }));
        Ok(())
    }

    fn publish(&self, to: NodeId, frame: Bytes) -> Result<(), TransportError> {
        self.queue.push(to, frame)
    }

    fn store(&self) -> &dyn Store {
        &self.store
    }

    fn detach(&self) {
        self.queue.close();
        if let Some(task) = self.subscriber.lock().unwrap_or_else(PoisonError::into_inner).take() {
            task.abort();
        }
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner).take();
        if OWN_THREAD.get() == self.number {
            // A turn on this transport's thread left the cluster: what it published goes out
            // once the turn is over (the client writes after every batch of commands).
            return;
        }
        if !self.flush(Duration::from_secs(2)) {
            tracing::warn!(cluster = %self.cluster, "NATS transport detached before its frames were flushed");
        }
    }
}

impl Drop for NatsTransport {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
