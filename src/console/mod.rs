//! The `console` kind: an operator's line-based debug console into one runtime (skynet's
//! `debug_console`), over the same network seam as the gate.
//!
//! Off unless started: `rt.define(skygroup::console::kind())`, then
//! `newservice("console", ConsoleConfig::new("127.0.0.1:0"))` (or `rt.spawn`). A client (telnet,
//! `nc`) types one command a line (`help` lists them, see `commands.rs`); every answer ends with
//! a line `<ok>` or `<error>`, so a script knows where it stops. With a secret configured, the
//! first line must be it. The console reaches only services of the runtime it runs in (it looks
//! every address up in its own table), never crashes on input (a bad line gets an `<error>`
//! answer) and answers one connection's lines in order. Rules: "Console" in `SEMANTICS.md`.
//!
//! Network events arrive as `_net` messages to itself, like the gate's, so the simulator
//! replays a console session exactly. [`metrics`] publishes the same counters to the
//! `metrics` facade.

mod commands;
pub mod metrics;
mod value_text;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Weak};

use crate::core::{CommandName, Envelope, RuntimeShared};
use crate::executor::{ConnId, Executor, ListenSpec, ListenerId, NetEvent, NetSink};
use crate::{Address, Ctx, ServiceKind, Value};

/// The longest line a console accepts; a longer one closes its connection.
const MAX_LINE: usize = 16 * 1024;

/// Where a console listens, and the secret it asks for: the init arguments of
/// `newservice("console", ..)`.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Where to listen: `"127.0.0.1:0"` by default (port 0: any free port; the `address`
    /// command answers which). Listening beyond loopback is the operator's explicit choice.
    pub listen: String,
    /// If set, the first line of every connection must be exactly this; a wrong one closes it.
    pub secret: Option<String>,
}

impl ConsoleConfig {
    /// A console on `listen` with no secret.
    pub fn new(listen: impl Into<String>) -> ConsoleConfig {
        ConsoleConfig { listen: listen.into(), secret: None }
    }
}

impl Default for ConsoleConfig {
    fn default() -> ConsoleConfig {
        ConsoleConfig::new("127.0.0.1:0")
    }
}

/// The console kind, to pass to `Runtime::define`.
pub fn kind() -> ServiceKind<ConsoleState> {
    ServiceKind::new("console", init)
        .system_command("_net", |ctx: Ctx<ConsoleState>, args, _answer| async move {
            if let Some(event) = args.downcast_ref::<NetEvent>() {
                on_net(&ctx, event.clone()).await;
            }
        })
        .command(
            "address",
            |ctx: Ctx<ConsoleState>, _args: Value| async move { Ok(ctx.with_state(|c| c.local.clone())) },
        )
}

/// A console's state (public only so [`kind`] can name it).
pub struct ConsoleState {
    secret: Option<String>,
    executor: Arc<dyn Executor>,
    listener: ListenerId,
    local: String,
    conns: BTreeMap<ConnId, Conn>,
}

#[derive(Default)]
struct Conn {
    /// Bytes after the last newline.
    partial: Vec<u8>,
    /// Whole lines not yet answered.
    lines: VecDeque<String>,
    /// A task of the console is answering this connection's lines (one at a time, in order).
    busy: bool,
    /// The secret was given (or none is asked).
    admitted: bool,
}

async fn init(ctx: Ctx<ConsoleState>, config: ConsoleConfig) -> anyhow::Result<ConsoleState> {
    let executor = ctx.runtime().executor.clone();
    let address = ctx.address();
    let Some(network) = executor.network() else {
        anyhow::bail!("console {address}: this backend has no network");
    };
    let sink = sink(ctx.runtime(), address);
    let spec = ListenSpec { addr: config.listen.clone(), max_unsent: 1 << 20, sink };
    let listening = network.listen(spec).map_err(|e| anyhow::anyhow!("console {address}: {e}"))?;
    tracing::info!(console = %address, listen = %listening.local, "console listening");
    Ok(ConsoleState {
        secret: config.secret,
        executor: executor.clone(),
        listener: listening.id,
        local: listening.local,
        conns: BTreeMap::new(),
    })
}

