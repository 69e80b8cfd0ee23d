//! The `gate` kind: a game server's front door (skynet's `gate` service).
//!
//! A group starts one with `ctx.newservice("gate", GateConfig { .. })` after defining the kind
//! (`rt.define(skygroup::gate::kind())`). It listens through the backend's network (never
//! touching a socket itself, see [`crate::executor::net`]), cuts each connection's bytes into
//! frames ([`Framing`]) and tells its watchdog `open (conn, peer)`, `data (conn, frame)` and
//! `close (conn, reason, partial_bytes)`. [`GateRef::forward`] sends a connection's frames (and
//! its close) straight to an agent instead. Any service writes or kicks through [`GateRef`].
//!
//! Network events reach the gate as messages to itself (`_net`, a runtime command no user can
//! send), so they are ordered, traced and replayed like any other message. Its rules are N1–N12
//! in `SEMANTICS.md`. The one place a connection is forgotten is `GateState::forget`: the
//! client count and the one close per connection (N3, N6) both hang on it.

mod framing;

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use crate::core::{CommandName, Envelope, RuntimeShared};
use crate::executor::{ConnId, Event, Executor, ListenSpec, ListenerId, NetEvent, NetSink, To};
use crate::{Address, Call, Ctx, ServiceKind, Value, ValueError};
use framing::Deframer;
pub use framing::Framing;

/// How a gate listens and frames: the init arguments of `newservice("gate", ..)`.
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// Where to listen, e.g. `"127.0.0.1:0"` (port 0: any free port; [`GateRef::local_addr`]
    /// says which). In the simulator any `host:port` text is a virtual address.
    pub listen: String,
    /// Connections open at once; one more is closed at once and never reported (N6).
    pub max_clients: usize,
    /// How the byte stream is cut into frames.
    pub framing: Framing,
    /// The longest frame accepted; a longer one closes its connection with a reason (N8).
    pub max_frame: usize,
    /// Bytes written to a connection and not taken by the client past which it is closed (N7).
    pub max_unsent: usize,
    /// Who gets `open`, `data` (until forwarded), `close` and `error`.
    pub watchdog: Address,
}

impl GateConfig {
    /// skynet's defaults: 2-byte framing, frames up to 65,535 bytes, 1,024 clients, 1 MiB of
    /// unsent bytes per connection.
    pub fn new(listen: impl Into<String>, watchdog: Address) -> GateConfig {
        GateConfig {
            listen: listen.into(),
            max_clients: 1024,
            framing: Framing::Len2,
            max_frame: 65_535,
            max_unsent: 1 << 20,
            watchdog,
        }
    }
}

/// The gate kind, to pass to `Runtime::define`.
pub fn kind() -> ServiceKind<GateState> {
    ServiceKind::new("gate", init)
        .system_command("_net", |ctx: Ctx<GateState>, args, _answer| async move {
            if let Some(event) = args.downcast_ref::<NetEvent>() {
                on_net(&ctx, event.clone());
            }
        })
        .command("write", |ctx: Ctx<GateState>, args: Value| async move {
            let (conn, bytes): (i64, bytes::Bytes) = args.try_into()?;
            ctx.with_state(|g| g.write(ConnId(conn as u64), &bytes))
        })
        .command("kick", |ctx: Ctx<GateState>, args: Value| async move {
            let conn = ConnId(i64::try_from(args)? as u64);
            let sends = ctx.with_state(|g| g.forget(conn, "kicked".into(), true));
            let known = !sends.is_empty();
            dispatch(&ctx, sends);
            Ok(known)
        })
        .command("forward", |ctx: Ctx<GateState>, args: Value| async move {
            let (conn, agent): (i64, Address) = args.try_into()?;
            Ok(ctx.with_state(|g| g.conns.get_mut(&ConnId(conn as u64)).map(|c| c.to = agent).is_some()))
        })
        .command("address", |ctx: Ctx<GateState>, _args: Value| async move { Ok(ctx.with_state(|g| g.local.clone())) })
        .command(
            "clients",
            |ctx: Ctx<GateState>, _args: Value| async move { Ok(ctx.with_state(|g| g.conns.len() as i64)) },
        )
}

/// A gate's state (public only so [`kind`] can name it).
pub struct GateState {
    config: GateConfig,
    address: Address,
    executor: Arc<dyn Executor>,
    runtime: Weak<RuntimeShared>,
    listener: ListenerId,
    local: String,
    conns: BTreeMap<ConnId, ConnState>,
}

struct ConnState {
    deframer: Deframer,
    /// Where its frames and close go: the watchdog, or the agent it was forwarded to.
    to: Address,
}

