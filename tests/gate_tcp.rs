//! The gate on the threaded backend, with real TCP clients on 127.0.0.1 (ephemeral ports; a
//! handful of connections per test, every wait bounded). The same rules in the simulator are in
//! `gate_sim.rs`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::gate::{Seen, config, frame, lines, watchdog_kind};
use skygroup::gate::{GateConfig, GateRef};
use skygroup::{Address, Runtime, ServiceKind, Value};

const WAIT: Duration = Duration::from_secs(10);

struct Server {
    rt: Runtime,
    seen: Seen,
    watchdog: Address,
    addr: String,
}

fn server(tweak: impl FnOnce(&mut GateConfig) + Send + 'static) -> Server {
    let rt = common::threaded(2);
    let seen = Seen::default();
    rt.define(skygroup::gate::kind()).unwrap();
    rt.define(watchdog_kind("watchdog", seen.clone())).unwrap();
    let watchdog = rt.spawn("watchdog", config(tweak)).unwrap();
    let addr = rt.block_on(move |ctx| async move {
        let gate = Address::try_from(ctx.call(watchdog, "gate", ()).await.unwrap()).unwrap();
        String::try_from(GateRef(gate).local_addr(&ctx).await.unwrap()).unwrap()
    });
    Server { rt, seen, watchdog, addr }
}

impl Server {
    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s
    }

    /// Waits until `seen` has `n` lines starting with `prefix`.
    fn wait_for(&self, prefix: &str, n: usize) -> Vec<String> {
        let start = Instant::now();
        loop {
            let found = lines(&self.seen, prefix);
            if found.len() >= n {
                return found;
            }
            assert!(start.elapsed() < WAIT, "waited for {n} `{prefix}`, saw {:?}", self.seen.lock().unwrap());
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn send(&self, command: &'static str, args: impl Into<Value> + Send + 'static) {
        let watchdog = self.watchdog;
        self.rt.block_on(move |ctx| async move { ctx.call(watchdog, command, args).await.unwrap() });
    }
}

fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut body = vec![0; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    body
}

/// Reads until the server closes; true if it did within the wait.
fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

// checks N1
#[test]
fn frames_of_a_connection_arrive_in_order_whatever_the_split() {
    let server = server(|_| {});
    let mut client = server.connect();
    let stream: Vec<u8> = (0..50).flat_map(|i| frame(format!("m{i}").as_bytes())).collect();
    for chunk in stream.chunks(7) {
        client.write_all(chunk).unwrap();
        client.flush().unwrap();
    }
    for i in 0..50 {
        assert_eq!(read_frame(&mut client), format!("m{i}").as_bytes());
    }
    let data = server.wait_for("data", 50);
    let expected: Vec<String> = (0..50).map(|i| format!("data 1 m{i}")).collect();
    assert_eq!(data, expected);
}

// checks N2 N3 N9
#[test]
fn a_partial_frame_at_close_is_reported_in_the_one_close() {
    let server = server(|_| {});
    let mut client = server.connect();
    let mut bytes = frame(b"whole");
    bytes.extend_from_slice(&frame(b"half")[..4]); // the prefix and 2 of 4 bytes
    client.write_all(&bytes).unwrap();
    assert_eq!(read_frame(&mut client), b"whole");
    drop(client);
    let closes = server.wait_for("close", 1);
    assert_eq!(closes, vec!["close 1 closed by peer 4"]);
    std::thread::sleep(Duration::from_millis(20));
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen, vec!["open 1", "data 1 whole", "close 1 closed by peer 4"], "nothing after the close");
}

// checks N8
#[test]
fn a_frame_over_max_frame_closes_its_connection_with_a_reason() {
    let server = server(|c| c.max_frame = 16);
    let mut client = server.connect();
    client.write_all(&frame(&[b'x'; 17])).unwrap();
    assert!(closed_by_server(&mut client));
    let closes = server.wait_for("close", 1);
    // The bytes of the refused frame that had arrived (prefix and all or part of the body).
    assert!(closes[0].starts_with("close 1 frame of 17 bytes over max_frame 16 "), "{closes:?}");
}

