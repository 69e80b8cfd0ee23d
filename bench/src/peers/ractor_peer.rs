//! ractor, as its docs use it: `Actor` impls with a message enum, `call!` with an
//! `RpcReplyPort` for request/response, `cast!` for one-way, `Actor::spawn` to start (it
//! returns after `pre_start`), `kill` + the join handle to stop (skygroup's `kill` also stops a
//! service between messages), and the global name registry (`ractor::registry::where_is`, a
//! name given to `Actor::spawn`) for names. Default features; a tokio multi-thread runtime
//! with 2 workers; the timed client is a spawned task.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SpawnErr, call, cast};

use super::compare::Peer;
use super::memory::{self, Idle};
use super::tokio_peer::{client, runtime};

pub enum EchoMsg {
    Echo(i64, RpcReplyPort<i64>),
}

pub struct Echo;

impl Actor for Echo {
    type Msg = EchoMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _me: ActorRef<EchoMsg>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(&self, _me: ActorRef<EchoMsg>, msg: EchoMsg, _: &mut ()) -> Result<(), ActorProcessingErr> {
        let EchoMsg::Echo(v, reply) = msg;
        let _ = reply.send(v);
        Ok(())
    }
}

pub enum CounterMsg {
    Add,
    Get(RpcReplyPort<u64>),
}

pub struct Counter;

impl Actor for Counter {
    type Msg = CounterMsg;
    type State = u64;
    type Arguments = ();

    async fn pre_start(&self, _me: ActorRef<CounterMsg>, _: ()) -> Result<u64, ActorProcessingErr> {
        Ok(0)
    }

    async fn handle(&self, _me: ActorRef<CounterMsg>, msg: CounterMsg, n: &mut u64) -> Result<(), ActorProcessingErr> {
        match msg {
            CounterMsg::Add => *n += 1,
            CounterMsg::Get(reply) => {
                let _ = reply.send(*n);
            }
        }
        Ok(())
    }
}

/// No messages of its own; counts its starts (the storm checks there is exactly one).
pub struct Noop;

impl Actor for Noop {
    type Msg = ();
    type State = ();
    type Arguments = Option<Arc<AtomicU64>>;

