//! The simulator's virtual network: the same [`Network`] the threaded backend's poller offers,
//! with every timing and every byte split drawn from the seed.
//!
//! Each connection has two pipes (client to server, server to client); whatever enters a pipe
//! (a connect, bytes cut at chosen boundaries, a close) is delivered by a simulator timer at a
//! chosen small delay, never earlier than what entered that pipe before it. So bytes of one
//! connection are never reordered, while connections interleave in any order the seed picks
//! (timers due at one instant fire in a chosen order). Server-side events go to the listener's
//! sink exactly as the poller sends them; client-side ones wake the [`SimClient`] futures that
//! tests write as ordinary async code. Every delivery is a `net` line in the trace, so a
//! failing run replays from its seed or decision log.
//!
//! What "unsent" means here: bytes the server wrote that the client has not read yet (in the
//! pipe or in the client's buffer). Past the listener's `max_unsent` the connection closes with
//! a reason (N7), so a client that never reads is a slow client.
//!
//! Seeded faults (with `net_faults` on): an accept fails (N5), a write is cut short by a reset
//! (N9), a write is followed by a half-close (the server sees the end of the stream and closes;
//! the client still reads until the server's close comes back), a connection is a slow reader
//! (each delivery to it lags, so the server's unsent bytes grow toward N7). Each is a `net`
//! line in the trace and a decision in the log.

mod client;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Weak};
use std::task::{Wake, Waker};
use std::time::Duration;

use skygroup::executor::{ConnId, ListenSpec, ListenerId, Listening, NetError, NetEvent, NetSink, Network};

use crate::chooser::DecisionKind;
use crate::executor::{SimExecutor, State};
use crate::record::Happening;
pub use client::SimClient;

/// Delays a pipe delivery may take, in microseconds of virtual time (one chosen per delivery).
const DELAYS: usize = 8;
/// Most cuts a chunk of bytes may be split by on its way.
const CUTS_MAX: usize = 3;
/// The first port handed out for `:0`.
const FIRST_PORT: u16 = 10_000;

/// With network faults on, one accept in this many fails (a chosen option).
const ACCEPT_FAULT_ODDS: usize = 4;
/// With network faults on, one client write in this many is cut short by a reset.
const RESET_FAULT_ODDS: usize = 6;
/// With network faults on, one client write in this many is followed by a half-close: the
/// client's sending side shuts (the server sees the end of its stream and closes), while it
/// still reads what the server sent before.
const HALF_CLOSE_FAULT_ODDS: usize = 8;
/// With network faults on, one connection in this many is a slow reader: every delivery to it
/// takes `SLOW_READER_LAG` more, so what the server writes piles up as unsent (N7).
const SLOW_READER_ODDS: usize = 4;
/// How much later each delivery reaches a slow reader.
const SLOW_READER_LAG: Duration = Duration::from_micros(200);

/// The virtual network's part of the simulator's state.
#[derive(Default)]
pub(crate) struct NetState {
    /// Seeded faults: accept errors, resets mid-write, half-closes, slow readers.
    faults: bool,
    listeners: BTreeMap<String, Listener>,
    conns: BTreeMap<u64, Conn>,
    last_conn: u64,
    last_listener: u64,
    last_port: u16,
}

impl NetState {
    pub(crate) fn new(faults: bool) -> NetState {
        NetState { faults, ..NetState::default() }
    }
}

