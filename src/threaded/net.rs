//! The threaded backend's network: one poller thread (over `mio`) that owns every listener and
//! connection, so no worker ever blocks on I/O and no service touches a socket.
//!
//! Workers talk to it through a request queue and a `mio::Waker`: `write` and `close` append a
//! request and return. The poller turns readiness into [`NetEvent`]s for each listener's sink
//! (accepts, bytes read, closes, accept errors), keeps each connection's unsent bytes and closes
//! a connection whose unsent bytes pass its listener's `max_unsent` (a slow client costs bounded
//! memory). An accept error (out of file descriptors, say) is reported and the accept is retried
//! a little later; the listener stays open (skynet #1188 closed it).

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::core::lock;
use crate::executor::{ConnId, ListenSpec, ListenerId, Listening, NetError, NetEvent, NetSink, Network};

const WAKE: Token = Token(usize::MAX);
/// How long a listener waits before accepting again after an accept error.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);
const READ_CHUNK: usize = 16 * 1024;

/// The poller thread and its request queue.
pub(crate) struct Poller {
    shared: Arc<PollShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct PollShared {
    requests: Mutex<Vec<Request>>,
    waker: mio::Waker,
    stop: AtomicBool,
    last_conn: Arc<AtomicU64>,
    last_listener: AtomicU64,
}

enum Request {
    Listen { id: ListenerId, listener: TcpListener, max_unsent: usize, sink: NetSink },
    Write(ConnId, Vec<u8>),
    Close(ConnId),
    CloseListener(ListenerId),
}

impl Poller {
    /// Starts the poller thread.
    pub(crate) fn start() -> std::io::Result<Poller> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKE)?;
        let shared = Arc::new(PollShared {
            requests: Mutex::new(Vec::new()),
            waker,
            stop: AtomicBool::new(false),
            last_conn: Arc::new(AtomicU64::new(0)),
            last_listener: AtomicU64::new(0),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("skygroup-net".into())
            .spawn(move || Sockets::new(poll, thread_shared).run())?;
        Ok(Poller { shared, thread: Mutex::new(Some(thread)) })
    }

    fn request(&self, request: Request) {
        let first = {
            let mut requests = lock(&self.shared.requests);
            requests.push(request);
            requests.len() == 1
        };
        // A queue that was not empty has had its wake: the poller takes the whole queue after
        // it, so one wake (one eventfd write) serves a burst of writes.
        if first && let Err(e) = self.shared.waker.wake() {
            tracing::error!("cannot wake the network poller: {e}");
        }
    }

    /// Stops the thread; every socket it owns is closed. Idempotent.
    pub(crate) fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        let _ = self.shared.waker.wake();
        let current = std::thread::current().id();
        if let Some(thread) = lock(&self.thread).take()
            && thread.thread().id() != current
        {
            let _ = thread.join();
        }
    }
}

impl Network for Poller {
    fn listen(&self, spec: ListenSpec) -> Result<Listening, NetError> {
        let refuse = |e: std::io::Error| NetError { addr: spec.addr.clone(), message: e.to_string() };
        let addr = spec.addr.parse().map_err(|e| NetError { addr: spec.addr.clone(), message: format!("{e}") })?;
        let listener = TcpListener::bind(addr).map_err(refuse)?;
        let local = listener.local_addr().map_err(refuse)?.to_string();
        let id = ListenerId(self.shared.last_listener.fetch_add(1, Ordering::Relaxed) + 1);
        self.request(Request::Listen { id, listener, max_unsent: spec.max_unsent, sink: spec.sink });
        Ok(Listening { id, local })
    }

    fn write(&self, conn: ConnId, bytes: Vec<u8>) {
        self.request(Request::Write(conn, bytes));
    }

    fn close(&self, conn: ConnId) {
        self.request(Request::Close(conn));
    }

    fn close_listener(&self, listener: ListenerId) {
        self.request(Request::CloseListener(listener));
    }
}

/// Everything the poller thread owns.
struct Sockets {
    poll: Poll,
    shared: Arc<PollShared>,
    listeners: BTreeMap<u64, Listener>,
    conns: BTreeMap<u64, Conn>,
}

struct Listener {
    socket: TcpListener,
    max_unsent: usize,
    sink: NetSink,
    /// Set after an accept error: accept again once the poll times out.
    retry: bool,
}

struct Conn {
    socket: TcpStream,
    sink: NetSink,
    max_unsent: usize,
    unsent: Vec<u8>,
    /// Closed locally: flush what is queued, report nothing more.
    closing: bool,
}

// Tokens: listener `n` is `2n`, connection `n` is `2n + 1`.
fn listener_token(id: u64) -> Token {
    Token((id as usize) << 1)
}
fn conn_token(id: u64) -> Token {
    Token(((id as usize) << 1) | 1)
}

impl Sockets {
    fn new(poll: Poll, shared: Arc<PollShared>) -> Sockets {
        Sockets { poll, shared, listeners: BTreeMap::new(), conns: BTreeMap::new() }
    }

