//! `mixed-address`: each sender mixes messages by name and by address to one service, starting
//! before it has resolved the name itself.
//!
//! `rec` is started and bound first; each sender gets its address in its init args, then
//! issues `push (me, i)` for `i` in `0..n`, cycling through send by name, call by address, send
//! by address and call by name (no call awaited before the next message), then calls `seen`
//! by address. Checks (G6, issue 11): every `seen` answer lists that sender's pushes exactly
//! `0..n` in issue order: order holds per target service, however each message was addressed,
//! including behind by-name messages still waiting for the sender's first resolution.

use futures::future::join_all;
use skygroup::{Address, Ctx, Runtime, ServiceKind, Value};

use super::kit::{addresses, define, ensure, outcome};
use super::{Marks, Scenario};

/// Senders mixing by-name and by-address messages to one recorder.
pub struct MixedAddress {
    /// How many senders.
    pub senders: i64,
    /// Pushes per sender.
    pub pushes: i64,
}

impl Default for MixedAddress {
    fn default() -> Self {
        MixedAddress { senders: 2, pushes: 8 }
    }
}

impl Scenario for MixedAddress {
    fn name(&self) -> &str {
        "mixed-address"
    }

    fn description(&self) -> &str {
        "senders mix by-name and by-address messages to one service before resolving its name; it sees each sender's 0..n in order (G6)"
    }

    fn steps_max(&self) -> u64 {
        10_000
    }

    fn run(&self, rt: &Runtime, marks: &mut Marks) -> Result<(), String> {
        let answers = run_program(rt, self)?;
        let want: Vec<i64> = (0..self.pushes).collect();
        for (sender, seen) in answers.iter().enumerate() {
            let got = own_pushes(seen, sender as i64)?;
            ensure(got == want, || format!("G6: sender {sender}: rec saw {got:?}, want {want:?}"))?;
        }
        let first = answers.first().map(first_sender);
        marks.sometimes("the last sender's push arrived first", first == Some(Some(self.senders - 1)));
        Ok(())
    }

    fn run_with_faults(&self, rt: &Runtime, _marks: &mut Marks) -> Result<(), String> {
        // Under injected faults pushes may be lost (a panic, a crash): only their order counts.
        let Ok(answers) = run_program(rt, self) else { return Ok(()) };
        for (sender, seen) in answers.iter().enumerate().filter(|(_, s)| matches!(s, Value::List(_))) {
            let got = own_pushes(seen, sender as i64)?;
            let increasing = got.windows(2).all(|w| w[0] < w[1]);
            ensure(increasing, || format!("G6: sender {sender}: rec saw {got:?}, out of issue order"))?;
        }
        Ok(())
    }
}

/// Per sender, its `seen` answer.
fn run_program(rt: &Runtime, config: &MixedAddress) -> Result<Vec<Value>, String> {
    define_kinds(rt)?;
    let (senders, pushes) = (config.senders, config.pushes);
    rt.block_on(move |ctx| async move {
        let group = ctx.newgroup("server", "boot", ()).await.map_err(|e| e.to_string())?;
        let rec = group.query(&ctx, "rec").await.map_err(|e| e.to_string())?;
        let lobby = group.query(&ctx, "lobby").await.map_err(|e| e.to_string())?;
        let spawned = ctx.call(lobby, "spawn", (senders, rec)).await.map_err(|e| e.to_string())?;
        let senders = addresses(spawned).map_err(|e| e.to_string())?;
        let runs = senders.iter().map(|&s| ctx.call(s, "mix", pushes));
        Ok(join_all(runs).await.into_iter().map(outcome).collect())
    })
}

fn define_kinds(rt: &Runtime) -> Result<(), String> {
    define(rt, ServiceKind::stateless("boot"))?;
    let lobby = ServiceKind::stateless("lobby").command("spawn", |ctx, v: Value| async move {
        let (n, rec): (i64, Address) = v.try_into()?;
        let mut started = Vec::new();
        for i in 0..n {
            started.push(Address::try_from(ctx.newservice("sender", (i, rec)).await?)?);
        }
        Ok(started)
    });
    define(rt, lobby)?;
    let sender = ServiceKind::new("sender", |_ctx, me: (i64, Address)| async move { Ok(me) }).command("mix", mix);
    define(rt, sender)?;
    let rec = ServiceKind::new("rec", |_ctx, (): ()| async { Ok(Vec::<Value>::new()) })
        .command("push", |ctx: Ctx<Vec<Value>>, v: Value| async move {
            ctx.with_state(|seen| seen.push(v));
            Ok(())
        })
        .command("seen", |ctx: Ctx<Vec<Value>>, _v: Value| async move { Ok(ctx.with_state(|s| s.clone())) });
    define(rt, rec)
}

/// `n` pushes, cycling through the four ways to address `rec`; then `seen` by address.
async fn mix(ctx: Ctx<(i64, Address)>, pushes: Value) -> skygroup::anyhow::Result<Value> {
    let ((me, rec), n) = (ctx.with_state(|s| *s), i64::try_from(pushes)?);
    let mut calls = Vec::new();
    for i in 0..n {
        match i % 4 {
            0 => ctx.send("rec", "push", (me, i)),
            1 => calls.push(ctx.call(rec, "push", (me, i))),
            2 => ctx.send(rec, "push", (me, i)),
            _ => calls.push(ctx.call("rec", "push", (me, i))),
        }
    }
    let seen = ctx.call(rec, "seen", ());
    join_all(calls).await;
    Ok(seen.await?)
}

/// `sender`'s numbers in a `seen` answer, in the order `rec` got them.
fn own_pushes(seen: &Value, sender: i64) -> Result<Vec<i64>, String> {
    let items = Vec::<Value>::try_from(seen.clone()).map_err(|e| format!("seen answered {seen}: {e}"))?;
    let pairs = items.into_iter().map(|p| <(i64, i64)>::try_from(p).map_err(|e| e.to_string()));
    Ok(pairs.collect::<Result<Vec<_>, _>>()?.into_iter().filter(|(s, _)| *s == sender).map(|(_, i)| i).collect())
}

/// The sender of the first push in a `seen` answer.
fn first_sender(seen: &Value) -> Option<i64> {
    let first = Vec::<Value>::try_from(seen.clone()).ok()?.into_iter().next()?;
    <(i64, i64)>::try_from(first).ok().map(|(s, _)| s)
}
