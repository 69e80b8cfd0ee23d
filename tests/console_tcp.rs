//! The console on the threaded backend, driven by a real TCP client on 127.0.0.1 (an ephemeral
//! port, every read bounded). The same session in the simulator is in `console_sim.rs`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use skygroup::console::ConsoleConfig;
use skygroup::{Address, Ctx, Runtime, ServiceKind, Value};

const WAIT: Duration = Duration::from_secs(10);

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: &str) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Client { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream }
    }

    /// Sends `line` and reads its answer: (body lines, whether it ended `<ok>`).
    fn ask(&mut self, line: &str) -> (Vec<String>, bool) {
        self.writer.write_all(format!("{line}\n").as_bytes()).unwrap();
        self.answer()
    }

    fn answer(&mut self) -> (Vec<String>, bool) {
        let mut body = Vec::new();
        loop {
            let mut line = String::new();
            assert!(self.reader.read_line(&mut line).unwrap() > 0, "closed before the answer ended: {body:?}");
            match line.trim_end() {
                "<ok>" => return (body, true),
                "<error>" => return (body, false),
                other => body.push(other.to_owned()),
            }
        }
    }

    fn closed(&mut self) -> bool {
        let mut rest = String::new();
        matches!(self.reader.read_line(&mut rest), Ok(0) | Err(_))
    }
}

fn define(rt: &Runtime) {
    rt.define(skygroup::console::kind()).unwrap();
    rt.define(ServiceKind::stateless("boot")).unwrap();
    rt.define(ServiceKind::stateless("echo").command("echo", |_ctx: Ctx, v: Value| async move { Ok(v) })).unwrap();
}

fn console(rt: &Runtime, config: ConsoleConfig) -> String {
    let console = rt.spawn("console", config).unwrap();
    rt.block_on(move |ctx| async move { String::try_from(ctx.call(console, "address", ()).await.unwrap()).unwrap() })
}

// checks C1 C2 C3
#[test]
fn a_console_session_over_tcp_lists_calls_traces_and_kills_and_survives_bad_input() {
    let rt = common::threaded(2);
    define(&rt);
    let server = rt.newgroup("server-1", "boot", ()).unwrap();
    let echo = rt.block_on(move |ctx| async move { server.query(&ctx, "echo").await.unwrap() });
    let addr = console(&rt, ConsoleConfig::default());
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let mut c = Client::connect(&addr);

    let (help, ok) = c.ask("help");
    assert!(ok && help.iter().any(|l| l.starts_with("call ADDR CMD")), "{help:?}");
    let (list, ok) = c.ask("list");
    assert!(ok, "{list:?}");
    assert!(list[0].starts_with("group 1 \"server-1\": 1 services; names: echo=:"), "{list:?}");
    let (group, ok) = c.ask("group 1");
    assert!(ok && group[1].starts_with(&format!("{echo} echo (bound) handled=")), "{group:?}");
    assert_eq!(
        c.ask(&format!("call {echo} echo [1, \"a b\", {{k: :0000000a}}]")),
        (vec!["[1, \"a b\", {k: :0000000a}]".to_owned()], true)
    );
    let (stat, ok) = c.ask(&format!("stat {echo}"));
    assert!(ok && stat[0].contains("kind=echo group=1 handled=1 "), "{stat:?}");
    assert!(c.ask(&format!("trace {echo} on")).1);
    assert!(c.ask(&format!("stat {echo}")).0[0].ends_with("traced=true"));

    // Bad input: each gets an error line and the console carries on.
    for bad in [
        "frobnicate",
        "group x",
        "group 99",
        "stat",
        "stat :zz",
        "kill :00ffffff",
        &format!("call {echo}"),
        &format!("call {echo} echo [1,"),
        &format!("call {echo} nope"),
        &format!("call {echo} _net"),
        &format!("trace {echo} maybe"),
        "\u{1}\u{2}\u{fffd}",
    ] {
        let (body, ok) = c.ask(bad);
        assert!(!ok && body.len() == 1 && body[0].starts_with("error: "), "{bad:?} -> {body:?}");
    }
    assert!(c.ask(&format!("call {echo} nope")).0[0].contains("nope"), "the error names the command");

    assert!(c.ask(&format!("kill {echo}")).1);
    let (after, ok) = c.ask(&format!("stat {echo}"));
    assert!(!ok && after[0].contains("no live service"), "{after:?}");
    assert!(c.ask("help").1, "still answering");
    assert!(c.ask("quit").1);
    assert!(c.closed());
}

// checks C4
#[test]
fn a_console_with_a_secret_closes_a_connection_that_gets_it_wrong() {
    let rt = common::threaded(2);
    define(&rt);
    let addr = console(&rt, ConsoleConfig { secret: Some("s3cret".into()), ..ConsoleConfig::default() });
    let mut wrong = Client::connect(&addr);
    let (body, ok) = wrong.ask("help");
    assert!(!ok && body == ["error: wrong secret"], "{body:?}");
    assert!(wrong.closed());
    let mut right = Client::connect(&addr);
    assert!(right.ask("s3cret").1);
    assert!(right.ask("help").1);
}

// checks C2: a console reaches only its own runtime's services
#[test]
fn a_console_cannot_touch_a_service_of_another_runtime() {
    let (rt, other) = (common::threaded(2), common::threaded(1));
    define(&rt);
    define(&other);
    for _ in 0..5 {
        other.spawn("echo", ()).unwrap(); // addresses the console's runtime never handed out
    }
    let foreign: Address = other.spawn("echo", ()).unwrap();
    let addr = console(&rt, ConsoleConfig::default());
    let mut c = Client::connect(&addr);
    let (body, ok) = c.ask(&format!("kill {foreign}"));
    assert!(!ok && body[0].contains("no live service"), "{body:?}");
    assert!(other.services().iter().any(|s| s.address == foreign), "the other runtime's service lives");
}

// checks C3: a line over the limit closes its connection; the console serves others on
#[test]
fn a_line_over_16_kib_closes_its_connection_and_the_console_carries_on() {
    let rt = common::threaded(2);
    define(&rt);
    let addr = console(&rt, ConsoleConfig::default());
    let mut long = Client::connect(&addr);
    long.writer.write_all(&vec![b'x'; 20 * 1024]).unwrap();
    let (body, ok) = long.answer();
    assert!(!ok && body[0].contains("over 16384 bytes"), "{body:?}");
    assert!(long.closed());
    assert!(Client::connect(&addr).ask("help").1);
}
