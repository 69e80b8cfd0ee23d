//! Per-sender order per target service, however addressed (G6); by-name messages that wait
//! for their name when the sender exits (G7); by-name messages whose target is rebound (G9).
//! Both backends (S4).

mod common;

use std::time::Duration;

use common::backend_test;
use skygroup::{Address, Ctx, Group, Runtime, ServiceKind, Value, anyhow};

/// `rec` records the notes it gets; `slowrec` too, after a slow init; `member` holds `rec`'s
/// address (from its init args) and mixes by-name and by-address messages to it; `ordboot`
/// starts `rec` then `member`, so `rec` is bound but `member` never used the name itself.
fn define_kinds(rt: &Runtime) {
    let recorder = |name: &'static str, slow: bool| {
        ServiceKind::new(name, move |ctx: Ctx<Vec<i64>>, (): ()| async move {
            if slow {
                ctx.sleep(Duration::from_millis(5)).await;
            }
            Ok(Vec::<i64>::new())
        })
        .command("note", |ctx: Ctx<Vec<i64>>, v: Value| async move {
            let n = i64::try_from(v)?;
            ctx.with_state(|s| s.push(n));
            Ok(())
        })
        .command("seen", |ctx: Ctx<Vec<i64>>, _v: Value| async move { Ok(ctx.with_state(|s| s.clone())) })
        .command("quit", |ctx: Ctx<Vec<i64>>, _v: Value| async move {
            ctx.exit();
            Ok(())
        })
    };
    rt.define(recorder("rec", false)).unwrap();
    rt.define(recorder("slowrec", true)).unwrap();
    // Tells `member` its address from inside its init, then takes a while to finish it: the
    // member learns the address while its own first use of the name still waits.
    rt.define(
        ServiceKind::new("early", |ctx: Ctx<Vec<i64>>, (): ()| async move {
            ctx.send("member", "hello", ctx.address());
            ctx.sleep(Duration::from_millis(5)).await;
            Ok(Vec::<i64>::new())
        })
        .command("note", |ctx: Ctx<Vec<i64>>, v: Value| async move {
            let n = i64::try_from(v)?;
            ctx.with_state(|s| s.push(n));
            Ok(())
        })
        .command("seen", |ctx: Ctx<Vec<i64>>, _v: Value| async move { Ok(ctx.with_state(|s| s.clone())) }),
    )
    .unwrap();
    // Passes a command on through a chain of calls, each turn nested in the one before where
    // the backend runs idle services inline: the member then runs at that depth.
    rt.define(ServiceKind::stateless("relay").command("pass", |ctx, v: Value| async move {
        let (hops, target, command): (Value, Address, String) = v.try_into()?;
        let Value::List(hops) = hops else { anyhow::bail!("hops must be a list") };
        let answer = match hops.split_first() {
            Some((next, rest)) => {
                let next = Address::try_from(next.clone())?;
                ctx.call(next, "pass", (Value::List(rest.to_vec()), target, command)).await
            }
            None => ctx.call(target, command, ()).await,
        };
        Ok(answer?)
    }))
    .unwrap();
    rt.define(
        ServiceKind::new("member", |_ctx, rec: Address| async move { Ok(rec) })
            .command("send_name_then_call_address", |ctx: Ctx<Address>, _v: Value| async move {
                let rec = ctx.with_state(|r| *r);
                ctx.send("rec", "note", 1);
                ctx.call(rec, "note", 2).await?;
                Ok(())
            })
            .command("call_name_then_send_address", |ctx: Ctx<Address>, _v: Value| async move {
                let rec = ctx.with_state(|r| *r);
                let first = ctx.call("rec", "note", 1);
                ctx.send(rec, "note", 2);
                first.await?;
                Ok(())
            })
            .command("first_use_of_early", |ctx: Ctx<Address>, _v: Value| async move {
                ctx.send("early", "note", 1);
                Ok(())
            })
            .command("hello", |ctx: Ctx<Address>, v: Value| async move {
                let early = Address::try_from(v)?;
                ctx.call(early, "note", 2).await?;
                Ok(())
            })
            .command("sends_then_exit", |ctx: Ctx<Address>, v: Value| async move {
                let (name, n): (String, i64) = v.try_into()?;
                for i in 0..n {
                    ctx.send(&name, "note", i);
                }
                ctx.exit();
                Ok(())
            })
            .command("notes_racing_an_exit", |ctx: Ctx<Address>, _v: Value| async move {
                // Each note enters the old instance's mailbox before it exits (a dead letter
                // then) or reaches it gone and follows the name to the fresh instance.
                let old = ctx.query("rec").await?;
                let gone = ctx.monitor(old);
                ctx.send("rec", "quit", ());
                for i in 1..=3 {
                    ctx.send("rec", "note", i);
                }
                gone.await;
                Ok(ctx.call("rec", "seen", ()).await?)
            })
            .command("notes_after_rebind", |ctx: Ctx<Address>, _v: Value| async move {
                // Cache `rec`, then let it exit: the cached address is dead.
                let old = ctx.query("rec").await?;
                let gone = ctx.monitor(old);
                ctx.send("rec", "quit", ());
                gone.await;
                for i in 1..=3 {
                    ctx.send("rec", "note", i);
                }
                let fresh = ctx.call("rec", "seen", ()).await?;
                let fresh_address = ctx.query("rec").await?;
                Ok((fresh, old != fresh_address))
            }),
    )
    .unwrap();
    rt.define(ServiceKind::new("ordboot", |ctx, (): ()| async move {
        let rec = Address::try_from(ctx.newservice("rec", ()).await?)?;
        ctx.newservice("member", rec).await?;
        Ok(())
    }))
    .unwrap();
}