struct Listener {
    id: ListenerId,
    max_unsent: usize,
    sink: NetSink,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Dir {
    ToServer,
    ToClient,
}

enum Item {
    Connect {
        addr: String,
    },
    Bytes(Vec<u8>),
    /// The sender's side closed: a client's close or reset, or the server's (reason).
    Close {
        reason: String,
    },
}

#[derive(Default)]
struct Conn {
    to_server: VecDeque<Item>,
    to_client: VecDeque<Item>,
    /// The time the last item entered each pipe is due: later ones are never due earlier.
    last_due: [Duration; 2],
    /// Set once accepted: where server-side events go, and the unsent limit.
    server: Option<(ListenerId, NetSink, usize)>,
    /// The server side is gone (closed locally, by the peer, or as a slow client).
    server_gone: bool,
    /// Bytes written by the server and not yet in the client's buffer.
    in_flight: usize,
    /// The client's side: bytes received and not read, how it ended, who waits.
    received: VecDeque<u8>,
    connected: Option<Result<(), String>>,
    eof: Option<String>,
    client_closed: bool,
    /// The client shut its sending side only: when the server's close comes, it is sent back
    /// to the client (which still reads) as the socket's end.
    half_closed: bool,
    /// A slow reader: each delivery to the client takes this much more.
    read_lag: Duration,
    waker: Option<Waker>,
}

/// What a pipe delivery does once the state is unlocked.
enum Effect {
    Sink(NetSink, NetEvent),
    Wake(Waker),
}

/// A timer that delivers the front of one pipe.
struct PipeTick {
    executor: Weak<SimExecutor>,
    conn: u64,
    dir: Dir,
}

impl Wake for PipeTick {
    fn wake(self: Arc<Self>) {
        if let Some(executor) = self.executor.upgrade() {
            executor.deliver_pipe(self.conn, self.dir);
        }
    }
}

impl SimExecutor {
    /// Delivers the oldest item of one pipe (a timer fired).
    fn deliver_pipe(&self, conn: u64, dir: Dir) {
        let effects = {
            let mut state = self.state();
            let Some(item) = state.net.conns.get_mut(&conn).and_then(|c| pipe(c, dir).pop_front()) else { return };
            match dir {
                Dir::ToServer => state.arrive_at_server(&self.me, conn, item),
                Dir::ToClient => state.arrive_at_client(conn, item),
            }
        };
        apply(effects);
    }

    /// Starts a client connection to `addr` (see [`SimClient::connect`]).
    pub(crate) fn client_connect(&self, addr: &str) -> u64 {
        let mut state = self.state();
        state.net.last_conn += 1;
        let id = state.net.last_conn;
        state.net.conns.insert(id, Conn::default());
        let me = self.me.clone();
        state.net_log(id, format!("connect {addr}"));
        if state.net.faults && state.choose(DecisionKind::Net, SLOW_READER_ODDS) == 0 {
            state.set_read_lag(id, SLOW_READER_LAG, "(fault)");
        }
        state.enqueue(&me, id, Dir::ToServer, Item::Connect { addr: addr.to_owned() });
        id
    }

    /// A client writes: the bytes go on their way, cut at chosen points.
    pub(crate) fn client_write(&self, conn: u64, bytes: &[u8]) {
        let mut state = self.state();
        let me = self.me.clone();
        if state.net.conns.get(&conn).is_none_or(|c| c.client_closed) {
            return;
        }
        let mut bytes = bytes;
        let reset = state.net.faults && bytes.len() > 1 && state.choose(DecisionKind::Net, RESET_FAULT_ODDS) == 0;
        let half_close = !reset && state.net.faults && state.choose(DecisionKind::Net, HALF_CLOSE_FAULT_ODDS) == 0;
        if reset {
            // The connection resets partway through these bytes (a reset mid-frame): the
            // server gets what went before, then the reset; the client sees it at once.
            bytes = &bytes[..state.choose(DecisionKind::Net, bytes.len())];
        }
        for chunk in state.cut(bytes) {
            state.enqueue(&me, conn, Dir::ToServer, Item::Bytes(chunk));
        }
        if reset {
            let c = state.net.conns.get_mut(&conn).expect("a live client");
            c.client_closed = true;
            c.eof.get_or_insert_with(|| "reset (injected)".into());
            let waker = c.waker.take();
            state.net_log(conn, format!("reset after {} bytes (fault)", bytes.len()));
            state.enqueue(&me, conn, Dir::ToServer, Item::Close { reason: "reset by peer (injected)".into() });
            drop(state);
            waker.into_iter().for_each(Waker::wake);
        } else if half_close {
            state.half_close(&me, conn, "(fault)");
        }
    }

