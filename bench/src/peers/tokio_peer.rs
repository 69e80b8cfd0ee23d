//! The tokio baseline's storm and idle services (workloads 1-4 are `tokio_side`'s), and the
//! runtime every tokio-based peer (ractor, kameo) runs on: multi-thread, 2 workers.
//!
//! The storm's registry is a task owning the name's state: the first lookup spawns the
//! service task, which reports `Started`; lookups arriving meanwhile are parked (their
//! oneshot senders kept) and all answered on `Started`; later ones are answered at once.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use tokio::sync::{mpsc, oneshot};

use super::compare::Peer;
use super::memory::{self, Idle};
use crate::skygroup_side::workers;

/// A multi-thread tokio runtime with the same worker count as skygroup's.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(workers()).enable_all().build().expect("tokio runtime")
}

/// Runs the timed client `f` as a task on a fresh runtime's workers; returns what it timed.
pub fn client<F: Future<Output = Duration> + Send + 'static>(f: F) -> Duration {
    runtime().block_on(async move { tokio::spawn(f).await.expect("client task") })
}

/// A service: a task draining its channel.
type Service = mpsc::Sender<()>;

enum Lookup {
    Find(oneshot::Sender<Service>),
    Started(Service),
}

/// The registry task of one name.
async fn registry(
    mut inbox: mpsc::UnboundedReceiver<Lookup>,
    me: mpsc::UnboundedSender<Lookup>,
    starts: Arc<AtomicU64>,
) {
    let mut service: Option<Service> = None;
    let mut waiters = Vec::new();
    while let Some(message) = inbox.recv().await {
        match message {
            Lookup::Find(reply) => match &service {
                Some(s) => {
                    let _ = reply.send(s.clone());
                }
                None => {
                    if waiters.is_empty() {
                        start_service(me.clone(), starts.clone());
                    }
                    waiters.push(reply);
                }
            },
            Lookup::Started(s) => {
                for waiter in waiters.drain(..) {
                    let _ = waiter.send(s.clone());
                }
                service = Some(s);
            }
        }
    }
}

fn start_service(registry: mpsc::UnboundedSender<Lookup>, starts: Arc<AtomicU64>) {
    let (tx, mut rx) = mpsc::channel(64);
    tokio::spawn(async move {
        starts.fetch_add(1, Ordering::Relaxed);
        let _ = registry.send(Lookup::Started(tx));
        while rx.recv().await.is_some() {}
    });
}

async fn requesters(registry: &mpsc::UnboundedSender<Lookup>, n: u64) -> Duration {
    let start = Instant::now();
    let answers = join_all((0..n).map(|_| async {
        let (tx, rx) = oneshot::channel();
        registry.send(Lookup::Find(tx)).expect("registry alive");
        rx.await.expect("registry answers")
    }))
    .await;
    let elapsed = start.elapsed();
    assert!(answers.iter().all(|s| s.same_channel(&answers[0])), "two requesters got different services");
    elapsed
}

/// Workload 5: storm, then harness, against one registry task.
pub fn storm(n: u64) -> Vec<Duration> {
    let rt = runtime();
    rt.block_on(async move {
        tokio::spawn(async move {
            let starts = Arc::new(AtomicU64::new(0));
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(registry(rx, tx.clone(), starts.clone()));
            let storm = requesters(&tx, n).await;
            let harness = requesters(&tx, n).await;
            assert_eq!(starts.load(Ordering::Relaxed), 1, "the service must start exactly once");
            vec![storm, harness]
        })
        .await
        .expect("client task")
    })
}

/// `n` idle services: each a task waiting on its bounded channel.
pub fn idle(n: u64) -> Idle {
    let rt = runtime();
    memory::grow(Peer::Tokio, "task + `mpsc::channel(64)`", n, move || {
        let senders: Vec<Service> = rt.block_on(async move {
            let senders: Vec<Service> = (0..n)
                .map(|_| {
                    let (tx, mut rx) = mpsc::channel::<()>(64);
                    tokio::spawn(async move { while rx.recv().await.is_some() {} });
                    tx
                })
                .collect();
            // Let the tasks run to their first wait.
            tokio::time::sleep(Duration::from_millis(10)).await;
            senders
        });
        (senders, rt)
    })
}
