//! The two echo servers the gate benchmark compares, each on its own 2-worker runtime in this
//! process: skygroup's gate (a watchdog that writes every frame back through the gate) and a
//! tokio server framing with tokio-util's `LengthDelimitedCodec` on the same 2-byte prefix.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{SinkExt, StreamExt};
use skygroup::gate::{Frame, GateConfig, GateRef};
use skygroup::{Address, Ctx, Runtime, ServiceKind, Value};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use crate::skygroup_side::workers;

/// Enough for every benchmark connection (the gate refuses past it, N6).
const MAX_CLIENTS: usize = 4096;

/// A running echo server: its address, and how many connections it holds now.
pub trait EchoServer {
    fn addr(&self) -> String;
    fn clients(&self) -> usize;
}

/// The gate's echo watchdog: `data` is written back; `open`, `close` and `error` are ignored.
pub fn echo_watchdog() -> ServiceKind<Option<GateRef>> {
    ServiceKind::new("echo_watchdog", |ctx: Ctx<Option<GateRef>>, _args: ()| async move {
        let mut config = GateConfig::new("127.0.0.1:0", ctx.address());
        config.max_clients = MAX_CLIENTS;
        let gate = ctx.newservice("gate", config).await?;
        Ok(Some(GateRef(Address::try_from(gate)?)))
    })
    .command_sync("data", |gate: &mut Option<GateRef>, ctx, v: Value| {
        let frame = Frame::try_from(v)?;
        if let Some(gate) = gate {
            gate.write(ctx, frame.conn, frame.bytes);
        }
        Ok(())
    })
    .command_sync("open", |_gate: &mut Option<GateRef>, _ctx, _v: Value| Ok(()))
    .command_sync("close", |_gate: &mut Option<GateRef>, _ctx, _v: Value| Ok(()))
    .command_sync("error", |_gate: &mut Option<GateRef>, _ctx, _v: Value| Ok(()))
    .command_sync("gate", |gate: &mut Option<GateRef>, _ctx, _v: Value| Ok(gate.map(|g| Value::Address(g.0))))
}

/// skygroup's gate on `Runtime::threaded(workers())`.
pub struct GateServer {
    rt: Runtime,
    gate: GateRef,
    addr: String,
}

impl GateServer {
    pub fn start() -> GateServer {
        let rt = Runtime::threaded(workers());
        rt.define(skygroup::gate::kind()).expect("define gate");
        rt.define(echo_watchdog()).expect("define the echo watchdog");
        let watchdog = rt.spawn("echo_watchdog", ()).expect("spawn the echo watchdog");
        let (gate, addr) = rt.block_on(move |ctx| async move {
            let gate = GateRef(Address::try_from(ctx.call(watchdog, "gate", ()).await.expect("gate")).expect("addr"));
            let addr = String::try_from(gate.local_addr(&ctx).await.expect("local addr")).expect("text");
            (gate, addr)
        });
        GateServer { rt, gate, addr }
    }
}

impl EchoServer for GateServer {
    fn addr(&self) -> String {
        self.addr.clone()
    }
    fn clients(&self) -> usize {
        let gate = self.gate;
        self.rt.block_on(move |ctx| async move {
            i64::try_from(gate.clients(&ctx).await.expect("clients")).expect("a count") as usize
        })
    }
}

impl Drop for GateServer {
    fn drop(&mut self) {
        self.rt.shutdown();
    }
}

/// The tokio baseline: a task per connection, `Framed` with a 2-byte length prefix.
pub struct TokioServer {
    rt: Option<tokio::runtime::Runtime>,
    addr: String,
    clients: Arc<AtomicUsize>,
}

impl TokioServer {
    pub fn start() -> TokioServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers())
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let clients = Arc::new(AtomicUsize::new(0));
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("local addr").to_string();
        let count = clients.clone();
        rt.spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                let count = count.clone();
                tokio::spawn(async move {
                    count.fetch_add(1, Ordering::Relaxed);
                    let codec = LengthDelimitedCodec::builder().length_field_length(2).new_codec();
                    let mut framed = Framed::new(socket, codec);
                    while let Some(Ok(frame)) = framed.next().await {
                        if framed.send(frame.freeze()).await.is_err() {
                            break;
                        }
                    }
                    count.fetch_sub(1, Ordering::Relaxed);
                });
            }
        });
        TokioServer { rt: Some(rt), addr, clients }
    }
}

impl EchoServer for TokioServer {
    fn addr(&self) -> String {
        self.addr.clone()
    }
    fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }
}

impl Drop for TokioServer {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