    /// A client shuts its sending side (see [`SimClient::half_close`]).
    pub(crate) fn client_half_close(&self, conn: u64) {
        let mut state = self.state();
        let me = self.me.clone();
        state.half_close(&me, conn, "");
    }

    /// From now on every delivery to `conn`'s client takes `lag` more (a slow reader).
    pub(crate) fn client_read_lag(&self, conn: u64, lag: Duration) {
        self.state().set_read_lag(conn, lag, "");
    }

    /// A client closes (or resets) its side.
    pub(crate) fn client_close(&self, conn: u64, reset: bool) {
        let mut state = self.state();
        let me = self.me.clone();
        let Some(c) = state.net.conns.get_mut(&conn) else { return };
        if std::mem::replace(&mut c.client_closed, true) {
            return;
        }
        let reason = if reset { "reset by peer" } else { "closed by peer" };
        state.enqueue(&me, conn, Dir::ToServer, Item::Close { reason: reason.into() });
    }

    /// Polls the client side of `conn` with `f`; registers `waker` if `f` says to wait.
    pub(crate) fn client_poll<T>(
        &self,
        conn: u64,
        waker: &Waker,
        f: impl FnOnce(&mut ClientSide<'_>) -> Option<T>,
    ) -> Option<T> {
        let mut state = self.state();
        let c = state.net.conns.get_mut(&conn)?;
        let mut side = ClientSide { conn: c };
        let out = f(&mut side);
        if out.is_none() {
            c.waker = Some(waker.clone());
        }
        out
    }
}

/// What a client future sees of its connection.
pub(crate) struct ClientSide<'a> {
    conn: &'a mut Conn,
}

impl ClientSide<'_> {
    pub(crate) fn connected(&self) -> Option<Result<(), String>> {
        self.conn.connected.clone()
    }
    pub(crate) fn received(&mut self) -> &mut VecDeque<u8> {
        &mut self.conn.received
    }
    pub(crate) fn eof(&self) -> Option<&str> {
        self.conn.eof.as_deref()
    }
}

fn pipe(conn: &mut Conn, dir: Dir) -> &mut VecDeque<Item> {
    match dir {
        Dir::ToServer => &mut conn.to_server,
        Dir::ToClient => &mut conn.to_client,
    }
}

fn apply(effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Sink(sink, event) => sink(event),
            Effect::Wake(waker) => waker.wake(),
        }
    }
}

impl State {
    /// Shuts `conn`'s client sending side (once): the server sees the stream end after the
    /// bytes sent before; the client keeps reading until the server's close comes back.
    fn half_close(&mut self, me: &Weak<SimExecutor>, conn: u64, why: &str) {
        let Some(c) = self.net.conns.get_mut(&conn) else { return };
        if std::mem::replace(&mut c.client_closed, true) {
            return;
        }
        c.half_closed = true;
        self.net_log(conn, format!("half-close {why}").trim_end().to_owned());
        self.enqueue(me, conn, Dir::ToServer, Item::Close { reason: "closed by peer (half-close)".into() });
    }

    fn set_read_lag(&mut self, conn: u64, lag: Duration, why: &str) {
        let Some(c) = self.net.conns.get_mut(&conn) else { return };
        c.read_lag = lag;
        self.net_log(conn, format!("slow reader: +{} us per delivery {why}", lag.as_micros()).trim_end().to_owned());
    }

    /// Puts `item` into a pipe, due after a chosen delay and not before the pipe's last one.
    fn enqueue(&mut self, me: &Weak<SimExecutor>, conn: u64, dir: Dir, item: Item) {
        let mut delay = Duration::from_micros(1 + self.choose(DecisionKind::Net, DELAYS) as u64);
        let Some(c) = self.net.conns.get_mut(&conn) else { return };
        if dir == Dir::ToClient {
            delay += c.read_lag;
        }
        let last = &mut c.last_due[dir as usize];
        let due = (self.now + delay).max(*last);
        *last = due;
        pipe(c, dir).push_back(item);
        let waker = Waker::from(Arc::new(PipeTick { executor: me.clone(), conn, dir }));
        self.add_timer(due, waker);
    }