// checks N4 N6
#[test]
fn max_clients_holds_and_its_count_stays_right_after_kicks() {
    let server = server(|c| c.max_clients = 2);
    let mut a = server.connect();
    let _b = server.connect();
    server.wait_for("open", 2);
    let mut c = server.connect();
    assert!(closed_by_server(&mut c), "a third client is refused");
    for round in 0..3u64 {
        // Kick the oldest; a new client then gets in, and ids only grow (N4).
        let oldest = lines(&server.seen, "open")[round as usize].split(' ').nth(1).unwrap().parse::<i64>().unwrap();
        server.send("kick", oldest);
        server.wait_for("close", round as usize + 1);
        let _new = server.connect();
        let opens = server.wait_for("open", 3 + round as usize);
        let ids: Vec<u64> = opens.iter().map(|l| l[5..].parse().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow, never reused: {ids:?}");
        std::mem::forget(_new); // keep it open for the count
    }
    assert!(closed_by_server(&mut a), "the kicked client is closed");
    let count = server.rt.block_on({
        let wd = server.watchdog;
        move |ctx| async move {
            let gate = Address::try_from(ctx.call(wd, "gate", ()).await.unwrap()).unwrap();
            GateRef(gate).clients(&ctx).await.unwrap()
        }
    });
    assert_eq!(count, Value::Int(2));
}

// checks N7
#[test]
fn a_slow_client_is_closed_once_its_unsent_bytes_pass_the_limit() {
    let server = server(|c| c.max_unsent = 64 * 1024);
    let _client = server.connect(); // never reads
    server.wait_for("open", 1);
    server.send("flood", (1i64, 400i64, 60_000i64)); // 24 MB: past any socket buffer
    let closes = server.wait_for("close", 1);
    assert!(closes[0].starts_with("close 1 slow client: "), "{closes:?}");
    assert!(closes[0].contains("over the limit of 65536"), "{closes:?}");
}

/// A gate in a group of its own whose watchdog lives outside it (so it sees the closes).
fn gate_in_group(rt: &Runtime, seen: &Seen) -> (skygroup::Group, Address, String) {
    rt.define(skygroup::gate::kind()).unwrap();
    rt.define(watchdog_kind("watchdog", seen.clone())).unwrap();
    rt.define(ServiceKind::new("gate_boot", |ctx, config: GateConfig| async move {
        ctx.newservice("gate", config).await?;
        Ok(())
    }))
    .unwrap();
    let watchdog = rt.spawn("watchdog", None::<common::gate::MakeConfig>).unwrap();
    let group = rt.newgroup("server", "gate_boot", GateConfig::new("127.0.0.1:0", watchdog)).unwrap();
    let g = group.clone();
    let (gate, addr) = rt.block_on(move |ctx| async move {
        let gate = g.query(&ctx, "gate").await.unwrap();
        (gate, String::try_from(GateRef(gate).local_addr(&ctx).await.unwrap()).unwrap())
    });
    (group, gate, addr)
}

// checks N11
#[test]
fn group_shutdown_closes_listener_and_connections_and_delivers_their_closes() {
    let rt = common::threaded(2);
    let seen = Seen::default();
    let (group, _gate, addr) = gate_in_group(&rt, &seen);
    let mut client = TcpStream::connect(&addr).unwrap();
    client.set_read_timeout(Some(WAIT)).unwrap();
    let server = Server { rt, seen, watchdog: _gate, addr: addr.clone() };
    server.wait_for("open", 1);
    server.rt.shutdown_group(&group);
    assert!(closed_by_server(&mut client));
    assert_eq!(server.wait_for("close", 1), vec!["close 1 gate exited 0"]);
    let start = Instant::now();
    while TcpStream::connect(&addr).is_ok() {
        assert!(start.elapsed() < WAIT, "the listener is closed");
        std::thread::sleep(Duration::from_millis(2));
    }
}

// checks N12
#[test]
fn a_gate_that_exits_closes_its_connections() {
    let rt = common::threaded(2);
    let seen = Seen::default();
    let (_group, gate, addr) = gate_in_group(&rt, &seen);
    let mut client = TcpStream::connect(&addr).unwrap();
    client.set_read_timeout(Some(WAIT)).unwrap();
    let server = Server { rt, seen, watchdog: gate, addr };
    server.wait_for("open", 1);
    assert!(server.rt.kill(gate));
    assert!(closed_by_server(&mut client));
    assert_eq!(server.wait_for("close", 1), vec!["close 1 gate exited 0"]);
}

#[test]
fn a_gate_on_a_taken_port_fails_its_start_with_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let rt = common::threaded(2);
    rt.define(skygroup::gate::kind()).unwrap();
    rt.define(watchdog_kind("watchdog", Seen::default())).unwrap();
    let a = addr.clone();
    let err =
        rt.block_on(
            move |ctx| async move { ctx.newservice("gate", GateConfig::new(a, ctx.address())).await.unwrap_err() },
        );
    assert!(err.to_string().contains(&addr), "{err}");
}

// checks N10 N3
#[test]
fn a_forwarded_connection_sends_its_frames_and_close_to_the_agent() {
    let server = server(|_| {});
    let agent_seen = Seen::default();
    server.rt.define(watchdog_kind("agent", agent_seen.clone())).unwrap();
    let agent = server.rt.spawn("agent", None::<common::gate::MakeConfig>).unwrap();
    let mut client = server.connect();
    client.write_all(&frame(b"to the watchdog")).unwrap();
    assert_eq!(read_frame(&mut client), b"to the watchdog");
    let wd = server.watchdog;
    let forwarded = server.rt.block_on(move |ctx| async move { ctx.call(wd, "forward", (1i64, agent)).await.unwrap() });
    assert_eq!(forwarded, Value::Bool(true));
    client.write_all(&[frame(b"a1"), frame(b"a2")].concat()).unwrap();
    drop(client);
    server.wait_for("close", 1);
    let start = Instant::now();
    while lines(&agent_seen, "close").is_empty() {
        assert!(start.elapsed() < WAIT, "{:?}", agent_seen.lock().unwrap());
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(*agent_seen.lock().unwrap(), vec!["data 1 a1", "data 1 a2", "close 1 closed by peer 0"]);
    assert_eq!(*server.seen.lock().unwrap(), vec!["open 1", "data 1 to the watchdog", "close 1 closed by peer 0"]);
}
