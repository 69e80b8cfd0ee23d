//! Programs of group operations: what proptest generates, the `group_ops` fuzzer decodes from
//! bytes, the test corpus stores and the snapshots show. It lives in the library so all of
//! them share one model: a failure found by the fuzzer is a program the tests can run as text.
//!
//! A program is a list of steps run one after the other; the ops of one step run at the same
//! time (the main service issues them all, then awaits them all), so the simulator has races
//! to interleave. Groups 0 and 1 are booted first, each with a `driver` service that issues
//! the ops inside its group (see [`kinds`]).
//!
//! Text form, one step per `;`, ops by `,` (group 0 or 1 after the op letter):
//! `q0 slow` query, `r1 slow 3` race of 3 queries, `c0 counter echo` call, `s0 counter` send
//! (a distinct `push`), `f0 counter 3` sends then a call (pending flush), `n1 flaky`
//! newservice, `x0 counter` exit (call `quit`), `k1` shut group 1 down, `g+` / `g-` a new group
//! whose boot succeeds / fails, `main` the seed's groupmain (3 groups booted by `group_start`).
//!
//! ```
//! use skygroup_sim::program::{Setup, program, run_checked};
//!
//! let p = program("r0 slow 3, q1 slow; c0 slow echo");
//! assert_eq!(p.to_string(), "r0 slow 3, q1 slow; c0 slow echo");
//! let run = run_checked(&p, Setup { seed: 7, workers: 2, faults: false }, None);
//! assert!(run.ok(), "{:?}", run.violations);
//! ```

mod check;
pub mod kinds;
mod text;

pub use check::{Limits, Run, Setup, run_checked, run_with};
pub use text::program;

use futures::future::{BoxFuture, FutureExt, join_all};
use skygroup::{Address, Ctx, Group, Runtime, Value};

use kinds::outcome;

/// One group operation. `usize` fields are the group (0 or 1); names and kinds are strings
/// so a program can name what no kind defines (`dragon`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `q`: query a name in group `.0`.
    Query(usize, String),
    /// `r`: a race of `.2` queries of a name.
    Race(usize, String, u8),
    /// `c`: call a command (`.2`) by name.
    Call(usize, String, String),
    /// `s`: send a distinct `push` by name.
    Send(usize, String),
    /// `f`: `.2` sends then a call by name (a pending flush).
    Flush(usize, String, u8),
    /// `n`: `newservice` of a kind.
    NewService(usize, String),
    /// `x`: make a service exit (call its `quit`).
    Exit(usize, String),
    /// `k`: shut the group down.
    Shutdown(usize),
    /// `g+` / `g-`: a new group whose boot succeeds / fails.
    NewGroup(bool),
    /// `main`: the seed's groupmain (3 groups booted by `group_start`).
    GroupMain,
}

/// Steps of ops; the ops of one step run at the same time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The steps, in order; the ops of one step run at the same time.
    pub steps: Vec<Vec<Op>>,
}

/// The two groups every program starts with, and their drivers.
struct World {
    groups: Vec<Option<(Group, Address)>>,
}

impl Program {
    /// Runs the program on `rt` (kinds must be defined): boots groups 0 and 1, then its steps.
    pub fn run(&self, rt: &Runtime) {
        let program = self.clone();
        rt.block_on(move |ctx| async move {
            let world = World::boot(&ctx).await;
            let mut next_arg = 0;
            for step in &program.steps {
                let ops = step.iter().map(|op| world.op(&ctx, op, &mut next_arg));
                let _outcomes: Vec<Value> = join_all(ops.collect::<Vec<_>>()).await;
            }
        });
    }
}

impl World {
    async fn boot(ctx: &Ctx) -> World {
        let booted = join_all(["A", "B"].map(|label| ctx.newgroup(label, "boot", ()))).await;
        let mut groups = Vec::new();
        for group in booted {
            let with_driver = match group {
                Ok(group) => group.query(ctx, "driver").await.ok().map(|d| (group, d)),
                Err(_) => None,
            };
            groups.push(with_driver);
        }
        World { groups }
    }

    fn op(&self, ctx: &Ctx, op: &Op, next_arg: &mut i64) -> BoxFuture<'static, Value> {
        let drive = |g: usize, command: &'static str, args: Value| -> BoxFuture<'static, Value> {
            match &self.groups[g] {
                Some((_, driver)) => ctx.call(*driver, command, args).map(outcome).boxed(),
                None => futures::future::ready(Value::Nil).boxed(),
            }
        };
        match op {
            Op::Query(g, n) => drive(*g, "query", n.as_str().into()),
            Op::Race(g, n, k) => drive(*g, "race", (n.as_str(), i64::from(*k)).into()),
            Op::Call(g, n, c) => drive(*g, "call", (n.as_str(), c.as_str(), ()).into()),
            Op::Send(g, n) => {
                *next_arg += 1;
                drive(*g, "send", (n.as_str(), "push", *next_arg).into())
            }
            Op::Flush(g, n, k) => {
                let base = *next_arg + 1;
                *next_arg += i64::from(*k);
                drive(*g, "send_then_call", (n.as_str(), base, i64::from(*k)).into())
            }
            Op::NewService(g, k) => drive(*g, "newservice", k.as_str().into()),
            Op::Exit(g, n) => drive(*g, "call", (n.as_str(), "quit", ()).into()),
            Op::Shutdown(g) => match &self.groups[*g] {
                Some((group, _)) => group.shutdown(ctx).map(|()| Value::Nil).boxed(),
                None => futures::future::ready(Value::Nil).boxed(),
            },
            Op::NewGroup(ok) => {
                let boot = if *ok { "boot" } else { "bad" };
                ctx.newgroup("C", boot, ()).map(|r| Value::from(r.is_ok())).boxed()
            }
            Op::GroupMain => {
                // Labels as literals: `newgroup`'s future captures the label's lifetime.
                let boots = [("group1", 1i64), ("group2", 2), ("group3", 3)];
                let boots = boots.map(|(label, arg)| ctx.newgroup(label, "group_start", arg));
                join_all(boots).map(|r| Value::from(r.iter().all(Result::is_ok))).boxed()
            }
        }
    }
}
