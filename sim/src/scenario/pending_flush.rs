//! `pending-flush`: sends and calls to a name that is not resolved yet, from several senders at
//! once, then more after it has resolved.
//!
//! Each sender issues `push (me, i)` for `i` in `0..n` to `counter` (mostly sends, every third
//! a call, none awaited before the next is issued), then calls `seen`; then does it again for
//! `n..2n`, by now by a resolved name. Checks (G6, G7): every `seen` answer lists that sender's
//! pushes exactly `0..k` in issue order: queued sends are neither lost nor overtaken, not even
//! by a call issued after them.

use futures::future::join_all;
use skygroup::{Ctx, Runtime, ServiceKind, Value};

use super::kit::{addresses, define, ensure, lobby, outcome};
use super::{Marks, Scenario};

/// Senders flushing pushes into a lazily started counter.
pub struct PendingFlush {
    /// How many senders.
    pub senders: i64,
    /// Pushes per burst.
    pub pushes: i64,
}

impl Default for PendingFlush {
    fn default() -> Self {
        PendingFlush { senders: 3, pushes: 5 }
    }
}

impl Scenario for PendingFlush {
    fn name(&self) -> &str {
        "pending-flush"
    }

    fn description(&self) -> &str {
        "sends and calls to an unresolved name from several senders; the counter sees each sender's 0..n in order (G6)"
    }

    fn steps_max(&self) -> u64 {
        10_000
    }

    fn run(&self, rt: &Runtime, marks: &mut Marks) -> Result<(), String> {
        let answers = run_program(rt, self)?;
        for (sender, bursts) in answers.iter().enumerate() {
            for (burst, seen) in bursts.iter().enumerate() {
                let want: Vec<i64> = (0..self.pushes * (burst as i64 + 1)).collect();
                let got = own_pushes(seen, sender as i64)?;
                ensure(got == want, || {
                    format!("G6: sender {sender} burst {burst}: counter saw {got:?}, want {want:?}")
                })?;
            }
        }
        note_marks(&answers, marks);
        Ok(())
    }

    fn run_with_faults(&self, rt: &Runtime, _marks: &mut Marks) -> Result<(), String> {
        // A set-up step (the group, the lobby) failing under injected faults is expected.
        let Ok(answers) = run_program(rt, self) else { return Ok(()) };
        for (sender, bursts) in answers.iter().enumerate() {
            for seen in bursts.iter().filter(|s| matches!(s, Value::List(_))) {
                let got = own_pushes(seen, sender as i64)?;
                let increasing = got.windows(2).all(|w| w[0] < w[1]);
                ensure(increasing, || format!("G6: sender {sender}: counter saw {got:?}, out of issue order"))?;
            }
        }
        Ok(())
    }
}

/// Per sender, the `seen` answer after each burst.
fn run_program(rt: &Runtime, config: &PendingFlush) -> Result<Vec<Vec<Value>>, String> {
    define_kinds(rt)?;
    let (senders, pushes) = (config.senders, config.pushes);
    rt.block_on(move |ctx| async move {
        let group = ctx.newgroup("server", "boot", ()).await.map_err(|e| e.to_string())?;
        let lobby = group.query(&ctx, "lobby").await.map_err(|e| e.to_string())?;
        let spawned = ctx.call(lobby, "spawn", senders).await.map_err(|e| e.to_string())?;
        let senders = addresses(spawned).map_err(|e| e.to_string())?;
        let bursts = senders.iter().map(|&s| ctx.call(s, "bursts", pushes));
        let answers =
            join_all(bursts).await.into_iter().map(|r| Vec::<Value>::try_from(outcome(r)).unwrap_or_default());
        Ok(answers.collect())
    })
}

fn define_kinds(rt: &Runtime) -> Result<(), String> {
    define(rt, ServiceKind::stateless("boot"))?;
    define(rt, lobby("sender"))?;
    let sender = ServiceKind::new("sender", |_ctx, me: i64| async move { Ok(me) }).command("bursts", bursts);
    define(rt, sender)?;
    let counter = ServiceKind::new("counter", |_ctx, (): ()| async { Ok(Vec::<Value>::new()) })
        .command("push", |ctx: Ctx<Vec<Value>>, v: Value| async move {
            ctx.with_state(|seen| seen.push(v));
            Ok(())
        })
        .command("seen", |ctx: Ctx<Vec<Value>>, _v: Value| async move { Ok(ctx.with_state(|s| s.clone())) });
    define(rt, counter)
}

/// Two bursts of pushes, each followed by `seen`; answers both `seen` outcomes.
async fn bursts(ctx: Ctx<i64>, pushes: Value) -> skygroup::anyhow::Result<Vec<Value>> {
    let (me, n) = (ctx.with_state(|me| *me), i64::try_from(pushes)?);
    let mut answers = Vec::new();
    for burst in 0..2 {
        let mut calls = Vec::new();
        for i in burst * n..(burst + 1) * n {
            if i % 3 == 2 {
                calls.push(ctx.call("counter", "push", (me, i)));
            } else {
                ctx.send("counter", "push", (me, i));
            }
        }
        let seen = ctx.call("counter", "seen", ());
        join_all(calls).await;
        answers.push(outcome(seen.await));
    }
    Ok(answers)
}

/// `sender`'s numbers in a `seen` answer, in the order the counter got them.
fn own_pushes(seen: &Value, sender: i64) -> Result<Vec<i64>, String> {
    let items = Vec::<Value>::try_from(seen.clone()).map_err(|e| format!("seen answered {seen}: {e}"))?;
    let pairs = items.into_iter().map(|p| <(i64, i64)>::try_from(p).map_err(|e| e.to_string()));
    Ok(pairs.collect::<Result<Vec<_>, _>>()?.into_iter().filter(|(s, _)| *s == sender).map(|(_, i)| i).collect())
}

fn note_marks(answers: &[Vec<Value>], marks: &mut Marks) {
    let last_seen = answers.iter().filter_map(|b| b.last()).max_by_key(|s| s.to_string().len());
    let order: Vec<i64> = last_seen
        .and_then(|s| Vec::<Value>::try_from(s.clone()).ok())
        .map(|items| items.into_iter().filter_map(|p| <(i64, i64)>::try_from(p).ok()).map(|(s, _)| s).collect())
        .unwrap_or_default();
    let switches = order.windows(2).filter(|w| w[0] != w[1]).count();
    marks.sometimes("senders' pushes interleaved in the counter", switches > answers.len());
    marks.sometimes("the last sender's push arrived first", order.first() == Some(&(answers.len() as i64 - 1)));
}
