//! The seed's example: three game servers (groups) in one process.
//!
//! Groups GROUPA, GROUPB and GROUPC are each booted by `group_start` with argument 1, 2, 3.
//! Each boot starts an `echoserver` and calls `echo("hello")` on it *by name*; the echoserver
//! answers with its group's label and its argument, so each group reaches its own echoserver
//! (G1). Main then lists every group's services with their counters.
//!
//! ```text
//! cargo run --example groupmain             # threaded backend, 2 workers
//! cargo run --example groupmain -- --sim 7  # simulator, seed 7: same output every run
//! ```

use futures::future::join_all;
use skygroup::{Ctx, Runtime, ServiceKind, Value};
use skygroup_sim::Sim;

fn define(rt: &Runtime) {
    rt.define(ServiceKind::new("group_start", |ctx, arg: i64| async move {
        ctx.newservice("echoserver", arg).await?;
        let reply = ctx.call("echoserver", "echo", "hello").await?;
        println!("[{}] echo answered {reply}", ctx.group_name().unwrap_or("?"));
        Ok(())
    }))
    .expect("define group_start");
    rt.define(ServiceKind::new("echoserver", |_ctx, arg: i64| async move { Ok(arg) }).command(
        "echo",
        |ctx: Ctx<i64>, message: Value| async move {
            let group = ctx.group_name().unwrap_or("?").to_owned();
            Ok((group, ctx.with_state(|arg| *arg), message))
        },
    ))
    .expect("define echoserver");
}

fn run(rt: &Runtime) {
    define(rt);
    let booted = rt.block_on(|ctx| async move {
        let boots = [("GROUPA", 1i64), ("GROUPB", 2), ("GROUPC", 3)]
            .map(|(label, arg)| ctx.newgroup(label, "group_start", arg));
        join_all(boots).await
    });
    for result in booted {
        if let Err(e) = result {
            eprintln!("a group failed to boot: {e}");
        }
    }
    for group in rt.groups() {
        println!("group {} (id {}):", group.label(), group.id());
        for member in group.services() {
            let s = member.stats;
            let bound = if member.bound { "bound" } else { "     " };
            println!(
                "  {} {:<10} {bound}  handled {} queued {} dead letters {} errors {}",
                member.address, member.name, s.handled, s.queue_len, s.dead_letters, s.errors
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().position(|a| a == "--sim") {
        Some(i) => {
            let seed = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(0);
            println!("simulator, seed {seed}");
            let sim = Sim::new(seed);
            run(&sim.runtime());
            let stats = sim.stats();
            println!("{} steps, {} messages, {} choices", stats.steps, stats.delivered, stats.decisions);
        }
        None => {
            println!("threaded backend, 2 workers");
            run(&Runtime::threaded(2));
        }
    }
}
