//! actix, as its docs use it: an `Actor` with `Context<Self>`, `#[derive(Message)]` request
//! types with `Handler` impls, `Addr::send` for request/response, `do_send` for one-way,
//! `start()` to start, a `Stop` message calling `ctx.stop()` to stop, and `Response::fut` to
//! answer later. actix runs its actors on **one thread**: each run builds a `System` and
//! `block_on`s the timed client on it (its default; a multi-thread set-up would need an
//! `Arbiter` per thread and actors pinned to them, not what its docs start from). Mailboxes
//! have their default capacity (16; `do_send` ignores it, `send` waits for room).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures::future::join_all;
use tokio::sync::oneshot;

use super::compare::Peer;
use super::memory::{self, Idle};

/// Runs the timed client on a fresh `System`, on this thread.
fn system<F: Future<Output = Duration>>(client: impl FnOnce() -> F) -> Duration {
    System::new().block_on(client())
}

pub struct Echo;

impl Actor for Echo {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "i64")]
pub struct Ping(i64);

impl Handler<Ping> for Echo {
    type Result = i64;

    fn handle(&mut self, Ping(v): Ping, _: &mut Context<Self>) -> i64 {
        v
    }
}

/// Workload 1.
pub fn calls(n: u64) -> Vec<Duration> {
    vec![system(|| async move {
        let echo = Echo.start();
        let start = Instant::now();
        for i in 0..n as i64 {
            assert_eq!(echo.send(Ping(i)).await.expect("echo answers"), i);
        }
        start.elapsed()
    })]
}

#[derive(Default)]
pub struct Counter {
    n: u64,
}

impl Actor for Counter {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Add;

#[derive(Message)]
#[rtype(result = "u64")]
pub struct Get;

impl Handler<Add> for Counter {
    type Result = ();

    fn handle(&mut self, _: Add, _: &mut Context<Self>) {
        self.n += 1;
    }
}

impl Handler<Get> for Counter {
    type Result = u64;

    fn handle(&mut self, _: Get, _: &mut Context<Self>) -> u64 {
        self.n
    }
}

/// Workload 2: `n` `do_send`, then a `send` (ordered after them).
pub fn sends(n: u64) -> Vec<Duration> {
    vec![system(|| async move {
        let counter = Counter::default().start();
        let start = Instant::now();
        for _ in 0..n {
            counter.do_send(Add);
        }
        assert_eq!(counter.send(Get).await.expect("counter answers"), n);
        start.elapsed()
    })]
}

/// Workload 3: `producers` tasks (`actix::spawn`, same thread) `do_send` `each` messages each.
pub fn fan_in(producers: u64, each: u64) -> Vec<Duration> {
    vec![system(|| async move {
        let counter = Counter::default().start();
        let start = Instant::now();
        let tasks: Vec<_> = (0..producers)
            .map(|_| {
                let counter = counter.clone();
                actix::spawn(async move {
                    for _ in 0..each {
                        counter.do_send(Add);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("producer");
        }
        assert_eq!(counter.send(Get).await.expect("counter answers"), producers * each);
        start.elapsed()
    })]
}

/// Stops on `Stop`; says so when stopped.
pub struct Noop {
    stopped: Option<oneshot::Sender<()>>,
}

impl Actor for Noop {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.send(());
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

impl Handler<Stop> for Noop {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// Workload 4: start `n`, send each `Stop`, wait until every one has stopped.
pub fn spawn_stop(n: u64) -> Vec<Duration> {
    vec![system(|| async move {
        let start = Instant::now();
        let (actors, stopped): (Vec<Addr<Noop>>, Vec<_>) = (0..n)
            .map(|_| {
                let (tx, rx) = oneshot::channel();
                (Noop { stopped: Some(tx) }.start(), rx)
            })
            .unzip();
        for actor in &actors {
            actor.do_send(Stop);
        }
        for stop in stopped {
            stop.await.expect("noop stops");
        }
        start.elapsed()
    })]
}

/// The storm's registry actor: starts the service on the first lookup, parks lookups until
/// the service reports it has started, answers later ones at once.
pub struct Registry {
    service: Option<Addr<Service>>,
    waiters: Vec<oneshot::Sender<Addr<Service>>>,
    starts: Arc<AtomicU64>,
}

impl Actor for Registry {
    type Context = Context<Self>;
}

/// The named service; reports to the registry once started.
pub struct Service {
    registry: Addr<Registry>,
    starts: Arc<AtomicU64>,
}

impl Actor for Service {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.starts.fetch_add(1, Ordering::Relaxed);
        self.registry.do_send(Started(ctx.address()));
    }
}

#[derive(Message)]
#[rtype(result = "Addr<Service>")]
pub struct Lookup;

#[derive(Message)]
#[rtype(result = "()")]
pub struct Started(Addr<Service>);

impl Handler<Lookup> for Registry {
    type Result = Response<Addr<Service>>;

    fn handle(&mut self, _: Lookup, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(service) = &self.service {
            return Response::reply(service.clone());
        }
        if self.waiters.is_empty() {
            Service { registry: ctx.address(), starts: self.starts.clone() }.start();
        }
        let (tx, rx) = oneshot::channel();
        self.waiters.push(tx);
        Response::fut(async move { rx.await.expect("the registry answers") })
    }
}

impl Handler<Started> for Registry {
    type Result = ();

    fn handle(&mut self, Started(service): Started, _: &mut Context<Self>) {
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(service.clone());
        }
        self.service = Some(service);
    }
}

async fn requesters(registry: &Addr<Registry>, n: u64) -> Duration {
    let start = Instant::now();
    let answers = join_all((0..n).map(|_| registry.send(Lookup))).await;
    let elapsed = start.elapsed();
    let answers: Vec<Addr<Service>> = answers.into_iter().map(|a| a.expect("registry answers")).collect();
    assert!(answers.iter().all(|a| *a == answers[0]), "two requesters got different services");
    elapsed
}

/// Workload 5: storm, then harness, against one registry actor.
pub fn storm(n: u64) -> Vec<Duration> {
    let starts = Arc::new(AtomicU64::new(0));
    let counted = starts.clone();
    let (storm, harness) = System::new().block_on(async move {
        let registry = Registry { service: None, waiters: Vec::new(), starts: counted }.start();
        (requesters(&registry, n).await, requesters(&registry, n).await)
    });
    assert_eq!(starts.load(Ordering::Relaxed), 1, "the service must start exactly once");
    vec![storm, harness]
}

/// Keeps the actix thread (and its idle actors) alive until dropped.
struct Held {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `n` idle echo actors (`start()`, each sent one message so it has run), on a `System` thread.
pub fn idle(n: u64) -> Idle {
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let (go, go_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done) = std::sync::mpsc::channel();
    let (stop, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let system = System::new();
        ready_tx.send(()).expect("main waits");
        go_rx.recv().expect("main says go");
        system.block_on(async move {
            let actors: Vec<Addr<Echo>> = (0..n).map(|_| Echo.start()).collect();
            for actor in &actors {
                actor.send(Ping(0)).await.expect("echo answers");
            }
            done_tx.send(()).expect("main waits");
            let _ = stop_rx.await;
        });
    });
    ready.recv().expect("the actix thread starts");
    memory::grow(Peer::Actix, "`start()`", n, move || {
        go.send(()).expect("the actix thread waits");
        done.recv().expect("the actix thread starts its actors");
        Held { stop: Some(stop), thread: Some(thread) }
    })
}
