//! `disconnect-during-start`: a player drops while its agent waits on the lazy start of `db`.
//!
//! The player connects, asks to `load` (its agent's first use of `db`, whose init takes a
//! while), and resets the connection at once. Checks: the agent gets its close exactly once and
//! exits; no message is sent to the dead agent (no dead letter anywhere); `db` still starts and
//! serves the next player; no agent is left; the gate holds no connection.

use skygroup::Runtime;

use super::gate_kit::{LISTEN, define_server, read};
use super::kit::{Journal, ensure};
use super::{Marks, Scenario};
use crate::Sim;

/// One player drops mid-start; a second one comes after.
pub struct DisconnectDuringStart;

impl Scenario for DisconnectDuringStart {
    fn name(&self) -> &str {
        "disconnect-during-start"
    }

    fn description(&self) -> &str {
        "a player drops while its agent's lazy db start is pending: no leak, no message to a dead agent"
    }

    fn steps_max(&self) -> u64 {
        50_000
    }

    fn run(&self, _rt: &Runtime, _marks: &mut Marks) -> Result<(), String> {
        Err("disconnect-during-start needs the simulator's network: run it with scenario::run_once".into())
    }

    fn run_in(&self, sim: &Sim, rt: &Runtime, marks: &mut Marks, faults: bool) -> Result<(), String> {
        let journal = Journal::default();
        define_server(rt, &journal)?;
        let (first, second) = (sim.connect(LISTEN), sim.connect(LISTEN));
        let outcome = rt.block_on(move |ctx| async move {
            let group = ctx.newgroup("server", "boot", ()).await.map_err(|e| e.to_string())?;
            let quitter = first.await?;
            let _ = read(&ctx, &quitter).await; // hello
            quitter.write_frame(b"load ana");
            quitter.write(&[0, 9, b'h', b'a']); // half a frame: reported at close (N9)
            quitter.reset();
            ctx.sleep(super::gate_kit::DB_START * 2).await;
            let next = second.await?;
            let _ = read(&ctx, &next).await; // hello
            next.write_frame(b"load bo");
            let reply = read(&ctx, &next).await;
            next.close();
            ctx.sleep(std::time::Duration::from_millis(5)).await;
            let gate = group.query(&ctx, "gate").await.map_err(|e| e.to_string())?;
            let clients = ctx.call(gate, "clients", ()).await.map_err(|e| e.to_string())?;
            Ok::<_, String>((reply, clients))
        });
        if faults {
            return Ok(()); // a set-up step may fail under faults; the oracle still checks the trace
        }
        let (second_reply, leftover) = outcome?;
        let items = journal.items();
        ensure(second_reply.as_deref() == Some(&b"loaded"[..]), || format!("db serves the next player: {items:?}"))?;
        ensure(leftover == skygroup::Value::Int(0), || format!("the gate holds no connection: {leftover}"))?;
        let closes = items.iter().filter(|l| l.as_str() == "agent 1 got close").count();
        ensure(closes == 1, || format!("the quitter's agent gets one close: {items:?}"))?;
        ensure(!items.iter().any(|l| l == "agent 1 loaded"), || format!("the dead agent did no more: {items:?}"))?;
        let agents_left = rt.services().iter().filter(|s| s.kind == "agent").count();
        ensure(agents_left == 0, || format!("{agents_left} agent(s) leaked"))?;
        ensure(rt.dead_letters() == 0, || format!("{} message(s) to the dead: {items:?}", rt.dead_letters()))?;
        let close_before_ready =
            items.iter().position(|l| l == "agent 1 got close") < items.iter().position(|l| l == "db ready");
        marks.sometimes("the player left while db was starting", close_before_ready);
        Ok(())
    }
}
