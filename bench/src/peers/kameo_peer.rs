//! kameo, as its docs use it: an `Actor` per service, a message type per request with
//! `impl Message<M>`, `ask` for request/response, `tell` for one-way, `spawn` to start and
//! `wait_for_startup`, `kill` + `wait_for_shutdown` to stop, and the local registry
//! (`register` / `ActorRef::lookup`) for names. Default features; default (bounded, 64)
//! mailboxes except the counter's, which is `mailbox::unbounded()` so that a one-way send
//! never waits, as skygroup's `send` and the tokio baseline's unbounded channel. A tokio
//! multi-thread runtime with 2 workers; the timed client is a spawned task.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use kameo::Actor;
use kameo::actor::{ActorRef, Spawn};
use kameo::error::Infallible;
use kameo::mailbox;
use kameo::message::{Context, Message};
use kameo::reply::{DelegatedReply, ReplySender};

use super::compare::Peer;
use super::memory::{self, Idle};
use super::tokio_peer::{client, runtime};

#[derive(Actor)]
pub struct Echo;

pub struct Ping(i64);

impl Message<Ping> for Echo {
    type Reply = i64;

    async fn handle(&mut self, Ping(v): Ping, _: &mut Context<Self, i64>) -> i64 {
        v
    }
}

#[derive(Actor, Default)]
pub struct Counter {
    n: u64,
}

pub struct Add;
pub struct Get;

impl Message<Add> for Counter {
    type Reply = ();

    async fn handle(&mut self, _: Add, _: &mut Context<Self, ()>) {
        self.n += 1;
    }
}

impl Message<Get> for Counter {
    type Reply = u64;

    async fn handle(&mut self, _: Get, _: &mut Context<Self, u64>) -> u64 {
        self.n
    }
}

/// No messages; counts its starts (the storm checks there is exactly one).
pub struct Noop;

impl Actor for Noop {
    type Args = Option<Arc<AtomicU64>>;
    type Error = Infallible;

    async fn on_start(starts: Self::Args, _: ActorRef<Self>) -> Result<Self, Infallible> {
        if let Some(starts) = starts {
            starts.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Noop)
    }
}

async fn ping_pong(echo: &ActorRef<Echo>, n: u64) {
    for i in 0..n as i64 {
        assert_eq!(echo.ask(Ping(i)).await.expect("echo answers"), i);
    }
}

/// Workload 1.
pub fn calls(n: u64) -> Vec<Duration> {
    vec![client(async move {
        let echo = Echo::spawn(Echo);
        echo.wait_for_startup().await;
        let start = Instant::now();
        ping_pong(&echo, n).await;
        start.elapsed()
    })]
}

async fn counter() -> ActorRef<Counter> {
    let counter = Counter::spawn_with_mailbox(Counter::default(), mailbox::unbounded());
    counter.wait_for_startup().await;
    counter
}

/// Workload 2: `n` tells, then an `ask` (ordered after them).
pub fn sends(n: u64) -> Vec<Duration> {
    vec![client(async move {
        let counter = counter().await;
        let start = Instant::now();
        for _ in 0..n {
            counter.tell(Add).await.expect("counter alive");
        }
        assert_eq!(counter.ask(Get).await.expect("counter answers"), n);
        start.elapsed()
    })]
}