/// Network events for the console at `console`, delivered to it as `_net` messages.
fn sink(runtime: &Arc<RuntimeShared>, console: Address) -> NetSink {
    let runtime: Weak<RuntimeShared> = Arc::downgrade(runtime);
    Arc::new(move |event: NetEvent| {
        if let Some(runtime) = runtime.upgrade() {
            if runtime.trace_all {
                let (command, args) = (CommandName::Borrowed("_net"), Value::Nil);
                let to = crate::executor::To::Address(console);
                runtime.trace(&crate::executor::Event::Issue {
                    from: console,
                    to,
                    session: 0,
                    command: &command,
                    args: &args,
                });
            }
            let envelope = Envelope::Request {
                from: console,
                session: 0,
                command: CommandName::Borrowed("_net"),
                args: Value::opaque(event),
                via: None,
            };
            runtime.deliver(console, envelope);
        }
    })
}

async fn on_net(ctx: &Ctx<ConsoleState>, event: NetEvent) {
    let conn = match event {
        NetEvent::Accepted { conn, .. } => {
            let admitted = ctx.with_state(|c| c.secret.is_none());
            ctx.with_state(|c| c.conns.insert(conn, Conn { admitted, ..Conn::default() }));
            return;
        }
        NetEvent::Closed { conn, .. } => {
            ctx.with_state(|c| c.conns.remove(&conn));
            return;
        }
        NetEvent::AcceptError { error, .. } => {
            tracing::warn!(console = %ctx.address(), "console accept error (still listening): {error}");
            return;
        }
        NetEvent::Data { conn, bytes } => {
            let start = ctx.with_state(|c| c.take_lines(conn, &bytes));
            if !start {
                return;
            }
            conn
        }
    };
    // This task answers the connection's lines until none is left (later `_net` messages only
    // queue theirs), so answers come in the order the lines were typed.
    while let Some(line) = ctx.with_state(|c| c.next_line(conn)) {
        let admitted = ctx.with_state(|c| c.conns.get(&conn).is_some_and(|k| k.admitted));
        if !admitted {
            let ok = ctx.with_state(|c| c.secret.as_deref() == Some(line.as_str()));
            if ok {
                ctx.with_state(|c| c.conns.get_mut(&conn).map(|k| k.admitted = true));
                ctx.with_state(|c| c.reply(conn, "<ok>\n"));
            } else {
                ctx.with_state(|c| c.reply(conn, "error: wrong secret\n<error>\n"));
                ctx.with_state(|c| c.close(conn));
            }
            continue;
        }
        let answer = commands::run(ctx, &line).await;
        let quit = answer.quit;
        ctx.with_state(|c| c.reply(conn, &answer.text()));
        if quit {
            ctx.with_state(|c| c.close(conn));
        }
    }
}

impl ConsoleState {
    fn network(&self) -> &dyn crate::executor::Network {
        self.executor.network().expect("a console's init checked the network")
    }

    /// Adds `bytes` to `conn`'s input; true if a task must start answering its lines.
    fn take_lines(&mut self, conn: ConnId, bytes: &[u8]) -> bool {
        let Some(state) = self.conns.get_mut(&conn) else { return false };
        state.partial.extend_from_slice(bytes);
        while let Some(end) = state.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = state.partial.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line[..end]).trim().to_owned();
            if !line.is_empty() {
                state.lines.push_back(line);
            }
        }
        if state.partial.len() > MAX_LINE {
            self.reply(conn, &format!("error: a line over {MAX_LINE} bytes\n<error>\n"));
            self.close(conn);
            return false;
        }
        let start = !state.busy && !state.lines.is_empty();
        state.busy |= start;
        start
    }

    /// The next line to answer, or `None` (and the connection is no longer busy).
    fn next_line(&mut self, conn: ConnId) -> Option<String> {
        let state = self.conns.get_mut(&conn)?;
        let line = state.lines.pop_front();
        state.busy = line.is_some();
        line
    }

    fn reply(&self, conn: ConnId, text: &str) {
        if self.conns.contains_key(&conn) {
            self.network().write(conn, text.as_bytes().to_vec());
        }
    }

    fn close(&mut self, conn: ConnId) {
        if self.conns.remove(&conn).is_some() {
            self.network().close(conn);
        }
    }
}

/// A console that exits closes its listener and its connections.
impl Drop for ConsoleState {
    fn drop(&mut self) {
        let Some(network) = self.executor.network() else { return };
        network.close_listener(self.listener);
        for conn in self.conns.keys() {
            network.close(*conn);
        }
    }
}
