//! Synchronous commands (`ServiceKind::command_sync`) on both backends: the same contract as
//! async handlers (G6, G8, G12), without a future per message.

mod common;

use common::backend_test;
use skygroup::{Address, CallError, CallErrorKind, Ctx, Runtime, ServiceKind, Value, anyhow};

struct Tally {
    seen: Vec<i64>,
}

fn define_kinds(rt: &Runtime) {
    rt.define(
        ServiceKind::new("tally", |_ctx, (): ()| async { Ok(Tally { seen: Vec::new() }) })
            .command_sync("add", |tally: &mut Tally, _ctx, v: Value| {
                tally.seen.push(i64::try_from(v)?);
                Ok(())
            })
            .command_sync("seen", |tally: &mut Tally, _ctx, _v: Value| Ok(tally.seen.clone()))
            .command_sync("fail", |_tally: &mut Tally, _ctx, _v: Value| -> anyhow::Result<()> {
                anyhow::bail!("tally is closed")
            })
            .command_sync("boom", |_tally: &mut Tally, _ctx, _v: Value| -> anyhow::Result<()> {
                panic!("tally exploded")
            })
            .command_sync("nested", |_tally: &mut Tally, ctx: &Ctx, _v: Value| Ok(ctx.with_state(|(): &mut ()| 0i64)))
            .command_sync("forward", |tally: &mut Tally, ctx: &Ctx, to: Value| {
                let to = Address::try_from(to)?;
                for n in &tally.seen {
                    ctx.send(to, "add", *n);
                }
                Ok(tally.seen.len() as i64)
            })
            // An async handler of the same kind sees what the synchronous ones did.
            .command("count", |ctx: Ctx<Tally>, _v: Value| async move { Ok(ctx.with_state(|t| t.seen.len() as i64)) }),
    )
    .unwrap();
}

fn call(rt: &Runtime, to: Address, command: &'static str, args: impl Into<Value>) -> Result<Value, CallError> {
    let args = args.into();
    rt.block_on(move |ctx| async move { ctx.call(to, command, args).await })
}

backend_test! {
    // checks G6, G8: sends to a synchronous command are handled in order and their results
    // dropped; a call returns the handler's result; state persists between messages and is
    // shared with the kind's async handlers.
    fn sync_commands_reply_and_keep_order(rt) {
        define_kinds(&rt);
        let tally = rt.spawn("tally", ()).unwrap();
        let seen = rt.block_on(move |ctx| async move {
            for i in 0..50 {
                ctx.send(tally, "add", i);
            }
            ctx.call(tally, "seen", ()).await
        });
        assert_eq!(seen.unwrap(), Value::from((0..50).collect::<Vec<i64>>()));
        assert_eq!(call(&rt, tally, "count", ()).unwrap(), Value::from(50));
        let stats = rt.services().into_iter().find(|s| s.address == tally).unwrap().stats;
        assert_eq!(stats.handled, 52);
    }
}

backend_test! {
    // checks G8: a synchronous handler's error and panic reach the caller as errors naming the
    // service and command; so does `with_state` inside one (the state is already lent to it);
    // the service keeps running.
    fn sync_command_errors_and_panics_are_caught(rt) {
        define_kinds(&rt);
        let tally = rt.spawn("tally", ()).unwrap();
        let err = call(&rt, tally, "fail", ()).unwrap_err();
        assert_eq!(err.to_string(), format!("service tally ({tally}) failed `fail`: tally is closed"));
        let err = call(&rt, tally, "boom", ()).unwrap_err();
        assert!(matches!(err.kind(), CallErrorKind::Panic { message, .. } if message == "tally exploded"), "{err}");
        let err = call(&rt, tally, "nested", ()).unwrap_err();
        assert!(matches!(err.kind(), CallErrorKind::Panic { message, .. } if message.contains("inside with_state")), "{err}");
        call(&rt, tally, "add", 7).unwrap();
        assert_eq!(call(&rt, tally, "seen", ()).unwrap(), Value::from(vec![7i64]));
        let stats = rt.services().into_iter().find(|s| s.address == tally).unwrap().stats;
        assert_eq!(stats.errors, 3);
    }
}

