//! Three node processes (`skygroup-nats-node`) against one real nats-server: calls cross
//! process boundaries, and killing a node process leaves no caller waiting.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use skygroup_nats::LocalServer;

/// One `skygroup-nats-node` process and its stdin/stdout protocol (see the binary's docs).
struct NodeProcess {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    answers: HashMap<u64, String>,
    next_id: u64,
    /// The node number it claimed, and its `echo`'s address (wire form, hex).
    id: u16,
    echo: String,
}

impl NodeProcess {
    fn start(server: &LocalServer, cluster: &str, name: &str, ttl_ms: u64, call_timeout_ms: u64) -> NodeProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_skygroup-nats-node"))
            .args([&server.url(), cluster, name, &ttl_ms.to_string(), &call_timeout_ms.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start skygroup-nats-node");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = lines.recv_timeout(Duration::from_secs(20)).expect("the node says ready");
        let words: Vec<&str> = ready.split_whitespace().collect();
        assert_eq!(words.first(), Some(&"ready"), "{ready}");
        let (id, echo) = (words[1].parse().unwrap(), words[2].to_owned());
        NodeProcess { child, stdin, lines, answers: HashMap::new(), next_id: 1, id, echo }
    }

    /// Sends a command; returns its id for [`NodeProcess::answer`].
    fn ask(&mut self, command: &str) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        writeln!(self.stdin, "{id} {command}").unwrap();
        self.stdin.flush().unwrap();
        id
    }

    /// The answer to command `id` (`ok ...` or `err Kind ...`), waiting at most `timeout`.
    fn answer(&mut self, id: u64, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(answer) = self.answers.remove(&id) {
                return Some(answer);
            }
            let line = self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())).ok()?;
            let (line_id, rest) = line.split_once(' ')?;
            self.answers.insert(line_id.parse().ok()?, rest.to_owned());
        }
    }

    fn call(&mut self, address: &str, command: &str, arg: i64) -> String {
        let id = self.ask(&format!("call {address} {command} {arg}"));
        self.answer(id, Duration::from_secs(20)).expect("an answer within 20 s")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// checks K1/K2 across processes: three processes claim three node numbers and call each
// other's services; checks K5: killing a node process (SIGKILL, no goodbye) fails the calls
// waiting on it with NodeDown (or RemoteTimeout) within a bound, later calls to it fail at once,
// and the survivors go on talking.
#[test]
fn three_node_processes_call_each_other_and_a_killed_node_leaves_no_waiter() {
    let server = common::server();
    let (ttl_ms, call_timeout_ms) = (1_500, 8_000);
    let mut nodes: Vec<NodeProcess> = ["one", "two", "three"]
        .iter()
        .map(|name| NodeProcess::start(&server, "procs", name, ttl_ms, call_timeout_ms))
        .collect();
    let mut ids: Vec<u16> = nodes.iter().map(|n| n.id).collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 3], "each process claimed its own node number");

    for (from, to) in [(0, 1), (1, 2), (2, 0)] {
        let echo = nodes[to].echo.clone();
        assert_eq!(nodes[from].call(&echo, "echo", 40 + to as i64), format!("ok {}", 40 + to));
    }

    // Two calls wait on node two's slow command; then node two's process is killed.
    let victim = nodes[1].echo.clone();
    let waiting: Vec<(usize, u64)> =
        [0, 2].iter().map(|&n| (n, nodes[n].ask(&format!("call {victim} slow 60000")))).collect();
    std::thread::sleep(Duration::from_millis(300));
    let killed_at = Instant::now();
    nodes[1].child.kill().unwrap();
    nodes[1].child.wait().unwrap();
    for (n, id) in waiting {
        let answer = nodes[n].answer(id, Duration::from_secs(20)).expect("the waiting caller is answered");
        assert!(
            answer.starts_with("err NodeDown") || answer.starts_with("err RemoteTimeout"),
            "node {} got: {answer}",
            nodes[n].id
        );
        assert!(answer.contains("slow"), "the error names the command: {answer}");
    }
    let failed_after = killed_at.elapsed();
    eprintln!("the callers waiting on the killed node failed {failed_after:?} after the kill");
    assert!(failed_after < Duration::from_millis(call_timeout_ms + 2_000));

    let started = Instant::now();
    let later = nodes[0].call(&victim, "echo", 1);
    assert!(later.starts_with("err NodeDown"), "{later}");
    assert!(started.elapsed() < Duration::from_secs(2), "a call to a dead node fails at once");

    let echo_three = nodes[2].echo.clone();
    assert_eq!(nodes[0].call(&echo_three, "echo", 5), "ok 5", "the survivors go on");
}
