//! `shortcut-order`: per-sender order where the threaded backend's shortcuts can break it: a
//! direct call or send to a synchronous service, and an answer completed in place.
//!
//! Each client gets a few `burst` sends from the driver, then one `ask` call. A burst sends
//! `add (me, i)` to `tally` (synchronous commands, so a send may run its handler directly on
//! the client's stack) for the next few `i`; between bursts `tally` may have run one message
//! of a batch and left the rest (the simulator runs one message per step). `ask` then calls
//! `echo` once per round, by turns through an async command (its turn may run inline, and its
//! answer complete in place) and a synchronous one (handled directly); `echo` sends the client
//! `note n` and then answers `n`; last, `ask` calls `tally`'s `seen`. Checks (G6, issue 11):
//! - every client's `seen` lists its adds exactly `0..n` in issue order: a direct message never
//!   runs ahead of the same sender's messages still in the target's mailbox or batch;
//! - when an answer from `echo` arrives, the `note` echo sent before answering has been
//!   handled: an answer, in place or not, never overtakes an earlier message of its answerer.

use futures::future::join_all;
use skygroup::{Address, Ctx, Runtime, ServiceKind, Value};

use super::kit::{addresses, define, ensure, outcome};
use super::{Marks, Scenario};

/// Clients sending bursts to a synchronous tally and asking an echo that notes before answering.
pub struct ShortcutOrder {
    /// Client services, each with its own bursts and rounds.
    pub clients: i64,
    /// Bursts of adds per client.
    pub bursts: i64,
    /// Adds per burst.
    pub adds: i64,
    /// `echo` rounds per client.
    pub rounds: i64,
}

impl Default for ShortcutOrder {
    fn default() -> Self {
        ShortcutOrder { clients: 2, bursts: 3, adds: 3, rounds: 4 }
    }
}

impl Scenario for ShortcutOrder {
    fn name(&self) -> &str {
        "shortcut-order"
    }

    fn description(&self) -> &str {
        "direct sends to a sync service between its batched turns, answers that may complete in place; per-sender order holds (G6)"
    }

    fn steps_max(&self) -> u64 {
        10_000
    }

    fn run(&self, rt: &Runtime, marks: &mut Marks) -> Result<(), String> {
        let answers = run_program(rt, self)?;
        let want: Vec<i64> = (0..self.bursts * self.adds).collect();
        for (client, answer) in answers.iter().enumerate() {
            let (overtaken, seen) = client_answer(answer)?;
            ensure(overtaken.is_empty(), || {
                format!(
                    "G6: client {client}: echo's answers for rounds {overtaken:?} overtook the note sent before them"
                )
            })?;
            let got = own_adds(&seen, client as i64)?;
            ensure(got == want, || format!("G6: client {client}: tally saw {got:?}, want {want:?}"))?;
        }
        let first = answers.first().map(|a| client_answer(a).ok().and_then(|(_, seen)| first_client(&seen)));
        marks.sometimes("the last client's add arrived first", first == Some(Some(self.clients - 1)));
        Ok(())
    }

    fn run_with_faults(&self, rt: &Runtime, _marks: &mut Marks) -> Result<(), String> {
        // Under injected faults messages may be lost (a panic, a crash): a lost note looks
        // overtaken, so only the adds' order counts.
        let Ok(answers) = run_program(rt, self) else { return Ok(()) };
        for (client, answer) in answers.iter().enumerate() {
            let Ok((_, seen)) = client_answer(answer) else { continue };
            let Ok(got) = own_adds(&seen, client as i64) else { continue };
            let increasing = got.windows(2).all(|w| w[0] < w[1]);
            ensure(increasing, || format!("G6: client {client}: tally saw {got:?}, out of issue order"))?;
        }
        Ok(())
    }
}

/// Per client, its `ask` answer: `[overtaken rounds, seen]`.
fn run_program(rt: &Runtime, config: &ShortcutOrder) -> Result<Vec<Value>, String> {
    define_kinds(rt)?;
    let ShortcutOrder { clients, bursts, adds, rounds } = *config;
    rt.block_on(move |ctx| async move {
        let group = ctx.newgroup("server", "boot", ()).await.map_err(|e| e.to_string())?;
        let tally = group.query(&ctx, "tally").await.map_err(|e| e.to_string())?;
        let echo = group.query(&ctx, "echo").await.map_err(|e| e.to_string())?;
        let lobby = group.query(&ctx, "lobby").await.map_err(|e| e.to_string())?;
        let spawned = ctx.call(lobby, "spawn", (clients, tally, echo)).await.map_err(|e| e.to_string())?;
        let clients = addresses(spawned).map_err(|e| e.to_string())?;
        for &client in &clients {
            for _ in 0..bursts {
                ctx.send(client, "burst", adds);
            }
        }
        let asks = clients.iter().map(|&c| ctx.call(c, "ask", rounds));
        Ok(join_all(asks).await.into_iter().map(outcome).collect())
    })
}