    /// `bytes` cut into up to `CUTS_MAX + 1` pieces at chosen points.
    fn cut(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        if bytes.len() < 2 {
            return vec![bytes.to_vec()];
        }
        let cuts = self.choose(DecisionKind::Net, CUTS_MAX + 1);
        let mut points: Vec<usize> = (0..cuts).map(|_| 1 + self.choose(DecisionKind::Net, bytes.len() - 1)).collect();
        points.sort_unstable();
        points.dedup();
        let mut pieces = Vec::with_capacity(points.len() + 1);
        let mut at = 0;
        for p in points.into_iter().chain([bytes.len()]) {
            pieces.push(bytes[at..p].to_vec());
            at = p;
        }
        pieces
    }

    /// A `net` line of the trace (`conn` 0: about a listener).
    fn net_log(&mut self, conn: u64, what: String) {
        if self.tracing {
            let line = if conn == 0 { format!("net     {what}") } else { format!("net     conn#{conn} {what}") };
            self.log(Happening::Net { conn, what }, || line);
        }
    }

    /// A connect reaches the listening side: accepted, refused (nothing listens), or, with
    /// network faults on, a failed accept that leaves the listener open (N5).
    fn connect_arrives(&mut self, conn: u64, addr: &str) -> Vec<Effect> {
        let mut effects = Vec::new();
        let accepted = self.net.listeners.get(addr).map(|l| (l.id, l.sink.clone(), l.max_unsent));
        if let Some((listener, sink, _)) = &accepted
            && self.net.faults
            && self.choose(DecisionKind::Net, ACCEPT_FAULT_ODDS) == 0
        {
            // The accept fails (say, out of descriptors): reported, and the listener stays (N5).
            let error = "accept error (injected): too many open files".to_owned();
            effects.push(Effect::Sink(sink.clone(), NetEvent::AcceptError { listener: *listener, error }));
            let c = self.net.conns.get_mut(&conn).expect("a connecting client");
            c.connected = Some(Err(format!("connect {addr}: connection reset (accept failed)")));
            effects.extend(c.waker.take().map(Effect::Wake));
            self.net_log(conn, format!("accept failed on {addr} (fault)"));
            return effects;
        }
        let c = self.net.conns.get_mut(&conn).expect("a connecting client");
        c.connected = Some(match &accepted {
            Some(_) => Ok(()),
            None => Err(format!("connect {addr}: connection refused")),
        });
        if let Some(w) = c.waker.take() {
            effects.push(Effect::Wake(w));
        }
        match accepted {
            Some((listener, sink, max_unsent)) => {
                c.server = Some((listener, sink.clone(), max_unsent));
                let peer = format!("sim-client:{conn}");
                effects.push(Effect::Sink(sink, NetEvent::Accepted { listener, conn: ConnId(conn), peer }));
                self.net_log(conn, format!("accepted on {addr}"));
            }
            None => self.net_log(conn, format!("refused: nothing listens on {addr}")),
        }
        effects
    }

    fn arrive_at_server(&mut self, me: &Weak<SimExecutor>, conn: u64, item: Item) -> Vec<Effect> {
        let mut effects = Vec::new();
        match item {
            Item::Connect { addr } => return self.connect_arrives(conn, &addr),
            Item::Bytes(bytes) => {
                let c = self.net.conns.get_mut(&conn).expect("a live client");
                let n = bytes.len();
                match &c.server {
                    Some((_, sink, _)) if !c.server_gone => {
                        effects.push(Effect::Sink(sink.clone(), NetEvent::Data { conn: ConnId(conn), bytes }));
                        self.net_log(conn, format!("-> server {n} bytes"));
                    }
                    _ => self.net_log(conn, format!("-> server {n} bytes dropped (closed)")),
                }
            }
            Item::Close { reason } => {
                let c = self.net.conns.get_mut(&conn).expect("a live client");
                if let Some((_, sink, _)) = &c.server
                    && !std::mem::replace(&mut c.server_gone, true)
                {
                    let half_closed = c.half_closed;
                    effects.push(Effect::Sink(
                        sink.clone(),
                        NetEvent::Closed { conn: ConnId(conn), reason: reason.clone() },
                    ));
                    self.net_log(conn, format!("closed at the server: {reason}"));
                    if half_closed {
                        // The server drops the socket on its end of stream, as the poller does:
                        // the client, still reading, sees the end after what was sent before.
                        self.enqueue(me, conn, Dir::ToClient, Item::Close { reason: "closed by server".into() });
                    }
                }
            }
        }
        effects
    }

