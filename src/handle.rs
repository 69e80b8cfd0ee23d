//! [`Handle`]: reaching the runtime's services from code that is not a service (a plain thread,
//! a tokio task, an axum handler), without blocking a thread.
//!
//! `Runtime::block_on` blocks its thread until its task is done, which is right for a `main`
//! and wrong for a web handler on an async runtime. A [`Handle`] is the non-blocking way in:
//! `rt.handle()` gives one; it is `Clone + Send + Sync`, and its [`call`](Handle::call) and
//! [`query`](Handle::query) return `Send + 'static` futures that complete through their
//! [`Waker`](std::task::Waker) only, so any executor can await them (tokio, smol,
//! `futures::executor::block_on`, or a service of this runtime).
//!
//! # How the answer gets back
//!
//! Each `rt.handle()` starts a small service of its own, its *port* (kind `_handle`, outside
//! any group). The handle puts each request into a channel the port's one task reads in order;
//! the port issues it as an ordinary message (a call's answer then comes back to the port, which
//! hands it to the waiting future through a one-shot channel). So a handle's messages are
//! messages of one sender, the port, with everything the contract says of those: the rules
//! G6, G7 and G9 apply as to any service, and the simulator's oracle checks them the same way.
//! A by-name message (`call_in`, `send_in`) is resolved first (as [`Group::query`] does,
//! starting the name if need be) and then goes to the address found; the port takes the next
//! request only once that name is resolved, so a handle's messages to one service keep their
//! issue order whichever way they were addressed (H1). Clones share the port: messages issued
//! from one thread through any clone keep their order; messages from two threads have none.
//!
//! The port lives while any clone of the handle or any of its unfinished futures does, and
//! exits when the last is dropped. After `Runtime::shutdown` (or if the port was killed) every
//! operation fails at once with [`CallErrorKind::Shutdown`], and a call in flight at that
//! moment fails with it too: nothing hangs (H2, G14).
//!
//! # What a handler may await
//!
//! The other direction: inside a handler (or any task of a service), `.await` anything that is
//! woken only through its `Waker`: another service's call, a [`Handle`]'s future, a
//! `futures::channel` or `async-channel` receiver, a `tokio::sync` channel or `oneshot` (those
//! need no tokio runtime). A handler must not await futures bound to tokio's reactor or timer
//! (`tokio::net`, `tokio::time::sleep`, `tokio::fs`), which panic or never wake outside a tokio
//! runtime, nor call `tokio::spawn` (it needs a tokio thread; a `tokio::runtime::Handle`'s
//! `spawn` works from anywhere), and must not make blocking calls (file or socket I/O,
//! `std::thread::sleep`, a blocking database client): a blocked handler holds a worker thread
//! and, in the simulator, the whole run. Offload such work instead: spawn it on a tokio runtime
//! (or a thread), and deliver its result to the service as a message through a [`Handle`]
//! (`handle.send(address, "done", result)`), or await a `tokio::sync::oneshot` for it (waking
//! it needs only the `Waker`). `examples-tokio/` shows both (`make examples-tokio`). In the
//! simulator, offloaded work is outside the seed: keep it out of what a test replays.
//!
//! ```
//! use skygroup::{Runtime, ServiceKind, Value};
//! let rt = Runtime::threaded(2);
//! rt.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) }))
//!     .unwrap();
//! let echo = rt.spawn("echo", ()).unwrap();
//! let handle = rt.handle();
//! let thread = std::thread::spawn(move || futures::executor::block_on(handle.call(echo, "echo", 7)));
//! assert_eq!(thread.join().unwrap().unwrap(), Value::from(7));
//! ```

use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;
use futures::channel::{mpsc, oneshot};

use crate::core::{CommandName, Ctx, Runtime};
use crate::{Address, CallError, CallErrorKind, Group, Value};

/// A way into the runtime for code that is not a service: another thread, or a task of another
/// async runtime (tokio, ...), awaiting calls through its `Waker` alone. A handle's messages to
/// one service keep their issue order (H1 in SEMANTICS.md); after `Runtime::shutdown` every call
/// fails at once (H2). Cheap to clone; clones share one port.
#[derive(Clone)]
pub struct Handle {
    port: Arc<Port>,
}

/// The handle side of a port: the channel its task reads, and its address (for `Debug`).
struct Port {
    address: Option<Address>,
    requests: mpsc::UnboundedSender<Request>,
}

/// Whom a request goes to.
enum Dest {
    Address(Address),
    /// A name inside a group, resolved by the port (as `Group::query`).
    Name(Group, String),
}

/// What the port does once the destination is known.
enum Ask {
    Send,
    Call(oneshot::Sender<Result<Value, CallError>>),
    Query(oneshot::Sender<Result<Address, CallError>>),
}

struct Request {
    to: Dest,
    command: CommandName,
    args: Value,
    ask: Ask,
}