/// A message the gate sends once its state is released: (to, command, args).
type Outgoing = (Address, &'static str, Value);

async fn init(ctx: Ctx<GateState>, config: GateConfig) -> anyhow::Result<GateState> {
    let executor = ctx.runtime().executor.clone();
    let address = ctx.address();
    let Some(network) = executor.network() else {
        anyhow::bail!("gate {address}: this backend has no network");
    };
    let sink = sink(ctx.runtime(), address);
    let spec = ListenSpec { addr: config.listen.clone(), max_unsent: config.max_unsent, sink };
    let listening = network.listen(spec).map_err(|e| anyhow::anyhow!("gate {address}: {e}"))?;
    let runtime = Arc::downgrade(ctx.runtime());
    Ok(GateState {
        config,
        address,
        executor: executor.clone(),
        runtime,
        listener: listening.id,
        local: listening.local,
        conns: BTreeMap::new(),
    })
}

/// Network events for the gate at `gate`, delivered to it as `_net` messages from itself.
fn sink(runtime: &Arc<RuntimeShared>, gate: Address) -> NetSink {
    let runtime = Arc::downgrade(runtime);
    Arc::new(move |event: NetEvent| {
        if let Some(runtime) = runtime.upgrade() {
            send_as(&runtime, gate, gate, CommandName::Borrowed("_net"), Value::opaque(event));
        }
    })
}

/// Delivers a send from `from` to `to` outside any turn of `from` (network events, and the
/// closes a gate sends as it exits), traced as issued like any send.
fn send_as(runtime: &Arc<RuntimeShared>, from: Address, to: Address, command: CommandName, args: Value) {
    if runtime.trace_all {
        runtime.trace(&Event::Issue { from, to: To::Address(to), session: 0, command: &command, args: &args });
    }
    runtime.deliver(to, Envelope::Request { from, session: 0, command, args, via: None });
}

fn on_net(ctx: &Ctx<GateState>, event: NetEvent) {
    let sends = ctx.with_state(|g| g.on_net(event));
    dispatch(ctx, sends);
}

fn dispatch(ctx: &Ctx<GateState>, sends: Vec<Outgoing>) {
    for (to, command, args) in sends {
        ctx.send(to, command, args);
    }
}

fn conn_value(conn: ConnId) -> Value {
    Value::Int(conn.0 as i64)
}

impl GateState {
    fn network(&self) -> &dyn crate::executor::Network {
        self.executor.network().expect("a gate's init checked the network")
    }

    fn on_net(&mut self, event: NetEvent) -> Vec<Outgoing> {
        let watchdog = self.config.watchdog;
        match event {
            NetEvent::Accepted { conn, peer, .. } => {
                if self.conns.len() >= self.config.max_clients {
                    tracing::warn!(gate = %self.address, %conn, %peer, "refused: max_clients {} reached", self.config.max_clients);
                    self.network().close(conn);
                    return Vec::new();
                }
                let deframer = Deframer::new(self.config.framing, self.config.max_frame);
                self.conns.insert(conn, ConnState { deframer, to: watchdog });
                crate::console::metrics::gate_connections(self.address, self.conns.len());
                let told = if crate::mutants::active(crate::mutants::Mutant::GateReusesConnId) {
                    ConnId(self.conns.len() as u64) // a slot number: reused once a slot frees
                } else {
                    conn
                };
                vec![(watchdog, "open", Value::List(vec![conn_value(told), Value::Str(peer)]))]
            }
            NetEvent::Data { conn, bytes } => {
                let Some(state) = self.conns.get_mut(&conn) else { return Vec::new() };
                let mut frames = Vec::new();
                let result = state.deframer.push(&bytes, &mut frames);
                let to = state.to;
                let mut sends: Vec<Outgoing> = frames
                    .into_iter()
                    .map(|f| (to, "data", Value::List(vec![conn_value(conn), Value::Bytes(f.into())])))
                    .collect();
                if let Err(too) = result {
                    let reason = format!("frame of {} bytes over max_frame {}", too.len, too.max);
                    sends.extend(self.forget(conn, reason, true));
                }
                sends
            }
            NetEvent::Closed { conn, reason } => self.forget(conn, reason, false),
            NetEvent::AcceptError { error, .. } => {
                tracing::warn!(gate = %self.address, "accept error (still listening): {error}");
                vec![(watchdog, "error", Value::Str(format!("accept: {error}")))]
            }
        }
    }

    /// Forgets `conn` (closing its socket if `local`) and returns its closes: one to whoever
    /// gets its frames, and one to the watchdog if that was an agent. Empty if it was gone.
    fn forget(&mut self, conn: ConnId, reason: String, local: bool) -> Vec<Outgoing> {
        let Some(state) = self.conns.remove(&conn) else { return Vec::new() };
        crate::console::metrics::gate_connections(self.address, self.conns.len());
        if local {
            self.network().close(conn);
        }
        let partial = state.deframer.partial() as i64;
        let close = Value::List(vec![conn_value(conn), Value::Str(reason), Value::Int(partial)]);
        let mut sends = vec![(state.to, "close", close.clone())];
        if crate::mutants::active(crate::mutants::Mutant::GateFrameAfterClose) && partial > 0 {
            sends.push((
                state.to,
                "data",
                Value::List(vec![conn_value(conn), Value::Bytes(vec![0; partial as usize].into())]),
            ));
        }
        if state.to != self.config.watchdog {
            sends.push((self.config.watchdog, "close", close));
        }
        sends
    }

    fn write(&mut self, conn: ConnId, bytes: &[u8]) -> anyhow::Result<bool> {
        if !self.conns.contains_key(&conn) {
            return Ok(false); // closed meanwhile: a write racing a close is not an error
        }
        let framed = self
            .config
            .framing
            .encode(bytes)
            .map_err(|e| anyhow::anyhow!("gate {} write to {conn}: {e}", self.address))?;
        self.network().write(conn, framed);
        Ok(true)
    }
}

/// A gate that exits closes its listener and connections, and still tells each connection's
/// receivers of the close (N11, N12).
impl Drop for GateState {
    fn drop(&mut self) {
        let Some(network) = self.executor.network() else { return };
        network.close_listener(self.listener);
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        let runtime = self.runtime.upgrade();
        for conn in conns {
            for (to, command, args) in self.forget(conn, "gate exited".into(), true) {
                if let Some(runtime) = &runtime {
                    send_as(runtime, self.address, to, CommandName::Borrowed(command), args);
                }
            }
        }
    }
}

/// A gate, for any service to drive: typed messages instead of command strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateRef(pub Address);

impl GateRef {
    /// Sends `bytes` to `conn` as one frame (dropped if it has closed meanwhile).
    pub fn write<S: Send + 'static>(&self, ctx: &Ctx<S>, conn: ConnId, bytes: impl Into<Vec<u8>>) {
        ctx.send(self.0, "write", Value::List(vec![conn_value(conn), Value::Bytes(bytes.into().into())]));
    }

    /// Closes `conn`; its receivers get `close` with reason `"kicked"`.
    pub fn kick<S: Send + 'static>(&self, ctx: &Ctx<S>, conn: ConnId) {
        ctx.send(self.0, "kick", conn_value(conn));
    }

    /// Sends `conn`'s next frames and its close straight to `agent` (skynet's redirect). A
    /// call, so the caller knows frames now go there; answers false if `conn` is gone.
    pub fn forward<S: Send + 'static>(&self, ctx: &Ctx<S>, conn: ConnId, agent: Address) -> Call {
        ctx.call(self.0, "forward", Value::List(vec![conn_value(conn), Value::Address(agent)]))
    }

    /// The address the gate listens on (with the real port).
    pub fn local_addr<S: Send + 'static>(&self, ctx: &Ctx<S>) -> Call {
        ctx.call(self.0, "address", ())
    }

    /// How many connections are open.
    pub fn clients<S: Send + 'static>(&self, ctx: &Ctx<S>) -> Call {
        ctx.call(self.0, "clients", ())
    }
}