/// A group where `rec` is bound and `member` holds its address: (group, member, rec).
fn setup(rt: &Runtime) -> (Group, Address, Address) {
    let group = rt.newgroup("G", "ordboot", ()).unwrap();
    let g = group.clone();
    let (member, rec) =
        rt.block_on(
            move |ctx| async move { (g.query(&ctx, "member").await.unwrap(), g.query(&ctx, "rec").await.unwrap()) },
        );
    (group, member, rec)
}

/// Runs `command` on a fresh group's member through `depth` relays; what `rec` saw after.
fn via_relays(rt: &Runtime, depth: usize, command: &'static str) -> Value {
    let (_group, member, rec) = setup(rt);
    let hops: Vec<Value> = (0..depth).map(|_| Value::Address(rt.spawn("relay", ()).unwrap())).collect();
    match hops.split_first() {
        Some((Value::Address(first), rest)) => call(rt, *first, "pass", (Value::List(rest.to_vec()), member, command)),
        Some(_) => unreachable!("relays are addresses"),
        None => call(rt, member, command, ()),
    };
    call(rt, rec, "seen", ())
}

fn call(rt: &Runtime, to: Address, command: &'static str, args: impl Into<Value>) -> Value {
    let args = args.into();
    rt.block_on(move |ctx| async move { ctx.call(to, command, args).await }).unwrap()
}

backend_test! {
    // checks G6: a send by name (not resolved yet by the sender), then a call by address to the
    // service the name resolves to: handled in that order.
    fn send_by_name_then_call_by_address_keep_order(rt) {
        define_kinds(&rt);
        for depth in 0..5 {
            let seen = via_relays(&rt, depth, "send_name_then_call_address");
            assert_eq!(seen, Value::from(vec![1, 2]), "member {depth} calls deep");
        }
    }
}

backend_test! {
    // checks G6: a call by name (not resolved yet by the caller), then a send by address to the
    // service the name resolves to: handled in that order.
    fn call_by_name_then_send_by_address_keep_order(rt) {
        define_kinds(&rt);
        for depth in 0..5 {
            let seen = via_relays(&rt, depth, "call_name_then_send_address");
            assert_eq!(seen, Value::from(vec![1, 2]), "member {depth} calls deep");
        }
    }
}

backend_test! {
    // checks G6: a member's first use of `early` waits for its start; `early`'s init tells the
    // member its address, and the member's call by address to it is handled after the by-name
    // send issued before.
    fn address_learned_during_the_start_does_not_overtake(rt) {
        define_kinds(&rt);
        let (group, member, _rec) = setup(&rt);
        call(&rt, member, "first_use_of_early", ());
        let g = group.clone();
        let early = rt.block_on(move |ctx| async move { g.query(&ctx, "early").await }).unwrap();
        // The member's call by address answers only once both notes were handled.
        let mut seen = call(&rt, early, "seen", ());
        for _ in 0..1000 {
            if seen != Value::from(Vec::<i64>::new()) && seen != Value::from(vec![1]) {
                break;
            }
            rt.block_on(|ctx| async move { ctx.sleep(Duration::from_millis(1)).await });
            seen = call(&rt, early, "seen", ());
        }
        assert_eq!(seen, Value::from(vec![1, 2]));
    }
}

backend_test! {
    // checks G7: by-name sends still waiting for their name when the sender exits are dead
    // letters, counted; none is handled and none vanishes.
    fn sends_waiting_for_their_name_at_exit_are_dead_letters(rt) {
        define_kinds(&rt);
        let (group, member, _rec) = setup(&rt);
        let before = rt.dead_letters();
        rt.block_on(move |ctx| async move {
            let gone = ctx.monitor(member);
            ctx.call(member, "sends_then_exit", ("slowrec", 5)).await.unwrap();
            gone.await;
        });
        let g = group.clone();
        let slowrec = rt.block_on(move |ctx| async move { g.query(&ctx, "slowrec").await }).unwrap();
        let seen = call(&rt, slowrec, "seen", ());
        let Value::List(seen) = seen else { panic!("{seen:?}") };
        let handled = seen.len() as u64;
        assert_eq!(handled + rt.dead_letters() - before, 5, "handled {handled}");
        assert_eq!(rt.dead_letters() - before, 5);
    }
}

backend_test! {
    // checks G9, G7: a by-name message racing its instance's exit either entered that mailbox
    // (a dead letter when it exits) or followed the name to the fresh instance, in order:
    // never both, never neither.
    fn by_name_messages_racing_an_exit_are_handled_once_or_counted(rt) {
        define_kinds(&rt);
        let (_group, member, _rec) = setup(&rt);
        let before = rt.dead_letters();
        let Value::List(seen) = call(&rt, member, "notes_racing_an_exit", ()) else { panic!("seen is a list") };
        let seen: Vec<i64> = seen.into_iter().map(|v| i64::try_from(v).unwrap()).collect();
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        assert_eq!(seen.len() as u64 + rt.dead_letters() - before, 3, "{seen:?}");
    }
}

backend_test! {
    // checks G9, G6: by-name messages whose cached target has exited are resolved again and all
    // go, in issue order, to the fresh instance; none is a dead letter.
    fn by_name_messages_follow_a_rebound_name_in_order(rt) {
        define_kinds(&rt);
        let (_group, member, _rec) = setup(&rt);
        let before = rt.dead_letters();
        let answer = call(&rt, member, "notes_after_rebind", ());
        assert_eq!(answer, Value::from((vec![1, 2, 3], true)));
        assert_eq!(rt.dead_letters(), before);
    }
}
