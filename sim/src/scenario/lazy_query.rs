//! `lazy-query`: several services of one group query and call a name nobody has started yet,
//! all at once; later the service behind the name quits and one of them calls it again.
//!
//! Checks: one start however many race (G2): every query and every call reaches the same
//! address, and the group lists exactly one `db`. After `db` exits, the next call by name
//! starts a fresh one instead of failing or chasing the dead (G9).

use futures::future::join_all;
use skygroup::{Ctx, Group, Runtime, ServiceKind, Value};

use super::kit::{Journal, addresses, define, ensure, is_error, lobby, outcome};
use super::{Marks, Scenario};

/// Players racing first use of `db`.
pub struct LazyQuery {
    /// How many players race.
    pub players: i64,
}

impl Default for LazyQuery {
    fn default() -> Self {
        LazyQuery { players: 4 }
    }
}

/// What the program saw: per player (query answer, call answer), then the call after `db` quit.
struct Seen {
    group: Group,
    answers: Vec<(Value, Value)>,
    after_quit: Value,
    /// "asked i" when player i's query returned, "db i" when db handled player i's call.
    journal: Vec<String>,
}

impl Scenario for LazyQuery {
    fn name(&self) -> &str {
        "lazy-query"
    }

    fn description(&self) -> &str {
        "several services query and call an unstarted name at once (G2); after it quits, a call by name restarts it (G9)"
    }

    fn steps_max(&self) -> u64 {
        10_000
    }

    fn run(&self, rt: &Runtime, marks: &mut Marks) -> Result<(), String> {
        let seen = run_program(rt, self.players)?;
        check_one_start(&seen)?;
        check_restart(&seen)?;
        note_marks(&seen, marks);
        Ok(())
    }

    fn run_with_faults(&self, rt: &Runtime, _marks: &mut Marks) -> Result<(), String> {
        // A set-up step (the group, the lobby) failing under injected faults is expected.
        let Ok(seen) = run_program(rt, self.players) else { return Ok(()) };
        let answers = seen.answers.iter().flat_map(|(q, c)| [q, c]).chain([&seen.after_quit]);
        for answer in answers {
            let fine = matches!(answer, Value::Address(_)) || is_error(answer);
            ensure(fine, || format!("answer {answer} is neither an address nor an error"))?;
        }
        Ok(())
    }
}

fn run_program(rt: &Runtime, players: i64) -> Result<Seen, String> {
    let journal = Journal::default();
    define_kinds(rt, &journal)?;
    let (group, answers, after_quit) = rt.block_on(move |ctx| async move {
        let group = ctx.newgroup("server", "boot", ()).await.map_err(|e| e.to_string())?;
        let lobby = group.query(&ctx, "lobby").await.map_err(|e| e.to_string())?;
        let spawned = ctx.call(lobby, "spawn", players).await.map_err(|e| e.to_string())?;
        let players = addresses(spawned).map_err(|e| e.to_string())?;
        let plays = join_all(players.iter().map(|&p| ctx.call(p, "play", ()))).await;
        let answers: Vec<(Value, Value)> = plays.into_iter().map(|r| pair(outcome(r))).collect();
        let _ = ctx.call(players[0], "quit_db", ()).await;
        let after_quit = outcome(ctx.call(players[players.len() - 1], "whoami_db", ()).await);
        Ok::<_, String>((group, answers, after_quit))
    })?;
    Ok(Seen { group, answers, after_quit, journal: journal.items() })
}

/// A `play` answer as (query, call); a failed `play` counts as that error for both.
fn pair(answer: Value) -> (Value, Value) {
    <(Value, Value)>::try_from(answer.clone()).unwrap_or((answer.clone(), answer))
}

fn define_kinds(rt: &Runtime, journal: &Journal<String>) -> Result<(), String> {
    define(rt, ServiceKind::stateless("boot"))?;
    define(rt, lobby("player"))?;
    define(rt, player(journal.clone()))?;
    let seen_by_db = journal.clone();
    let db = ServiceKind::stateless("db")
        .command("whoami", move |ctx, who: Value| {
            seen_by_db.push(format!("db {who}"));
            async move { Ok(ctx.address()) }
        })
        .command("quit", |ctx, _v: Value| async move {
            ctx.exit();
            Ok(())
        });
    define(rt, db)
}

fn player(journal: Journal<String>) -> ServiceKind<i64> {
    ServiceKind::new("player", |_ctx, i: i64| async move { Ok(i) })
        .command("play", move |ctx: Ctx<i64>, _v: Value| {
            let journal = journal.clone();
            async move {
                let me = ctx.with_state(|i| *i);
                let call = ctx.call("db", "whoami", me);
                let query = outcome(ctx.query("db").await.map(Value::from));
                journal.push(format!("asked {me}"));
                Ok((query, outcome(call.await)))
            }
        })
        .command("quit_db", |ctx, _v: Value| async move { Ok(ctx.call("db", "quit", ()).await?) })
        .command("whoami_db", |ctx: Ctx<i64>, _v: Value| async move {
            let me = ctx.with_state(|i| *i);
            Ok(ctx.call("db", "whoami", me).await?)
        })
}

/// G2: every query and call went to one address, and the group lists one `db`.
fn check_one_start(seen: &Seen) -> Result<(), String> {
    let first = seen.answers.first().map(|(q, _)| q.clone()).unwrap_or_default();
    ensure(matches!(first, Value::Address(_)), || format!("G2: the first query answered {first}"))?;
    for (i, (query, call)) in seen.answers.iter().enumerate() {
        ensure(*query == first && *call == first, || {
            format!("G2: player {i} got query {query} and call {call}, player 0 got {first}")
        })?;
    }
    Ok(())
}

/// G9: the call after `db` quit reached a fresh, live, bound `db`, the only one listed.
fn check_restart(seen: &Seen) -> Result<(), String> {
    let old = seen.answers.first().map(|(q, _)| q.clone()).unwrap_or_default();
    let fresh = &seen.after_quit;
    ensure(matches!(fresh, Value::Address(_)) && *fresh != old, || {
        format!("G9: after db {old} quit, a call by name answered {fresh}, want a fresh db")
    })?;
    let dbs: Vec<(Value, bool)> =
        seen.group.services().into_iter().filter(|m| m.name == "db").map(|m| (m.address.into(), m.bound)).collect();
    ensure(dbs == [(fresh.clone(), true)], || format!("G2/G9: the group lists db as {dbs:?}, want only {fresh} bound"))
}

fn note_marks(seen: &Seen, marks: &mut Marks) {
    let position = |prefix: &str| seen.journal.iter().position(|l| l.starts_with(prefix));
    let last_asked = seen.journal.iter().rposition(|l| l.starts_with("asked"));
    let early_call = matches!((position("db"), last_asked), (Some(db), Some(asked)) if db < asked);
    marks.sometimes("db answered a call before every query had returned", early_call);
    let last = format!("asked {}", seen.answers.len().saturating_sub(1));
    marks.sometimes("the last player's query returned first", position("asked") == position(&last));
}
