//! Programs of group operations: what proptest generates, the corpus stores and the snapshots
//! show. A program is a list of steps run one after the other; the ops of one step run at the
//! same time (the main service issues them all, then awaits them all), so the simulator has
//! races to interleave.
//!
//! Text form, one step per `;`, ops by `,` (group 0 or 1 after the op letter):
//! `q0 slow` query, `r1 slow 3` race of 3 queries, `c0 counter echo` call, `s0 counter` send
//! (a distinct `push`), `f0 counter 3` sends then a call (pending flush), `n1 flaky`
//! newservice, `x0 counter` exit (call `quit`), `k1` shut group 1 down, `g+` / `g-` a new group
//! whose boot succeeds / fails, `main` the seed's groupmain (3 groups booted by `group_start`).

use std::fmt;
use std::str::FromStr;

use futures::future::{BoxFuture, FutureExt, join_all};
use skygroup::{Address, Ctx, Group, Runtime, Value};

use super::kinds::outcome;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Query(usize, String),
    Race(usize, String, u8),
    Call(usize, String, String),
    Send(usize, String),
    Flush(usize, String, u8),
    NewService(usize, String),
    Exit(usize, String),
    Shutdown(usize),
    NewGroup(bool),
    GroupMain,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
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

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Query(g, n) => write!(f, "q{g} {n}"),
            Op::Race(g, n, k) => write!(f, "r{g} {n} {k}"),
            Op::Call(g, n, c) => write!(f, "c{g} {n} {c}"),
            Op::Send(g, n) => write!(f, "s{g} {n}"),
            Op::Flush(g, n, k) => write!(f, "f{g} {n} {k}"),
            Op::NewService(g, k) => write!(f, "n{g} {k}"),
            Op::Exit(g, n) => write!(f, "x{g} {n}"),
            Op::Shutdown(g) => write!(f, "k{g}"),
            Op::NewGroup(true) => f.write_str("g+"),
            Op::NewGroup(false) => f.write_str("g-"),
            Op::GroupMain => f.write_str("main"),
        }
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps: Vec<String> =
            self.steps.iter().map(|s| s.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")).collect();
        f.write_str(&steps.join("; "))
    }
}

impl FromStr for Op {
    type Err = String;

    fn from_str(s: &str) -> Result<Op, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let bad = || format!("cannot read op `{s}`");
        let (head, rest) = words.split_first().ok_or_else(bad)?;
        let (letter, group) = head.split_at(1);
        let g = || group.parse::<usize>().ok().filter(|g| *g < 2).ok_or_else(bad);
        let word = |i: usize| rest.get(i).map(|w| (*w).to_owned()).ok_or_else(bad);
        let count = || rest.get(1).and_then(|w| w.parse::<u8>().ok()).ok_or_else(bad);
        match (*head, letter) {
            ("main", _) => Ok(Op::GroupMain),
            ("g+", _) => Ok(Op::NewGroup(true)),
            ("g-", _) => Ok(Op::NewGroup(false)),
            (_, "q") => Ok(Op::Query(g()?, word(0)?)),
            (_, "r") => Ok(Op::Race(g()?, word(0)?, count()?)),
            (_, "c") => Ok(Op::Call(g()?, word(0)?, word(1)?)),
            (_, "s") => Ok(Op::Send(g()?, word(0)?)),
            (_, "f") => Ok(Op::Flush(g()?, word(0)?, count()?)),
            (_, "n") => Ok(Op::NewService(g()?, word(0)?)),
            (_, "x") => Ok(Op::Exit(g()?, word(0)?)),
            (_, "k") => Ok(Op::Shutdown(g()?)),
            _ => Err(bad()),
        }
    }
}

impl FromStr for Program {
    type Err = String;

    fn from_str(s: &str) -> Result<Program, String> {
        let step = |text: &str| text.split(',').map(|op| op.trim().parse()).collect::<Result<Vec<Op>, _>>();
        let steps = s.split(';').filter(|t| !t.trim().is_empty()).map(step).collect::<Result<_, _>>()?;
        Ok(Program { steps })
    }
}

/// Parses a program written in the text form (panics on a typo: programs in tests are fixed).
pub fn program(text: &str) -> Program {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}
