//! A tokio task driving a skygroup service through a [`skygroup::Handle`].
//!
//! A game server's `room` service lives in a skygroup group; a tokio program (say, the axum
//! side of an admin API) talks to it: one tokio task ticks the room every 10 ms (a tokio timer),
//! others post chat lines concurrently, and the main task asks for the room's state. No tokio
//! thread blocks: the handle's futures complete through their `Waker` only.
//!
//! Run: `cargo run -p skygroup-examples-tokio --example tokio_driver`

use std::time::Duration;

use skygroup::{Ctx, Runtime, ServiceKind, Value};

/// The room: counts ticks and keeps the chat lines.
#[derive(Default)]
struct Room {
    ticks: i64,
    lines: Vec<String>,
}

fn define(rt: &Runtime) {
    rt.define(ServiceKind::stateless("boot")).unwrap();
    rt.define(
        ServiceKind::new("room", |_ctx, (): ()| async { Ok(Room::default()) })
            .command("tick", |ctx: Ctx<Room>, _: Value| async move {
                ctx.with_state(|room| room.ticks += 1);
                Ok(())
            })
            .command("say", |ctx: Ctx<Room>, line: Value| async move {
                let line = String::try_from(line)?;
                Ok(ctx.with_state(|room| {
                    room.lines.push(line);
                    room.lines.len() as i64
                }))
            })
            .command("state", |ctx: Ctx<Room>, _: Value| async move {
                Ok(ctx.with_state(|room| (room.ticks, room.lines.clone())))
            }),
    )
    .unwrap();
}

#[tokio::main]
async fn main() {
    // The skygroup runtime has its own worker threads; tokio has its own.
    let rt = Runtime::threaded(2);
    define(&rt);
    let server = rt.newgroup("server-1", "boot", ()).unwrap();
    let handle = rt.handle();

    // A tokio task ticks the room with a tokio timer: sends by name in the group.
    let ticker = {
        let (handle, server) = (handle.clone(), server.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(10));
            for _ in 0..5 {
                every.tick().await;
                handle.send_in(&server, "room", "tick", ()).expect("runtime alive");
            }
        })
    };

    // Players post concurrently from tokio tasks; each awaits the room's answer.
    let players: Vec<_> = ["ana", "bo", "cy"]
        .into_iter()
        .map(|player| {
            let (handle, server) = (handle.clone(), server.clone());
            tokio::spawn(async move {
                let line = format!("{player}: hello");
                let count = handle.call_in(&server, "room", "say", line).await.expect("room answers");
                println!("{player} posted; the room has {count} lines");
            })
        })
        .collect();
    for player in players {
        player.await.unwrap();
    }
    ticker.await.unwrap();

    // The room's address, then a call by address: everything this handle sent is in first (H1).
    let room = handle.query(&server, "room").await.unwrap();
    let state = handle.call(room, "state", ()).await.unwrap();
    let (ticks, lines): (Value, Value) = state.try_into().unwrap();
    println!("room {room}: {ticks} ticks, lines {lines}");

    // Dropping the runtime shuts it down; the handle's operations then fail at once.
    drop(rt);
    let after = handle.call(room, "state", ()).await.unwrap_err();
    println!("after shutdown: {after}");
}