backend_test! {
    // checks G6: messages a synchronous handler sends go out in order, like any other sender's.
    fn sync_commands_send(rt) {
        define_kinds(&rt);
        let from = rt.spawn("tally", ()).unwrap();
        let to = rt.spawn("tally", ()).unwrap();
        for i in 0..5 {
            call(&rt, from, "add", i).unwrap();
        }
        assert_eq!(call(&rt, from, "forward", Value::Address(to)).unwrap(), Value::from(5));
        assert_eq!(call(&rt, from, "forward", Value::Address(to)).unwrap(), Value::from(5));
        assert_eq!(call(&rt, to, "seen", ()).unwrap(), Value::from(vec![0i64, 1, 2, 3, 4, 0, 1, 2, 3, 4]));
    }
}

backend_test! {
    // checks G6: what a callee sends its caller before answering reaches the caller before the
    // answer, also when the threaded backend runs the callee at once on the caller's worker
    // and could hand the answer over directly; and a callee that calls back into its caller
    // while answering still gets through (G12).
    fn answers_do_not_overtake_the_callees_sends(rt) {
        rt.define(
            ServiceKind::new("asker", |_ctx, (): ()| async { Ok(Vec::<i64>::new()) })
                .command("ask", |ctx: Ctx<Vec<i64>>, teller: Value| async move {
                    let teller = Address::try_from(teller)?;
                    let mut seen_before_answer = Vec::new();
                    for round in 0..20 {
                        let answer = ctx.call(teller, "tell", (ctx.address(), round)).await?;
                        anyhow::ensure!(answer == Value::from(round), "teller answered {answer:?}");
                        seen_before_answer.push(ctx.with_state(|notes| notes.last().copied()));
                    }
                    Ok(seen_before_answer.into_iter().map(|n| n.unwrap_or(-1)).collect::<Vec<_>>())
                })
                .command_sync("note", |notes: &mut Vec<i64>, _ctx, n: Value| {
                    notes.push(i64::try_from(n)?);
                    Ok(())
                })
                .command_sync("peek", |notes: &mut Vec<i64>, _ctx, _v: Value| Ok(notes.len() as i64)),
        )
        .unwrap();
        rt.define(
            ServiceKind::stateless("teller")
                .command_sync("tell", |_state, ctx, v: Value| {
                    let (asker, round): (Address, i64) = v.try_into()?;
                    ctx.send(asker, "note", round);
                    Ok(round)
                })
                .command("callback", |ctx, asker: Value| async move {
                    Ok(ctx.call(Address::try_from(asker)?, "peek", ()).await?)
                }),
        )
        .unwrap();
        let asker = rt.spawn("asker", ()).unwrap();
        let teller = rt.spawn("teller", ()).unwrap();
        let seen = call(&rt, asker, "ask", Value::Address(teller)).unwrap();
        assert_eq!(seen, Value::from((0..20).collect::<Vec<i64>>()));
        assert_eq!(call(&rt, teller, "callback", Value::Address(asker)).unwrap(), Value::from(20));
    }
}

backend_test! {
    // checks G5, G9: a synchronous command waits for its service's init even when the call
    // would otherwise run at once; after the service exits, calls to it fail with `Exited` or
    // `UnknownAddress`, never run.
    fn sync_commands_wait_for_init_and_end_with_exit(rt) {
        rt.define(
            ServiceKind::new("slow_tally", |ctx, start: i64| async move {
                ctx.sleep(std::time::Duration::from_millis(20)).await;
                Ok(Tally { seen: vec![start] })
            })
            .command_sync("seen", |tally: &mut Tally, _ctx, _v: Value| Ok(tally.seen.clone()))
            .command_sync("quit", |_tally: &mut Tally, ctx, _v: Value| {
                ctx.exit();
                Ok("bye")
            }),
        )
        .unwrap();
        let tally = rt.spawn("slow_tally", 7i64).unwrap();
        let first = rt.block_on(move |ctx| async move {
            let first = ctx.call(tally, "seen", ()).await;
            for _ in 0..10 {
                ctx.call(tally, "seen", ()).await.unwrap();
            }
            first
        });
        assert_eq!(first.unwrap(), Value::from(vec![7i64]));
        let stats = rt.services().into_iter().find(|s| s.address == tally).unwrap().stats;
        assert_eq!((stats.handled, stats.errors), (11, 0));
        assert_eq!(call(&rt, tally, "quit", ()).unwrap(), Value::from("bye"));
        let after = call(&rt, tally, "seen", ()).unwrap_err();
        assert!(matches!(after.kind(), CallErrorKind::Exited { .. } | CallErrorKind::UnknownAddress { .. }), "{after}");
    }
}

