//! From a node's death to its names being startable elsewhere: two node processes
//! (`skygroup-nats-node`), one killed with SIGKILL while the other waits on a call to it.
//!
//! The victim owns `login-center`. At the kill, the survivor already waits on a slow call to
//! the victim, and asks `login-center` again. Figures, from the kill: the victim's liveness key
//! gone (polled from outside), the waiting call failed (`NodeDown`), and the survivor's
//! `cluster_call` answered by a fresh instance on a live node (K6: the stale binding is released
//! once its node's liveness is gone).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use skygroup::cluster::{Bucket, Transport};
use skygroup_nats::{LocalServer, NatsOptions, NatsTransport};

/// One run's figures.
pub struct Failover {
    pub liveness_gone: Duration,
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
    victim.ask("1 cluster-call login-center login v");
    let owned = victim.lines.recv_timeout(Duration::from_secs(20)).expect("the victim's login");
    assert!(owned.contains(&format!("node: {}", victim.id)), "the victim owns login-center: {owned}");
    survivor.ask("1 cluster-call login-center login s");
    let before = survivor.lines.recv_timeout(Duration::from_secs(20)).expect("the survivor's login");
    assert!(before.starts_with("1 ok"), "{before}");
    survivor.ask(&format!("2 call {} slow 600000", victim.echo));
    std::thread::sleep(Duration::from_millis(200));

    victim.child.kill().unwrap();
    let killed = Instant::now();
    victim.child.wait().unwrap();
    // A login issued at the kill goes to the cached (dead) address and fails with NodeDown once
    // the node is known down (it may have run, so it is not retried: K6); the next one resolves
    // the name again and starts it afresh. Each failed login is asked again at once.
    let mut login = 3;
    survivor.ask(&format!("{login} cluster-call login-center login again"));
    let (mut liveness_gone, mut waiter_failed, mut name_restarted) = (None, None, None);
    while (liveness_gone.is_none() || waiter_failed.is_none() || name_restarted.is_none())
        && killed.elapsed() < ttl * 10 + Duration::from_secs(10)
    {
        if liveness_gone.is_none() {
            let entry = futures::executor::block_on(observer.store().get(Bucket::Liveness, &key));
            if matches!(entry, Ok(None)) {
                liveness_gone = Some(killed.elapsed());
            }
        }
        while let Ok(line) = survivor.lines.try_recv() {
            if line.starts_with("2 err") {
                waiter_failed = Some(killed.elapsed());
            } else if line.starts_with(&format!("{login} ok")) && line.contains(&format!("node: {}", survivor.id)) {
                name_restarted = Some(killed.elapsed());
            } else if line.starts_with(&format!("{login} err NodeDown")) {
                login += 1;
                survivor.ask(&format!("{login} cluster-call login-center login again"));
            } else {
                panic!("unexpected answer after the kill: {line}");
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    survivor.ask("0 quit");
    Failover {
        liveness_gone: liveness_gone.expect("the liveness key expired"),
        waiter_failed: waiter_failed.expect("the waiting call failed"),
        name_restarted: name_restarted.expect("login-center started again on the survivor"),
    }
}