    fn arrive_at_client(&mut self, conn: u64, item: Item) -> Vec<Effect> {
        let c = self.net.conns.get_mut(&conn).expect("a live connection");
        let what = match item {
            Item::Bytes(bytes) => {
                c.in_flight -= bytes.len();
                let what = format!("<- server {} bytes", bytes.len());
                if c.eof.is_none() {
                    c.received.extend(bytes);
                }
                what
            }
            Item::Close { reason } => {
                c.eof.get_or_insert(reason.clone());
                format!("client sees close: {reason}")
            }
            Item::Connect { .. } => unreachable!("a server does not connect"),
        };
        let effects = c.waker.take().map(Effect::Wake).into_iter().collect();
        self.net_log(conn, what);
        effects
    }
}

impl Network for SimExecutor {
    fn listen(&self, spec: ListenSpec) -> Result<Listening, NetError> {
        let mut state = self.state();
        let refuse = |message: &str| NetError { addr: spec.addr.clone(), message: message.into() };
        let (host, port) = spec.addr.rsplit_once(':').ok_or_else(|| refuse("expected host:port"))?;
        let port: u16 = port.parse().map_err(|_| refuse("bad port"))?;
        let port = if port == 0 {
            state.net.last_port = state.net.last_port.max(FIRST_PORT - 1) + 1;
            state.net.last_port
        } else {
            port
        };
        let local = format!("{host}:{port}");
        if state.net.listeners.contains_key(&local) {
            return Err(refuse("address in use"));
        }
        state.net.last_listener += 1;
        let id = ListenerId(state.net.last_listener);
        state.net.listeners.insert(local.clone(), Listener { id, max_unsent: spec.max_unsent, sink: spec.sink });
        state.net_log(0, format!("listen {local}"));
        Ok(Listening { id, local })
    }

    fn write(&self, conn: ConnId, bytes: Vec<u8>) {
        let effects = {
            let mut state = self.state();
            let me = self.me.clone();
            let Some(c) = state.net.conns.get_mut(&conn.0) else { return };
            let Some((_, sink, max_unsent)) = c.server.clone() else { return };
            if c.server_gone {
                return;
            }
            let unsent = c.in_flight + c.received.len() + bytes.len();
            if unsent > max_unsent {
                c.server_gone = true;
                let reason = format!("slow client: {unsent} unsent bytes over the limit of {max_unsent}");
                state.net_log(conn.0, reason.clone());
                state.enqueue(&me, conn.0, Dir::ToClient, Item::Close { reason: "reset by server".into() });
                vec![Effect::Sink(sink, NetEvent::Closed { conn, reason })]
            } else {
                c.in_flight += bytes.len();
                for chunk in state.cut(&bytes) {
                    state.enqueue(&me, conn.0, Dir::ToClient, Item::Bytes(chunk));
                }
                Vec::new()
            }
        };
        apply(effects);
    }

    fn close(&self, conn: ConnId) {
        let mut state = self.state();
        let me = self.me.clone();
        let Some(c) = state.net.conns.get_mut(&conn.0) else { return };
        if c.server.is_none() || std::mem::replace(&mut c.server_gone, true) {
            return;
        }
        state.net_log(conn.0, "closed by the server".into());
        state.enqueue(&me, conn.0, Dir::ToClient, Item::Close { reason: "closed by server".into() });
    }

    fn close_listener(&self, listener: ListenerId) {
        let mut state = self.state();
        let Some(addr) = state.net.listeners.iter().find(|(_, l)| l.id == listener).map(|(a, _)| a.clone()) else {
            return;
        };
        state.net.listeners.remove(&addr);
        state.net_log(0, format!("unlisten {addr}"));
    }
}
