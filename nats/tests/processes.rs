//! Three node processes (`skygroup-nats-node`) against one real nats-server: calls cross
//! process boundaries, a cluster-wide name starts once and again after its node dies, the
//! directory lists every node's group, and killing a node process leaves no caller waiting.

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
    /// The node number it claimed, and its `echo`'s address (as it prints).
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

    fn call_name(&mut self, name: &str, command: &str, arg: &str) -> String {
        let id = self.ask(&format!("cluster-call {name} {command} {arg}"));
        self.answer(id, Duration::from_secs(20)).expect("an answer within 20 s")
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

/// The fields of a `login-center` answer (`ok {at: :0003.00000009, logins: 3, node: 3, ..}`).
fn login_fields(answer: &str) -> HashMap<String, String> {
    let map = answer.strip_prefix("ok {").and_then(|m| m.strip_suffix('}'));
    let map = map.unwrap_or_else(|| panic!("a login answer: {answer}"));
    map.split(", ").filter_map(|f| f.split_once(": ")).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

// checks K1/K2 across processes: three processes claim three node numbers and call each
// other's services; K6 (G2 across nodes): the three racing to use `login-center` start it
// exactly once; K7: every node's group is listed, sorted; K5: killing the node process that owns
// `login-center` (SIGKILL, no goodbye) fails the calls waiting on it with NodeDown (or
// RemoteTimeout) within a bound, later calls to it fail at once; K6 (G9 across nodes): the next
// use of `login-center` starts a fresh instance on a live node; the survivors go on talking.
//
// One scenario in one (long) test: three processes are slow to start, and each step builds on
// what the one before left (which node owns the name, who is alive).
#[test]
fn three_node_processes_share_a_name_and_a_killed_node_leaves_no_waiter() {
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

    // All three race the first use of `login-center`, twice each.
    let asked: Vec<(usize, u64)> =
        (0..6).map(|i| (i % 3, nodes[i % 3].ask(&format!("cluster-call login-center login p{i}")))).collect();
    let logins: Vec<HashMap<String, String>> = asked
        .into_iter()
        .map(|(n, id)| login_fields(&nodes[n].answer(id, Duration::from_secs(20)).expect("a login answer")))
        .collect();
    let owner = logins[0]["at"].clone();
    assert!(logins.iter().all(|l| l["at"] == owner), "one instance for the whole cluster: {logins:?}");
    let mut counts: Vec<u32> = logins.iter().map(|l| l["logins"].parse().unwrap()).collect();
    counts.sort();
    assert_eq!(counts, [1, 2, 3, 4, 5, 6], "every login reached that one instance");
    let owner_node: u16 = logins[0]["node"].parse().unwrap();

    // The directory lists every node's game-server group (another node's as of its last tick).
    let listed = (0..60).find_map(|_| {
        let id = nodes[0].ask("groups");
        let answer = nodes[0].answer(id, Duration::from_secs(10)).unwrap().replace('"', "");
        let labels: Vec<&str> =
            answer.split_whitespace().skip(1).filter_map(|g| g.split_once('=')).map(|(_, l)| l).collect();
        let wanted = ["server-one", "server-two", "server-three"].iter().all(|w| labels.contains(w));
        (wanted && labels.len() == 3).then_some(answer).or_else(|| {
            std::thread::sleep(Duration::from_millis(100));
            None
        })
    });
    let listed = listed.expect("every node's group is listed within 6 s");
    let keys: Vec<(u16, u64)> = listed
        .split_whitespace()
        .skip(1)
        .filter_map(|g| {
            let (key, _) = g.split_once('=')?;
            let (node, id) = key.split_once('.')?;
            Some((node.parse().ok()?, id.parse().ok()?))
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted by node then id: {listed}");

    // The owner's process dies while two calls wait on its slow command.
    let victim = nodes.iter().position(|n| n.id == owner_node).unwrap();
    let survivors: Vec<usize> = (0..3).filter(|&n| n != victim).collect();
    let victim_echo = nodes[victim].echo.clone();
    let waiting: Vec<(usize, u64)> =
        survivors.iter().map(|&n| (n, nodes[n].ask(&format!("call {victim_echo} slow 60000")))).collect();
    std::thread::sleep(Duration::from_millis(300));
    let killed_at = Instant::now();
    nodes[victim].child.kill().unwrap();
    nodes[victim].child.wait().unwrap();
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
    let first = survivors[0];
    let later = nodes[first].call(&victim_echo, "echo", 1);
    assert!(later.starts_with("err NodeDown"), "{later}");
    assert!(started.elapsed() < Duration::from_secs(2), "a call to a dead node fails at once");

    // The name starts afresh on a live node.
    let again = login_fields(&nodes[first].call_name("login-center", "login", "again"));
    assert_ne!(again["at"], owner, "a fresh instance");
    assert_eq!(again["logins"], "1", "a fresh instance counts from one");
    assert!(survivors.iter().any(|&n| nodes[n].id.to_string() == again["node"]), "on a live node: {again:?}");
    let other = login_fields(&nodes[survivors[1]].call_name("login-center", "login", "other"));
    assert_eq!(other["at"], again["at"], "still one instance");

    let echo_other = nodes[survivors[1]].echo.clone();
    assert_eq!(nodes[first].call(&echo_other, "echo", 5), "ok 5", "the survivors go on");
}
