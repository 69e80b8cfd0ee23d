//! The tokio baselines: a multi-thread runtime with 2 workers, mpsc + oneshot, written the
//! way a tokio user would. The timed client runs as a spawned task, so it shares the same two
//! worker threads as everything else (as skygroup's main service does), not the caller's thread.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::measure::Sample;
use crate::skygroup_side::workers;

/// Bound of the echo request channel.
const ECHO_CAPACITY: usize = 1024;

/// Builds a runtime and runs the timed client `f` on one of its workers.
fn run_client<F: Future<Output = Duration> + Send + 'static>(f: F) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(workers()).build().expect("tokio runtime");
    rt.block_on(async move { tokio::spawn(f).await.expect("client task") })
}

enum CounterMsg {
    Add,
    Get(oneshot::Sender<u64>),
}

/// A counter task behind an unbounded channel.
fn spawn_counter() -> mpsc::UnboundedSender<CounterMsg> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut n = 0;
        while let Some(msg) = rx.recv().await {
            match msg {
                CounterMsg::Add => n += 1,
                CounterMsg::Get(reply) => {
                    let _ = reply.send(n);
                }
            }
        }
    });
    tx
}

async fn count(counter: &mpsc::UnboundedSender<CounterMsg>) -> u64 {
    let (tx, rx) = oneshot::channel();
    counter.send(CounterMsg::Get(tx)).expect("counter alive");
    rx.await.expect("counter answers")
}

/// Workload 1: `n` sequential request/response round trips to an echo task.
pub fn calls(n: u64) -> Sample {
    let elapsed = run_client(async move {
        let (tx, mut rx) = mpsc::channel::<(i64, oneshot::Sender<i64>)>(ECHO_CAPACITY);
        tokio::spawn(async move {
            while let Some((v, reply)) = rx.recv().await {
                let _ = reply.send(v);
            }
        });
        let start = Instant::now();
        for i in 0..n as i64 {
            let (reply_tx, reply_rx) = oneshot::channel();
            tx.send((i, reply_tx)).await.expect("echo alive");
            assert_eq!(reply_rx.await.expect("echo answers"), i);
        }
        start.elapsed()
    });
    Sample::new(n, elapsed)
}

/// Workload 2: `n` sends to a counter task, then a `get`.
pub fn sends(n: u64) -> Sample {
    let elapsed = run_client(async move {
        let counter = spawn_counter();
        let start = Instant::now();
        for _ in 0..n {
            counter.send(CounterMsg::Add).expect("counter alive");
        }
        assert_eq!(count(&counter).await, n);
        start.elapsed()
    });
    Sample::new(n, elapsed)
}

/// Workload 3: `producers` tasks with cloned senders each send `each` messages.
pub fn fan_in(producers: u64, each: u64) -> Sample {
    let total = producers * each;
    let elapsed = run_client(async move {
        let counter = spawn_counter();
        let start = Instant::now();
        let tasks: Vec<_> = (0..producers)
            .map(|_| {
                let counter = counter.clone();
                tokio::spawn(async move {
                    for _ in 0..each {
                        counter.send(CounterMsg::Add).expect("counter alive");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("producer task");
        }
        assert_eq!(count(&counter).await, total);
        start.elapsed()
    });
    Sample::new(total, elapsed)
}

/// Workload 4: spawn `n` tasks that each wait on a oneshot, stop them all, join them all.
pub fn spawn_stop(n: u64) -> Sample {
    let elapsed = run_client(async move {
        let start = Instant::now();
        let (stops, tasks): (Vec<_>, Vec<_>) = (0..n)
            .map(|_| {
                let (stop, stopped) = oneshot::channel::<()>();
                (stop, tokio::spawn(async move { stopped.await.expect("stop sent") }))
            })
            .unzip();
        for stop in stops {
            stop.send(()).expect("task alive");
        }
        for task in tasks {
            task.await.expect("task exits");
        }
        start.elapsed()
    });
    Sample::new(n, elapsed)
}