/// Threaded only: four clients on two workers flood one service's synchronous commands with
/// sends and calls at once, so direct runs and queued turns of it race; nothing may be lost,
/// run twice, or reordered per sender.
#[test]
fn direct_and_queued_messages_race_without_loss_or_reordering() {
    // checks G6, G7, G12 under contention, on the threaded backend with its shortcuts on (the
    // simulator runs the direct path too, but on one thread it cannot race).
    let rt = Runtime::threaded(2);
    rt.define(
        ServiceKind::new("log", |_ctx, (): ()| async { Ok(std::collections::BTreeMap::<i64, Vec<i64>>::new()) })
            .command_sync("note", |log: &mut std::collections::BTreeMap<i64, Vec<i64>>, _ctx, v: Value| {
                let (client, n): (i64, i64) = v.try_into()?;
                log.entry(client).or_default().push(n);
                Ok(())
            })
            .command_sync("len", |log: &mut std::collections::BTreeMap<i64, Vec<i64>>, _ctx, v: Value| {
                Ok(log.get(&i64::try_from(v)?).map_or(0, Vec::len) as i64)
            })
            .command_sync("all", |log: &mut std::collections::BTreeMap<i64, Vec<i64>>, _ctx, _v: Value| {
                Ok(log.values().cloned().collect::<Vec<_>>())
            }),
    )
    .unwrap();
    rt.define(ServiceKind::stateless("client").command("flood", |ctx, v: Value| async move {
        let (log, client, n): (Address, i64, i64) = v.try_into()?;
        for i in 0..n {
            if i % 10 == 9 {
                let seen = ctx.call(log, "len", client).await?;
                anyhow::ensure!(seen == Value::from(i), "client {client} saw {seen:?} before message {i}");
            }
            ctx.send(log, "note", (client, i));
        }
        Ok(())
    }))
    .unwrap();
    let log = rt.spawn("log", ()).unwrap();
    let clients: Vec<Address> = (0..4).map(|_| rt.spawn("client", ()).unwrap()).collect();
    for round in 0..20 {
        let results = rt.block_on({
            let clients = clients.clone();
            move |ctx| async move {
                let floods =
                    clients.iter().enumerate().map(|(i, c)| ctx.call(*c, "flood", (log, 4 * round + i as i64, 500)));
                futures::future::join_all(floods).await
            }
        });
        for result in results {
            result.unwrap();
        }
    }
    let all = Vec::<Value>::try_from(call(&rt, log, "all", ()).unwrap()).unwrap();
    assert_eq!(all.len(), 80);
    for per_client in all {
        assert_eq!(per_client, Value::from((0..500).collect::<Vec<i64>>()));
    }
}

