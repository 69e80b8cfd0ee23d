//! `groupmain`: the seed's example as a scenario. Three groups (GROUPA, GROUPB, GROUPC) are
//! booted at once by `group_start` with args 1, 2, 3; each boot starts an `echoserver` with its
//! arg and calls `echo "hello"` on it by name.
//!
//! Checks: every group boots (G10) and its boot service is gone afterwards; each echo is
//! answered by its own group's echoserver with its own arg (G1); each group lists exactly one
//! echoserver, and it is bound (G4, G11).

use futures::future::join_all;
use skygroup::{Ctx, Runtime, ServiceKind, Value};

use super::kit::{Journal, define, ensure};
use super::{Marks, Scenario};

/// The seed's three-group example.
pub struct GroupMain;

const GROUPS: [(&str, i64); 3] = [("GROUPA", 1), ("GROUPB", 2), ("GROUPC", 3)];

impl Scenario for GroupMain {
    fn name(&self) -> &str {
        "groupmain"
    }

    fn description(&self) -> &str {
        "the seed's example: 3 groups booted at once, each starts an echoserver and calls echo \"hello\""
    }

    fn steps_max(&self) -> u64 {
        10_000
    }

    fn run(&self, rt: &Runtime, marks: &mut Marks) -> Result<(), String> {
        let replies = run_program(rt)?;
        check_groups(rt, &replies, true)?;
        note_marks(&replies, marks);
        Ok(())
    }

    fn run_with_faults(&self, rt: &Runtime, _marks: &mut Marks) -> Result<(), String> {
        let replies = run_program(rt)?;
        check_groups(rt, &replies, false)
    }
}

/// Boots the three groups; returns every echo reply, in the order they arrived.
fn run_program(rt: &Runtime) -> Result<Vec<Value>, String> {
    let replies = Journal::default();
    define_kinds(rt, replies.clone())?;
    rt.block_on(|ctx| async move {
        let boots = GROUPS.map(|(label, arg)| ctx.newgroup(label, "group_start", arg));
        join_all(boots).await
    });
    Ok(replies.items())
}

fn define_kinds(rt: &Runtime, replies: Journal<Value>) -> Result<(), String> {
    define(
        rt,
        ServiceKind::new("group_start", move |ctx, arg: i64| {
            let replies = replies.clone();
            async move {
                ctx.newservice("echoserver", arg).await?;
                replies.push(ctx.call("echoserver", "echo", "hello").await?);
                Ok(())
            }
        }),
    )?;
    let echo = |ctx: Ctx<i64>, message: Value| async move {
        Ok((ctx.group_name().unwrap_or("?").to_owned(), ctx.with_state(|arg| *arg), message))
    };
    define(rt, ServiceKind::new("echoserver", |_ctx, arg: i64| async move { Ok(arg) }).command("echo", echo))
}

/// Each reply comes from its own group's echoserver; each booted group lists one bound
/// echoserver and nothing else (the boot service is gone). `all`: all three groups booted and
/// nothing died since; else (faults) an echoserver may have crashed, leaving none listed.
fn check_groups(rt: &Runtime, replies: &[Value], all: bool) -> Result<(), String> {
    for reply in replies {
        let expected = GROUPS.iter().any(|&(label, arg)| *reply == Value::from((label, arg, "hello")));
        ensure(expected, || format!("G1: echo answered {reply}, not (own group, own arg, \"hello\")"))?;
    }
    let groups = rt.groups();
    if all {
        ensure(groups.len() == 3 && replies.len() == 3, || {
            format!("G10: {} of 3 groups booted, {} echo replies", groups.len(), replies.len())
        })?;
    }
    let want = [("echoserver".to_owned(), true)];
    for group in groups {
        let listed: Vec<(String, bool)> = group.services().into_iter().map(|m| (m.name, m.bound)).collect();
        ensure(listed == want || (!all && listed.is_empty()), || {
            format!("G4/G10/G11: group {} lists {listed:?}, want one bound echoserver", group.label())
        })?;
    }
    Ok(())
}

fn note_marks(replies: &[Value], marks: &mut Marks) {
    let labels: Vec<String> = replies.iter().map(|r| r.to_string()).collect();
    let first = |label: &str| labels.first().is_some_and(|l| l.contains(label));
    marks.sometimes("GROUPC's echo answered first", first("GROUPC"));
    marks.sometimes("GROUPB's echo answered first", first("GROUPB"));
    let in_order = labels.iter().zip(GROUPS).all(|(l, (label, _))| l.contains(label));
    marks.sometimes("echoes answered in boot order", in_order);
}