    async fn pre_start(&self, _me: ActorRef<()>, starts: Self::Arguments) -> Result<(), ActorProcessingErr> {
        if let Some(starts) = starts {
            starts.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

async fn spawn_echo(name: Option<String>) -> ActorRef<EchoMsg> {
    Actor::spawn(name, Echo, ()).await.expect("echo starts").0
}

async fn ping_pong(echo: &ActorRef<EchoMsg>, n: u64) {
    for i in 0..n as i64 {
        let reply = call!(echo, EchoMsg::Echo, i).expect("echo answers");
        assert_eq!(reply, i);
    }
}

/// Workload 1.
pub fn calls(n: u64) -> Vec<Duration> {
    vec![client(async move {
        let echo = spawn_echo(None).await;
        let start = Instant::now();
        ping_pong(&echo, n).await;
        start.elapsed()
    })]
}

async fn count(counter: &ActorRef<CounterMsg>) -> u64 {
    call!(counter, CounterMsg::Get).expect("counter answers")
}

/// Workload 2: `n` casts, then a `call` (ordered after them).
pub fn sends(n: u64) -> Vec<Duration> {
    vec![client(async move {
        let (counter, _) = Actor::spawn(None, Counter, ()).await.expect("counter starts");
        let start = Instant::now();
        for _ in 0..n {
            cast!(counter, CounterMsg::Add).expect("counter alive");
        }
        assert_eq!(count(&counter).await, n);
        start.elapsed()
    })]
}

/// Workload 3: `producers` tasks cast `each` messages each.
pub fn fan_in(producers: u64, each: u64) -> Vec<Duration> {
    vec![client(async move {
        let (counter, _) = Actor::spawn(None, Counter, ()).await.expect("counter starts");
        let start = Instant::now();
        let tasks: Vec<_> = (0..producers)
            .map(|_| {
                let counter = counter.clone();
                tokio::spawn(async move {
                    for _ in 0..each {
                        cast!(counter, CounterMsg::Add).expect("counter alive");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("producer");
        }
        assert_eq!(count(&counter).await, producers * each);
        start.elapsed()
    })]
}

/// Workload 4: `n` concurrent `Actor::spawn`, then `kill` each and await every join handle.
pub fn spawn_stop(n: u64) -> Vec<Duration> {
    vec![client(async move {
        let start = Instant::now();
        let started = join_all((0..n).map(|_| Actor::spawn(None, Noop, None))).await;
        let (actors, handles): (Vec<_>, Vec<_>) = started.into_iter().map(|s| s.expect("noop starts")).unzip();
        for actor in &actors {
            actor.kill();
        }
        for handle in handles {
            handle.await.expect("noop exits");
        }
        start.elapsed()
    })]
}

/// Registry names are process-wide: each run uses fresh ones.
fn fresh_name(what: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{what}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Spawn-if-absent through the registry: look the name up; if absent, spawn it under that
/// name; if another requester registered it first, look it up again.
async fn where_is_or_spawn(name: &str, starts: &Arc<AtomicU64>) -> ActorCell {
    loop {
        if let Some(cell) = ractor::registry::where_is(name) {
            return cell;
        }
        match Actor::spawn(Some(name.to_owned()), Noop, Some(starts.clone())).await {
            Ok((actor, _)) => return actor.get_cell(),
            Err(SpawnErr::ActorAlreadyRegistered(_)) => continue,
            Err(e) => panic!("db failed to start: {e}"),
        }
    }
}

async fn requesters(name: &str, n: u64, starts: &Arc<AtomicU64>) -> Duration {
    let start = Instant::now();
    let cells = join_all((0..n).map(|_| where_is_or_spawn(name, starts))).await;
    let elapsed = start.elapsed();
    assert!(cells.iter().all(|c| c.get_id() == cells[0].get_id()), "two requesters got different actors");
    elapsed
}

/// Workload 5: `n` concurrent requesters of an unregistered name (storm), then `n` of the
/// now registered one (harness).
pub fn storm(n: u64) -> Vec<Duration> {
    let rt = runtime();
    rt.block_on(async move {
        tokio::spawn(async move {
            let (name, starts) = (fresh_name("db"), Arc::new(AtomicU64::new(0)));
            let storm = requesters(&name, n, &starts).await;
            let harness = requesters(&name, n, &starts).await;
            assert_eq!(starts.load(Ordering::Relaxed), 1, "db must start exactly once");
            ractor::registry::where_is(&name).expect("db registered").stop(None);
            vec![storm, harness]
        })
        .await
        .expect("client task")
    })
}

/// Workload 6's peer: each call looks the echo up by name in the registry (`where_is`), then
/// calls it; and the same number of calls on its `ActorRef`.
pub fn by_name_calls(run: usize, n: u64) -> Vec<Duration> {
    let rt = runtime();
    rt.block_on(async move {
        tokio::spawn(async move {
            let name = fresh_name("echo");
            let echo = spawn_echo(Some(name.clone())).await;
            let by_name = async {
                let start = Instant::now();
                for i in 0..n as i64 {
                    let cell = ractor::registry::where_is(&name).expect("echo registered");
                    let reply = ractor::rpc::call(&cell, |tx| EchoMsg::Echo(i, tx), None).await.expect("echo answers");
                    assert!(matches!(reply, ractor::rpc::CallResult::Success(v) if v == i));
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
            echo.stop(None);
            out
        })
        .await
        .expect("client task")
    })
}

/// `n` idle actors (`Actor::spawn`, unnamed).
pub fn idle(n: u64) -> Idle {
    let rt = runtime();
    memory::grow(Peer::Ractor, "`Actor::spawn`", n, move || {
        let actors = rt.block_on(async move {
            let mut actors = Vec::with_capacity(n as usize);
            for _ in 0..n {
                actors.push(Actor::spawn(None, Noop, None).await.expect("noop starts"));
            }
            actors
        });
        (actors, rt)
    })
}