/// Threaded only: four clients on two workers flood a service whose handler is async (so every
/// message is queued: no direct path), while its runner keeps finishing turns; a push that
/// races a finishing runner must still get the service scheduled (no message left behind).
#[test]
fn queued_floods_never_strand_a_message() {
    // checks G7, G12 on the threaded backend: the `scheduled` hand-over between pushes and turns.
    let rt = common::threaded(2);
    rt.define(
        ServiceKind::new("sink", |_ctx, (): ()| async { Ok(0i64) })
            .command("add", |ctx: Ctx<i64>, _v: Value| async move {
                ctx.with_state(|n| *n += 1);
                Ok(())
            })
            .command("count", |ctx: Ctx<i64>, _v: Value| async move { Ok(ctx.with_state(|n| *n)) }),
    )
    .unwrap();
    rt.define(ServiceKind::stateless("pusher").command("flood", |ctx, v: Value| async move {
        let (sink, n): (Address, i64) = v.try_into()?;
        for i in 0..n {
            ctx.send(sink, "add", ());
            if i % 97 == 0 {
                ctx.sleep(std::time::Duration::ZERO).await; // let the sink's runner finish turns meanwhile
            }
        }
        Ok(())
    }))
    .unwrap();
    let sink = rt.spawn("sink", ()).unwrap();
    let pushers: Vec<Address> = (0..4).map(|_| rt.spawn("pusher", ()).unwrap()).collect();
    for round in 1..=10i64 {
        let count = rt.block_on({
            let pushers = pushers.clone();
            move |ctx| async move {
                let floods = pushers.iter().map(|p| ctx.call(*p, "flood", (sink, 2000)));
                for flood in futures::future::join_all(floods).await {
                    flood?;
                }
                ctx.call_timeout(sink, "count", (), std::time::Duration::from_secs(10)).await
            }
        });
        assert_eq!(count.unwrap(), Value::from(round * 8000));
    }
}

// checks G8 (a call gets its own handler's answer): the runtime finds a command named by a
// `'static` string by the name's address (`kind::handler`, a table per kind). Kinds made and
// dropped in turn on one thread, the same `'static` name at different indexes, must never get
// another kind's handler.
#[test]
fn a_kind_made_again_gets_its_own_handlers() {
    for round in 0..40u64 {
        let sim = skygroup_sim::Sim::builder(round).trace(false).build();
        let rt = sim.runtime();
        let first = |_: &mut (), _: &Ctx, _: Value| Ok(Value::from(1));
        let second = |_: &mut (), _: &Ctx, _: Value| Ok(Value::from(2));
        let kind = ServiceKind::stateless("twin");
        let kind = if round % 2 == 0 {
            kind.command_sync("a", first).command_sync("b", second)
        } else {
            kind.command_sync("b", second).command_sync("a", first)
        };
        rt.define(kind).unwrap();
        let twin = rt.spawn("twin", ()).unwrap();
        let answer = rt.block_on(move |ctx| async move { ctx.call(twin, "a", ()).await.unwrap() });
        assert_eq!(answer.as_int(), Some(1), "round {round}: \"a\" reached another kind's handler");
    }
}

/// Ten commands, more than the kind's table of `'static` names holds: five synchronous, five
/// async, each answering its own number.
const MANY: [&str; 10] = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"];

fn define_many(rt: &Runtime) {
    let mut kind = ServiceKind::stateless("many");
    for (n, name) in MANY.into_iter().enumerate() {
        kind = if n < 5 {
            kind.command_sync(name, move |_: &mut (), _ctx: &Ctx, _v: Value| Ok(Value::from(n as i64)))
        } else {
            kind.command(name, move |_ctx, _v: Value| async move { Ok(Value::from(n as i64)) })
        };
    }
    rt.define(kind).unwrap();
}

// checks G8 (a call returns its own handler's result): whichever order a kind's commands are
// first looked up in, each `'static` name keeps finding its own handler, the first one seen
// (found inline), the next ones (found in the kind's table, `kind::any_handler`), those past
// the table (hashed), and a name made at run time.
backend_test!(
    fn every_command_finds_its_handler_whatever_the_order_of_first_use(rt) {
        define_many(&rt);
        let many = rt.spawn("many", ()).unwrap();
        let answers = rt.block_on(move |ctx| async move {
            let mut answers = Vec::new();
            // Backwards first (the table fills from c9), then forwards, then a flood of each.
            let order = MANY.iter().rev().chain(MANY.iter()).chain(MANY.iter().flat_map(|name| [name; 3]));
            for name in order {
                answers.push((*name, ctx.call(many, *name, ()).await.unwrap()));
            }
            for name in MANY {
                answers.push((name, ctx.call(many, name.to_owned(), ()).await.unwrap()));
            }
            answers
        });
        assert_eq!(answers.len(), 60);
        for (name, answer) in answers {
            assert_eq!(answer.as_int(), Some(i64::from(name.as_bytes()[1] - b'0')), "{name} reached another handler");
        }
    }
);
