//! The direct path under load (threaded backend only: the race needs two worker threads).
//!
//! Clients flood a `command_sync` service with more sends than one turn handles (its budget),
//! then call it. While the service works through its backlog, its turns end with leftovers;
//! a client's call that found it idle at such a turn boundary used to run ahead of the
//! leftovers (among them that client's own earlier sends) and strand them (issue 11). The
//! sink checks each client's messages arrive in order, and every call must be answered in
//! time: a stranded call fails the test instead of hanging it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use skygroup::{Address, Ctx, Runtime, ServiceKind, Value, anyhow};

/// Sends per client per round: more than a turn's budget (64), so turns end with leftovers.
const SENDS: i64 = 150;
/// Rounds per `run` call of a client.
const ROUNDS: i64 = 20;
/// How long the test keeps going (it stops early at `MAX_BATCHES`).
const DURATION: Duration = Duration::from_secs(3);
const MAX_BATCHES: usize = 100_000;
const CLIENTS: i64 = 3;
/// A message's number: the client's id and its sequence number in one integer.
const SEQ_SPAN: i64 = 1 << 32;

#[derive(Default)]
struct Sink {
    last: BTreeMap<i64, i64>,
    out_of_order: Vec<String>,
}

struct Client {
    sink: Address,
    id: i64,
    seq: i64,
}

fn define(rt: &Runtime) {
    rt.define(
        ServiceKind::new("sink", |_ctx, (): ()| async { Ok(Sink::default()) })
            .command_sync("note", |sink: &mut Sink, _ctx, v: Value| {
                let v = i64::try_from(v)?;
                let (client, seq) = (v / SEQ_SPAN, v % SEQ_SPAN);
                let last = sink.last.entry(client).or_insert(0);
                if seq != *last + 1 && sink.out_of_order.len() < 10 {
                    sink.out_of_order.push(format!("client {client}: {seq} after {last}"));
                }
                *last = seq;
                Ok(seq)
            })
            .command_sync("out_of_order", |sink: &mut Sink, _ctx, _v: Value| Ok(sink.out_of_order.join("; "))),
    )
    .unwrap();
    rt.define(
        ServiceKind::new("client", |_ctx, (sink, id): (Address, i64)| async move { Ok(Client { sink, id, seq: 0 }) })
            .command("run", |ctx: Ctx<Client>, _v: Value| async move {
                for _ in 0..ROUNDS {
                    let (sink, first) = ctx.with_state(|c| {
                        c.seq += SENDS + 1;
                        (c.sink, c.id * SEQ_SPAN + c.seq - SENDS)
                    });
                    for n in 0..SENDS {
                        ctx.send(sink, "note", first + n);
                    }
                    // The trailing call: behind this client's sends, answered after them (G6).
                    let seq = i64::try_from(ctx.call(sink, "note", first + SENDS).await?)?;
                    anyhow::ensure!(seq == (first + SENDS) % SEQ_SPAN, "answered {seq}");
                }
                Ok(())
            }),
    )
    .unwrap();
}

// checks G6 (per-sender order across the direct path and the mailbox) and G7 (no message,
// and so no call, is stranded behind a turn's leftovers).
#[test]
fn direct_calls_never_overtake_or_strand_leftovers() {
    let rt = Runtime::threaded(2);
    define(&rt);
    let sink = rt.spawn("sink", ()).unwrap();
    let clients: Vec<Address> = (1..=CLIENTS).map(|id| rt.spawn("client", (sink, id)).unwrap()).collect();
    let started = Instant::now();
    let mut batches = 0;
    while started.elapsed() < DURATION && batches < MAX_BATCHES {
        let clients = clients.clone();
        let results = rt.block_on(move |ctx| async move {
            let runs = clients.iter().map(|&c| ctx.call_timeout(c, "run", (), Duration::from_secs(5)));
            futures::future::join_all(runs).await
        });
        for result in results {
            result.unwrap_or_else(|err| panic!("after {batches} batches: {err} (a call stranded?)"));
        }
        let out_of_order = rt.block_on(move |ctx| async move { ctx.call(sink, "out_of_order", ()).await }).unwrap();
        assert_eq!(out_of_order, Value::from(""), "after {batches} batches: G6 broken");
        batches += 1;
    }
    rt.shutdown();
}
