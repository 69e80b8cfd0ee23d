//! `login-race`: two connections log in one account at once, through a gate over the virtual
//! network; each gets an agent, each agent asks the lazy `login` service.
//!
//! Checks: exactly one login wins (one `welcome`, one `taken`), whatever order the connects,
//! the byte splits and the lazy start of `login` interleave in; both agents exit once their
//! players leave (nothing leaks); the oracle checks the rest of the contract on the trace.

use skygroup::Runtime;

use super::gate_kit::{LISTEN, define_server, read};
use super::kit::{Journal, ensure};
use super::{Marks, Scenario};
use crate::Sim;

/// Two players, one account.
pub struct LoginRace;

impl Scenario for LoginRace {
    fn name(&self) -> &str {
        "login-race"
    }

    fn description(&self) -> &str {
        "two connections log in one account at once through a gate: exactly one login wins"
    }

    fn steps_max(&self) -> u64 {
        50_000
    }

    fn run(&self, _rt: &Runtime, _marks: &mut Marks) -> Result<(), String> {
        Err("login-race needs the simulator's network: run it with scenario::run_once".into())
    }

    fn run_in(&self, sim: &Sim, rt: &Runtime, marks: &mut Marks, faults: bool) -> Result<(), String> {
        let journal = Journal::default();
        define_server(rt, &journal)?;
        let (a, b) = (sim.connect(LISTEN), sim.connect(LISTEN));
        let replies = rt.block_on(move |ctx| async move {
            let group = ctx.newgroup("server", "boot", ()).await.map_err(|e| e.to_string())?;
            // Each player stays connected until both have their answer: they log in at once.
            let player = |connect: _| {
                let ctx = ctx.clone();
                async move {
                    let client: crate::net::SimClient = match connect {
                        Ok(client) => client,
                        Err(e) => return (None, format!("connect: {e}")),
                    };
                    if read(&ctx, &client).await.as_deref() != Some(&b"hello"[..]) {
                        return (Some(client), "no hello".into());
                    }
                    client.write_frame(b"login ana");
                    let reply = read(&ctx, &client).await;
                    (Some(client), reply.map_or("no reply".into(), |r| String::from_utf8_lossy(&r).into_owned()))
                }
            };
            let ((c1, r1), (c2, r2)) = futures::join!(async { player(a.await).await }, async { player(b.await).await });
            c1.into_iter().chain(c2).for_each(crate::net::SimClient::close);
            let replies = (r1, r2);
            // Let the closes reach the agents, then check nothing is left behind.
            ctx.sleep(std::time::Duration::from_millis(5)).await;
            drop(group);
            Ok::<_, String>(replies)
        });
        if faults {
            return Ok(()); // a set-up step may fail under faults; the oracle still checks the trace
        }
        let replies = replies?;
        let items = journal.items();
        let mut got = [replies.0.as_str(), replies.1.as_str()];
        got.sort_unstable();
        ensure(got == ["taken", "welcome"], || format!("exactly one login wins: got {got:?}; journal {items:?}"))?;
        let starts = items.iter().filter(|l| l.contains(" start :")).count();
        let exits = items.iter().filter(|l| l.ends_with(" exit")).count();
        ensure(starts == 2 && exits == 2, || format!("two agents, both gone: {items:?}"))?;
        let first_won = items.iter().find(|l| l.starts_with("login ana by")).is_some_and(|l| l.ends_with("by 1 ok"));
        marks.sometimes("the first connection wins", first_won);
        marks.sometimes("the second connection wins", !first_won);
        Ok(())
    }
}
