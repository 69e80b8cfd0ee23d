//! Ping-pong between two services, run on both backends with the same code (rule S4), in the
//! typed style (declared kinds and commands; `examples/readme_dynamic.rs` shows the dynamic one).
//!
//! "pong" counts the pings it answers; "ping" calls it `ROUNDS` times, then sends it a note
//! (one-way) and calls it once more: a call issued after a send to the same service is handled
//! after that send (G6). The same `play` runs on the threaded backend, then in the seeded
//! simulator, which also prints its seed and the start of its trace.
//!
//! Run: `cargo run --example pingpong -- --seed 7` (the seed defaults to 1).

use skygroup::{Address, Command, Ctx, Kind, NoError, Runtime, ServiceKind, anyhow};
use skygroup_sim::Sim;

const ROUNDS: i64 = 3;

/// The kinds, declared once: name, init arguments, state (so a wrong init or spawn argument
/// does not compile).
struct PongKind;
impl Kind for PongKind {
    const NAME: &'static str = "pong";
    type Args = ();
    type State = Pong;
}

/// ping's state is pong's address, given to its init.
struct PingKind;
impl Kind for PingKind {
    const NAME: &'static str = "ping";
    type Args = Address;
    type State = Address;
}

/// The commands, declared once: name, arguments, reply, domain error.
macro_rules! command {
    ($name:ident = $text:literal: $args:ty => $reply:ty) => {
        struct $name;
        impl Command for $name {
            const NAME: &'static str = $text;
            type Args = $args;
            type Reply = $reply;
            type Error = NoError;
        }
    };
}
command!(PingCmd = "ping": i64 => i64);
command!(Note = "note": String => ());
command!(Notes = "notes": () => Vec<String>);
command!(Play = "play": i64 => Vec<String>);

#[derive(Default)]
struct Pong {
    count: i64,
    notes: Vec<String>,
}

async fn on_ping(ctx: Ctx<Pong>, _round: i64) -> anyhow::Result<i64> {
    Ok(ctx.with_state(|p| {
        p.count += 1;
        p.count
    }))
}

/// ping's handler: typed calls and a typed send to pong.
async fn on_play(ctx: Ctx<Address>, rounds: i64) -> anyhow::Result<Vec<String>> {
    let pong = ctx.with_state(|p| *p);
    let mut lines = Vec::new();
    for round in 1..=rounds {
        let count = ctx.ask::<PingCmd>(pong, round).await?;
        lines.push(format!("round {round}: ping -> pong, pong's counter is {count}"));
    }
    ctx.tell::<Note>(pong, "sent one-way, no reply".into())?;
    let notes = ctx.ask::<Notes>(pong, ()).await?;
    lines.push(format!("send `note`, then call `notes`: {notes:?}"));
    Ok(lines)
}

/// Defines both kinds, starts one of each, plays the rounds and prints what ping saw.
fn run(rt: &Runtime) {
    rt.define(
        ServiceKind::of(PongKind, |_ctx, ()| async { Ok(Pong::default()) })
            .on(PingCmd, on_ping)
            .on_sync(Note, |p: &mut Pong, _ctx, text| {
                p.notes.push(text);
                Ok(())
            })
            .on_sync(Notes, |p: &mut Pong, _ctx, ()| Ok(p.notes.clone())),
    )
    .unwrap();
    rt.define(ServiceKind::of(PingKind, |_ctx, pong| async move { Ok(pong) }).on(Play, on_play)).unwrap();

    let pong = rt.spawn_kind(PongKind, ()).unwrap();
    let ping = rt.spawn_kind(PingKind, pong).unwrap();
    // The dynamic style reaches the same typed handler: `ctx.call(ping, "play", ROUNDS)`.
    let lines = rt.block_on(move |ctx| async move { ctx.ask::<Play>(ping, ROUNDS).await });
    for line in lines.expect("play failed") {
        println!("  {line}");
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