    fn run(mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            let timeout = self.listeners.values().any(|l| l.retry).then_some(ACCEPT_RETRY);
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != ErrorKind::Interrupted
            {
                tracing::error!("network poller: {e}");
            }
            if self.shared.stop.load(Ordering::Acquire) {
                break;
            }
            let requests = std::mem::take(&mut *lock(&self.shared.requests));
            for request in requests {
                self.handle_request(request);
            }
            for event in events.iter() {
                let Token(token) = event.token();
                if event.token() == WAKE {
                    continue;
                }
                let id = (token >> 1) as u64;
                if token & 1 == 0 {
                    self.accept(id);
                } else {
                    if event.is_writable() {
                        self.flush(id);
                    }
                    if event.is_read_closed() || event.is_error() {
                        self.read(id, true);
                    } else if event.is_readable() {
                        self.read(id, false);
                    }
                }
            }
            let retries: Vec<u64> = self.listeners.iter().filter(|(_, l)| l.retry).map(|(id, _)| *id).collect();
            for id in retries {
                self.accept(id);
            }
        }
    }

    fn handle_request(&mut self, request: Request) {
        match request {
            Request::Listen { id, mut listener, max_unsent, sink } => {
                match self.poll.registry().register(&mut listener, listener_token(id.0), Interest::READABLE) {
                    Ok(()) => {
                        self.listeners.insert(id.0, Listener { socket: listener, max_unsent, sink, retry: false });
                    }
                    Err(e) => sink(NetEvent::AcceptError { listener: id, error: format!("register: {e}") }),
                }
            }
            Request::Write(conn, bytes) => {
                if let Some(c) = self.conns.get_mut(&conn.0) {
                    c.unsent.extend_from_slice(&bytes);
                    self.flush(conn.0);
                }
            }
            Request::Close(conn) => {
                if let Some(c) = self.conns.get_mut(&conn.0) {
                    c.closing = true;
                    self.flush(conn.0);
                }
            }
            Request::CloseListener(id) => {
                if let Some(mut l) = self.listeners.remove(&id.0) {
                    let _ = self.poll.registry().deregister(&mut l.socket);
                }
            }
        }
    }

    fn accept(&mut self, id: u64) {
        let Some(listener) = self.listeners.get_mut(&id) else { return };
        listener.retry = false;
        loop {
            match listener.socket.accept() {
                Ok((mut socket, peer)) => {
                    let _ = socket.set_nodelay(true);
                    let conn = self.shared.last_conn.fetch_add(1, Ordering::Relaxed) + 1;
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if let Err(e) = self.poll.registry().register(&mut socket, conn_token(conn), interest) {
                        (listener.sink)(NetEvent::AcceptError { listener: ListenerId(id), error: e.to_string() });
                        continue;
                    }
                    let sink = listener.sink.clone();
                    let max_unsent = listener.max_unsent;
                    self.conns.insert(
                        conn,
                        Conn { socket, sink: sink.clone(), max_unsent, unsent: Vec::new(), closing: false },
                    );
                    sink(NetEvent::Accepted { listener: ListenerId(id), conn: ConnId(conn), peer: peer.to_string() });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    // The listener stays open; try again after a pause (N5).
                    listener.retry = true;
                    (listener.sink)(NetEvent::AcceptError { listener: ListenerId(id), error: e.to_string() });
                    return;
                }
            }
        }
    }

    /// Reads what `id` has. A read that fills less than the buffer has emptied the socket:
    /// unless the event also said the peer closed (`to_end`), that ends it without one more
    /// read that would only say WouldBlock (as tokio does; bytes arriving later are a new
    /// edge, so nothing is missed).
    fn read(&mut self, id: u64, to_end: bool) {
        let Some(conn) = self.conns.get_mut(&id) else { return };
        let mut buf = [0u8; READ_CHUNK];
        loop {
            match conn.socket.read(&mut buf) {
                Ok(0) => return self.drop_conn(id, "closed by peer".into()),
                Ok(n) => {
                    if !conn.closing {
                        (conn.sink)(NetEvent::Data { conn: ConnId(id), bytes: buf[..n].to_vec() });
                    }
                    if n < READ_CHUNK && !to_end {
                        return;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return self.drop_conn(id, format!("reset: {e}")),
            }
        }
    }

    /// Writes what it can of `id`'s unsent bytes; closes it if too many are left (N7) or if it
    /// was closed locally and everything is out.
    fn flush(&mut self, id: u64) {
        let Some(conn) = self.conns.get_mut(&id) else { return };
        let mut written = 0;
        while written < conn.unsent.len() {
            match conn.socket.write(&conn.unsent[written..]) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    conn.unsent.clear();
                    return self.drop_conn(id, format!("write failed: {e}"));
                }
            }
        }
        conn.unsent.drain(..written);
        if conn.closing && conn.unsent.is_empty() {
            let _ = conn.socket.shutdown(std::net::Shutdown::Both);
            return self.drop_conn(id, String::new());
        }
        if conn.unsent.len() > conn.max_unsent {
            let reason =
                format!("slow client: {} unsent bytes over the limit of {}", conn.unsent.len(), conn.max_unsent);
            self.drop_conn(id, reason);
        }
    }

    /// Forgets `id`; reports `Closed` unless it was closed locally (at most once: it is gone).
    fn drop_conn(&mut self, id: u64, reason: String) {
        if let Some(mut conn) = self.conns.remove(&id) {
            let _ = self.poll.registry().deregister(&mut conn.socket);
            if !conn.closing {
                (conn.sink)(NetEvent::Closed { conn: ConnId(id), reason });
            }
        }
    }
}