/// Workload 3: `producers` tasks tell `each` messages each.
pub fn fan_in(producers: u64, each: u64) -> Vec<Duration> {
    vec![client(async move {
        let counter = counter().await;
        let start = Instant::now();
        let tasks: Vec<_> = (0..producers)
            .map(|_| {
                let counter = counter.clone();
                tokio::spawn(async move {
                    for _ in 0..each {
                        counter.tell(Add).await.expect("counter alive");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("producer");
        }
        assert_eq!(counter.ask(Get).await.expect("counter answers"), producers * each);
        start.elapsed()
    })]
}

/// Workload 4: spawn `n`, wait for each startup, kill each, wait for each shutdown.
pub fn spawn_stop(n: u64) -> Vec<Duration> {
    vec![client(async move {
        let start = Instant::now();
        let actors: Vec<ActorRef<Noop>> = (0..n).map(|_| Noop::spawn(None)).collect();
        for actor in &actors {
            actor.wait_for_startup().await;
        }
        for actor in &actors {
            actor.kill();
        }
        for actor in &actors {
            actor.wait_for_shutdown().await;
        }
        start.elapsed()
    })]
}

/// The storm's registry actor: starts the service on the first lookup, parks lookups until
/// the service has started, answers later ones at once.
pub struct Registry {
    service: Option<ActorRef<Noop>>,
    waiters: Vec<ReplySender<ActorRef<Noop>>>,
    starts: Arc<AtomicU64>,
}

impl Actor for Registry {
    type Args = Arc<AtomicU64>;
    type Error = Infallible;

    async fn on_start(starts: Arc<AtomicU64>, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(Registry { service: None, waiters: Vec::new(), starts })
    }
}

pub struct Lookup;
pub struct Started(ActorRef<Noop>);

impl Message<Lookup> for Registry {
    type Reply = DelegatedReply<ActorRef<Noop>>;

    async fn handle(&mut self, _: Lookup, ctx: &mut Context<Self, Self::Reply>) -> Self::Reply {
        if let Some(service) = &self.service {
            return ctx.reply(service.clone());
        }
        let (delegated, sender) = ctx.reply_sender();
        if self.waiters.is_empty() {
            let service = Noop::spawn(Some(self.starts.clone()));
            ctx.pipe(async move {
                service.wait_for_startup().await;
                Started(service)
            });
        }
        self.waiters.extend(sender);
        delegated
    }
}

impl Message<Started> for Registry {
    type Reply = ();

    async fn handle(&mut self, Started(service): Started, _: &mut Context<Self, ()>) {
        for waiter in self.waiters.drain(..) {
            waiter.send(service.clone());
        }
        self.service = Some(service);
    }
}

async fn requesters(registry: &ActorRef<Registry>, n: u64) -> Duration {
    let start = Instant::now();
    let answers = join_all((0..n).map(|_| registry.ask(Lookup).send())).await;
    let elapsed = start.elapsed();
    let answers: Vec<ActorRef<Noop>> = answers.into_iter().map(|a| a.expect("registry answers")).collect();
    assert!(answers.iter().all(|a| a.id() == answers[0].id()), "two requesters got different services");
    elapsed
}

/// Workload 5: storm, then harness, against one registry actor.
pub fn storm(n: u64) -> Vec<Duration> {
    runtime().block_on(async move {
        tokio::spawn(async move {
            let starts = Arc::new(AtomicU64::new(0));
            let registry = Registry::spawn(starts.clone());
            registry.wait_for_startup().await;
            let storm = requesters(&registry, n).await;
            let harness = requesters(&registry, n).await;
            assert_eq!(starts.load(Ordering::Relaxed), 1, "the service must start exactly once");
            vec![storm, harness]
        })
        .await
        .expect("client task")
    })
}

/// Registry names are process-wide: each run uses a fresh one.
fn fresh_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("echo-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Workload 6's peer: each call looks the echo up by name (`ActorRef::lookup`), then asks it;
/// and the same number of asks on its `ActorRef`.
pub fn by_name_calls(run: usize, n: u64) -> Vec<Duration> {
    runtime().block_on(async move {
        tokio::spawn(async move {
            let name = fresh_name();
            let echo = Echo::spawn(Echo);
            echo.wait_for_startup().await;
            echo.register(name.clone()).expect("a fresh name");
            let by_name = async {
                let start = Instant::now();
                for i in 0..n as i64 {
                    let echo = ActorRef::<Echo>::lookup(name.as_str()).expect("lookup").expect("registered");
                    assert_eq!(echo.ask(Ping(i)).await.expect("echo answers"), i);
                }
                start.elapsed()
            };
            let by_ref = async {
                let start = Instant::now();
                ping_pong(&echo, n).await;
                start.elapsed()
            };
            let out = if run.is_multiple_of(2) {
                let g = by_name.await;
                vec![g, by_ref.await]
            } else {
                let a = by_ref.await;
                vec![by_name.await, a]
            };
            echo.kill();
            out
        })
        .await
        .expect("client task")
    })
}

/// `n` idle actors (`spawn`, default mailbox), each waited for until started.
pub fn idle(n: u64) -> Idle {
    let rt = runtime();
    memory::grow(Peer::Kameo, "`spawn`, default mailbox", n, move || {
        let actors = rt.block_on(async move {
            let actors: Vec<ActorRef<Noop>> = (0..n).map(|_| Noop::spawn(None)).collect();
            for actor in &actors {
                actor.wait_for_startup().await;
            }
            actors
        });
        (actors, rt)
    })
}