/// A client's state: its number, whom it talks to, the next add, the notes it got.
struct Client {
    me: i64,
    tally: Address,
    echo: Address,
    next: i64,
    notes: Vec<i64>,
}

fn define_kinds(rt: &Runtime) -> Result<(), String> {
    define(rt, ServiceKind::stateless("boot"))?;
    let lobby = ServiceKind::stateless("lobby").command("spawn", |ctx, v: Value| async move {
        let (n, tally, echo): (i64, Address, Address) = v.try_into()?;
        let mut started = Vec::new();
        for i in 0..n {
            started.push(Address::try_from(ctx.newservice("client", (i, tally, echo)).await?)?);
        }
        Ok(started)
    });
    define(rt, lobby)?;
    let tally = ServiceKind::new("tally", |_ctx, (): ()| async { Ok(Vec::<Value>::new()) })
        .command_sync("add", |seen: &mut Vec<Value>, _ctx, v: Value| {
            seen.push(v);
            Ok(())
        })
        .command_sync("seen", |seen: &mut Vec<Value>, _ctx, _v: Value| Ok(seen.clone()));
    define(rt, tally)?;
    let echo = ServiceKind::stateless("echo")
        .command("ask", |ctx, v: Value| async move { note_then_answer(&ctx, v) })
        .command_sync("ask_now", |_: &mut (), ctx, v: Value| note_then_answer(ctx, v));
    define(rt, echo)?;
    let client = ServiceKind::new("client", |_ctx, (me, tally, echo): (i64, Address, Address)| async move {
        Ok(Client { me, tally, echo, next: 0, notes: Vec::new() })
    })
    .command_sync("note", |client: &mut Client, _ctx, n: Value| {
        client.notes.push(i64::try_from(n)?);
        Ok(())
    })
    .command("burst", burst)
    .command("ask", ask);
    define(rt, client)
}

/// `echo`'s commands: sends the caller `note n`, then answers `n`.
fn note_then_answer<S: 'static>(ctx: &Ctx<S>, v: Value) -> skygroup::anyhow::Result<Value> {
    let (caller, n): (Address, i64) = v.try_into()?;
    ctx.send(caller, "note", n);
    Ok(Value::from(n))
}

/// Sends `tally` the client's next `adds` numbers, by address, none awaited.
async fn burst(ctx: Ctx<Client>, adds: Value) -> skygroup::anyhow::Result<()> {
    let (me, tally, first) = ctx.with_state(|c| (c.me, c.tally, c.next));
    let n = i64::try_from(adds)?;
    ctx.with_state(|c| c.next += n);
    for i in first..first + n {
        ctx.send(tally, "add", (me, i));
    }
    Ok(())
}

/// `rounds` calls to `echo` (async and sync commands by turns), each checked against the notes
/// handled by the time its answer is back; then `tally`'s `seen`. Answers `[overtaken, seen]`.
async fn ask(ctx: Ctx<Client>, rounds: Value) -> skygroup::anyhow::Result<Value> {
    let (tally, echo) = ctx.with_state(|c| (c.tally, c.echo));
    let mut overtaken = Vec::new();
    for round in 0..i64::try_from(rounds)? {
        let command = if round % 2 == 0 { "ask" } else { "ask_now" };
        ctx.call(echo, command, (ctx.address(), round)).await?;
        if !ctx.with_state(|c| c.notes.contains(&round)) {
            overtaken.push(Value::from(round));
        }
    }
    let seen = ctx.call(tally, "seen", ()).await?;
    Ok(Value::List(vec![Value::List(overtaken), seen]))
}

/// A client's `ask` answer as (overtaken rounds, seen).
fn client_answer(answer: &Value) -> Result<(Vec<Value>, Value), String> {
    let parts = Vec::<Value>::try_from(answer.clone()).map_err(|e| format!("ask answered {answer}: {e}"))?;
    let [overtaken, seen] = <[Value; 2]>::try_from(parts).map_err(|_| format!("ask answered {answer}"))?;
    let overtaken = Vec::<Value>::try_from(overtaken).map_err(|e| format!("ask answered {answer}: {e}"))?;
    Ok((overtaken, seen))
}

/// `client`'s numbers in a `seen` answer, in the order `tally` got them.
fn own_adds(seen: &Value, client: i64) -> Result<Vec<i64>, String> {
    let items = Vec::<Value>::try_from(seen.clone()).map_err(|e| format!("seen answered {seen}: {e}"))?;
    let pairs = items.into_iter().map(|p| <(i64, i64)>::try_from(p).map_err(|e| e.to_string()));
    Ok(pairs.collect::<Result<Vec<_>, _>>()?.into_iter().filter(|(c, _)| *c == client).map(|(_, i)| i).collect())
}

/// The client of the first add in a `seen` answer.
fn first_client(seen: &Value) -> Option<i64> {
    let first = Vec::<Value>::try_from(seen.clone()).ok()?.into_iter().next()?;
    <(i64, i64)>::try_from(first).ok().map(|(c, _)| c)
}