impl Runtime {
    /// A new [`Handle`] on this runtime, with a port service of its own. After
    /// [`shutdown`](Self::shutdown) the handle is returned all the same; its operations fail
    /// with [`CallErrorKind::Shutdown`].
    pub fn handle(&self) -> Handle {
        let (requests, receiver) = mpsc::unbounded();
        let address = self.shared().start_task("_handle", move |ctx| pump(ctx, receiver)).ok();
        Handle { port: Arc::new(Port { address, requests }) }
    }
}

impl Handle {
    /// Calls `command` on the service at `to` and resolves to its answer. The message is
    /// issued now, not at the first poll (H1).
    pub fn call(
        &self,
        to: Address,
        command: impl Into<CommandName>,
        args: impl Into<Value>,
    ) -> impl Future<Output = Result<Value, CallError>> + Send + 'static {
        self.call_to(Dest::Address(to), command.into(), args.into())
    }

    /// Calls `command` on the service bound to `name` in `group`, starting it if need be (as
    /// [`Group::query`]), and resolves to its answer.
    pub fn call_in(
        &self,
        group: &Group,
        name: &str,
        command: impl Into<CommandName>,
        args: impl Into<Value>,
    ) -> impl Future<Output = Result<Value, CallError>> + Send + 'static {
        self.call_to(Dest::Name(group.clone(), name.to_owned()), command.into(), args.into())
    }

    /// Sends `command` to the service at `to` without waiting. Never blocks; fails only when
    /// the runtime is shut down. A send that reaches no one is a dead letter (G7).
    pub fn send(&self, to: Address, command: impl Into<CommandName>, args: impl Into<Value>) -> Result<(), CallError> {
        self.issue(Dest::Address(to), command.into(), args.into(), Ask::Send)
    }

    /// Sends `command` to the service bound to `name` in `group` (started if need be) without
    /// waiting; in order with this handle's other messages to that service (H1). A name that
    /// cannot be started makes the send a dead letter (G7).
    pub fn send_in(
        &self,
        group: &Group,
        name: &str,
        command: impl Into<CommandName>,
        args: impl Into<Value>,
    ) -> Result<(), CallError> {
        self.issue(Dest::Name(group.clone(), name.to_owned()), command.into(), args.into(), Ask::Send)
    }

    /// The address of `name` in `group`, starting it if need be (G2, G3), as [`Group::query`].
    pub fn query(
        &self,
        group: &Group,
        name: &str,
    ) -> impl Future<Output = Result<Address, CallError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let command = format!("query {name}");
        let to = Dest::Name(group.clone(), name.to_owned());
        let issued = self.issue(to, CommandName::Borrowed("query"), Value::default(), Ask::Query(tx));
        let port = self.port.clone();
        async move {
            issued?;
            let answer = rx.await;
            drop(port);
            answer.unwrap_or_else(|_| Err(shutdown(command)))
        }
    }

    fn call_to(
        &self,
        to: Dest,
        command: CommandName,
        args: Value,
    ) -> impl Future<Output = Result<Value, CallError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let issued = self.issue(to, command.clone(), args, Ask::Call(tx));
        // The future keeps the port alive: a call outlives the handle it was made with.
        let port = self.port.clone();
        async move {
            issued?;
            let answer = rx.await;
            drop(port);
            answer.unwrap_or_else(|_| Err(shutdown(command.into_owned())))
        }
    }

    fn issue(&self, to: Dest, command: CommandName, args: Value, ask: Ask) -> Result<(), CallError> {
        let label = command.clone();
        let request = Request { to, command, args, ask };
        self.port.requests.unbounded_send(request).map_err(|_| shutdown(label.into_owned()))
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").field("port", &self.port.address).finish()
    }
}

fn shutdown(command: String) -> CallError {
    CallErrorKind::Shutdown { command }.into()
}

/// The port's one task: takes the requests in order, resolves names (holding the later
/// requests meanwhile, H1), issues each, and hands each call's answer back as it comes.
async fn pump(ctx: Ctx, mut requests: mpsc::UnboundedReceiver<Request>) {
    while let Some(Request { to, command, args, ask }) = requests.next().await {
        let to = match to {
            Dest::Address(address) => address,
            Dest::Name(group, name) => match group.query(&ctx, &name).await {
                Ok(address) => address,
                Err(e) => {
                    match ask {
                        Ask::Send => ctx.runtime().dead_letter(ctx.address(), Address::from_raw(0), &command),
                        Ask::Call(tx) => drop(tx.send(Err(e))),
                        Ask::Query(tx) => drop(tx.send(Err(e))),
                    }
                    continue;
                }
            },
        };
        match ask {
            Ask::Send => ctx.send(to, command, args),
            Ask::Query(tx) => drop(tx.send(Ok(to))),
            Ask::Call(tx) => {
                let call = ctx.call(to, command, args);
                ctx.fork(async move { drop(tx.send(call.await)) });
            }
        }
    }
    // Every clone of the handle and every future it gave is gone.
    ctx.exit();
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Handle>();
}
