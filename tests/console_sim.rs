//! The console in the simulator, over the virtual network, with a simulated client: the session
//! of `console_tcp.rs` (bad input included) under every seed's timings and byte splits, and a
//! console `kill` racing a lazy start.

use std::time::Duration;

use skygroup::console::ConsoleConfig;
use skygroup::{Address, Ctx, Runtime, ServiceKind, Value};
use skygroup_sim::Sim;
use skygroup_sim::net::SimClient;

const SEEDS: std::ops::Range<u64> = 0..30;

fn define(rt: &Runtime) {
    rt.define(skygroup::console::kind()).unwrap();
    rt.define(ServiceKind::stateless("boot")).unwrap();
    rt.define(ServiceKind::stateless("echo").command("echo", |_ctx: Ctx, v: Value| async move { Ok(v) })).unwrap();
    // A lazy start that takes a while: a window for a console `kill` to land in its init.
    rt.define(
        ServiceKind::new("slow", |ctx: Ctx<()>, _: ()| async move {
            ctx.sleep(Duration::from_micros(300)).await;
            Ok(())
        })
        .command("ping", |_ctx: Ctx<()>, _v: Value| async move { Ok("pong") }),
    )
    .unwrap();
}

fn console(rt: &Runtime) -> String {
    let console = rt.spawn("console", ConsoleConfig::new("console:1")).unwrap();
    rt.block_on(move |ctx| async move { String::try_from(ctx.call(console, "address", ()).await.unwrap()).unwrap() })
}

/// Sends `line` and reads its answer: (body lines, whether it ended `<ok>`).
async fn ask(c: &SimClient, line: &str) -> (Vec<String>, bool) {
    c.write(format!("{line}\n").as_bytes());
    let mut body = Vec::new();
    loop {
        match c.read_line().await.expect("the console answers").as_str() {
            "<ok>" => return (body, true),
            "<error>" => return (body, false),
            other => body.push(other.to_owned()),
        }
    }
}

fn assert_oracle_clean(sim: &Sim) {
    let violations = skygroup_sim::oracle::check(&sim.records());
    assert!(violations.is_empty(), "{violations:?}");
}

// checks C1 C2 C3
#[test]
fn a_console_session_in_the_simulator_answers_in_order_and_survives_bad_input() {
    skygroup_sim::check("console_sim::session", SEEDS, |sim| {
        let rt = sim.runtime();
        define(&rt);
        let server = rt.newgroup("server-1", "boot", ()).unwrap();
        let addr = console(&rt);
        let connect = sim.connect(&addr);
        rt.block_on(move |ctx| async move {
            let echo = server.query(&ctx, "echo").await.unwrap();
            let c = connect.await.unwrap();
            // Several lines in one write: answered one by one, in order.
            c.write(format!("help\nlist\ncall {echo} echo \"hi\"\n").as_bytes());
            let mut lines = Vec::new();
            while lines.iter().filter(|l: &&String| l.starts_with('<')).count() < 3 {
                lines.push(c.read_line().await.unwrap());
            }
            let ends: Vec<&String> = lines.iter().filter(|l| l.starts_with('<')).collect();
            assert_eq!(ends, ["<ok>", "<ok>", "<ok>"], "{lines:?}");
            assert_eq!(lines[lines.len() - 2], "\"hi\"");
            for bad in ["nope", "group", "stat 12345678901234567890", "call :1 x [", "kill :00abcdef", "trace"] {
                let (body, ok) = ask(&c, bad).await;
                assert!(!ok && body.len() == 1 && body[0].starts_with("error: "), "{bad:?} -> {body:?}");
            }
            assert_eq!(
                ask(&c, &format!("call {echo} echo {{a: [nil, 2.5]}}")).await,
                (vec!["{a: [nil, 2.5]}".to_owned()], true)
            );
            assert!(ask(&c, "quit").await.1);
        });
        assert_oracle_clean(sim);
    });
}

// checks C2 G3: a console kill racing a lazy start leaves the name either bound to a live
// service or unbound; the next query starts a fresh one
#[test]
fn a_console_kill_racing_a_lazy_start_leaves_the_group_consistent() {
    skygroup_sim::check("console_sim::kill_races_lazy_start", SEEDS, |sim| {
        let rt = sim.runtime();
        define(&rt);
        let server = rt.newgroup("server-1", "boot", ()).unwrap();
        let addr = console(&rt);
        let connect = sim.connect(&addr);
        let (g1, g2) = (server.clone(), server.clone());
        // The kill comes before, during or after the 300 µs init, by seed.
        let delay = Duration::from_micros(sim.seed() * 37 % 600);
        rt.block_on(move |ctx| async move {
            let c = connect.await.unwrap();
            let querying = g1.query(&ctx, "slow");
            let killer = async {
                ctx.sleep(delay).await;
                for _ in 0..200 {
                    let (group, ok) = ask(&c, "group 1").await;
                    assert!(ok, "{group:?}");
                    if let Some(line) = group.iter().find(|l| l.contains(" slow")) {
                        let slow = line.split(' ').next().unwrap().to_owned();
                        let (body, ok) = ask(&c, &format!("kill {slow}")).await;
                        assert!(ok || body[0].contains("no live service"), "{body:?}");
                        return slow;
                    }
                }
                panic!("`slow` never showed in the group");
            };
            let (first, killed) = futures::join!(querying, killer);
            if let Ok(first) = first {
                assert_eq!(first.to_string(), killed, "the one lazy start");
            }
            // Whatever the order, the name soon resolves to a live service again (once the
            // registry has seen the exit, a query starts a fresh one).
            let mut answers = Vec::new();
            for _ in 0..10 {
                let again: Address = g2.query(&ctx, "slow").await.unwrap();
                let pong = ctx.call(again, "ping", ()).await;
                if pong == Ok(Value::from("pong")) {
                    assert_ne!(again.to_string(), killed, "the killed one stays dead");
                    break;
                }
                answers.push(pong);
                ctx.sleep(Duration::from_micros(100)).await;
            }
            assert!(answers.len() < 10, "{answers:?}");
            c.close();
        });
        assert_oracle_clean(sim);
    });
}
