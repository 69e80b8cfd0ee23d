//! What the real-server tests share: a server, a connected transport, an inbox that records.

#![allow(dead_code)]

// The kinds the cluster tests define on every node: the same file the threaded and simulated
// cluster tests of `skygroup` use, so all three transports run the same services.
#[path = "../../../tests/common/kinds.rs"]
mod kinds;
#[allow(unused_imports)] // each test binary uses some of them
pub use kinds::{define_echo_and_log, define_log};

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use skygroup::cluster::Inbox;
use skygroup_nats::{LocalServer, NatsOptions, NatsTransport};

/// A fresh server for one test.
pub fn server() -> LocalServer {
    LocalServer::start().expect("start nats-server (apt-get install nats-server)")
}

/// A transport to `server` for `cluster` with short timeouts, so failing tests fail fast.
pub fn transport(server: &LocalServer, cluster: &str) -> NatsTransport {
    transport_with(server, cluster, NatsOptions::default())
}

pub fn transport_with(server: &LocalServer, cluster: &str, options: NatsOptions) -> NatsTransport {
    NatsTransport::connect(
        &server.url(),
        cluster,
        options.store_timeout(Duration::from_secs(2)).reconnect_delay_max(Duration::from_millis(200)),
    )
    .expect("connect to the test's nats-server")
}

/// Awaits a store future on this thread (any executor will do: the answer comes from the
/// transport's own runtime).
pub fn wait<T>(future: impl std::future::Future<Output = T>) -> T {
    futures::executor::block_on(future)
}

/// An inbox that keeps every frame and connection event.
#[derive(Default)]
pub struct Recorder {
    state: Mutex<Recorded>,
    changed: Condvar,
}

#[derive(Debug, Default, Clone)]
pub struct Recorded {
    pub frames: Vec<Bytes>,
    pub connection: Vec<bool>,
}

impl Inbox for Recorder {
    fn frame(&self, frame: Bytes) {
        self.state.lock().unwrap().frames.push(frame);
        self.changed.notify_all();
    }

    fn connection(&self, up: bool) {
        self.state.lock().unwrap().connection.push(up);
        self.changed.notify_all();
    }
}

impl Recorder {
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder::default())
    }

    /// What was recorded so far.
    pub fn snapshot(&self) -> Recorded {
        self.state.lock().unwrap().clone()
    }

    /// Waits (at most `timeout`) until `done` holds of what was recorded; returns the record.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&Recorded) -> bool) -> Result<Recorded, Recorded> {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap();
        while !done(&state) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(state.clone());
            }
            state = self.changed.wait_timeout(state, left).unwrap().0;
        }
        Ok(state.clone())
    }
}

/// Polls `check` every 50 ms for at most `timeout`; true once it held.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
