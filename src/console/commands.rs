//! The console's commands: one line in, one answer out (body lines, then `<ok>` or `<error>`).
//!
//! Every address is looked up in the console's own runtime first, so nothing outside it can be
//! named, and every failure (an unknown command, a missing argument, an address that is not a
//! live service here, a bad value, a call that fails or takes too long) is an `<error>` answer.

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{ConsoleState, value_text};
use crate::core::ServiceCell;
use crate::{Address, Ctx};

/// How long `call` waits for an answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

const HELP: &str = "\
list                   groups: id, label, services, bound names
group ID               a group's services: handled, queued, peak, dead letters, errors
stat ADDR              one service's counters (ADDR like :0000000a)
kill ADDR              stop a service between two of its messages
call ADDR CMD [ARGS]   call CMD with ARGS in text form: nil true 3 2.5 \"s\" b\"\\x00\" [1, 2] {k: 1} :0000000a
trace ADDR on|off      log every message the service handles (INFO, target skygroup::trace)
help                   this list
quit                   close this connection";

/// A command's answer.
pub(super) struct Answer {
    body: String,
    ok: bool,
    pub(super) quit: bool,
}

impl Answer {
    fn ok(body: impl Into<String>) -> Answer {
        Answer { body: body.into(), ok: true, quit: false }
    }

    fn error(message: impl std::fmt::Display) -> Answer {
        Answer { body: format!("error: {message}"), ok: false, quit: false }
    }

    /// The text sent back: the body's lines, then `<ok>` or `<error>`.
    pub(super) fn text(&self) -> String {
        let mut text = self.body.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(if self.ok { "<ok>\n" } else { "<error>\n" });
        text
    }
}

/// Answers one line.
pub(super) async fn run(ctx: &Ctx<ConsoleState>, line: &str) -> Answer {
    let (word, rest) = split_word(line);
    let result = match word {
        "help" => Ok(Answer::ok(HELP)),
        "quit" => Ok(Answer { body: String::new(), ok: true, quit: true }),
        "list" => Ok(list(ctx)),
        "group" => group(ctx, rest),
        "stat" => service(ctx, rest).map(|cell| Answer::ok(stat_line(&cell))),
        "kill" => kill(ctx, rest).await,
        "trace" => trace(ctx, rest),
        "call" => call(ctx, rest).await,
        other => Err(format!("unknown command `{other}` (try `help`)")),
    };
    result.unwrap_or_else(Answer::error)
}

fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim();
    match text.find(char::is_whitespace) {
        Some(at) => (&text[..at], text[at..].trim_start()),
        None => (text, ""),
    }
}

/// The live service at the address in `text` (`:0000000a`, or the hex alone), in this runtime.
fn lookup(ctx: &Ctx<ConsoleState>, text: &str) -> Result<std::sync::Arc<ServiceCell>, String> {
    if text.is_empty() {
        return Err("an address is missing (like :0000000a)".into());
    }
    let address: Address = text.parse().map_err(|e: crate::core::AddressParseError| e.to_string())?;
    ctx.runtime().lookup(address).ok_or_else(|| format!("no live service {address} in this runtime"))
}

fn service(ctx: &Ctx<ConsoleState>, rest: &str) -> Result<std::sync::Arc<ServiceCell>, String> {
    let (addr, extra) = split_word(rest);
    if !extra.is_empty() {
        return Err(format!("unexpected `{extra}` after the address"));
    }
    lookup(ctx, addr)
}

fn stat_line(cell: &ServiceCell) -> String {
    let s = cell.stats();
    let group = cell.counters.observed.group.get().map_or("-".to_owned(), u64::to_string);
    let traced = cell.counters.observed.traced.load(Ordering::Relaxed);
    format!(
        "{} kind={} group={group} handled={} queued={} peak={} dead_letters={} errors={} monitors={} traced={traced}",
        cell.address,
        cell.name(),
        s.handled,
        s.queue_len,
        s.peak_queue_len,
        s.dead_letters,
        s.errors,
        s.monitors
    )
}

