//! From a node's death to its names being startable elsewhere: two node processes
//! (`skygroup-nats-node`), one killed with SIGKILL while the other waits on a call to it.
//!
//! A dead node's cluster-wide names may start elsewhere once its liveness key has expired (a
//! would-be starter deletes the stale binding then, K rules on names); so the figure is the time
//! until that key is gone, seen by polling the store from outside, and beside it the time until
//! the call that was waiting on the dead node failed.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use skygroup::cluster::{Bucket, Transport};
use skygroup_nats::{LocalServer, NatsOptions, NatsTransport};

/// One run's figures.
pub struct Failover {
    pub waiter_failed: Duration,
    pub name_restarted: Duration,
}

struct NodeProcess {
    child: Child,
    lines: Receiver<String>,
    id: u16,
    echo: String,
}

impl NodeProcess {
    fn start(server: &LocalServer, cluster: &str, name: &str, ttl: Duration) -> NodeProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_skygroup-nats-node"))
            .args([&server.url(), cluster, name, &ttl.as_millis().to_string(), "60000"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start skygroup-nats-node");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        let ready = lines.recv_timeout(Duration::from_secs(20)).expect("node ready");
        let words: Vec<&str> = ready.split_whitespace().collect();
        NodeProcess { id: words[1].parse().unwrap(), echo: words[2].to_owned(), child, lines }
    }

    fn ask(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `runs` kills, each in a fresh cluster.
pub fn measure(server: &LocalServer, ttl: Duration, runs: usize) -> Vec<Failover> {
    (0..runs).map(|run| once(server, &format!("failover{run}"), ttl)).collect()
}

fn once(server: &LocalServer, cluster: &str, ttl: Duration) -> Failover {
    let mut survivor = NodeProcess::start(server, cluster, "survivor", ttl);
    let mut victim = NodeProcess::start(server, cluster, "victim", ttl);
    let observer = NatsTransport::connect(&server.url(), cluster, NatsOptions::default()).unwrap();
    let key = format!("node.{}", victim.id);
    survivor.ask(&format!("1 call {} slow 600000", victim.echo));
    std::thread::sleep(Duration::from_millis(200));

    victim.child.kill().unwrap();
    let killed = Instant::now();
    victim.child.wait().unwrap();
    let mut name_restarted = None;
    let mut waiter_failed = None;
    while (name_restarted.is_none() || waiter_failed.is_none()) && killed.elapsed() < ttl * 10 {
        if name_restarted.is_none() {
            let entry = futures::executor::block_on(observer.store().get(Bucket::Liveness, &key));
            if matches!(entry, Ok(None)) {
                name_restarted = Some(killed.elapsed());
            }
        }
        if waiter_failed.is_none() && survivor.lines.try_recv().is_ok_and(|line| line.starts_with("1 err")) {
            waiter_failed = Some(killed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    survivor.ask("2 quit");
    Failover {
        waiter_failed: waiter_failed.expect("the waiting call failed"),
        name_restarted: name_restarted.expect("the liveness key expired"),
    }
}
