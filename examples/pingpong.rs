//! Ping-pong between two services, run on both backends with the same code (rule S4).
//!
//! "pong" counts the pings it answers; "ping" calls it `ROUNDS` times, then sends it a note
//! (one-way) and calls it once more: a call issued after a send to the same service is handled
//! after that send (G6). The same `play` runs on the threaded backend, then in the seeded
//! simulator, which also prints its seed and the start of its trace.
//!
//! Run: `cargo run --example pingpong -- --seed 7` (the seed defaults to 1).

use skygroup::{Address, Ctx, Runtime, ServiceKind, Value, anyhow};
use skygroup_sim::Sim;

const ROUNDS: i64 = 3;

#[derive(Default)]
struct Pong {
    count: i64,
    notes: Vec<String>,
}

async fn on_ping(ctx: Ctx<Pong>, _args: Value) -> anyhow::Result<i64> {
    Ok(ctx.with_state(|p| {
        p.count += 1;
        p.count
    }))
}

async fn on_note(ctx: Ctx<Pong>, text: Value) -> anyhow::Result<()> {
    let text = String::try_from(text)?;
    ctx.with_state(|p| p.notes.push(text));
    Ok(())
}

/// ping's handler: its state is pong's address, given to its init.
async fn on_play(ctx: Ctx<Address>, rounds: Value) -> anyhow::Result<Vec<String>> {
    let pong = ctx.with_state(|p| *p);
    let mut lines = Vec::new();
    for round in 1..=i64::try_from(rounds)? {
        let count = ctx.call(pong, "ping", round).await?;
        lines.push(format!("round {round}: ping -> pong, pong's counter is {count}"));
    }
    ctx.send(pong, "note", "sent one-way, no reply");
    let notes = ctx.call(pong, "notes", ()).await?;
    lines.push(format!("send `note`, then call `notes`: {notes}"));
    Ok(lines)
}

/// Defines both kinds, starts one of each, plays the rounds and prints what ping saw.
fn run(rt: &Runtime) {
    rt.define(
        ServiceKind::new("pong", |_ctx, (): ()| async { Ok(Pong::default()) })
            .command("ping", on_ping)
            .command("note", on_note)
            .command("notes", |ctx: Ctx<Pong>, _v| async move { Ok(ctx.with_state(|p| p.notes.clone())) }),
    )
    .unwrap();
    rt.define(ServiceKind::new("ping", |_ctx, pong: Address| async move { Ok(pong) }).command("play", on_play))
        .unwrap();

    let pong = rt.spawn("pong", ()).unwrap();
    let ping = rt.spawn("ping", pong).unwrap();
    let lines = rt.block_on(move |ctx| async move { ctx.call(ping, "play", ROUNDS).await });
    for line in Vec::<Value>::try_from(lines.expect("play failed")).unwrap() {
        println!("  {}", line.as_str().unwrap_or_default());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seed: u64 = match args.iter().position(|a| a == "--seed") {
        Some(i) => args.get(i + 1).and_then(|s| s.parse().ok()).expect("usage: --seed N"),
        None => 1,
    };

    println!("threaded backend (2 worker threads):");
    run(&Runtime::threaded(2));

    println!("simulator, seed {seed}:");
    let sim = Sim::new(seed);
    run(&sim.runtime());
    let trace = sim.trace();
    println!("seed {seed}: {} trace lines, the first 12:", trace.len());
    for line in trace.iter().take(12) {
        println!("  {line}");
    }
}