fn list(ctx: &Ctx<ConsoleState>) -> Answer {
    let mut out = String::new();
    let groups = crate::group::groups_of(ctx.runtime());
    let mut in_groups = 0;
    for group in &groups {
        let members = group.services();
        in_groups += members.len();
        let names: Vec<String> =
            members.iter().filter(|m| m.bound).map(|m| format!("{}={}", m.name, m.address)).collect();
        let _ = writeln!(
            out,
            "group {} {:?}: {} services; names: {}",
            group.id(),
            group.label(),
            members.len(),
            names.join(" ")
        );
    }
    let total = ctx.runtime().cells().len();
    let _ =
        writeln!(out, "{} groups, {total} services ({} in no group)", groups.len(), total.saturating_sub(in_groups));
    Answer::ok(out)
}

fn group(ctx: &Ctx<ConsoleState>, rest: &str) -> Result<Answer, String> {
    let id: u64 = rest.trim().parse().map_err(|_| format!("`{rest}` is not a group id (a number; see `list`)"))?;
    let groups = crate::group::groups_of(ctx.runtime());
    let group = groups.iter().find(|g| g.id() == id).ok_or_else(|| format!("no group {id} in this runtime"))?;
    let mut out = format!("group {id} {:?}\n", group.label());
    for m in group.services() {
        let s = m.stats;
        let bound = if m.bound { " (bound)" } else { "" };
        let _ = writeln!(
            out,
            "{} {}{bound} handled={} queued={} peak={} dead_letters={} errors={}",
            m.address, m.name, s.handled, s.queue_len, s.peak_queue_len, s.dead_letters, s.errors
        );
    }
    Ok(Answer::ok(out))
}

/// Kills and waits (up to the call timeout) until the service has exited, so the next command
/// sees it gone.
async fn kill(ctx: &Ctx<ConsoleState>, rest: &str) -> Result<Answer, String> {
    let cell = service(ctx, rest)?;
    if cell.address == ctx.address() {
        return Err("the console does not kill itself".into());
    }
    let (address, kind) = (cell.address, cell.name().to_owned());
    drop(cell);
    let gone = ctx.monitor(address);
    if !ctx.kill(address) {
        return Err(format!("no live service {address} in this runtime"));
    }
    let waited = futures::future::select(Box::pin(gone), Box::pin(ctx.sleep(CALL_TIMEOUT))).await;
    match waited {
        futures::future::Either::Left(_) => Ok(Answer::ok(format!("killed {address} ({kind})"))),
        futures::future::Either::Right(_) => {
            Ok(Answer::ok(format!("kill of {address} ({kind}) requested; not exited after {CALL_TIMEOUT:?}")))
        }
    }
}

fn trace(ctx: &Ctx<ConsoleState>, rest: &str) -> Result<Answer, String> {
    let (addr, switch) = split_word(rest);
    let on = match switch {
        "on" => true,
        "off" => false,
        other => return Err(format!("`trace ADDR on|off`, not `{other}`")),
    };
    let cell = lookup(ctx, addr)?;
    cell.counters.observed.traced.store(on, Ordering::Relaxed);
    Ok(Answer::ok(format!("trace {} ({}) {switch}", cell.address, cell.name())))
}

async fn call(ctx: &Ctx<ConsoleState>, rest: &str) -> Result<Answer, String> {
    let (addr, rest) = split_word(rest);
    let (command, args) = split_word(rest);
    let cell = lookup(ctx, addr)?;
    if command.is_empty() {
        return Err("a command is missing: call ADDR CMD [ARGS]".into());
    }
    let args = value_text::parse(args).map_err(|e| format!("ARGS: {e}"))?;
    let to = cell.address;
    drop(cell);
    match ctx.call_timeout(to, command.to_owned(), args, CALL_TIMEOUT).await {
        Ok(value) => Ok(Answer::ok(value.to_string())),
        Err(e) => Err(e.to_string()),
    }
}