/// A new connection (`open`): decode a watchdog's args with `Opened::try_from(args)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The connection's id (never reused in this runtime's life, N4).
    pub conn: ConnId,
    /// The client's address, as text.
    pub peer: String,
}

/// A frame of `conn` (`data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The connection it came on.
    pub conn: ConnId,
    /// The frame's payload, without its length prefix.
    pub bytes: Vec<u8>,
}

/// `conn` is closed (`close`): why, and how many bytes of an unfinished frame it left (N9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The connection that closed.
    pub conn: ConnId,
    /// Why: the peer closed or reset it, a kick, a frame over `max_frame`, a slow client, ...
    pub reason: String,
    /// Bytes of a frame begun and not finished when it closed (N9).
    pub partial: usize,
}

impl TryFrom<Value> for Opened {
    type Error = ValueError;
    fn try_from(v: Value) -> Result<Opened, ValueError> {
        let (conn, peer): (i64, String) = v.try_into()?;
        Ok(Opened { conn: ConnId(conn as u64), peer })
    }
}

impl TryFrom<Value> for Frame {
    type Error = ValueError;
    fn try_from(v: Value) -> Result<Frame, ValueError> {
        let (conn, bytes): (i64, Vec<u8>) = v.try_into()?;
        Ok(Frame { conn: ConnId(conn as u64), bytes })
    }
}

impl TryFrom<Value> for Closed {
    type Error = ValueError;
    fn try_from(v: Value) -> Result<Closed, ValueError> {
        let (conn, reason, partial): (i64, String, i64) = v.try_into()?;
        Ok(Closed { conn: ConnId(conn as u64), reason, partial: partial as usize })
    }
}
